"""The steps of the P(honour) calibration job (:func:`forecast.jobs.calibrate.run_honour`).

Each step takes the config and plain inputs and returns tables or dicts; only
:func:`validate` writes files (into the run directory, atomically).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.calibration.data import DataError

log = logging.getLogger(__name__)

_CODING_NAMES = {"LA": "Leeds-Anac", "both": "Leeds-Anac", "BF": "Berkemeier-Fuhrmann"}


@dataclass
class Inputs:
    """Everything the job reads, checked before anything is written."""

    cases: pd.DataFrame
    report: dict
    tables: object
    extra: pd.DataFrame | None
    predict: pd.DataFrame | None = None
    predict_rows: pd.DataFrame | None = None
    predict_extra: pd.DataFrame | None = None
    reused: xr.DataTree | None = None


def load_inputs(cfg, data_dir: Path) -> Inputs:
    """Case table, extra covariates, predict file and reused posterior; raises DataError."""
    from forecast.calibration.cases import load_cases, load_tables, read_case_file
    from forecast.calibration.covariates import extra_covariates, load_state_years

    cases, report = load_cases(data_dir)
    tables = load_tables(data_dir)
    needs_extra = bool(cfg.calibration.extra_covariates) or (
        cfg.validation.enabled and cfg.validation.variants
    )
    state_years = load_state_years(data_dir) if needs_extra else None
    extra = extra_covariates(cases, tables, state_years) if needs_extra else None
    inputs = Inputs(cases, report, tables, extra)
    if cfg.predict:
        inputs.predict = read_case_file(cfg.predict, tables)
        inputs.predict_rows = pd.read_csv(cfg.predict, dtype=str, keep_default_na=False)
        if needs_extra:
            inputs.predict_extra = extra_covariates(inputs.predict, tables, state_years)
    if cfg.posterior:
        inputs.reused = _load_reused_posterior(cfg.posterior)
    return inputs


def _load_reused_posterior(path: str) -> xr.DataTree:
    from forecast.calibration.predict import _draws, load_posterior

    if not Path(path).is_file():
        raise DataError(f"posterior = {path!r}: no such file (give a posterior.nc or null)")
    try:
        tree = load_posterior(path)
        _draws(tree)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"posterior = {path!r} is not a posterior.nc written by forecast-calibrate: {exc}"
        ) from exc
    return tree


def _standardised(cfg_or_tree, values: pd.DataFrame | None, tree: xr.DataTree | None = None):
    """The extra-covariate array of ``values`` as the posterior's attributes standardise it."""
    from forecast.calibration.covariates import standardise

    names = json.loads(tree.attrs.get("extra_covariates", "[]")) if tree is not None else []
    if not names:
        return None
    centre = json.loads(tree.attrs["extra_centre"])
    scale = json.loads(tree.attrs["extra_scale"])
    return standardise(values[names], centre, scale)[0]


def fitted_posterior(cfg, inputs: Inputs) -> xr.DataTree:
    """The reused posterior, or a new NUTS fit with its standardisation in the attributes."""
    from forecast.calibration.covariates import standardise
    from forecast.calibration.fit import fit

    if inputs.reused is not None:
        log.info("reusing the posterior %s", cfg.posterior)
        return inputs.reused
    names = tuple(cfg.calibration.extra_covariates)
    extra = centre = scale = None
    if names:
        w, centre, scale = standardise(inputs.extra[list(names)])
        extra = (w, names)
    log.info("fitting on %d cases in %d wars", inputs.report["n_cases"], inputs.report["n_wars"])
    tree = fit(inputs.cases, cfg.calibration, extra=extra, posterior_predictive=True)
    tree.attrs["extra_covariates"] = json.dumps(list(names))
    tree.attrs["extra_centre"] = json.dumps(centre or {})
    tree.attrs["extra_scale"] = json.dumps(scale or {})
    # Weight of the post-1945 era for a case whose era is unknown: the training share.
    tree.attrs["p_post1945"] = float(inputs.cases["post1945"].mean())
    return tree


def fit_summary(tree: xr.DataTree, inputs: Inputs) -> dict:
    """Data report, sampler diagnostics, effects and raw rates of a fitted posterior."""
    from forecast.calibration.summaries import (
        diagnostics,
        effects_table,
        la_logit_all_cases,
        raw_honour_rates,
    )

    return {
        "data": inputs.report,
        "diagnostics": {k[12:]: v for k, v in tree.attrs.items() if k.startswith("diagnostics_")},
        "arviz_diagnose": diagnostics(tree),
        "sampling_seconds": float(tree["posterior"].attrs.get("sampling_time", float("nan"))),
        "effects": effects_table(tree).to_dict(orient="records"),
        "raw_honour_rates": raw_honour_rates(inputs.cases),
        "la_logit_all_la_cases": la_logit_all_cases(inputs.cases),
    }


def predictions_table(cfg, tree: xr.DataTree, inputs: Inputs) -> tuple[pd.DataFrame, list[str]]:
    """The predict file's rows with ``p_honor`` (posterior mean), its 90% interval and the
    coding it is in; empty values for rows that are not performance opportunities.

    Returns the table and the warnings (rows predicted with an unknown era), also logged.
    """
    from forecast.calibration.model import SOURCE_CODE
    from forecast.calibration.predict import predict_cases

    cases = inputs.predict
    out = inputs.predict_rows.copy()
    for col in ("p_honor", "p_honor_q05", "p_honor_q95"):
        out[col] = np.nan
    rows = cases["is_case"].to_numpy(bool)
    midpoint = cfg.coding == "midpoint"
    out["p_honor_coding"] = (
        "midpoint" if midpoint else cases["source"].map(_CODING_NAMES).to_numpy()
    )
    if rows.any():
        sub = cases[rows]
        source = np.zeros(len(sub)) if midpoint else sub["source"].map(SOURCE_CODE).to_numpy()
        w = _standardised(cfg, inputs.predict_extra, tree)
        draws = predict_cases(
            tree,
            sub,
            seed=int(cfg.calibration.sampling.seed),
            source=source,
            w=None if w is None else w[rows],
        )
        out.loc[rows, "p_honor"] = draws.mean(axis=0)
        out.loc[rows, "p_honor_q05"] = np.quantile(draws, 0.05, axis=0)
        out.loc[rows, "p_honor_q95"] = np.quantile(draws, 0.95, axis=0)
    warnings = list(cases.attrs.get("warnings", []))
    for line in warnings:
        log.warning("%s", line)
    return out, warnings


def validate(cfg, inputs: Inputs, tree: xr.DataTree, out_dir: Path, attrs: dict, summary: dict):
    """PSIS-LOO, grouped CV against the classic logits, CORP diagram, SBC; returns paths."""
    from forecast.calibration import comparison as cmp
    from forecast.calibration import validation as val
    from forecast.calibration.reliability import corp, plot_corp
    from forecast.storage import write_csv_with_sidecar

    written = {}
    cases = inputs.cases
    if "log_likelihood" in tree.children:
        summary["loo"] = val.psis_loo(tree, cases["war"].to_numpy())
    configured = _configured(cfg)
    model = val.MODEL_LABEL
    variants = None
    if cfg.validation.variants:
        # The configured model is one of the variants when its covariates are: fit it once.
        same = [v.name for v in cmp.VARIANTS if v.kind == "hierarchical" and _same(v, configured)]
        model = same[0] if same else model
        variants = cmp.VARIANTS if same else (*cmp.VARIANTS, configured)
    pred, table = val.cross_validate(
        cases, cfg.calibration, cfg.validation, extra=inputs.extra, variants=variants
    )
    summary["cross_validation"] = table.to_dict(orient="records")
    written |= write_csv_with_sidecar(out_dir / "cv_predictions.csv", pred.reset_index(), attrs)
    written |= write_csv_with_sidecar(out_dir / "cv_scores.csv", table, attrs)
    curves = {}
    for source, logit in (("LA", cmp.LA_LOGIT.name), ("BF", cmp.BF_LOGIT.name)):
        rows = pred["source"] == source
        for name in (model, logit):
            label = f"{_CODING_NAMES[source]} cases: {name}"
            curves[label] = corp(
                pred.loc[rows, name].to_numpy(),
                pred.loc[rows, "y"].to_numpy(),
                n_resamples=cfg.validation.corp_resamples,
                seed=cfg.validation.fold_seed,
            )
    summary["corp"] = {
        k: {m: v[m] for m in ("brier", "mcb", "dsc", "unc")} for k, v in curves.items()
    }
    written["reliability"] = str(plot_corp(curves, out_dir / "reliability.png", attrs))
    if cfg.validation.sbc_simulations > 0:
        summary["sbc"] = val.simulation_based_calibration(cases, cfg.calibration, cfg.validation)
    return written


def _same(a, b) -> bool:
    return (set(a.extra), a.one_coding_per_event, a.midpoint) == (
        set(b.extra),
        b.one_coding_per_event,
        b.midpoint,
    )


def _configured(cfg):
    from forecast.calibration.comparison import Variant
    from forecast.calibration.validation import MODEL_LABEL

    return Variant(MODEL_LABEL, extra=tuple(cfg.calibration.extra_covariates))


def format_headline(result: dict) -> str:
    """The lines ``forecast-calibrate`` prints."""
    s = result["summary"]
    d = s["diagnostics"]
    lines = []
    if d:
        lines.append(
            f"cases: {s['data']['n_cases']} in {s['data']['n_wars']} wars; "
            f"R-hat max {d['rhat_max']:.3f}, ESS bulk min {d['ess_bulk_min']:.0f}, "
            f"divergences {d['divergences']} ({'ok' if d['ok'] else 'CHECK FAILED'})"
        )
    for row in s.get("cross_validation", []):
        lines.append(
            f"CV {row['dataset']} ({row['n_cases']} cases): {row['variant']}: Brier "
            f"{row['brier']:.3f} ({row['brier_se']:.3f}), log {row['log_score']:.3f} "
            f"({row['log_score_se']:.3f}); vs logit {row['brier_diff_vs_logit']:+.3f} "
            f"({row['brier_diff_se']:.3f}), {row['log_diff_vs_logit']:+.3f} "
            f"({row['log_diff_se']:.3f})"
        )
    if "sbc" in s:
        lines.append(
            f"SBC coverage: 50% intervals {s['sbc']['coverage_50']:.2f}, 90% intervals "
            f"{s['sbc']['coverage_90']:.2f}; ECDF-PIT outside the 95% band for "
            f"{s['sbc']['n_parameters_outside_ecdf_band']} parameter(s) "
            f"({s['sbc']['n_simulations']} simulations)"
        )
    for warning in s.get("prediction_warnings", []):
        lines.append(f"warning: {warning}")
    lines += [f"wrote {p}" for p in result["written"].values()]
    return "\n".join(lines)
