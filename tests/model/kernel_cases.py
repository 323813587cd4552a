"""Random but valid kernel inputs (the named tuples of forecast.model.inputs) for kernel tests."""

from __future__ import annotations

import numpy as np
from scipy import stats

from forecast.model import arrays, inputs, kernels
from forecast.model.war import N_PH


def random_columns(P, K, J, V, mechanisms, phases=1, war=None):
    """Columns with every group present (or only the core ones), and the block widths nz, nu;
    ``war``: the :class:`inputs.War` whose groups to add (``phases`` the most of any type)."""
    general = war is not None and war.general
    offsets = {}
    nz = nu = 0
    for name, width, on in (
        ("factor", K, True),
        ("idio", P, True),
        ("delay", P, mechanisms),
        ("fait_accompli", 1, mechanisms),
        ("vote", J * V, mechanisms and J > 0),
        ("help", 3 * P, general and bool((war.help_noise > 0).any())),
    ):
        offsets[name], nz = (nz, nz + width) if on else (-1, nz)
    for name, width, on in (
        ("contest", 1, True),
        ("attribution", P, mechanisms),
        ("engaged", P, mechanisms),
        ("chain", P, mechanisms),
        ("phase", phases - 1, general and phases > 1),
        ("resolve", phases, general and war.resolve_logit != np.inf),
        ("escalation", phases, general and war.escalation > 0),
    ):
        offsets[name], nu = (nu, nu + width) if on else (-1, nu)
    return inputs.Columns(**offsets), nz, nu


def random_network(rng, P, mechanisms, buck, order=None):
    """Dependencies only on partners earlier in the order (acyclic), access and allies."""
    order = rng.permutation(P) if order is None else np.asarray(order)
    requires = np.zeros((P, P), dtype=np.bool_)
    follows = np.zeros((P, P))
    if mechanisms:
        for a in range(1, P):
            lead = order[rng.integers(0, a)]
            if rng.random() < 0.5:
                requires[order[a], lead] = True
            else:
                follows[order[a], lead] = rng.normal(0, 1)
    on = float(mechanisms)
    access = 1 - rng.uniform(0, 0.8, (P, P)) * (rng.random((P, P)) < 0.3) * on
    np.fill_diagonal(access, 1.0)
    allies = rng.uniform(0, 0.6, (P, P)) * (rng.random((P, P)) < 0.3) * on
    np.fill_diagonal(allies, 0.0)
    codes = tuple(f"P{i:02d}" for i in range(P))
    order, levels = arrays.decision_order(requires | (follows != 0), codes)
    return inputs.network(order, levels, requires, follows, allies, access, buck)


def random_institutions(rng, P, J, V, mechanisms, rho=None):
    """Institutions with random rules, votes and members; each voter a partner (its vote
    correlated with the partner's resolve, ``rho`` or a random correlation in {0, 0.5, 1} per
    institution) or, with probability 0.3, another state (no resolve); some members gated."""
    voters = rng.integers(1, V + 1, J)
    rho = rng.choice([0.0, 0.5, 1.0], J) if rho is None else np.full(J, float(rho))
    partner = rng.integers(0, P, (J, V))
    is_partner = rng.random((J, V)) >= 0.3
    load = np.where(is_partner, rho[:, None], 0.0)

    def thresholds():
        p = rng.uniform(0, 1, (J, V))
        p = np.where(rng.random((J, V)) < 0.1, rng.choice([0.0, 1.0], (J, V)), p)  # certain
        quiet = p + (1 - p) * rng.uniform(0, 1, (J, V)) * (rng.random((J, V)) < 0.7)
        with np.errstate(divide="ignore"):
            return stats.norm.ppf(p), stats.norm.ppf(np.minimum(quiet, 1.0))

    vote, abstain = thresholds()
    vote_p, abstain_p = thresholds()
    member = rng.random((J, P)) < 0.5
    return inputs.Institutions(
        vote_thr=vote,
        abstain_thr=abstain,
        vote_thr_perc=vote_p,
        abstain_thr_perc=abstain_p,
        load=load,
        noise=np.sqrt(1 - load**2),
        vote_partner=partner.astype(np.int64),
        veto=rng.random((J, V)) < 0.3,
        member=member,
        gated=member & (rng.random((J, P)) < 0.3),
        rule=(rng.integers(0, 5, J) if mechanisms else np.zeros(J)).astype(np.int64),
        k=np.array([rng.integers(1, v + 1) for v in voters], dtype=np.int64),
        voters=voters.astype(np.int64),
        mandate_shift=rng.normal(0, 0.7, J),
        no_mandate_shift=rng.normal(0, 0.7, J),
        perceived=bool(mechanisms and J > 0 and rng.random() < 0.7),
    )


def simple_war(T, aggressor, exponent):
    """The :class:`inputs.War` of the model without the process (one phase, nothing else)."""
    return inputs.War(
        general=False,
        n_phases=np.ones(T, dtype=np.int64),
        cum_days=np.zeros((T, 1)),
        decisive=np.ones((T, 1), dtype=np.bool_),
        attrition=0.0,
        aggressor=np.full(T, aggressor),
        exponent=np.full(T, exponent),
        resolve_logit=np.inf,
        resolve_slope=0.0,
        escalation=0.0,
        escalation_shift=0.0,
        help_thr=np.full((3, 0), -np.inf),
        help_load=np.ones((3, 0)),
        help_noise=np.zeros((3, 0)),
        arms=np.zeros(0),
        arms_from=np.zeros(0, dtype=np.int64),
    )


def random_war(rng, T, P, aggressor, exponent, phases=3, general=True, everything=True):
    """A random :class:`inputs.War`: types of 1 .. ``phases`` phases, random durations,
    fait-accompli flags, attrition, balances, resolve, escalation and help (``everything``),
    or only phases and attrition."""
    K = phases
    n_phases = rng.integers(1, K + 1, T).astype(np.int64)
    n_phases[0] = K
    cum = np.zeros((T, K))
    cum[:, 1:] = np.cumsum(rng.uniform(1, 40, (T, K - 1)), axis=1)
    present = rng.random((3, P)) < 0.6 if everything else np.zeros((3, P), dtype=bool)
    load = np.where(rng.random((3, P)) < 0.3, 1.0, rng.uniform(0, 1, (3, P)))
    return inputs.War(
        general=general,
        n_phases=n_phases,
        cum_days=cum,
        decisive=rng.random((T, K)) < 0.5,
        attrition=float(rng.uniform(0, 0.6)),
        aggressor=aggressor * rng.uniform(0.5, 1.5, T),
        exponent=exponent * rng.uniform(0.5, 1.5, T),
        resolve_logit=float(rng.normal(1.5, 1)) if everything else np.inf,
        resolve_slope=float(rng.uniform(0, 2)),
        escalation=float(rng.uniform(0.05, 0.5)) if everything else 0.0,
        escalation_shift=float(rng.normal(-0.5, 0.5)),
        help_thr=np.where(present, rng.normal(0, 1, (3, P)), -np.inf),
        help_load=load,
        help_noise=np.sqrt(1 - load**2),
        arms=np.where(present[1], rng.lognormal(-0.5, 0.5, P), 0.0),
        arms_from=rng.integers(0, K, P).astype(np.int64),
    )


def random_inputs(rng, T, P, K, J, V, n, mechanisms=True, rho=None, war=None):
    """(Inputs, z, u): random but valid, every mechanism switched on when asked; ``rho`` the
    vote correlation of every institution (None: random, see :func:`random_institutions`);
    ``war`` a function (rng, T, P, aggressor, exponent) -> :class:`inputs.War` (None: the model
    without the process)."""
    loadings = rng.uniform(-1, 1, (P, K)) / np.sqrt(max(K, 1) * 1.5)
    power = inputs.Power(
        float(rng.lognormal(0, 0.5)), float(rng.lognormal(1, 0.5)), float(rng.uniform(0.5, 3))
    )
    wr = (war or (lambda rng, T, P, a, m: simple_war(T, a, m)))(
        rng, T, P, power.aggressor, power.exponent
    )
    cols, nz, nu = random_columns(P, K, J, V, mechanisms, wr.cum_days.shape[1], wr)
    on = float(mechanisms)
    thr = rng.normal(0, 1, (T, P))
    buck = rng.uniform(0, 2, P) * on * (rng.random(P) < 0.5)
    partners = inputs.Partners(
        thr=thr,
        thr_perc=thr + rng.normal(0, 0.5, (T, P)),
        expected=rng.uniform(0, 1, (T, P)),
        expected_perc=rng.uniform(0, 1, (T, P)),
        attribution=rng.uniform(0.3, 1, (T, P)) if mechanisms else np.ones((T, P)),
        loadings=loadings,
        idio=np.sqrt(1 - (loadings**2).sum(axis=1)),
        cap=rng.lognormal(0, 0.7, P),
        buck=buck,
        engaged_probability=rng.uniform(0, 0.5, P) * on,
        engaged_factor=rng.uniform(0.2, 1, P),
        engaged_shift=rng.normal(0, 0.5, P),
        log_delay=np.log(rng.uniform(1, 30, P)),
        delay_spread=rng.uniform(0, 0.6, P) * on,
    )
    args = inputs.Inputs(
        partners=partners,
        network=random_network(rng, P, mechanisms, buck),
        institutions=random_institutions(rng, P, J, V, mechanisms, rho),
        timing=inputs.Timing(
            float(np.log(rng.uniform(5, 25))) if mechanisms else np.inf, 0.3 * on, 0.5
        ),
        power=power,
        columns=cols,
        war=wr,
    )
    return args, rng.standard_normal((n, nz)), rng.random((n, nu))


def tallies(T, P, J, K=1):
    return inputs.Tallies(
        np.zeros((T, kernels.N_T)),
        np.zeros((T, P, kernels.N_TP)),
        np.zeros(J),
        np.zeros((T, kernels.N_BINS)),
        np.zeros(J),
        np.zeros((T, P, P, kernels.N_PP)),
        np.zeros((T, K, N_PH)),
        np.zeros((T, K)),
    )


def assert_same_tallies(a, b, label=""):
    """Every count equal, the power sums per phase (fixed point) included."""
    for name, x, y in zip(inputs.Tallies._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=f"{label} {name}")
