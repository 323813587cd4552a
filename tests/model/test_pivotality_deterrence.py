"""Pivotality for deterrence against forced-willingness runs and closed forms.

pivotality_deterrence of partner i = P(attack | the aggressor knows i stays out) - P(attack): in
the aggressor's perceived world i is forced out and every other partner decides again. With no
misperception the perceived world is the true one, so "known to stay out" is the same as
willingness 0 for a partner nobody can draw in: the difference of P(attack) between a run with
i's willingness fixed near 0 and the plain run. Checked within 3 combined MCSE (the MCSEs are
conservative bounds, so a correct sampler fails with probability below about 0.003 per
comparison; the seeds are fixed, so the suite is deterministic).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from forecast.model import kernels
from forecast.sampling import sampler
from tests.conftest import bare_scenario
from tests.model.test_mechanisms import DRAWS, N, gate, partner

ZERO = 1e-9


def plan_of(quick, actors, fixed=None, **scenario):
    cfg = bare_scenario(quick, actors, draws=DRAWS, realizations=N, **scenario)
    return sampler.make_plan(cfg, fixed=fixed)


def stats_of(plan):
    acc = sampler.run_local(plan)
    return sampler.summarise(plan, acc), acc


def overall(stats, name, i=None):
    """Mean over draws and its MCSE, sqrt(sum mcse^2) / D."""
    v, se = stats[name], stats[f"mcse_{name}"]
    if i is not None:
        v, se = v[:, i], se[:, i]
    return float(v.mean()), float(np.sqrt((se**2).sum()) / se.size)


def assert_known_out_is_willingness_zero(quick, actors, code, **scenario):
    """pivotality_deterrence of ``code`` = P(attack | its willingness ~0) - P(attack)."""
    plan = plan_of(quick, actors, **scenario)
    st, _ = stats_of(plan)
    i = list(plan.model.codes).index(code)
    det, se = overall(st, "pivotality_deterrence", i)
    base, se_b = overall(st, "p_attack")
    out, se_o = overall(stats_of(plan_of(quick, actors, {f"willingness[{code}]": ZERO},
                                         **scenario))[0], "p_attack")  # fmt: skip
    assert se > 0
    assert abs(det - (out - base)) < 3 * np.sqrt(se**2 + se_b**2 + se_o**2), (det, out - base)
    return det, se, plan


def test_one_partner_known_out_equals_its_willingness_forced_to_zero(quick):
    """One partner, no misperception: the coalition wins iff A acts (w 0.6), and A costs the
    aggressor 0.1. Known out, the aggressor wins surely at no partner cost: value 1 - 0.3, so
    P(attack) = expit(7); as it is, value 0.4 - 0.3 - 0.1 * 0.6 (closed form)."""
    actors = {"A": partner(0.6, cost_to_aggressor=0.1)}
    det, se, _ = assert_known_out_is_willingness_zero(quick, actors, "A", **gate(0.5))
    exact = special.expit(0.7 / 0.1) - special.expit((0.4 - 0.3 - 0.1 * 0.6) / 0.1)
    assert abs(det - exact) < 3 * se, (det, exact, se)
    assert det > 0.3  # the partner deters


def test_a_leader_known_out_takes_its_follower_out_in_the_aggressors_view(quick):
    """B requires A (a Japan-requires-USA pattern): with A known out the aggressor expects B out
    too, crisis by crisis, so B's cost no longer weighs on its decision. Decision noise 0.5
    keeps P(attack) away from 1, where the two readings would be hard to tell apart."""
    actors = {
        "A": partner(0.6, cost_to_aggressor=0.1),
        "B": partner(0.7, requires=["A"], cost_to_aggressor=0.5),
    }
    scenario = gate(0.5, aggressor={"decision_noise": {"mean": 0.5, "sd": 0.0}})
    det, se, plan = assert_known_out_is_willingness_zero(quick, actors, "A", **scenario)
    _, acc = stats_of(plan)
    ia, ib = (list(plan.model.codes).index(c) for c in ("A", "B"))
    # B joins in the perceived world as it is, and never once A is known to stay out
    assert acc.by_partner[..., ib, kernels.P_PJOIN_PIV].min() > 0
    assert acc.by_pair[..., ia, ib, kernels.PP_PJOIN_OUT].sum() == 0
    np.testing.assert_array_equal(
        acc.by_pair[..., ia, ib, kernels.PP_PJOIN_FLIPS],
        acc.by_partner[..., ib, kernels.P_PJOIN_PIV],
    )
    # closed form: as it is, value 0.4 - 0.3 - 0.1 * 0.6 - 0.5 * 0.42; A known out, 1 - 0.3;
    # had B kept its choice, its expected cost 0.5 * 0.42 would still weigh (0.075 lower)
    base = special.expit((0.4 - 0.3 - 0.1 * 0.6 - 0.5 * 0.42) / 0.5)
    exact = special.expit(0.7 / 0.5) - base
    kept = special.expit((0.7 - 0.5 * 0.42) / 0.5) - base
    assert abs(det - exact) < 3 * se < abs(det - kept), (det, exact, kept, se)


def test_a_partner_without_power_or_cost_has_exactly_zero(quick):
    """C brings no power and costs the aggressor nothing; nobody depends on it (B passes the buck
    on its peers, and C is one of them: its expected commitment is worth 0 power). Knowing it out
    changes no perceived outcome and no perceived join that costs anything: exactly 0, MCSE 0."""
    actors = {
        "A": partner(0.6, cost_to_aggressor=0.1),
        "B": partner(0.5, buck_passing=0.8, cost_to_aggressor=0.1),
        "C": partner(0.4, cost_to_aggressor=0.0),
    }
    plan = plan_of(quick, actors, {"capability[C]": 0.0}, **gate(0.5))
    st, acc = stats_of(plan)
    i = list(plan.model.codes).index("C")
    assert plan.model.static["network"].rerun[i]  # the rerun path, not a shortcut
    np.testing.assert_array_equal(st["pivotality_deterrence"][:, i], 0.0)
    np.testing.assert_array_equal(st["mcse_pivotality_deterrence"][:, i], 0.0)
    assert acc.by_partner[..., i, kernels.P_PJOIN_PIV].sum() > 0  # C does join as it is
    # the others do deter
    assert (st["pivotality_deterrence"][:, :i] > 0).all()
