"""The only module that knows dim names: arrays -> xarray, and files on disk with provenance.

Dims: ``draw`` (epistemic), ``actor`` (partner state codes). Variables are nouns with prefixes:
``p_`` probabilities, ``mcse_`` their Monte Carlo standard errors within each draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model import streams
from forecast.results.conventions import forecast_attributes
from forecast.storage import provenance

DRAW = "draw"
ACTOR = "actor"
ATTACK_TYPE = "attack_type"
INSTITUTION = "institution"
QUANTILE = "quantile"
CONTRIBUTION = "contribution"
PHASE = "phase"

_DESCRIPTIONS = {
    "p_attack": (
        "P(the aggressor attacks) in one crisis in which it weighs an attack, over its decision "
        "noise (p_attack_within_horizon: over the scenario's horizon)"
    ),
    "p_deterrence": "P(deterrence holds) in one crisis in which the aggressor weighs an attack",
    "p_defense_success": "P(the coalition defeats the attack | attack)",
    "p_win_perceived": "the aggressor's perceived P(it wins | attack)",
    "p_join": "P(the partner joins | attack)",
    "willingness": "the draw's true willingness of the partner to honour its commitment",
    "willingness_perceived": "the aggressor's view of the partner's willingness",
    "capability": "the draw's capability of the partner",
    "delay": "the draw's response delay of the partner, days",
    "fait_accompli": "the draw's fait-accompli time, days (inf: no time limit)",
    "p_join_in_time": "P(the partner joins and arrives before the fait accompli | attack)",
    "p_entangled": "P(the partner is drawn in through an ally, not its own commitment | attack)",
    "pivotality": (
        "P(the coalition defeats the attack | attack, the partner forced in) - P(... | forced "
        "out), every other partner deciding again on the same crises (total effect)"
    ),
    "pivotality_deterrence": (
        "P(attack | the aggressor knows the partner stays out) - P(attack): in the aggressor's "
        "perceived world the partner is forced out (unwilling, not drawn in, expected to commit "
        "nothing) and every other partner decides again on the same crises; positive: the "
        "partner deters"
    ),
    "p_miscalculation": (
        "P(the aggressor attacks in a crisis in which it would not have attacked had it shared "
        "our beliefs): max(0, p_attack - p_attack_true_beliefs) per attack type on the table, "
        "with a common decision-noise draw (with scenario.aggressor.choose_type: of the two "
        "totals); exactly 0 with no misperception"
    ),
    "p_attack_true_beliefs": (
        "P(the aggressor attacks) had it decided on our beliefs (the true-world win and join "
        "frequencies) instead of its own"
    ),
    "p_attack_repelled": "P(the aggressor attacks, a partner comes, and the coalition wins)",
    "p_attack_failed": "P(the aggressor attacks and loses), with or without partners",
    "p_attack_within_horizon": (
        "P(at least one attack within scenario.horizon.years) = 1 - exp(-opportunities_per_year "
        "* years * p_attack): Poisson crises, each an independent attack decision given the draw"
    ),
    "prize": "the draw's value to the aggressor of winning with this attack type (prize units)",
    "cost": "the draw's cost of war to the aggressor with this attack type (prize units)",
    "decision_noise": "the draw's scale of the logistic noise on the aggressor's decision",
    "opportunities_per_year": "the draw's rate of crises in which the aggressor weighs an attack",
    "p_coalition_forms": "P(at least one partner joins | attack)",
    "p_attack_by_type": "P(the aggressor attacks with this attack type)",
    "p_attack_type": "P(attack type | attack)",
    "attack_value": "the aggressor's perceived value of attacking with this type (prize units)",
    "p_defense_success_by_type": "P(the coalition defeats the attack | attack of this type)",
    "p_join_by_type": "P(the partner joins | attack of this type)",
    "p_mandate": "P(the institution gives a mandate | attack)",
    "p_mandate_perceived": (
        "P(the institution gives a mandate | attack) in the world the aggressor perceives: votes "
        "from the willingness it perceives, on the same crises"
    ),
    "coalition_power": (
        "quantiles of coalition power at the decisive time (with the war in phases: in its first "
        "phase), capability units, over the crises of every attack type weighted by P(attack "
        "type | attack)"
    ),
    "p_contributes": (
        "P(the partner decides to give this kind of help | attack): troops (= p_join), access "
        "(it fights or opens its bases), arms (given, whether or not the war lasts to the phase "
        "they arrive in), sanctions"
    ),
    "pivotality_contribution": (
        "pivotality of each kind of help: troops (= pivotality); access and arms: P(the coalition "
        "defeats the attack | attack, that help forced) - P(... | withheld), the partner's troops "
        "and every other decision as they are, on the same crises; sanctions 0 (they act on the "
        "aggressor's cost, not on the war)"
    ),
    "p_escalation": "P(the war crosses the escalation threshold | attack)",
    "p_holds_objective": (
        "P(the aggressor holds the objective at the end of the phase | attack); after the war "
        "has ended, its outcome"
    ),
    "p_decided_in_phase": (
        "P(the war ends in this phase | attack), over the attack types weighted by P(attack "
        "type | attack), their phases lined up by position"
    ),
    "p_decided_in_phase_by_type": (
        "P(the war ends in this phase | an attack of this type); 0 beyond the type's last phase "
        "(its name in phase_name)"
    ),
    "coalition_power_by_phase": (
        "mean coalition power (capability units) over the crises whose war reaches the phase"
    ),
    "coalition_power_ratio": (
        "quantiles of coalition power / the aggressor's power in the attack type (its own where "
        "the type sets one), at the same time as coalition_power"
    ),
}


def to_dataset(plan: Any, stats: dict[str, np.ndarray], config_yaml: str) -> xr.Dataset:
    """Per-draw statistics -> Dataset with coords ``draw``, ``actor``, ``attack_type``, ...

    ``stats`` is a :class:`forecast.sampling.estimates.Stats`, whose ``dims`` names each array's
    dims;
    a plain dict is read as (draw,) or (draw, actor) arrays.
    """
    from forecast.sampling.estimates import CONTRIBUTIONS, QUANTILES, phase_names, type_phase_names

    m = plan.model
    coords = {
        DRAW: np.arange(plan.n_draws),
        ACTOR: list(m.codes),
        "actor_name": (ACTOR, list(m.names)),
        ATTACK_TYPE: list(m.attack_types),
        INSTITUTION: list(m.institutions),
        QUANTILE: QUANTILES,
        CONTRIBUTION: list(CONTRIBUTIONS),
        PHASE: phase_names(m),
        # each attack type's own name for each phase ("" beyond its last)
        "phase_name": ((ATTACK_TYPE, PHASE), type_phase_names(m)),
    }
    dims_of = getattr(stats, "dims", {})
    data = {}
    for name, arr in stats.items():
        dims = dims_of.get(name) or ((DRAW,) if np.ndim(arr) == 1 else (DRAW, ACTOR))
        data[name] = (dims, np.asarray(arr, dtype=float))
    dr = plan.draws
    data["willingness"] = ((DRAW, ACTOR), dr.willingness)
    data["willingness_perceived"] = ((DRAW, ACTOR), dr.perceived)
    data["capability"] = ((DRAW, ACTOR), dr.capability)
    data["delay"] = ((DRAW, ACTOR), dr.delay)
    data["capability_target"] = ((DRAW,), dr.capability_target)
    data["capability_aggressor"] = ((DRAW,), dr.capability_aggressor)
    data["fait_accompli"] = ((DRAW,), dr.fait_accompli)
    for name in ("prize", "cost", "decision_noise"):
        data[name] = ((DRAW, ATTACK_TYPE), getattr(dr, name))
    data["opportunities_per_year"] = ((DRAW,), dr.opportunities_per_year)
    data["n_realizations"] = ((DRAW,), plan_realizations(plan, stats))
    rate = getattr(plan, "crisis_rate", None)
    if rate is not None:
        for name, value in rate.values.items():
            data[name] = ((DRAW,), value)
        data["initiation_posterior_draw"] = ((DRAW,), rate.posterior_draw)
    ds = xr.Dataset(data, coords=coords)
    for name in [v for v in ds.data_vars if str(v).startswith("mcse_")]:
        # the aleatory MCSE of the mean over draws: independent draws, so variances add
        se = ds[name]
        ds[f"mcse_mean_{str(name)[5:]}"] = np.sqrt((se**2).sum(DRAW)) / se.sizes[DRAW]
        ds[f"mcse_mean_{str(name)[5:]}"].attrs["description"] = (
            f"Monte Carlo standard error of the mean of {str(name)[5:]} over the draws"
        )
    for name, text in _DESCRIPTIONS.items():
        if name in ds:
            ds[name].attrs["description"] = text
    for name in list(ds.data_vars):
        if name.startswith("mcse_") and not name.startswith("mcse_mean_"):
            ds[name].attrs["description"] = f"Monte Carlo standard error of {name[5:]} in the draw"
    ds.attrs.update(provenance(config_yaml, plan.settings.seed))
    ds.attrs["scenario"] = m.scenario
    ds.attrs["aggressor"] = m.aggressor
    ds.attrs["target"] = m.target
    ds.attrs["horizon_years"] = float(m.horizon_years)
    ds.attrs["draws"] = int(plan.n_draws)
    ds.attrs["realizations"] = int(plan.settings.realizations)
    ds.attrs["backend"] = plan.settings.backend
    ds.attrs["random_numbers"] = streams.describe()
    if rate is not None:
        from forecast.calibration.crisis_rate import OUTPUTS

        for name, text in OUTPUTS.items():
            ds[name].attrs["description"] = text
        ds["initiation_posterior_draw"].attrs["description"] = (
            "index of the (chain, draw)-flattened initiation posterior sample the draw took"
        )
        ds.attrs.update(rate.attrs)
    return forecast_attributes(ds)


def plan_realizations(plan: Any, stats: dict[str, np.ndarray]) -> np.ndarray:
    n = stats.get("n_realizations")
    if n is not None:
        return np.asarray(n)
    return np.full(plan.n_draws, plan.settings.realizations, dtype=np.int64)


SUMMARY_VARIABLES = (
    "p_deterrence",
    "p_attack",
    "p_attack_within_horizon",
    "p_attack_true_beliefs",
    "p_defense_success",
    "p_win_perceived",
    "p_coalition_forms",
    "p_miscalculation",
    "p_attack_repelled",
    "p_attack_failed",
    "p_join",
    "p_join_in_time",
    "p_entangled",
    "pivotality",
    "pivotality_deterrence",
    "p_attack_type",
    "p_mandate",
    "p_contributes",
    "pivotality_contribution",
    "p_escalation",
    "p_decided_in_phase",
    "p_holds_objective",
)


#: outputs whose per-draw value is conditional on an attack, P(... | attack) in that draw
GIVEN_ATTACK = (
    "p_defense_success",
    "p_win_perceived",
    "p_coalition_forms",
    "p_join",
    "p_join_in_time",
    "p_entangled",
    "pivotality",
    "p_attack_type",
    "p_mandate",
    "p_mandate_perceived",
    "p_contributes",
    "pivotality_contribution",
    "p_escalation",
    "p_holds_objective",
    "p_decided_in_phase",
)
#: outputs conditional on an attack of one type, P(... | an attack of type t) in each draw
GIVEN_ATTACK_OF_TYPE = (
    "p_defense_success_by_type",
    "p_join_by_type",
    "p_decided_in_phase_by_type",
)


def attack_weights(ds: xr.Dataset, name: str, sel: dict | None = None) -> xr.DataArray | None:
    """Each draw's weight once an attack is seen: its P(attack), or for an output given an
    attack of one type its P(attack with that type) at ``sel``'s attack type; None for an
    output that does not condition on an attack, or a run without those variables."""
    sel = sel or {}
    if name in GIVEN_ATTACK and "p_attack" in ds:
        return ds["p_attack"]
    if name in GIVEN_ATTACK_OF_TYPE and "p_attack_by_type" in ds and ATTACK_TYPE in sel:
        return ds["p_attack_by_type"].sel({ATTACK_TYPE: sel[ATTACK_TYPE]})
    return None


def if_attacked(ds: xr.Dataset, name: str, sel: dict | None = None) -> float | None:
    """The probability of ``name`` at ``sel`` to use once the aggressor has attacked.

    Each draw holds P(x | attack) under its own beliefs, and the draws that attack more often are
    the likelier ones once an attack is seen, so by Bayes' rule over the epistemic draws
    P(x | attack) = E[P(attack) P(x | attack)] / E[P(attack)]: the mean over draws weighted by
    :func:`attack_weights`. The plain mean over draws is the expected conditional probability,
    which differs from it wherever the aggressor's resolve to attack moves with the war's
    prospects across draws. Draws whose value is not finite are left out; when no draw attacks
    (every weight 0) the plain mean. None for an output that does not condition on an attack.
    """
    pair = _weighted(ds, name, sel or {})
    if pair is None:
        return None
    x, w = pair
    total = float(w.sum())
    return float(x.mean()) if total <= 0.0 else float((w * x).sum() / total)


def if_attacked_over_draws(ds: xr.Dataset, name: str) -> xr.DataArray | None:
    """:func:`if_attacked` of ``name`` at every coordinate of its other dims at once (a sweep's
    swept paths, the partners, the attack types): the mean over draws weighted by each draw's
    P(attack), or for an output given an attack of one type by P(attack with that type) of the
    same type. Draws whose value or weight is not finite are left out; where no draw attacks,
    the plain mean. None for an output that does not condition on an attack."""
    if name in GIVEN_ATTACK and "p_attack" in ds:
        w = ds["p_attack"]
    elif name in GIVEN_ATTACK_OF_TYPE and "p_attack_by_type" in ds:
        w = ds["p_attack_by_type"]
    else:
        return None
    x = ds[name]
    if DRAW not in x.dims:
        return None
    x, w = xr.broadcast(x, w.astype(float))
    ok = np.isfinite(x) & np.isfinite(w)
    x, w = x.where(ok, 0.0), w.where(ok, 0.0)
    total = w.sum(DRAW)
    plain = x.sum(DRAW) / ok.sum(DRAW)
    weighted = (w * x).sum(DRAW) / total.where(total > 0.0)
    out = weighted.where(total > 0.0, plain).where(ok.any(DRAW))
    return out.transpose(*[d for d in ds[name].dims if d != DRAW])


def _weighted(ds: xr.Dataset, name: str, sel: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The finite per-draw values of ``name`` at ``sel`` and their :func:`attack_weights`;
    None for an output that does not condition on an attack, or with no finite pair."""
    w = attack_weights(ds, name, sel)
    if w is None:
        return None
    x = ds[name].sel({k: v for k, v in sel.items() if k in ds[name].dims})
    if set(x.dims) != {DRAW} or set(w.dims) != {DRAW}:
        return None
    xv, wv = x.values.astype(float), w.values.astype(float)
    ok = np.isfinite(xv) & np.isfinite(wv)
    return (xv[ok], wv[ok]) if ok.any() else None


def _uninformative(ds: xr.Dataset, name: str, sel: dict) -> bool:
    """Rows the summary leaves out: a process output of a run without that part of the
    process (no escalation, one phase, a kind of help nobody gives or troops again)."""
    da = ds[name].sel(sel)
    if name == "p_escalation":
        return float(da.max()) == 0.0
    if PHASE in ds[name].dims:
        return ds.sizes[PHASE] < 2
    if CONTRIBUTION in ds[name].dims:
        kind = sel.get(CONTRIBUTION)
        if kind == "troops" or not bool((da != 0.0).any()):  # a pivotality may be negative
            return True
        if "troops" not in ds[CONTRIBUTION].values:
            return False
        troops = ds[name].sel({**sel, CONTRIBUTION: "troops"})
        return bool((da == troops).all())
    return False


def gives_help(ds: xr.Dataset, name: str = "p_contributes") -> bool:
    """Whether some partner gives a kind of help besides its troops in the run (a
    ``contribution`` variable with an informative row)."""
    da = ds[name]
    kinds = [k for k in da[CONTRIBUTION].values if str(k) != "troops"]
    return any(
        not _uninformative(ds, name, {ACTOR: a, CONTRIBUTION: k})
        for a in da[ACTOR].values
        for k in kinds
    )


def decisive_phase(ds: xr.Dataset) -> tuple[str, float] | None:
    """The phase in which the war most often ends, and P(it ends there | attack) once an attack
    is seen (:func:`if_attacked`); None with one phase."""
    if "p_decided_in_phase" not in ds or ds.sizes.get(PHASE, 1) < 2:
        return None
    p = np.array([_given(ds, "p_decided_in_phase", {PHASE: k}) for k in ds[PHASE].values])
    k = int(np.argmax(p))
    return str(ds[PHASE].values[k]), float(p[k])


def decisive_phases(ds: xr.Dataset) -> list[tuple[str, str, float]]:
    """For each attack type, the phase in which its war most often ends, by the type's own name
    for it, and P(it ends there | an attack of that type) once such an attack is seen
    (:func:`if_attacked`); [] with one phase, or for results without
    ``p_decided_in_phase_by_type``."""
    if "p_decided_in_phase_by_type" not in ds or ds.sizes.get(PHASE, 1) < 2:
        return []
    var = "p_decided_in_phase_by_type"
    out = []
    for t in map(str, ds[ATTACK_TYPE].values):
        row = np.array([_given(ds, var, {ATTACK_TYPE: t, PHASE: k}) for k in ds[PHASE].values])
        k = int(np.argmax(row))
        name = (
            str(ds["phase_name"].sel({ATTACK_TYPE: t}).values[k])
            if "phase_name" in ds.coords
            else ""
        )
        out.append((t, name or str(ds[PHASE].values[k]), float(row[k])))
    return out


def decisive_words(ds: xr.Dataset, digits: int = 2) -> str:
    """The war's decisive phase in words: by attack type where the types' wars differ in their
    phases, else the one phase in which the war most often ends; "" with one phase."""
    per_type = decisive_phases(ds)
    own = ds.coords.get("phase_name")
    if len(per_type) > 1 and own is not None and len({tuple(r) for r in own.values.tolist()}) > 1:
        parts = [f"{t} in '{name}' ({p:.{digits}f})" for t, name, p in per_type]
        return "the war is usually decided, by attack type (P(it ends there | that attack)): " + (
            ", ".join(parts)
        )
    decided = decisive_phase(ds)
    if decided is None:
        return ""
    return (
        f"the war is usually decided in the phase '{decided[0]}': P(it ends there | attack) "
        f"{decided[1]:.{digits}f}"
    )


def summary_table(ds: xr.Dataset, level: float = 0.9) -> pd.DataFrame:
    """Mean, epistemic interval across draws, and aleatory MCSE of the mean, per probability;
    ``se_mean``, the mean's whole Monte Carlo error (:func:`error_of_mean`); and for the
    outputs given an attack ``if_attacked`` and its error ``if_attacked_se``
    (:func:`if_attacked`; NaN elsewhere).

    One row per probability and (where it has one) actor, attack type or institution. The MCSE
    of the mean over D draws is sqrt(sum_d mcse_d^2) / D: the crises' part of its error alone.
    """
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for name in SUMMARY_VARIABLES:
        if name not in ds:
            continue
        da = ds[name]
        if name == "p_attack_type" and da.sizes.get(ATTACK_TYPE, 1) < 2:
            continue
        if name == "p_entangled" and float(da.max()) == 0.0:
            continue
        mcse = ds.get(f"mcse_{name}")
        extra = [d for d in da.dims if d != DRAW]
        grid = [{}]
        for dim in extra:  # every combination of the other dims, labelled "a/b"
            grid = [{**g, dim: v} for g in grid for v in da[dim].values]
        for sel in grid:
            if _uninformative(ds, str(name), sel):
                continue
            a = "/".join(str(v) for v in sel.values()) if sel else None
            x = da.sel(sel)
            se = None
            if mcse is not None:
                s = mcse.sel(sel)
                se = float(np.sqrt((s.values**2).sum()) / s.sizes[DRAW])
            rows.append(
                {
                    "quantity": str(name),
                    "actor": "" if a is None else str(a),
                    "mean": float(x.mean()),
                    f"q{lo_q * 100:02.0f}": float(x.quantile(lo_q)),
                    f"q{hi_q * 100:02.0f}": float(x.quantile(hi_q)),
                    "mcse": se,
                    "if_attacked": _or_nan(if_attacked(ds, str(name), sel)),
                    "se_mean": _or_nan(error_of_mean(ds, str(name), sel)),
                    "if_attacked_se": _or_nan(if_attacked_error(ds, str(name), sel)),
                }
            )
    return pd.DataFrame(rows)


def error_of_mean(ds: xr.Dataset, name: str, sel: dict | None = None) -> float | None:
    """The Monte Carlo standard error of the mean over draws of ``name`` at ``sel``, from both
    sources of simulation noise: which beliefs were drawn and which crises were simulated in
    each. The draws are independent, and each draw's value already carries its crises' noise,
    so it is the standard error of a mean of independent values, sd / sqrt(D). Another seed
    moves the mean by about this much. The recorded ``mcse_mean_<name>`` is the crises' part
    alone, which more crises per draw reduce and more draws do not. None with fewer than two
    finite values."""
    da = ds[name].sel({k: v for k, v in (sel or {}).items() if k in ds[name].dims})
    if set(da.dims) != {DRAW}:
        return None
    x = da.values.astype(float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    return float(x.std(ddof=1) / np.sqrt(x.size))


def if_attacked_error(ds: xr.Dataset, name: str, sel: dict | None = None) -> float | None:
    """The Monte Carlo standard error of :func:`if_attacked`, a ratio of two means over draws
    R = mean(w x) / mean(w), by the delta method: sd(w x - R w) / (sqrt(D) mean(w)). None where
    :func:`if_attacked` is None, or with fewer than two draws or weights summing to 0."""
    pair = _weighted(ds, name, sel or {})
    if pair is None or pair[0].size < 2 or pair[1].sum() <= 0.0:
        return None
    x, w = pair
    r = (w * x).sum() / w.sum()
    return float((w * x - r * w).std(ddof=1) / (np.sqrt(x.size) * w.mean()))


def _given(ds: xr.Dataset, name: str, sel: dict) -> float:
    """:func:`if_attacked`, or the plain mean over draws for a run without P(attack)."""
    p = if_attacked(ds, name, sel)
    return float(ds[name].sel(sel).mean(DRAW)) if p is None else p


def _or_nan(x: float | None) -> float:
    return np.nan if x is None else x


def format_summary(df: pd.DataFrame) -> str:
    """A fixed-width text table of :func:`summary_table`."""
    cols = list(df.columns)
    q_lo, q_hi = cols[3], cols[4]
    wq = max([20] + [len(str(q)) + 2 for q in df["quantity"]]) if len(df) else 20
    wa = max([10] + [len(str(a)) + 2 for a in df["actor"]]) if len(df) else 10
    head = f"{'quantity':<{wq}}{'of':<{wa}}{'mean':>8}{'SE':>8}{'90% interval':>20}{'MCSE':>10}"
    lines = [head + f"{'if attacked':>13}"]
    for r in df.itertuples(index=False):
        d = r._asdict()
        se = "" if d["mcse"] is None or np.isnan(d["mcse"]) else f"{d['mcse']:.1e}"
        iv = f"[{d[q_lo]:.3f}, {d[q_hi]:.3f}]"
        given = d.get("if_attacked")
        given = "" if given is None or np.isnan(given) else f"{given:.3f}"
        whole = d.get("se_mean")
        whole = "" if whole is None or np.isnan(whole) else f"{whole:.3f}"
        lines.append(
            f"{d['quantity']:<{wq}}{d['actor']:<{wa}}{d['mean']:>8.3f}{whole:>8}{iv:>20}{se:>10}"
            f"{given:>13}"
        )
    return "\n".join(lines)
