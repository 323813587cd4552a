"""Total-effect pivotality against its closed form and against two forced-willingness runs.

Pivotality of partner i = P(defence succeeds | attack, i forced in) - P(... | i forced out), every
other partner deciding again. Forced in is willingness 1 and forced out willingness 0 (for a
partner nobody can draw in), so pivotality must equal the difference of P(defence succeeds)
between two runs with i's willingness fixed at 1 and at 0: checked within 3 combined MCSE
(a correct sampler fails with probability about 0.003 per comparison; the seeds are fixed).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.model.test_mechanisms import N_PIVOTAL, assert_binomial, gate, partner, run

ONE, ZERO = 1 - 1e-9, 1e-9


def overall(ds, name, actor=None):
    """Mean over draws and its MCSE, sqrt(sum mcse^2) / D."""
    v, se = ds[name], ds[f"mcse_{name}"]
    if actor is not None:
        v, se = v.sel(actor=actor), se.sel(actor=actor)
    return float(v.mean()), float(np.sqrt((se.values**2).sum()) / se.size)


def test_requires_closed_form(quick):
    """B requires A; the coalition wins iff both act. Forcing A in leaves B's 0.7, forcing it out
    takes B out too: pivotality 0.7 for A (flipping A alone would say 0.7 * 0.6 + ...), and 0.6
    for B."""
    actors = {"A": partner(0.6), "B": partner(0.7, requires=["A"])}
    ds = run(quick, actors, **gate(1.5))
    assert_binomial(ds.pivotality.sel(actor="A").values, 0.7, N_PIVOTAL)
    assert_binomial(ds.pivotality.sel(actor="B").values, 0.6, N_PIVOTAL)


SCENARIOS = {
    "requires": {"A": partner(0.6), "B": partner(0.7, requires=["A"]), "C": partner(0.5)},
    "requires, buck-passing, chain-ganging": {
        "A": partner(0.6),
        "B": partner(0.7, requires=["A"], buck_passing=0.8),
        "C": partner(0.4, allies={"B": 0.5}, buck_passing=0.5),
        "D": partner(0.5, follows={"A": 0.6}),
    },
}


def forced(actors, code, w):
    """``actors`` with ``code``'s willingness fixed at w (everything else kept)."""
    return {**actors, code: {**actors[code], "willingness": partner(w)["willingness"]}}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_pivotality_is_the_difference_of_two_forced_willingness_runs(quick, name):
    actors = SCENARIOS[name]
    ds = run(quick, actors, **gate(1.5))
    for code, actor in actors.items():
        if actor.get("allies"):  # it can be drawn in: willingness 0 is not "forced out"
            continue
        s1, se1 = overall(run(quick, forced(actors, code, ONE), **gate(1.5)), "p_defense_success")
        s0, se0 = overall(run(quick, forced(actors, code, ZERO), **gate(1.5)), "p_defense_success")
        piv, se = overall(ds, "pivotality", code)
        assert se > 0
        assert abs(piv - (s1 - s0)) < 3 * np.sqrt(se**2 + se1**2 + se0**2), (code, piv, s1 - s0)
