"""Bayesian logit of P(A initiates a militarised dispute against B in year t).

On directed dyad-years (:mod:`forecast.calibration.dyads`), for dyad-year ``i``::

    logit P(y_i = 1) = alpha + x_i . beta + u_a[region(A_i)] + u_b[region(B_i)]
    u_a ~ Normal(0, sigma_a),  u_b ~ Normal(0, sigma_b)         (partial pooling by region)

``x`` holds :data:`~forecast.calibration.dyads.COVARIATES` (the target's defence pacts that
apply to the challenger, the
capability ratio, contiguity, distance, major-power status, rivalry, era and a cubic in peace
years). The universe of directed dyad-years is fitted with **case-control sampling**: every
event is kept and a random ``control_fraction`` of the non-events. Under a logit, sampling on
the outcome alone changes only the intercept, by exactly ``log(1 / control_fraction)`` (King &
Zeng 2001, prior correction), so the model adds that constant as an offset and ``alpha`` is the
population intercept. The sampler works on standardised covariates; ``alpha`` and ``beta`` are
stored on the covariates' own scale.

:func:`annual_propensity` turns the posterior into per-draw annual initiation probabilities of a
dyad and year (what the aggressor's side of the crisis model needs) and how pacts and the
capability balance move them; ``python -m forecast.calibration.initiation POSTERIOR A B YEAR``
prints P(initiation within N years).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit
from threadpoolctl import threadpool_limits

from forecast.calibration.dyads import COVARIATES, REGIONS, DyadTables, dyad_years
from forecast.config.deterrence import DeterrenceConfig

log = logging.getLogger(__name__)

PEACE_TERMS = ("peace1", "peace2", "peace3")
CHECKED = ("alpha_z", "theta", "sigma_a", "sigma_b", "z_a", "z_b")


def case_control_sample(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, float]:
    """Every event and a random ``fraction`` of non-events of ``frame`` (rows with known ``y``).

    Returns
    -------
    sample : pandas.DataFrame
        The kept rows, in ``frame``'s order.
    offset : float
        ``log(1 / fraction)``: add to the population log-odds to get the sample's.
    """
    known = frame[frame["y"].notna()]
    rng = np.random.default_rng(seed)
    keep = (known["y"].to_numpy() == 1) | (rng.random(len(known)) < fraction)
    return known[keep], float(np.log(1.0 / fraction))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (x - mean) / sd, mean, sd


def initiation_eta(sample: pd.DataFrame, offset: float, config: DeterrenceConfig):
    """Add the initiation model's parameters to the current PyMC model; return the sample's
    log-odds (a tensor of shape (n,)), offset included. The joint model builds on it."""
    x = sample[list(COVARIATES)].to_numpy(float)
    xz, mean, sd = _standardise(x)
    pr = config.priors
    prior_sd = np.array(
        [pr.peace.sigma if c in PEACE_TERMS else pr.effects.sigma for c in COVARIATES]
    )
    prior_mu = np.array([pr.peace.mu if c in PEACE_TERMS else pr.effects.mu for c in COVARIATES])
    n_reg = len(REGIONS)
    # Region effects enter through one-hot columns of the same matrix product: a dense dot is
    # several times faster than indexing (and its gradient) on tens of thousands of rows.
    onehot = np.concatenate(
        [
            np.eye(n_reg)[sample["region_a"].to_numpy(np.int64)],
            np.eye(n_reg)[sample["region_b"].to_numpy(np.int64)],
        ],
        axis=1,
    )
    # QR reparameterisation: the sampler moves along orthogonal columns (the three peace-year
    # terms are nearly collinear, which made NUTS take 4-8 times more steps); the prior stays
    # on beta_z = R^-1 theta, a linear map, so no Jacobian term is needed.
    q, r = np.linalg.qr(xz)
    scale = np.sqrt(max(len(xz) - 1, 1))
    q, r = q * scale, r / scale
    design = pm.Data("design", np.concatenate([q, onehot], axis=1))
    alpha_z = pm.Normal("alpha_z", pr.intercept.mu, pr.intercept.sigma)
    theta = pm.Flat("theta", dims="covariate")
    beta_z = pm.Deterministic("beta_z", pt.dot(np.linalg.inv(r), theta), dims="covariate")
    pm.Potential("beta_z_prior", pm.logp(pm.Normal.dist(prior_mu, prior_sd), beta_z).sum())
    if config.pooling:
        # Zero-sum region effects: the intercept carries their mean, so the two are not a
        # ridge the sampler has to walk along (plain normal effects doubled the tree depth).
        sigma_a = pm.HalfNormal("sigma_a", pr.region_sd)
        sigma_b = pm.HalfNormal("sigma_b", pr.region_sd)
        z_a = pm.ZeroSumNormal("z_a", 1.0, dims="region")
        z_b = pm.ZeroSumNormal("z_b", 1.0, dims="region")
        u_a = pm.Deterministic("u_a", sigma_a * z_a, dims="region")
        u_b = pm.Deterministic("u_b", sigma_b * z_b, dims="region")
    else:
        u_a = pm.Deterministic("u_a", pt.zeros(n_reg), dims="region")
        u_b = pm.Deterministic("u_b", pt.zeros(n_reg), dims="region")
    beta = pm.Deterministic("beta", beta_z / sd, dims="covariate")
    pm.Deterministic("alpha", alpha_z - pt.sum(beta * mean))
    return offset + alpha_z + pt.dot(design, pt.concatenate([theta, u_a, u_b]))


def build_model(sample: pd.DataFrame, offset: float, config: DeterrenceConfig) -> pm.Model:
    """The PyMC model of a case-control ``sample`` (see the module docstring)."""
    coords = {"covariate": list(COVARIATES), "region": list(REGIONS)}
    with pm.Model(coords=coords) as model:
        eta = initiation_eta(sample, offset, config)
        y = pm.Data("y_obs", sample["y"].to_numpy(np.int64))
        pm.Bernoulli("y", logit_p=eta, observed=y)
    return model


def fit(
    frame: pd.DataFrame,
    config: DeterrenceConfig,
    *,
    draws: int | None = None,
    tune: int | None = None,
    seed: int | None = None,
) -> xr.DataTree:
    """Sample a case-control subsample of ``frame`` (dyad-years with ``y``) with NUTS.

    ``draws``, ``tune`` and ``seed`` override the config (validation refits use fewer).

    Returns
    -------
    xarray.DataTree
        ArviZ groups with ``(chain, draw)`` dims; root attrs record the sampling fraction,
        the offset, the counts and the convergence diagnostics.
    """
    s = config.sampling
    seed = s.seed if seed is None else seed
    sample, offset = case_control_sample(frame, config.control_fraction, seed)
    model = build_model(sample, offset, config)
    tree = nuts(
        model,
        s,
        draws=draws or s.draws,
        tune=s.tune if tune is None else tune,
        seed=seed,
        progress=bool(s.progress) if s.progress is not None else sys.stderr.isatty(),
    )
    known = frame["y"].notna()
    tree.attrs.update(
        {
            "model": "initiation",
            "control_fraction": float(config.control_fraction),
            "intercept_offset": offset,
            "n_dyad_years": int(known.sum()),
            "n_events": int(frame.loc[known, "y"].sum()),
            "n_fitted_rows": len(sample),
            "first_year": int(frame.loc[known, "year"].min()),
            "last_year": int(frame.loc[known, "year"].max()),
            "pooling": int(config.pooling),
        }
    )
    diag = check_convergence(tree, config.rhat_max, config.ess_min, pooled=config.pooling)
    tree.attrs.update({f"diagnostics_{k}": v for k, v in diag.items()})
    return tree


def nuts(
    model: pm.Model,
    sampling: Any,
    *,
    draws: int,
    tune: int,
    seed: int,
    chains: int | None = None,
    progress: bool = False,
) -> xr.DataTree:
    """NUTS on ``model`` with the implementation ``sampling.sampler`` names.

    ``nutpie`` (the default) runs the PyMC project's Rust NUTS on the model compiled by numba,
    its chains in threads, with its own diagonal mass-matrix adaptation; ``pymc`` runs PyMC's
    sampler with dense mass-matrix adaptation (``jitter+adapt_full``) in one process per chain.
    On the initiation model the two agree within Monte Carlo error (tested); nutpie took about a
    tenth of the CPU time (14 leapfrog steps per draw against about 40, each cheaper).
    ``sampling`` is a :class:`forecast.config.deterrence.DeterrenceSampling`; ``chains``
    overrides its number of chains.
    """
    chains = sampling.chains if chains is None else chains
    common = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "cores": min(sampling.cores, chains),
        "target_accept": sampling.target_accept,
        "random_seed": seed,
        "progressbar": progress,
        "compute_convergence_checks": False,
    }
    # nutpie's chains are threads of this process, whose BLAS was started with a thread per
    # core: without the limit each gradient's matrix products oversubscribed the cores
    # (measured on 2 cores: 6 times the CPU time for the same draws)
    with single_threaded_blas(), threadpool_limits(limits=1), model, warnings.catch_warnings():
        if sampling.sampler == "nutpie":
            return pm.sample(nuts_sampler="nutpie", **common)
        # dense mass-matrix adaptation is marked experimental; it is what makes pymc's NUTS
        # fast here
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental")
        return pm.sample(nuts_sampler="pymc", init="jitter+adapt_full", **common)


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS on one thread in the chains' worker processes (they read the environment when they
    start; a chain sampled in this process keeps this process's BLAS threads).

    The matrix-vector products are small (tens of thousands of rows by ~30 columns): threaded
    BLAS spends more on synchronisation than on arithmetic (measured: 16 ms against 3 ms of CPU
    per gradient), and each chain already has its own process.
    """
    keys = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def check_convergence(tree: xr.DataTree, rhat_max: float, ess_min: float, pooled: bool) -> dict:
    """Worst R-hat, bulk and tail ESS and divergences; a log line (not an error) on failure."""
    import arviz_stats as azs

    names = [v for v in CHECKED if pooled or v in ("alpha_z", "theta")]
    post = tree["posterior"].to_dataset()[names]
    chains = post.sizes["chain"]
    rhat = float(max(azs.rhat(post[v]).max() for v in names)) if chains > 1 else float("nan")
    bulk = float(min(azs.ess(post[v], method="bulk").min() for v in names))
    tail = float(min(azs.ess(post[v], method="tail").min() for v in names))
    div = int(tree["sample_stats"]["diverging"].sum())
    ok = (chains == 1 or rhat <= rhat_max) and min(bulk, tail) >= ess_min and div == 0
    if not ok:
        log.warning(
            "CONVERGENCE CHECK FAILED: max R-hat %.3f, min ESS bulk %.0f / tail %.0f, "
            "%d divergences: run longer before using this posterior",
            rhat,
            bulk,
            tail,
            div,
        )
    return {
        "rhat_max": rhat,
        "ess_bulk_min": bulk,
        "ess_tail_min": tail,
        "divergences": div,
        "ok": int(ok),
    }


# ---------------------------------------------------------------------------------------------
# Posterior files and predictions
# ---------------------------------------------------------------------------------------------


def load_posterior(posterior: str | os.PathLike | xr.DataTree) -> xr.DataTree:
    """An initiation posterior from a path (loaded, file closed) or as given.

    Raises
    ------
    ValueError
        If it is not an initiation posterior of this version's covariates.
    """
    if not isinstance(posterior, xr.DataTree):
        with xr.open_datatree(posterior, engine="h5netcdf") as tree:
            posterior = tree.load()
    if posterior.attrs.get("model") != "initiation":
        raise ValueError("not an initiation posterior (attribute model != 'initiation')")
    names = tuple(posterior["posterior"]["covariate"].to_numpy().astype(str))
    if names != COVARIATES:
        raise ValueError(f"posterior covariates {names} do not match this version's {COVARIATES}")
    return posterior


def draws(tree: xr.DataTree, thin: int = 1) -> dict[str, np.ndarray]:
    """Flattened draws: ``alpha`` (S,), ``beta`` (S, K), ``u_a`` and ``u_b`` (S, regions)."""
    post = tree["posterior"].to_dataset().isel(draw=slice(None, None, thin))
    stacked = post.stack(sample=("chain", "draw")).transpose("sample", ...)
    return {k: stacked[k].to_numpy() for k in ("alpha", "beta", "u_a", "u_b")}


def linear_predictor(d: dict, frame: pd.DataFrame) -> np.ndarray:
    """Population log-odds per draw and row, (S, n)."""
    x = frame[list(COVARIATES)].to_numpy(float)
    ra = frame["region_a"].to_numpy(np.int64)
    rb = frame["region_b"].to_numpy(np.int64)
    return d["alpha"][:, None] + d["beta"] @ x.T + d["u_a"][:, ra] + d["u_b"][:, rb]


def predict_draws(tree: xr.DataTree, frame: pd.DataFrame, thin: int = 1) -> np.ndarray:
    """P(initiation) per draw and row, (S, n), for joined dyad-years ``frame``."""
    eta = linear_predictor(draws(tree, thin), frame)
    return expit(eta)


def predict_summary(tree: xr.DataTree, frame: pd.DataFrame, chunk: int = 20000) -> pd.DataFrame:
    """``p_initiation`` (posterior mean), ``p_initiation_q05`` and ``_q95`` per row, in chunks
    of rows so memory stays bounded for the whole universe."""
    parts = []
    for start in range(0, len(frame), chunk):
        p = predict_draws(tree, frame.iloc[start : start + chunk])
        parts.append(np.stack([p.mean(0), np.quantile(p, 0.05, 0), np.quantile(p, 0.95, 0)], 1))
    values = np.concatenate(parts) if parts else np.zeros((0, 3))
    return pd.DataFrame(
        values, columns=["p_initiation", "p_initiation_q05", "p_initiation_q95"], index=frame.index
    )


# ---------------------------------------------------------------------------------------------
# The aggressor's side: annual propensities of one dyad
# ---------------------------------------------------------------------------------------------

#: Counterfactuals of :func:`annual_propensity`: covariate changes applied to the dyad's year.
COUNTERFACTUALS = {
    "as observed": {},
    # The target's defence promises that apply to the challenger (dyads._applicable).
    "target without defence pacts": {
        "def_applies": 0.0,
        "def_applies_major": 0.0,
        "def_applies_contingent": 0.0,
    },
    "target with a major-power defence pact": {"def_applies": 1.0, "def_applies_major": 1.0},
    "target with a contingent major-power pact": {
        "def_applies": 1.0,
        "def_applies_major": 1.0,
        "def_applies_contingent": 1.0,
    },
    "challenger twice as strong": {"cap_ratio": np.log(2.0)},
    "challenger half as strong": {"cap_ratio": -np.log(2.0)},
}


def dyad_frame(tables: DyadTables, ccode1: int, ccode2: int, year: int) -> pd.DataFrame:
    """The joined covariates of one directed dyad-year; a year beyond the state-system file
    takes the file's last year (with peace years still counting), see
    :data:`forecast.calibration.dyads.COVERAGE_NOTE`."""
    rows = pd.DataFrame({"ccode1": [ccode1], "ccode2": [ccode2], "year": [year]})
    frame, _ = dyad_years(tables, rows)
    return frame


def annual_propensity(
    posterior: str | os.PathLike | xr.DataTree, frame: pd.DataFrame
) -> xr.DataArray:
    """Per-draw annual P(initiation) of one dyad-year under :data:`COUNTERFACTUALS`.

    ``cap_ratio`` changes are added to the observed log ratio (``cap_parity`` follows).

    Returns
    -------
    xarray.DataArray
        dims ``(draw, case)``: ``draw`` runs over the posterior's (chain, draw) pairs.
    """
    tree = load_posterior(posterior)
    d = draws(tree)
    rows = []
    for changes in COUNTERFACTUALS.values():
        row = frame.iloc[[0]].copy()
        for name, value in changes.items():
            if name == "cap_ratio":
                row["cap_ratio"] = row["cap_ratio"] + value
                row["cap_parity"] = -np.abs(row["cap_ratio"])
            else:
                row[name] = value
        rows.append(row)
    p = expit(linear_predictor(d, pd.concat(rows)))
    return xr.DataArray(
        p, dims=("draw", "case"), coords={"case": list(COUNTERFACTUALS)}, name="p_initiation"
    )


def within_horizon(p_annual: np.ndarray, years: int) -> np.ndarray:
    """P(at least one initiation in ``years`` years) at a constant annual probability."""
    return 1.0 - (1.0 - np.asarray(p_annual)) ** years


def horizon_table(p: xr.DataArray, horizons: list[int]) -> pd.DataFrame:
    """Posterior mean and 90% interval of P(initiation within N years) for each case."""
    rows = []
    for case in p["case"].to_numpy():
        annual = p.sel(case=case).to_numpy()
        row = {"case": case}
        for n in horizons:
            q = within_horizon(annual, n)
            row[f"{n}y mean"] = q.mean()
            row[f"{n}y 90% interval"] = f"[{np.quantile(q, 0.05):.4f}, {np.quantile(q, 0.95):.4f}]"
        rows.append(row)
    return pd.DataFrame(rows).set_index("case")


def main(argv: list[str] | None = None) -> int:
    """``python -m forecast.calibration.initiation POSTERIOR CCODE1 CCODE2 YEAR``."""
    from forecast.calibration.data import DataError
    from forecast.calibration.dyads import load_dyad_tables

    parser = argparse.ArgumentParser(
        prog="python -m forecast.calibration.initiation",
        description="P(A initiates a militarised dispute against B within N years), "
        "from an initiation posterior",
    )
    parser.add_argument("posterior")
    parser.add_argument("ccode1", type=int, help="COW code of the challenger A (e.g. 710)")
    parser.add_argument("ccode2", type=int, help="COW code of the target B (e.g. 713)")
    parser.add_argument("year", type=int)
    parser.add_argument("--data-dir", default=None, help="default: $FORECAST_DATA_DIR")
    parser.add_argument("--horizons", default="1,5,10", help="comma-separated years")
    args = parser.parse_args(argv)
    try:
        horizons = [int(h) for h in args.horizons.split(",")]
        if min(horizons) < 1:
            raise ValueError
    except ValueError:
        print(
            f"error: --horizons = {args.horizons!r}: expected whole numbers >= 1", file=sys.stderr
        )
        return 2
    try:
        tree = load_posterior(args.posterior)
        tables = load_dyad_tables(args.data_dir)
    except (OSError, ValueError) as exc:
        print(f"error: {args.posterior}: {exc}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    known = tables.ddy
    last = int(known["year"].max())
    year = min(args.year, last)
    pair = (known["ccode1"] == args.ccode1) & (known["ccode2"] == args.ccode2)
    if not (pair & (known["year"] == year)).any():
        print(
            f"error: {args.ccode1} -> {args.ccode2} is not a pair of system members in {year}",
            file=sys.stderr,
        )
        return 2
    frame = dyad_frame(tables, args.ccode1, args.ccode2, args.year)
    if year != args.year:
        print(
            f"note: {args.year} is after the state-system file ({last}): each file's last "
            "year is used, and peace years keep counting"
        )
    table = horizon_table(annual_propensity(tree, frame), horizons)
    with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
        print(
            f"P(initiation by {args.ccode1} against {args.ccode2} within N years from "
            f"{args.year}), constant annual propensity:"
        )
        print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
