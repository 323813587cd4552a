"""Build and fit the hierarchical logit of P(honour); check convergence.

See :mod:`forecast.calibration.fit` for the model. The same numpy code (:func:`_logit`) computes
predictions from posterior draws (:mod:`forecast.calibration.predict`); the PyMC model uses the
PyTensor twin of it, so the two cannot disagree.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast.calibration.data import LA_COVARIATES, LA_LEVELS, TYPE_COLUMNS
from forecast.config.calibration import CalibrationModelConfig, PriorConfig, PriorsConfig

log = logging.getLogger(__name__)

#: Fixed effects, in the order of ``beta``'s ``effect`` dim.
EFFECTS = ("post1945", *TYPE_COLUMNS, "multilateral")
#: Outcome coding of each case source, on the +-1/2 scale of ``delta_source``.
SOURCE_CODE = {"LA": 0.5, "both": 0.5, "BF": -0.5}
ERAS = ("pre1945", "post1945")
_N_LEVELS = max(len(v) for v in LA_LEVELS.values())


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
    w : (n, k) float, standardised extra covariates (k may be 0), 0 where unknown
    """

    x: np.ndarray
    source: np.ndarray
    z: np.ndarray
    missing: np.ndarray
    era: np.ndarray
    war: np.ndarray
    y: np.ndarray
    w: np.ndarray | None = None


def design_from_cases(
    cases: pd.DataFrame, source: np.ndarray | None = None, w: np.ndarray | None = None
) -> Design:
    """Arrays from a case table (:data:`forecast.calibration.cases.CASE_COLUMNS`).

    ``w`` (n, k) are standardised extra covariates (:mod:`forecast.calibration.covariates`).
    """
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
        w=np.zeros((len(cases), 0)) if w is None else np.asarray(w, float),
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

    ``cols`` (m,) enumerated covariates; ``levels`` (k, m) their enumerated values (a constant
    of the graph); ``miss_era0`` / ``miss_era1`` (n, m) 1 where a pre-1945 / post-1945 row's
    covariate is unknown; ``miss`` (n, m) their sum; ``combos_t`` (m, k) the values as floats;
    ``log_allowed`` (n, k) 0 or -1e4 (effectively -inf, but finite so that gradients stay
    finite).
    """
    cols, combos, allowed = _combos(design.missing)
    if len(cols) == 0:
        return None
    miss = design.missing[:, cols].astype(float)
    post = design.era.astype(float)[:, None]
    return {
        "cols": cols,
        "levels": combos.astype(np.int64),
        "miss_era0": miss * (1.0 - post),
        "miss_era1": miss * post,
        "miss": miss,
        "combos_t": combos.T.copy(),
        "log_allowed": np.where(allowed, 0.0, -1e4),
    }


def _logit(xp, eta, gamma, log_pi, arrays: dict | None):
    """Log-odds of honouring, summing over unknown Leeds-Anac covariates.

    Works on numpy arrays (``xp=np``, with a leading draws axis ``S``) and on PyTensor tensors
    (``xp=pt``, no draws axis). The weights and shifts are matrix products over the m unknown
    covariates, so the graph gathers only (2, m, k) entries of ``log_pi``, not (n, k, m): this
    keeps one gradient evaluation well under a millisecond.

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
    levels = arrays["levels"].T  # (m, k)
    eras = np.arange(2)[:, None, None]
    if xp is np:
        # table[s, e, m, k] = log P(covariate cols[m] = levels[k, m] | era e)
        table = log_pi[:, cols[None, :, None], eras, levels[None]]
        log_w = np.einsum("nm,smk->snk", arrays["miss_era0"], table[:, 0]) + np.einsum(
            "nm,smk->snk", arrays["miss_era1"], table[:, 1]
        )
        shift = np.einsum("nm,sm,mk->snk", arrays["miss"], gamma[:, cols], arrays["combos_t"])
        eta_k = eta[..., None] + shift
    else:
        # Dense products with one-hot level matrices instead of a gather: PyTensor's gradient
        # of advanced indexing is far slower than a matrix product.
        rows = []
        for i, j in enumerate(cols):
            n_lev = len(LA_LEVELS[LA_COVARIATES[j]])
            onehot = (levels[i][None, :] == np.arange(n_lev)[:, None]).astype(float)
            rows.append(pt.dot(log_pi[j, :, :n_lev], onehot))  # (2, k)
        table = pt.stack(rows, axis=1)  # (2, m, k)
        log_w = pt.dot(arrays["miss_era0"], table[0]) + pt.dot(arrays["miss_era1"], table[1])
        eta_k = eta[:, None] + pt.dot(arrays["miss"] * gamma[cols], arrays["combos_t"])
    log_w = log_w + arrays["log_allowed"]

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
    cases: pd.DataFrame,
    priors: PriorsConfig,
    wars: np.ndarray | None = None,
    extra: tuple[np.ndarray, tuple[str, ...]] | None = None,
) -> pm.Model:
    """The hierarchical logit of P(honour) on a case table with known outcomes.

    The observed Leeds-Anac covariates are data of the imputation model too; the arrays that
    simulation-based calibration swaps (``y`` and ``z_obs_*``) are ``pm.Data``. ``extra`` is
    ``(w, names)``: standardised extra covariates (n, k) with coefficients ``theta``, whose
    prior is the ``effects`` prior (one standard deviation of a covariate is like a dummy).
    """
    w, extra_names = extra if extra is not None else (np.zeros((len(cases), 0)), ())
    design = design_from_cases(cases, w=w)
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
        "extra_covariate": list(extra_names),
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
        if extra_names:
            theta = _prior("theta", priors.effects, dims="extra_covariate")
            eta = eta + pt.dot(data("w", design.w), theta)
        arrays = _mixture_arrays(design)
        if arrays is not None:
            arrays = {
                k: v if k in ("cols", "levels") else data(f"mix_{k}", v) for k, v in arrays.items()
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
    extra: tuple[np.ndarray, tuple[str, ...]] | None = None,
    posterior_predictive: bool = False,
) -> xr.DataTree:
    """Fit the model with NUTS and check convergence.

    ``draws``, ``tune`` and ``seed`` override the config (cross-validation folds use fewer);
    ``wars`` lists the wars to give an effect (default: those in ``cases``); ``extra`` is
    ``(w, names)`` of :func:`build_model`. ``posterior_predictive`` adds the group of
    replicated outcomes ``y`` (each case in its own war and coding).

    Returns
    -------
    xarray.DataTree
        ArviZ groups with ``(chain, draw)`` dims; root attrs hold the diagnostics and the
        selection correction.
    """
    import os

    from threadpoolctl import threadpool_limits

    s = config.sampling
    progress = s.progress if s.progress is not None else _is_tty()
    model = build_model(cases, config.priors, wars, extra)
    # One BLAS thread per chain: the chains already fill the cores, and a multi-threaded BLAS
    # on top of them oversubscribes a small machine (measured: 40x slower gradients on 2 cores).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    with model, threadpool_limits(limits=1):
        tree = pm.sample(
            draws=draws or s.draws,
            tune=s.tune if tune is None else tune,
            chains=s.chains,
            cores=min(s.cores, s.chains),
            target_accept=s.target_accept,
            random_seed=s.seed if seed is None else seed,
            progressbar=progress,
            compute_convergence_checks=False,
            # PyMC's own NUTS, named: PyMC would pick nutpie when it is installed (the
            # deterrence model uses it), which would change this posterior's draws
            nuts_sampler="pymc",
        )
    if log_likelihood or posterior_predictive:
        _add_pointwise_groups(
            tree,
            cases,
            extra,
            log_likelihood,
            posterior_predictive,
            s.seed if seed is None else seed,
        )
    tree.attrs["selection_shift_mu"] = float(config.selection.shift_mu)
    tree.attrs["selection_shift_sigma"] = float(config.selection.shift_sigma)
    diag = check_convergence(tree, config.diagnostics.rhat_max, config.diagnostics.ess_min)
    tree.attrs.update({f"diagnostics_{k}": v for k, v in diag.items()})
    return tree


def _add_pointwise_groups(tree, cases, extra, log_likelihood, posterior_predictive, seed) -> None:
    """``log_likelihood`` and ``posterior_predictive`` groups of ``y`` (chain, draw, case).

    Computed with the numpy twin of the likelihood (the test suite checks the two agree), which
    takes a second where PyMC's per-draw functions took about a minute on 2 busy cores.
    """
    post = tree["posterior"].to_dataset()
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    draws = _draws(tree)
    w = None if extra is None else extra[0]
    design = design_from_cases(cases, w=w)
    war_idx = pd.Index(draws["war"]).get_indexer(design.war.astype(str))
    p = _predict_probabilities(draws, design, draws["u_war"][:, war_idx])  # (S, n)
    coords = {"chain": post["chain"], "draw": post["draw"], "case": cases.index.to_numpy(str)}

    def group(values, name):
        da = xr.DataArray(
            values.reshape(n_chain, n_draw, -1), dims=("chain", "draw", "case"), coords=coords
        )
        tree[name] = xr.DataTree(xr.Dataset({"y": da}))

    if log_likelihood:
        y = design.y[None, :]
        with np.errstate(divide="ignore"):
            group(np.where(y == 1, np.log(p), np.log1p(-p)), "log_likelihood")
    if posterior_predictive:
        rng = np.random.default_rng(seed)
        group((rng.random(p.shape) < p).astype(np.int64), "posterior_predictive")


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


def _draws(tree: xr.DataTree) -> dict:
    """Posterior draws flattened over (chain, draw): each array gets a leading (S,) axis."""
    post = tree["posterior"].to_dataset()
    stacked = post.stack(sample=("chain", "draw")).transpose("sample", ...)
    out = {
        name: stacked[name].to_numpy()
        for name in ("alpha", "beta", "delta_source", "gamma", "sigma_war", "u_war", "log_pi")
    }
    out["war"] = post["war"].to_numpy().astype(str)
    k = post.sizes.get("extra_covariate", 0)
    out["theta"] = (
        stacked["theta"].to_numpy() if "theta" in post else np.zeros((len(out["alpha"]), k))
    )
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
    if design.w is not None and design.w.shape[1]:
        eta = eta + draws["theta"] @ design.w.T
    out = np.empty_like(eta)
    arrays = _mixture_arrays(design)
    # Chunks over draws bound memory: the sum over unknown covariates is (S, n, combos).
    for start in range(0, eta.shape[0], 256):
        sl = slice(start, start + 256)
        with np.errstate(invalid="ignore"):
            logit = _logit(np, eta[sl], draws["gamma"][sl], draws["log_pi"][sl], arrays)
        out[sl] = 1.0 / (1.0 + np.exp(-logit))
    return out
