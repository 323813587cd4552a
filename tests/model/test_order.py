"""Order does not matter: the order of ``scenario.actors`` is not a belief.

Partners are held in state-code order, decide by dependency level then state code, pass the
buck symmetrically among peers, and draw their random numbers from columns keyed by their state
code; the epistemic parameters' normals are keyed by the parameter's name. So permuting the
actors of any shipped scenario gives bitwise the same forecast, and adding a partner leaves the
others' random numbers, and (for a partner who never acts and brings no power) their results,
unchanged.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from omegaconf import open_dict

from forecast.jobs.run import simulate
from forecast.model import kernels, random_numbers
from forecast.sampling import sampler
from tests.conftest import REPO, quick_config

SCENARIOS = sorted(p.stem for p in (REPO / "configs" / "scenario").glob("*.yaml"))


def reorder(cfg, codes):
    """``cfg`` with scenario.actors listed in the order ``codes``."""
    actors = cfg.scenario.actors
    nodes = {c: copy.deepcopy(actors[c]) for c in codes}
    with open_dict(cfg):
        for c in codes:
            del actors[c]
        for c in codes:
            actors[c] = nodes[c]
    assert list(cfg.scenario.actors) == list(codes)
    return cfg


def assert_same_forecast(a, b, label):
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=f"{label} {name}")
    for dim in a.dims:
        if dim in a.coords:
            np.testing.assert_array_equal(a[dim].values, b[dim].values)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_permuting_the_actors_gives_bitwise_the_same_forecast(scenario):
    cfg = quick_config(f"scenario={scenario}", draws=6, realizations=1500)
    codes = list(cfg.scenario.actors)
    base = simulate(cfg)
    rng = np.random.default_rng(len(scenario))
    for order in (codes[::-1], list(rng.permutation(codes))):
        other = simulate(
            reorder(quick_config(f"scenario={scenario}", draws=6, realizations=1500), order)
        )
        assert_same_forecast(base, other, f"{scenario} {order}")


def block(plan, d=0, b=0):
    m = plan.model
    z, u = np.empty((500, m.n_normals), order="F"), np.empty((500, m.n_uniforms), order="F")
    random_numbers.fill_block(sampler.block_key(5, d, b), z, u, *m.random_columns)
    return z, u


def test_adding_a_partner_leaves_the_others_random_numbers_and_results_unchanged():
    """AAA sorts first, so every other partner's index moves; none of their columns, epistemic
    draws or counts change. AAA's willingness is ~0 and its power 1e-300: it never changes an
    outcome (its peers expect ~0 of it: the buck-passing share changes by less than 1e-9)."""
    base = quick_config("scenario=taiwan", draws=5, realizations=3000)
    more = quick_config("scenario=taiwan", draws=5, realizations=3000)
    new = {
        "willingness": {"mean": 1e-9, "interval": None, "concentration": None},
        "capability": {"mean": 1e-300, "sd": 0.0},  # below every sum's last digit
    }
    with open_dict(more):
        more.merge_with({"scenario": {"actors": {"AAA": new}}})
    p0, p1 = sampler.make_plan(base), sampler.make_plan(more)
    assert p1.model.codes[0] == "AAA" and p1.model.codes[1:] == p0.model.codes
    # the same columns (by key) hold the same numbers
    (z0, u0), (z1, u1) = block(p0), block(p1)
    for keys0, keys1, x0, x1 in ((p0.model.z_keys, p1.model.z_keys, z0, z1),
                                 (p0.model.u_keys, p1.model.u_keys, u0, u1)):  # fmt: skip
        pos1 = {tuple(k): j for j, k in enumerate(keys1)}
        for j, k in enumerate(keys0):
            np.testing.assert_array_equal(x0[:, j], x1[:, pos1[tuple(k)]], err_msg=str(k))
    # the same epistemic draws for every parameter that exists in both
    names1 = [p.name for p in p1.model.parameters]
    for j, par in enumerate(p0.model.parameters):
        np.testing.assert_array_equal(
            p0.draws.values[:, j], p1.draws.values[:, names1.index(par.name)], err_msg=par.name
        )
    a, b = sampler.run_draws(p0, range(5)), sampler.run_draws(p1, range(5))
    np.testing.assert_array_equal(a.by_partner, b.by_partner[:, :, 1:])
    np.testing.assert_array_equal(a.by_type, b.by_type)
    np.testing.assert_array_equal(a.by_pair, b.by_pair[:, :, 1:, 1:])
    # AAA never acts: its counts are 0, but for the perceived wins with it known out (all of them)
    aaa = np.delete(b.by_partner[:, :, 0], kernels.P_PWIN_OUT, axis=-1)
    assert aaa.sum() == 0 and b.by_pair[:, :, 1:, 0].sum() == 0
    np.testing.assert_array_equal(
        b.by_partner[:, :, 0, kernels.P_PWIN_OUT], b.by_type[..., kernels.T_PWIN_PIV]
    )
