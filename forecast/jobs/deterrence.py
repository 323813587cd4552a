"""``forecast-calibrate calibration=deterrence``: fit the initiation model, validate it, fit the
joint model of initiation and honouring, and optionally predict a file of dyad-years.

    forecast-calibrate calibration=deterrence data_dir=DIR
    forecast-calibrate calibration=deterrence data_dir=DIR predict=DYADS.csv
    forecast-calibrate calibration=deterrence_quick data_dir=DIR validation.enabled=false

Writes into the run directory: ``posterior.nc`` (the initiation posterior), ``predictions.csv``
(with ``predict=``; provenance in ``predictions.json``), ``joint_posterior.nc`` and
``selection.png`` (the joint model), ``deterrence_validation.json`` and
``deterrence_validation.png`` (with validation on), and ``deterrence.json`` (the summary).
Every input is checked before anything is written.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.calibration.data import DataError
from forecast.storage import write_csv, write_json

log = logging.getLogger(__name__)


def _provenance(cfg) -> dict:
    import datetime as dt

    from omegaconf import DictConfig, OmegaConf

    from forecast.storage import git_revision, package_versions

    names = (
        "forecast",
        "pymc",
        "pytensor",
        "arviz",
        "arviz-stats",
        "numpy",
        "pandas",
        "xarray",
        "scoringrules",
    )
    return {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "created_by": "forecast-calibrate calibration=deterrence",
        "package_versions": json.dumps(package_versions(names)),
        "git_revision": git_revision(),
        "config_yaml": OmegaConf.to_yaml(cfg) if isinstance(cfg, DictConfig) else str(cfg),
    }


def _save_tree(tree, path: Path, attrs: dict) -> Path:
    from forecast.storage import replace_atomically

    tree.attrs.update(attrs)
    return replace_atomically(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))


def _reused_posterior(path: str):
    from forecast.calibration.initiation import load_posterior

    if not Path(path).is_file():
        raise DataError(f"posterior = {path!r}: no such file (give a posterior.nc or null)")
    try:
        return load_posterior(path)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"posterior = {path!r} is not an initiation posterior: {exc}") from exc


def effects_table(tree) -> list[dict]:
    """Posterior mean, 90% interval and P(> 0) of the intercept and each covariate's
    coefficient (log-odds per unit of the covariate) and of the region spreads."""
    post = tree["posterior"]
    rows = []
    items = [("alpha", post["alpha"].to_numpy())]
    items += [
        (f"beta[{c}]", post["beta"].sel(covariate=c).to_numpy())
        for c in post["covariate"].to_numpy().astype(str)
    ]
    items += [(n, post[n].to_numpy()) for n in ("sigma_a", "sigma_b") if n in post]
    for name, x in items:
        x = x.ravel()
        rows.append(
            {
                "parameter": name,
                "mean": float(x.mean()),
                "q05": float(np.quantile(x, 0.05)),
                "q95": float(np.quantile(x, 0.95)),
                "p_positive": float(np.mean(x > 0)),
            }
        )
    return rows


def _validate(frame, det, cfg, out_dir: Path, attrs: dict) -> tuple[dict, dict]:
    from forecast.calibration import initiation_validation as val

    v = cfg.validation
    report, written = {}, {}
    temporal, t_pred = val.temporal(frame, det, v)
    grouped, g_pred = val.grouped(frame, det, v)
    report["temporal"], report["grouped_by_dyad"] = temporal, grouped
    tables = {
        f"temporal, model (after {v.cut_year})": val.reliability(
            t_pred["model"].to_numpy(), t_pred["y"].to_numpy(), v.reliability_bins
        ),
        "temporal, plain logit": val.reliability(
            t_pred["plain logit"].to_numpy(), t_pred["y"].to_numpy(), v.reliability_bins
        ),
        "grouped by dyad, model": val.reliability(
            g_pred["model"].to_numpy(), g_pred["y"].to_numpy(), v.reliability_bins
        ),
    }
    report["reliability"] = {k: t.to_dict(orient="records") for k, t in tables.items()}
    report["pact_effects"] = temporal["pact_effects"]
    report["published"] = list(val.PUBLISHED)
    if v.sbc_simulations > 0:
        known = frame[frame["y"].notna()]
        report["sbc"] = val.simulation_based_calibration(known, det, v)
    written["validation_png"] = val.plot_validation(
        report, tables, out_dir / "deterrence_validation.png", attrs
    )
    written["validation_json"] = write_json(
        out_dir / "deterrence_validation.json", report | {"provenance": attrs}
    )
    return report, written


def run_deterrence(cfg, out_dir: str | os.PathLike) -> dict:
    """Fit, validate and predict as ``cfg`` (a composed ``forecast-calibrate`` config with
    ``calibration.kind == "deterrence"``) says.

    Raises
    ------
    ConfigError, DataError
        On bad input; nothing has been written then.
    """
    from omegaconf import DictConfig, OmegaConf

    from forecast.calibration import dyads, initiation, joint
    from forecast.calibration.cases import load_cases
    from forecast.calibration.data import resolve_data_dir
    from forecast.config.deterrence import DeterrenceConfig, validate_deterrence

    validate_deterrence(cfg)
    det = cfg.calibration.deterrence
    if isinstance(det, DictConfig):
        det = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(DeterrenceConfig), det))
    out_dir = Path(out_dir)
    data_dir = resolve_data_dir(cfg.data_dir)
    tables = dyads.load_dyad_tables(data_dir)
    predict_rows = dyads.read_dyad_file(cfg.predict, tables) if cfg.predict else None
    reused = _reused_posterior(cfg.posterior) if cfg.posterior else None
    cases = load_cases(data_dir)[0] if det.joint.enabled else None
    frame, report = dyads.dyad_years(tables)
    if det.last_year is not None:
        frame = frame[frame["year"] <= det.last_year]
    attrs = _provenance(cfg) | {"data_dir": str(data_dir), "seed": int(det.sampling.seed)}
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict = {}
    summary: dict = {"data": report}
    if reused is not None:
        tree, fit_seconds = reused, float("nan")
    else:
        started = time.perf_counter()
        tree = initiation.fit(frame, det)
        fit_seconds = time.perf_counter() - started
        written["posterior"] = _save_tree(tree, out_dir / cfg.posterior_file, attrs)
    summary |= {
        "fit_seconds": fit_seconds,
        "sampling_seconds": float(tree["posterior"].attrs.get("sampling_time", float("nan"))),
        "sample": {
            k: tree.attrs[k]
            for k in (
                "control_fraction",
                "intercept_offset",
                "n_dyad_years",
                "n_events",
                "n_fitted_rows",
                "first_year",
                "last_year",
            )
        },
        "diagnostics": {k[12:]: v for k, v in tree.attrs.items() if k.startswith("diagnostics_")},
        "effects": effects_table(tree),
    }
    from forecast.calibration.initiation_validation import pact_effects

    summary["pact_effects"] = pact_effects(tree)
    if predict_rows is not None:
        joined, _ = dyads.dyad_years(tables, predict_rows)
        table = pd.concat(
            [
                predict_rows.reset_index(drop=True),
                initiation.predict_summary(tree, joined).reset_index(drop=True),
            ],
            axis=1,
        )
        written["predictions"] = write_csv(out_dir / "predictions.csv", table)
        written["predictions_provenance"] = write_json(
            out_dir / "predictions.json",
            attrs
            | {
                "predict": str(cfg.predict),
                "posterior": str(cfg.posterior or written["posterior"]),
                "columns": {
                    "p_initiation": "posterior mean of P(ccode1 initiates a MID "
                    "against ccode2 in year)",
                    "p_initiation_q05": "5% posterior quantile",
                    "p_initiation_q95": "95% posterior quantile",
                },
                "coverage_rule": dyads.COVERAGE_NOTE,
            },
        )
    if det.joint.enabled:
        started = time.perf_counter()
        jtree = joint.fit_joint(frame[frame["y"].notna()], tables, cases, det)
        summary["joint_fit_seconds"] = time.perf_counter() - started
        summary["selection"] = joint.selection_report(jtree, det)
        written["joint_posterior"] = _save_tree(jtree, out_dir / "joint_posterior.nc", attrs)
        written["selection_png"] = joint.plot_selection(
            summary["selection"], jtree, out_dir / "selection.png", attrs
        )
    if cfg.validation.enabled:
        summary["validation"], more = _validate(frame, det, cfg, out_dir, attrs)
        written |= more
    written["summary"] = write_json(out_dir / "deterrence.json", summary | {"provenance": attrs})
    return {"written": {k: str(v) for k, v in written.items()}, "summary": summary}


def format_headline(result: dict) -> str:
    """The lines ``forecast-calibrate`` prints after a deterrence run."""
    s = result["summary"]
    d = s["diagnostics"]
    lines = [
        f"initiation: {s['sample']['n_events']} events in {s['sample']['n_dyad_years']} "
        f"dyad-years ({s['sample']['first_year']}-{s['sample']['last_year']}), fitted on "
        f"{s['sample']['n_fitted_rows']} (case-control, fraction "
        f"{s['sample']['control_fraction']}); fit {s['fit_seconds']:.0f} s; R-hat max "
        f"{d['rhat_max']:.3f}, ESS bulk min {d['ess_bulk_min']:.0f}, divergences "
        f"{d['divergences']} ({'ok' if d['ok'] else 'CHECK FAILED'})"
    ]
    for e in s["pact_effects"]:
        lines.append(
            f"  {e['covariate']}: {e['percent_mean']:+.1f}% [{e['percent_q05']:+.1f}, "
            f"{e['percent_q95']:+.1f}] in P(initiation), P(<0) {e['p_negative']:.2f}"
        )
    if "selection" in s:
        sel = s["selection"]
        shift = sel["logit_shift"]["posterior"]
        lines.append(
            f"selection shift (logit, all crises - initiated): {shift['mean']:+.2f} "
            f"[{shift['q05']:+.2f}, {shift['q95']:+.2f}]; "
            f"{'identified' if sel['identified'] else 'NOT identified by the data'}; use "
            f"N({sel['recommended_shift']['mu']:.2f}, {sel['recommended_shift']['sigma']:.2f})"
        )
    if "validation" in s:
        for name in ("temporal", "grouped_by_dyad"):
            sc = s["validation"][name]["all"]
            diff = sc["model - plain logit"]
            base = sc["model - base rate"]
            lines.append(
                f"{name}: log score model {sc['model']['log']:.5f}, plain logit "
                f"{sc['plain logit']['log']:.5f}, base {sc['base rate']['log']:.5f}; model - "
                f"plain {diff['log']:+.5f} (se {diff['log_se_dyad']:.5f}), model - base "
                f"{base['log']:+.5f} (se {base['log_se_dyad']:.5f})"
            )
    lines += [f"wrote {p}" for p in result["written"].values()]
    return "\n".join(lines)
