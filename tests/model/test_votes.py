"""Institution votes from the member's own resolve (a Gaussian copula), on closed forms.

Voter v who is partner i votes yes iff rho x_i + sqrt(1 - rho^2) e_v < Phi^-1(P(yes)), with x_i
the resolve that decides whether i acts. Counts are compared with their exact Binomial
distribution at level 1e-6 (:func:`tests.model.test_mechanisms.assert_binomial`): a correct
sampler fails an assertion with probability at most 1e-6. Seeds are fixed, so the suite is
deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from forecast.jobs.run import simulate
from forecast.model import kernels, random_numbers, reference
from forecast.model.inputs import kernel_inputs
from forecast.sampling import sampler
from tests.conftest import bare_scenario
from tests.model.test_mechanisms import assert_binomial, gate, partner, probit, run


def _inst(rho, **kw):
    return {"institutions": {"I": {"rule": "unanimity", "vote_correlation": rho, **kw}}}


def orthant(a, b, r):
    """P(X < a, Y < b) of a standard bivariate normal with correlation r."""
    cov = [[1.0, r], [r, 1.0]]
    return float(stats.multivariate_normal(mean=[0.0, 0.0], cov=cov).cdf([a, b]))


# --- (a) rho = 0: the independent votes of before -----------------------------------------------


def test_uncorrelated_votes_of_correlated_members_are_independent(quick):
    """rho = 0: unanimity of two members is p1 * p2 even when their resolves are correlated."""
    factors = {"f": {"description": "shared"}}
    actors = {"A": partner(0.6, loadings={"f": 0.9}), "B": partner(0.7, loadings={"f": 0.9})}
    cfg = _inst(0.0, members=["A", "B"])
    ds = simulate(_bare(quick, actors, factors, cfg))
    assert_binomial(ds.p_mandate.values, 0.6 * 0.7)


def test_correlated_votes_follow_the_members_resolve(quick):
    """rho = 1: the two votes are the members' resolves, correlated 0.81 through the factor."""
    factors = {"f": {"description": "shared"}}
    actors = {"A": partner(0.6, loadings={"f": 0.9}), "B": partner(0.7, loadings={"f": 0.9})}
    ds = simulate(_bare(quick, actors, factors, _inst(1.0, members=["A", "B"])))
    assert_binomial(ds.p_mandate.values, orthant(probit(0.6), probit(0.7), 0.81))


def test_a_vote_independent_of_resolve_and_the_decision_multiply(quick):
    """rho = 0 and no decision without a mandate: P(join) = P(yes) * P(willing)."""
    actors = {"A": partner(0.7)}
    inst = _inst(0.0, members=["A"], vote={"A": 0.4}, no_mandate_shift=-9.0)
    ds = run(quick, actors, **gate(0.5), **inst)
    assert_binomial(ds.p_join.values, 0.4 * 0.7)


# --- (b) rho = 1: the vote is the member's own decision -------------------------------------------


def test_a_member_voting_its_own_resolve_votes_yes_exactly_when_it_acts(quick):
    """rho = 1, willingness as the vote, no factor, no shift: the mandate and the member's
    decision agree crisis by crisis, so P(yes and acts) = P(acts) = P(yes), count for count."""
    actors = {"A": partner(0.6)}
    cfg = _bare(quick, actors, None, _inst(1.0, members=["A"]))
    ds = simulate(cfg)
    np.testing.assert_array_equal(ds.p_mandate.values[:, 0], ds.p_join.values[:, 0])
    assert_binomial(ds.p_join.values, 0.6)
    # crisis by crisis, on the sampler's own random numbers of a block (reference backend)
    plan = sampler.make_plan(cfg)
    inputs = kernel_inputs(plan.model, plan.draws, 0)
    scratch = sampler.Scratch(plan)
    z, u = scratch.block()
    key = sampler.block_key(plan.settings.seed, 0, 0)
    random_numbers.fill_block(key, z, u, *plan.model.random_columns)
    x = reference.resolve(inputs.partners, z, inputs.columns)
    ins = inputs.institutions
    mandates = np.zeros(1)
    shift, _ = reference.institutions(
        ins, (ins.vote_thr, ins.abstain_thr), x, z, inputs.columns, np.zeros_like(x), mandates
    )
    acts = x[:, 0] < inputs.partners.thr[0, 0] + shift[:, 0]
    yes = x[:, 0] < ins.vote_thr[0, 0]
    np.testing.assert_array_equal(acts, yes)
    assert mandates[0] == yes.sum() and 0 < yes.sum() < len(yes)
    # its vote needs no random number of its own
    lo = plan.model.layout[kernels.L_VOTE]
    assert lo >= 0 and not plan.model.z_drawn[lo : lo + ins.vote_thr.shape[1]].any()


# --- (c) 0 < rho < 1: the vote and the decision as a bivariate normal ---------------------------


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_vote_and_join_are_a_bivariate_normal_orthant(quick, rho):
    """P(yes and joins) = P(rho x + sqrt(1 - rho^2) e < Phi^-1(p), x < Phi^-1(w)): the member
    does not act without a mandate (no_mandate_shift -9), so P(join) is the orthant."""
    w, p = 0.7, 0.4
    actors = {"A": partner(w)}
    inst = _inst(rho, members=["A"], vote={"A": p}, no_mandate_shift=-9.0)
    ds = run(quick, actors, **gate(0.5), **inst)
    joint = orthant(probit(p), probit(w), rho)
    assert joint > p * w + 0.02  # the correlation is visible at this sample size
    assert_binomial(ds.p_join.values, joint)
    assert_binomial(ds.p_mandate.values, p)


# --- perceived votes --------------------------------------------------------------------------


def test_without_misperception_the_perceived_mandate_is_the_true_one(quick):
    actors = {"A": partner(0.6), "B": partner(0.5)}
    inst = _inst(0.5, members=["A", "B"], mandate_shift=0.5, no_mandate_shift=-0.5)
    ds = run(quick, actors, **gate(0.5), **inst)
    np.testing.assert_array_equal(ds.p_mandate_perceived.values, ds.p_mandate.values)
    np.testing.assert_array_equal(ds.p_miscalculation.values, 0.0)


def test_the_aggressor_perceives_the_votes_of_the_willingness_it_perceives(quick):
    """A bias -1.5 (the aggressor underrates A): its perceived P(mandate) is the perceived
    willingness s = expit(logit(0.6) - 1.5), below the true 0.6. With rho = 0 and no action
    without a mandate, the aggressor expects A with probability s^2 (its perceived vote times
    its perceived decision; reusing the true votes would give 0.6 s), so it expects to win with
    probability 1 - s^2 and attacks more often than with our beliefs."""
    w, bias = 0.6, -1.5
    seen = float(special.expit(special.logit(w) + bias))
    inst = _inst(0.0, members=["A"], no_mandate_shift=-9.0)
    biased = run(quick, {"A": partner(w, perceived={"bias": bias})}, **gate(0.5), **inst)
    plain = run(quick, {"A": partner(w)}, **gate(0.5), **inst)
    assert_binomial(biased.p_mandate.values, w)
    assert_binomial(biased.p_mandate_perceived.values, seen)
    assert_binomial(biased.p_join.values, w * w)
    assert_binomial(1.0 - biased.p_win_perceived.values, seen * seen)
    # the true world is unchanged by the aggressor's view (same crises)
    np.testing.assert_array_equal(biased.p_join.values, plain.p_join.values)
    np.testing.assert_array_equal(plain.p_mandate_perceived.values, plain.p_mandate.values)
    assert float(biased.p_attack.mean()) > float(plain.p_attack.mean())
    assert float(biased.p_miscalculation.mean()) > 0


def _bare(quick, actors, factors, inst):
    return bare_scenario(quick, actors, factors, draws=4, realizations=20000, **gate(0.5), **inst)
