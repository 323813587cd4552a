"""Hierarchical logit of P(honour) on the historical record: build, fit, predict.

The model, for case ``i`` in war ``w[i]``::

    logit P(honour_i) = alpha + x_i . beta + s_i * delta + u_w[i] + z_i . gamma
    u_w ~ Normal(0, sigma_war)

``x`` holds era (post-1945), the ATOP obligation dummies (defense, offense, neutral, nonagg,
consul) and multilateral; ``s`` is +1/2 for a Leeds-Anac outcome coding and -1/2 for a
Berkemeier-Fuhrmann one (0 in new crises); ``z`` holds the five Leeds-Anac covariates. Where a
Leeds-Anac covariate is unknown, the likelihood sums over its possible values, weighted by an
imputation model (a Categorical per covariate and era with a Dirichlet prior, learned from the
cases where it is known): P(honour_i) = sum_k P(z = c_k | era) * sigmoid(eta_i(c_k)). Missing
values are thus integrated out under missing-at-random given era, never filled with a constant.

The same numpy code (:func:`_logit`) computes predictions from posterior draws; the PyMC model
uses the PyTensor twin of it, so the two cannot disagree.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast.calibration_config import CalibrationModelConfig, PriorConfig, PriorsConfig
from forecast.data import LA_COVARIATES, LA_LEVELS, TYPE_COLUMNS

log = logging.getLogger(__name__)

#: Fixed effects, in the order of ``beta``'s ``effect`` dim.
EFFECTS = ("post1945", *TYPE_COLUMNS, "multilateral")
#: Outcome coding of each case source, on the +-1/2 scale of ``delta_source``.
SOURCE_CODE = {"LA": 0.5, "both": 0.5, "BF": -0.5}
ERAS = ("pre1945", "post1945")
_N_LEVELS = max(len(v) for v in LA_LEVELS.values())
#: Commitment types of the scenario schema, as ATOP obligation dummies (see docs/calibration.md).
COMMITMENT_TYPES = {
    "defense": {"defense": 1.0},
    "offense": {"offense": 1.0},
    "neutrality": {"neutral": 1.0},
    "consultation": {"consul": 1.0},
    # A deliberately ambiguous commitment promises at most to consult: the decision stays open.
    "ambiguous": {"consul": 1.0},
    # No commitment: the nearest coded case is a non-aggression pact (no promise to help).
    "none": {"nonagg": 1.0},
}
_COVARIATE_KEYS = {"commitment", "post1945", "multilateral", *LA_COVARIATES}


@dataclass
class Design:
    """The arrays the model and the predictive code consume, for ``n`` cases.

    Attributes
    ----------
    x : (n, len(EFFECTS)) float
    source : (n,) float, +-1/2 or 0
    z : (n, 5) float, Leeds-Anac covariates with 0 where unknown
    missing : (n, 5) bool
    era : (n,) int, 0 before 1945, 1 after
    war : (n,) object, war keys
    y : (n,) float, NaN where unknown
    """

    x: np.ndarray
    source: np.ndarray
    z: np.ndarray
    missing: np.ndarray
    era: np.ndarray
    war: np.ndarray
    y: np.ndarray


def design_from_cases(cases: pd.DataFrame, source: np.ndarray | None = None) -> Design:
    """Arrays from a case table (:data:`forecast.data.CASE_COLUMNS`)."""
    z = cases[list(LA_COVARIATES)].to_numpy(float)
    missing = np.isnan(z)
    if source is None:
        source = cases["source"].map(SOURCE_CODE).to_numpy(float)
    return Design(
        x=cases[list(EFFECTS)].to_numpy(float),
        source=np.asarray(source, float),
        z=np.where(missing, 0.0, z),
        missing=missing,
        era=cases["post1945"].to_numpy(int),
        war=cases["war"].to_numpy(object),
        y=cases["y"].to_numpy(float) if "y" in cases else np.full(len(cases), np.nan),
    )


def _combos(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Enumerate values of the covariates missing anywhere in ``missing`` (n, 5).

    Returns ``cols`` (m,) covariate indices, ``combos`` (k, m) values and ``allowed`` (n, k):
    a row may only take combos whose values of its *observed* covariates are the first level,
    so that each observed covariate contributes exactly once, through ``z``.
    """
    cols = np.flatnonzero(missing.any(axis=0))
    if len(cols) == 0:
        return cols, np.zeros((1, 0)), np.ones((len(missing), 1), bool)
    levels = [LA_LEVELS[LA_COVARIATES[j]] for j in cols]
    combos = np.array(list(itertools.product(*levels)), float).reshape(-1, len(cols))
    allowed = np.all(missing[:, None, cols] | (combos[None, :, :] == 0), axis=2)
    return cols, combos, allowed


def _mixture_arrays(design: Design) -> dict | None:
    """Constant arrays of the sum over unknown covariates (None when nothing is unknown).

    ``cols`` (m,) enumerated covariates; ``era_index`` (n, 1, 1); ``level_index`` (1, k, m);
    ``miss`` (n, 1, m) 1 where unknown; ``log_allowed`` (n, k) 0 or -1e4 (effectively -inf,
    but finite so that gradients stay finite); ``shift`` (n, k, m) enumerated values where
    unknown, else 0.
    """
    cols, combos, allowed = _combos(design.missing)
    if len(cols) == 0:
        return None
    miss = design.missing[:, cols].astype(float)
    return {
        "cols": cols,
        "era_index": design.era[:, None, None].astype(np.int64),
        "level_index": combos[None].astype(np.int64),
        "miss": miss[:, None, :],
        "log_allowed": np.where(allowed, 0.0, -1e4),
        "shift": combos[None, :, :] * miss[:, None, :],
    }


def _logit(xp, eta, gamma, log_pi, arrays: dict | None):
    """Log-odds of honouring, summing over unknown Leeds-Anac covariates.

    Works on numpy arrays (``xp=np``, with a leading draws axis ``S``) and on PyTensor tensors
    (``xp=pt``, no draws axis).

    Parameters
    ----------
    eta : (S, n) or (n,) log-odds with the known covariates' contributions
    gamma : (S, 5) or (5,) Leeds-Anac coefficients
    log_pi : (S, 5, 2, 3) or (5, 2, 3) log P(covariate = level | era)
    arrays : from :func:`_mixture_arrays`
    """
    if arrays is None:
        return eta
    cols = arrays["cols"]
    index = (cols[None, None, :], arrays["era_index"], arrays["level_index"])
    # log P(combo | era) for each row: (S, n, k) or (n, k)
    lp = log_pi[index] if xp is not np else log_pi[(slice(None), *index)]
    log_w = (lp * arrays["miss"]).sum(axis=-1) + arrays["log_allowed"]
    if xp is np:
        eta_k = eta[..., None] + np.einsum("nkm,sm->snk", arrays["shift"], gamma[:, cols])
    else:
        eta_k = eta[:, None] + pt.dot(arrays["shift"], gamma[cols])

    def lse(a):
        top = a.max(axis=-1)
        return top + xp.log(xp.exp(a - top[..., None]).sum(axis=-1))

    log_sig = -np.logaddexp(0.0, -eta_k) if xp is np else -pt.softplus(-eta_k)
    log_sig_neg = -np.logaddexp(0.0, eta_k) if xp is np else -pt.softplus(eta_k)
    return lse(log_w + log_sig) - lse(log_w + log_sig_neg)


def _prior(name: str, prior: PriorConfig, **kwargs):
    params = {"mu": prior.mu, "sigma": prior.sigma, "nu": prior.nu, "lam": prior.lam}
    needed = {
        "Normal": ("mu", "sigma"),
        "StudentT": ("nu", "mu", "sigma"),
        "HalfNormal": ("sigma",),
        "HalfStudentT": ("nu", "sigma"),
        "Exponential": ("lam",),
    }[prior.dist]
    return getattr(pm, prior.dist)(name, **{k: params[k] for k in needed}, **kwargs)


def build_model(
    cases: pd.DataFrame, priors: PriorsConfig, wars: np.ndarray | None = None
) -> pm.Model:
    """The hierarchical logit of P(honour) on a case table with known outcomes.

    The observed Leeds-Anac covariates are data of the imputation model too; the arrays that
    simulation-based calibration swaps (``y`` and ``z_obs_*``) are ``pm.Data``.
    """
    design = design_from_cases(cases)
    # Cross-validation passes every war, so that all folds share one parameter vector (and one
    # compiled graph); a war without training cases keeps its prior effect.
    wars = pd.unique(design.war) if wars is None else pd.unique(np.asarray(wars))
    war_idx = pd.Index(wars).get_indexer(design.war)
    coords = {
        "case": cases.index.to_numpy(str),
        "war": np.asarray(wars, str),
        "effect": list(EFFECTS),
        "la_covariate": list(LA_COVARIATES),
        "era": list(ERAS),
        "level": list(range(_N_LEVELS)),
        **{f"level_{name}": list(LA_LEVELS[name]) for name in LA_COVARIATES},
    }
    with pm.Model(coords=coords) as model:
        # Every array is pm.Data, not a constant: the compiled graph then does not depend on
        # the data, so cross-validation folds and SBC refits reuse PyTensor's compile cache.
        def data(name, value, broadcast=()):
            shape = tuple(1 if i in broadcast else None for i in range(np.ndim(value)))
            return pm.Data(name, value, shape=shape)

        alpha = _prior("alpha", priors.intercept)
        beta = _prior("beta", priors.effects, dims="effect")
        delta = _prior("delta_source", priors.source)
        gamma = _prior("gamma", priors.la_covariates, dims="la_covariate")
        sigma_war = _prior("sigma_war", priors.war_sd)
        z_war = pm.Normal("z_war", 0.0, 1.0, dims="war")
        u_war = pm.Deterministic("u_war", sigma_war * z_war, dims="war")

        # Imputation model: P(covariate = level | era), padded to 3 levels.
        log_pis = []
        for j, name in enumerate(LA_COVARIATES):
            n_lev = len(LA_LEVELS[name])
            pi = pm.Dirichlet(
                f"pi_{name}",
                a=np.full((2, n_lev), priors.imputation.alpha),
                dims=("era", f"level_{name}"),
            )
            known = ~design.missing[:, j]
            pm.Categorical(
                f"z_obs_{name}",
                p=pi[data(f"era_{name}", design.era[known])],
                observed=data(f"z_{name}", design.z[known, j].astype(np.int64)),
            )
            pad = pt.full((2, _N_LEVELS - n_lev), -np.inf)
            log_pis.append(pt.concatenate([pt.log(pi), pad], axis=1))
        log_pi = pm.Deterministic(
            "log_pi", pt.stack(log_pis), dims=("la_covariate", "era", "level")
        )
        eta = (
            alpha
            + pt.dot(data("x", design.x), beta)
            + data("source", design.source) * delta
            + u_war[data("war_idx", war_idx.astype(np.int64))]
            + pt.dot(data("z_known", design.z), gamma)
        )
        arrays = _mixture_arrays(design)
        if arrays is not None:
            broadcast = {"era_index": (1, 2), "level_index": (0,), "miss": (1,)}
            arrays = {
                k: v if k == "cols" else data(f"mix_{k}", v, broadcast.get(k, ()))
                for k, v in arrays.items()
            }
        y = data("y_obs", design.y.astype(np.int64))
        pm.Bernoulli("y", logit_p=_logit(pt, eta, gamma, log_pi, arrays), observed=y, dims="case")
    return model


def fit(
    cases: pd.DataFrame,
    config: CalibrationModelConfig,
    *,
    draws: int | None = None,
    tune: int | None = None,
    seed: int | None = None,
    log_likelihood: bool = True,
    wars: np.ndarray | None = None,
) -> xr.DataTree:
    """Fit the model with NUTS and check convergence.

    ``draws``, ``tune`` and ``seed`` override the config (cross-validation folds use fewer);
    ``wars`` lists the wars to give an effect (default: those in ``cases``).

    Returns
    -------
    xarray.DataTree
        ArviZ groups with ``(chain, draw)`` dims; root attrs hold the diagnostics and the
        selection correction.
    """
    s = config.sampling
    progress = s.progress if s.progress is not None else _is_tty()
    model = build_model(cases, config.priors, wars)
    with model:
        tree = pm.sample(
            draws=draws or s.draws,
            tune=s.tune if tune is None else tune,
            chains=s.chains,
            cores=min(s.cores, s.chains),
            target_accept=s.target_accept,
            random_seed=s.seed if seed is None else seed,
            progressbar=progress,
            compute_convergence_checks=False,
        )
        if log_likelihood:
            pm.compute_log_likelihood(tree, var_names=["y"], progressbar=False)
    tree.attrs["selection_shift_mu"] = float(config.selection.shift_mu)
    tree.attrs["selection_shift_sigma"] = float(config.selection.shift_sigma)
    diag = check_convergence(tree, config.diagnostics.rhat_max, config.diagnostics.ess_min)
    tree.attrs.update({f"diagnostics_{k}": v for k, v in diag.items()})
    return tree


def _is_tty() -> bool:
    import sys

    return sys.stderr.isatty()


#: Parameters whose convergence is checked (the deterministic helpers follow from them).
CHECKED = ("alpha", "beta", "delta_source", "gamma", "sigma_war", "z_war")


def check_convergence(tree: xr.DataTree, rhat_max: float, ess_min: float) -> dict:
    """Worst R-hat, bulk and tail ESS, and divergences; log a warning line when one fails.

    Returns
    -------
    dict
        ``rhat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``divergences``, ``ok`` (0/1).
    """
    import arviz_stats as azs

    post = tree["posterior"].to_dataset()[list(CHECKED)]
    chains = post.sizes["chain"]
    rhat = float(max(azs.rhat(post[v]).max() for v in CHECKED)) if chains > 1 else float("nan")
    bulk = float(min(azs.ess(post[v], method="bulk").min() for v in CHECKED))
    tail = float(min(azs.ess(post[v], method="tail").min() for v in CHECKED))
    divergences = int(tree["sample_stats"]["diverging"].sum())
    ok = (chains == 1 or rhat <= rhat_max) and min(bulk, tail) >= ess_min and divergences == 0
    result = {
        "rhat_max": rhat,
        "ess_bulk_min": bulk,
        "ess_tail_min": tail,
        "divergences": divergences,
        "ok": int(ok),
    }
    if not ok:
        # A log line, not a Python warning: a failed check must be visible, not fatal.
        log.warning(
            "CONVERGENCE CHECK FAILED: max R-hat %.3f (limit %.3f), min ESS bulk %.0f / tail %.0f "
            "(limit %.0f), %d divergences. Run longer (calibration.sampling.draws/tune) before "
            "using this posterior.",
            rhat,
            rhat_max,
            bulk,
            tail,
            ess_min,
            divergences,
        )
    return result


# ---------------------------------------------------------------------------------------------
# Posterior files
# ---------------------------------------------------------------------------------------------


def save_posterior(tree: xr.DataTree, path: str | os.PathLike, attrs: dict) -> Path:
    """Write ``tree`` with provenance ``attrs`` atomically (temporary name, then rename)."""
    path = Path(path)
    tree.attrs.update(attrs)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tree.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_posterior(posterior: str | os.PathLike | xr.DataTree) -> xr.DataTree:
    """A posterior DataTree from a path (loaded into memory, file closed) or as given."""
    if isinstance(posterior, xr.DataTree):
        return posterior
    with xr.open_datatree(posterior, engine="h5netcdf") as tree:
        return tree.load()


def _draws(tree: xr.DataTree) -> dict:
    """Posterior draws flattened over (chain, draw): each array gets a leading (S,) axis."""
    post = tree["posterior"].to_dataset()
    stacked = post.stack(sample=("chain", "draw")).transpose("sample", ...)
    out = {
        name: stacked[name].to_numpy()
        for name in ("alpha", "beta", "delta_source", "gamma", "sigma_war", "u_war", "log_pi")
    }
    out["war"] = post["war"].to_numpy().astype(str)
    effects = tuple(post["effect"].to_numpy().astype(str))
    if effects != EFFECTS:
        raise ValueError(f"posterior effects {effects} do not match this version's {EFFECTS}")
    return out


def _predict_probabilities(draws: dict, design: Design, war_effect: np.ndarray) -> np.ndarray:
    """P(honour) per draw and case, (S, n), for draws (S,...) and war effects (S, n)."""
    eta = (
        draws["alpha"][:, None]
        + draws["beta"] @ design.x.T
        + draws["delta_source"][:, None] * design.source[None, :]
        + war_effect
        + draws["gamma"] @ design.z.T
    )
    out = np.empty_like(eta)
    arrays = _mixture_arrays(design)
    # Chunks over draws bound memory: the sum over unknown covariates is (S, n, combos).
    for start in range(0, eta.shape[0], 256):
        sl = slice(start, start + 256)
        with np.errstate(invalid="ignore"):
            logit = _logit(np, eta[sl], draws["gamma"][sl], draws["log_pi"][sl], arrays)
        out[sl] = 1.0 / (1.0 + np.exp(-logit))
    return out


def predict_cases(
    posterior: str | os.PathLike | xr.DataTree,
    cases: pd.DataFrame,
    *,
    seed: int = 0,
    source: np.ndarray | None = None,
    new_wars: bool = False,
) -> np.ndarray:
    """Posterior draws of P(honour) for historical-format cases, shape (S, n).

    A case in a war of the fit uses that war's posterior effect (unless ``new_wars``); any other
    case gets a fresh war effect per draw, shared by the cases of the same war.
    """
    draws = _draws(load_posterior(posterior))
    design = design_from_cases(cases, source)
    rng = np.random.default_rng(seed)
    n_draws = draws["alpha"].shape[0]
    known = pd.Index(draws["war"])
    idx = known.get_indexer(design.war.astype(str)) if not new_wars else np.full(len(cases), -1)
    war_effect = np.zeros((n_draws, len(cases)))
    war_effect[:, idx >= 0] = draws["u_war"][:, idx[idx >= 0]]
    for war in pd.unique(design.war[idx < 0]):
        fresh = draws["sigma_war"] * rng.standard_normal(n_draws)
        war_effect[:, design.war == war] = fresh[:, None]
    return _predict_probabilities(draws, design, war_effect)


def _covariate_frame(covariates: list[dict]) -> pd.DataFrame:
    problems = []
    rows = []
    for i, cov in enumerate(covariates):
        unknown = set(cov) - _COVARIATE_KEYS
        if unknown:
            problems.append(f"covariates[{i}]: unknown keys {sorted(unknown)}")
        commitment = str(cov.get("commitment"))
        commitment = getattr(cov.get("commitment"), "value", commitment)
        if commitment not in COMMITMENT_TYPES:
            problems.append(
                f"covariates[{i}].commitment = {cov.get('commitment')!r}: expected one of "
                f"{', '.join(COMMITMENT_TYPES)}"
            )
            commitment = "defense"
        row = {t: 0.0 for t in TYPE_COLUMNS} | COMMITMENT_TYPES[commitment]
        for flag in ("post1945", "multilateral"):
            if not isinstance(cov.get(flag), (bool, np.bool_)):
                problems.append(f"covariates[{i}].{flag} = {cov.get(flag)!r}: expected a bool")
            row[flag] = float(bool(cov.get(flag)))
        for name in LA_COVARIATES:
            value = cov.get(name)
            if value is not None and not (
                min(LA_LEVELS[name]) <= float(value) <= max(LA_LEVELS[name])
            ):
                problems.append(
                    f"covariates[{i}].{name} = {value!r}: expected a number in "
                    f"[{min(LA_LEVELS[name])}, {max(LA_LEVELS[name])}] or None (unknown)"
                )
                value = None
            row[name] = np.nan if value is None else float(value)
        rows.append(row)
    if problems:
        raise ValueError(
            f"{len(problems)} problem(s) in the covariates:\n  " + "\n  ".join(problems)
        )
    frame = pd.DataFrame(rows, columns=[*EFFECTS, *LA_COVARIATES])
    frame["war"] = "new"
    return frame


def predict_willingness(
    posterior: str | os.PathLike | xr.DataTree,
    covariates: list[dict],
    n_draws: int,
    seed: int,
    *,
    selection_shift: tuple[float, float] | None = None,
) -> np.ndarray:
    """Posterior predictive draws of P(honour) for partners in one new war.

    Each draw takes a posterior draw of the parameters (with replacement when ``n_draws``
    exceeds the posterior's size), one fresh war effect shared by all partners (they are in the
    same war, hence correlated), and unknown Leeds-Anac covariates are summed over as in
    training. Outcome coding is the midpoint of the two datasets'.

    Parameters
    ----------
    posterior : path or DataTree written by ``forecast-calibrate``
    covariates : list of dict, one per partner, keys ``commitment`` (defense, offense,
        neutrality, consultation, ambiguous, none), ``post1945`` (bool), ``multilateral``
        (bool), optional ``milinst``, ``formal`` (0-2), ``chcap2d``, ``dinstch2``, ``origtar1``
        (0-1); missing or None means unknown.
    n_draws : int
    seed : int
    selection_shift : (mu, sigma), optional
        Logit-scale correction for selection on deterrence failure; default: the posterior's
        ``selection_shift_mu`` / ``selection_shift_sigma`` attributes (set from the config).

    Returns
    -------
    numpy.ndarray
        (n_draws, len(covariates)) probabilities in (0, 1); the same for the same seed.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws = {n_draws}: expected >= 1")
    tree = load_posterior(posterior)
    frame = _covariate_frame(covariates)
    draws = _draws(tree)
    rng = np.random.default_rng(seed)
    total = draws["alpha"].shape[0]
    pick = rng.choice(total, size=n_draws, replace=n_draws > total)
    picked = {k: v[pick] for k, v in draws.items() if k != "war"}
    war_effect = picked["sigma_war"] * rng.standard_normal(n_draws)
    if selection_shift is None:
        selection_shift = (
            float(tree.attrs.get("selection_shift_mu", 0.0)),
            float(tree.attrs.get("selection_shift_sigma", 0.0)),
        )
    shift = selection_shift[0] + selection_shift[1] * rng.standard_normal(n_draws)
    design = design_from_cases(frame, source=np.zeros(len(frame)))
    offset = np.repeat((war_effect + shift)[:, None], len(frame), axis=1)
    return _predict_probabilities(picked, design, offset)
