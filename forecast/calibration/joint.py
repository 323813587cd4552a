"""Joint model of initiation and honouring: a latent reliability of the target's alliances.

Each defence alliance ``k`` has a latent reliability ``r_k ~ Normal(0, sigma_r)`` on the logit
scale of honouring. It enters both records:

- **honouring** (the ally x war cases of :func:`forecast.calibration.cases.load_cases`)::

      logit P(honour_j) = a_h + w_j . b_h + r[alliance(j)]

  with ``w`` = (post-1945, defence obligation, multilateral);
- **initiation** against target B in year t (the case-control dyad-years of
  :mod:`forecast.calibration.initiation`)::

      logit P(y_i) = (initiation model)_i + mean over B's defence alliances of
                     (lambda * r_k + tau * e_k),   e_k ~ Normal(0, 1)

  ``e_k`` is the part of an alliance's effect on initiation unrelated to its reliability, so
  ``lambda`` is identified by the *covariance* of the two records' alliance effects, through
  the alliances that appear in both. ``lambda < 0`` says what makes an alliance unreliable
  also invites the attack.

**Selection effect.** For a new crisis whose target is protected by an alliance of unknown
reliability ``r ~ Normal(0, sigma_r)``, the honour probability over all crises is
``E[h(r)]``; over the crises in which a dispute was started, the alliances are re-weighted by
the initiation probability: ``E[h(r) p(r)] / E[p(r)]``. The difference (and its logit form, the
shift the honour model's ``calibration/selection.yaml`` judges at N(0.5, 0.5)) is computed per
posterior draw by Gauss-Hermite quadrature over ``r``. At the rare initiation rates of the
data, ``p(r)`` is nearly ``exp(eta + lambda r)``, so the result barely depends on the reference
log-odds ``eta`` (:data:`REFERENCE_LOGIT`).

Identification rests on the alliances that appear in both records; :func:`selection_report`
compares prior and posterior and says whether the data moved the loading. Where they did not,
the judgement stays the explicit prior of the shift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.sparse as ps
import pytensor.tensor as pt
import scipy.sparse
import xarray as xr
from scipy.special import expit

from forecast.calibration import initiation as ini
from forecast.calibration.dyads import COVARIATES, REGIONS, DyadTables, target_alliances
from forecast.config.deterrence import DeterrenceConfig

#: Covariates of the honour side, in the order of ``b_h``'s ``honour_covariate`` dim.
HONOUR_COVARIATES = ("post1945", "defense", "multilateral")
#: Reference log-odds of initiation in a crisis (about 1% a year, the rate among politically
#: relevant dyads); see the module docstring for why its value matters little.
REFERENCE_LOGIT = float(np.log(0.01 / 0.99))
#: The reference alliance of the selection estimate: post-1945, defensive, bilateral.
REFERENCE_ALLIANCE = {"post1945": 1.0, "defense": 1.0, "multilateral": 0.0}
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def build_joint(
    sample: pd.DataFrame,
    offset: float,
    links: pd.DataFrame,
    cases: pd.DataFrame,
    config: DeterrenceConfig,
) -> pm.Model:
    """The joint PyMC model.

    Parameters
    ----------
    sample : case-control dyad-years (as :func:`initiation.case_control_sample` returns)
    offset : the case-control offset
    links : ``row`` (position in ``sample``), ``atopid``: the target's defence alliances
    cases : honour cases with ``atopid``, ``y`` and :data:`HONOUR_COVARIATES`
    """
    alliances = np.union1d(links["atopid"].unique(), cases["atopid"].unique()).astype(int)
    index = pd.Index(alliances)
    link_k = index.get_indexer(links["atopid"].to_numpy())
    link_row = links["row"].to_numpy(np.int64)
    counts = np.bincount(link_row, minlength=len(sample)).astype(float)
    weight = 1.0 / counts[link_row]
    mean_matrix = scipy.sparse.csr_matrix(
        (weight, (link_row, link_k)), shape=(len(sample), len(alliances))
    )
    coords = {
        "covariate": list(COVARIATES),
        "region": list(REGIONS),
        "alliance": alliances,
        "honour_covariate": list(HONOUR_COVARIATES),
    }
    j = config.joint
    with pm.Model(coords=coords) as model:
        eta = ini.initiation_eta(sample, offset, config)
        sigma_r = pm.HalfNormal("sigma_r", j.reliability_sd)
        z_r = pm.Normal("z_r", 0.0, 1.0, dims="alliance")
        r = pm.Deterministic("r", sigma_r * z_r, dims="alliance")
        loading = pm.Normal("loading", j.loading.mu, j.loading.sigma)
        # mean reliability of each row's alliances: a sparse (n, K) matrix times r (indexed
        # increments and their gradient were ~50 times slower)
        # An alliance's effect on initiation is loading * r_k plus its own part: without that
        # part the model would force the two records' alliance effects to agree exactly, and
        # the loading would measure the size of initiation's alliance effects, not their
        # correlation with honouring.
        tau = pm.HalfNormal("tau", 0.5)
        z_e = pm.Normal("z_e", 0.0, 1.0, dims="alliance")
        v = loading * r + tau * z_e
        v_bar = ps.structured_dot(ps.as_sparse_variable(mean_matrix), v[:, None])[:, 0]
        pm.Bernoulli("y", logit_p=eta + v_bar, observed=sample["y"].to_numpy(np.int64))
        a_h = pm.Normal("a_h", 0.0, 1.5)
        b_h = pm.Normal("b_h", 0.0, 1.0, dims="honour_covariate")
        w = cases[list(HONOUR_COVARIATES)].to_numpy(float)
        case_k = index.get_indexer(cases["atopid"].to_numpy())
        pm.Bernoulli(
            "honour",
            logit_p=a_h + pt.dot(w, b_h) + r[case_k],
            observed=cases["y"].to_numpy(np.int64),
        )
    return model


def selection_effect(a_h, b_h, sigma_r, loading, eta=REFERENCE_LOGIT) -> dict[str, np.ndarray]:
    """Honour probability over all crises and over those where a dispute was started, per
    draw, for the reference alliance.

    Parameters
    ----------
    a_h, sigma_r, loading : (S,)
    b_h : (S, len(HONOUR_COVARIATES))

    Returns
    -------
    dict of (S,) arrays
        ``p_honour_all``, ``p_honour_initiated``, ``difference`` (all minus initiated),
        ``logit_shift`` (the same on the logit scale).
    """
    w = np.array([REFERENCE_ALLIANCE[c] for c in HONOUR_COVARIATES])
    hl = np.asarray(a_h)[:, None] + (np.asarray(b_h) @ w)[:, None]
    r = np.asarray(sigma_r)[:, None] * _GH_NODES[None, :]
    h = expit(hl + r)
    p = expit(eta + np.asarray(loading)[:, None] * r)
    all_ = h @ _GH_WEIGHTS
    initiated = (h * p) @ _GH_WEIGHTS / (p @ _GH_WEIGHTS)

    def logit(q):
        return np.log(q / (1 - q))

    return {
        "p_honour_all": all_,
        "p_honour_initiated": initiated,
        "difference": all_ - initiated,
        "logit_shift": logit(all_) - logit(initiated),
    }


def _summary(x: np.ndarray) -> dict:
    x = np.asarray(x).ravel()
    return {
        "mean": float(x.mean()),
        "sd": float(x.std()),
        "q05": float(np.quantile(x, 0.05)),
        "q95": float(np.quantile(x, 0.95)),
    }


def _selection_draws(group: xr.Dataset) -> dict:
    stacked = group.stack(sample=("chain", "draw")).transpose("sample", ...)
    get = {k: stacked[k].to_numpy() for k in ("a_h", "b_h", "sigma_r", "loading")}
    return get | selection_effect(get["a_h"], get["b_h"], get["sigma_r"], get["loading"])


def _prior_draws(config: DeterrenceConfig, n_cov: int, seed: int, n: int = 4000) -> xr.Dataset:
    """Draws of the parameters the selection effect needs, from their priors (as in
    :func:`build_joint`), with ArviZ's (chain, draw) dims."""
    rng = np.random.default_rng(seed)
    j = config.joint
    dims = ("chain", "draw")
    return xr.Dataset(
        {
            "a_h": (dims, rng.normal(0.0, 1.5, (1, n))),
            "b_h": ((*dims, "honour_covariate"), rng.normal(0.0, 1.0, (1, n, n_cov))),
            "sigma_r": (dims, np.abs(rng.normal(0.0, j.reliability_sd, (1, n)))),
            "loading": (dims, rng.normal(j.loading.mu, j.loading.sigma, (1, n))),
        },
        coords={"honour_covariate": list(HONOUR_COVARIATES)},
    )


def fit_joint(
    frame: pd.DataFrame, tables: DyadTables, cases: pd.DataFrame, config: DeterrenceConfig
) -> xr.DataTree:
    """Sample the joint model (NUTS; ``config.joint.draws`` and ``tune``) and its prior."""
    s = config.sampling
    sample, offset = ini.case_control_sample(frame, config.control_fraction, s.seed)
    links = target_alliances(tables, sample)
    cases = cases[cases["y"].notna()]
    model = build_joint(sample, offset, links, cases, config)
    tree = ini.nuts(
        model, s, draws=config.joint.draws, tune=config.joint.tune, seed=s.seed, progress=False
    )
    tree["prior"] = xr.DataTree(_prior_draws(config, len(HONOUR_COVARIATES), s.seed))
    n_linked = np.isin(cases["atopid"].to_numpy(), links["atopid"].to_numpy())
    tree.attrs.update(
        {
            "model": "joint",
            "n_honour_cases": len(cases),
            "n_honour_cases_linked": int(n_linked.sum()),
            "n_alliances": int(tree["posterior"].sizes["alliance"]),
            "n_fitted_rows": len(sample),
            "intercept_offset": offset,
        }
    )
    return tree


def selection_report(tree: xr.DataTree, config: DeterrenceConfig) -> dict:
    """Prior and posterior of the loading, sigma_r and the selection effect; whether the data
    identify it (posterior sd of the loading under half its prior sd); the shift to use."""
    post = _selection_draws(tree["posterior"].to_dataset())
    prior = _selection_draws(tree["prior"].to_dataset())
    out = {
        name: {"prior": _summary(prior[name]), "posterior": _summary(post[name])}
        for name in (
            "loading",
            "sigma_r",
            "p_honour_all",
            "p_honour_initiated",
            "difference",
            "logit_shift",
        )
    }
    ratio = out["loading"]["posterior"]["sd"] / out["loading"]["prior"]["sd"]
    identified = bool(ratio < 0.5)
    j = config.joint
    out["loading_sd_ratio"] = float(ratio)
    out["identified"] = identified
    out["n_honour_cases"] = int(tree.attrs["n_honour_cases"])
    out["n_honour_cases_linked"] = int(tree.attrs["n_honour_cases_linked"])
    if identified:
        shift = out["logit_shift"]["posterior"]
        out["recommended_shift"] = {
            "mu": shift["mean"],
            "sigma": shift["sd"],
            "source": "joint-model posterior",
        }
    else:
        out["recommended_shift"] = {
            "mu": float(j.judgement_shift_mu),
            "sigma": float(j.judgement_shift_sigma),
            "source": "judgement (the data do not identify the loading)",
        }
    out["reference"] = {"alliance": REFERENCE_ALLIANCE, "initiation_logit": REFERENCE_LOGIT}
    return out


def plot_selection(report: dict, tree: xr.DataTree, path, provenance: dict):
    """Prior against posterior of the loading and of the logit shift (PNG, atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from forecast.storage import replace_atomically

    post = _selection_draws(tree["posterior"].to_dataset())
    prior = _selection_draws(tree["prior"].to_dataset())
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, name, label in zip(
        axes,
        ("loading", "sigma_r", "logit_shift"),
        (
            "loading of initiation on reliability",
            "sd of alliance reliability (logit)",
            "selection shift: logit P(honour) all crises - initiated",
        ),
        strict=True,
    ):
        lo, hi = np.quantile(np.concatenate([prior[name], post[name]]), [0.005, 0.995])
        bins = np.linspace(lo, hi, 60)
        ax.hist(prior[name], bins=bins, density=True, alpha=0.5, label="prior")
        ax.hist(post[name], bins=bins, density=True, alpha=0.5, label="posterior")
        ax.set(xlabel=label)
        ax.legend(fontsize=8)
    mu, sigma = report["recommended_shift"]["mu"], report["recommended_shift"]["sigma"]
    axes[2].set_title(
        f"shift to use: N({mu:.2f}, {sigma:.2f}), {report['recommended_shift']['source']}",
        fontsize=8,
    )
    fig.text(
        0.01,
        0.005,
        f"{provenance.get('created_at', '')} git {provenance.get('git_revision', '')}",
        fontsize=7,
        color="grey",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    try:
        return replace_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    finally:
        plt.close(fig)
