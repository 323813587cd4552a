"""``forecast-calibrate``: fit the willingness model on the historical record, validate it, and
optionally predict a file of cases.

    forecast-calibrate data_dir=DIR                      # fit, validate, write posterior.nc
    forecast-calibrate data_dir=DIR predict=CASES.csv    # ... and predictions.csv
    forecast-calibrate data_dir=DIR calibration=quick validation.enabled=false

Everything lands in Hydra's run directory (``outputs/calibrate/<time>`` unless
``hydra.run.dir`` says otherwise). :func:`run_calibration` does the work and needs no Hydra.
Bad input (config values, data directory or files, predict file) is found before anything is
written and exits with status 2 and a message naming the config path or file and the value.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sys
import time
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from forecast.calibration.data import DataError, load_tables, read_case_file, resolve_data_dir
from forecast.config.calibration import CalibrationConfigError, register_configs, validate_config
from forecast.config.loading import config_dir

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
_PACKAGES = ("forecast", "pymc", "pytensor", "arviz", "arviz-stats", "numpy", "pandas", "xarray")


# an absolute path: a console script has no package-relative config module
_CONFIG_PATH = str(config_dir())


def provenance(cfg) -> dict:
    """Creation time, package versions, git revision and the resolved config as YAML."""
    from forecast.storage import git_revision, package_versions

    versions = package_versions(_PACKAGES)
    rev = git_revision()
    return {
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "created_by": "forecast-calibrate",
        "package_versions": json.dumps(versions),
        "git_revision": rev,
        "config_yaml": OmegaConf.to_yaml(cfg) if isinstance(cfg, DictConfig) else str(cfg),
    }


def _write_atomic(path: Path, write) -> Path:
    from forecast.storage import replace_atomically

    return replace_atomically(path, lambda tmp: write(Path(tmp)))


def _write_json(path: Path, obj: dict) -> Path:
    return _write_atomic(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=float)))


def _write_csv(path: Path, frame: pd.DataFrame, attrs: dict) -> Path:
    def write(p: Path) -> None:
        with open(p, "w", newline="") as fh:
            # Provenance as comment lines a reader skips with pandas.read_csv(comment="#").
            for key in ("created_at", "git_revision", "package_versions"):
                fh.write(f"# {key}: {attrs[key]}\n")
            frame.to_csv(fh, index=False)

    return _write_atomic(path, write)


def effects_table(tree) -> pd.DataFrame:
    """Posterior mean and 90% interval of every scalar effect, on the logit scale."""
    post = tree["posterior"].to_dataset()
    rows = []
    for var, dim in (
        ("alpha", None),
        ("beta", "effect"),
        ("delta_source", None),
        ("gamma", "la_covariate"),
        ("sigma_war", None),
    ):
        da = post[var]
        labels = [None] if dim is None else list(da[dim].to_numpy().astype(str))
        for label in labels:
            x = (da if label is None else da.sel({dim: label})).to_numpy().ravel()
            rows.append(
                {
                    "parameter": var if label is None else f"{var}[{label}]",
                    "mean": float(np.mean(x)),
                    "q05": float(np.quantile(x, 0.05)),
                    "q95": float(np.quantile(x, 0.95)),
                    "p_positive": float(np.mean(x > 0)),
                }
            )
    return pd.DataFrame(rows)


def raw_honour_rates(cases: pd.DataFrame) -> dict:
    """Observed share honoured (and count) by source, era and obligation type."""
    out = {"all": [float(cases["y"].mean()), len(cases)]}
    for col in ("source", "post1945", "multilateral"):
        for value, g in cases.groupby(col):
            out[f"{col}={value}"] = [float(g["y"].mean()), len(g)]
    for t in ("defense", "offense", "neutral", "nonagg", "consul"):
        g = cases[cases[t] == 1]
        out[t] = [float(g["y"].mean()), len(g)]
    return out


def la_logit_all_cases(cases: pd.DataFrame) -> dict:
    """The Leeds-Anac logit refitted on every case it applies to (a sign check)."""
    from forecast.calibration import validation as val

    rows = val.la_logit_rows(cases)
    coef = val.fit_logit(val.la_logit_design(cases)[rows], cases["y"].to_numpy()[rows])
    return dict(zip(val.LA_LOGIT_TERMS, coef.tolist(), strict=True))


def predictions_table(tree, frame: pd.DataFrame, cases: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The input rows with ``p_honor`` (posterior mean) and its 90% interval; empty values for
    rows that are not performance opportunities."""
    from forecast.calibration.fit import predict_cases

    out = frame.copy()
    for col in ("p_honor", "p_honor_q05", "p_honor_q95"):
        out[col] = np.nan
    rows = cases["is_case"].to_numpy(bool)
    if rows.any():
        draws = predict_cases(tree, cases[rows], seed=seed)
        out.loc[rows, "p_honor"] = draws.mean(axis=0)
        out.loc[rows, "p_honor_q05"] = np.quantile(draws, 0.05, axis=0)
        out.loc[rows, "p_honor_q95"] = np.quantile(draws, 0.95, axis=0)
    return out


def _load_reused_posterior(path: str):
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


def run_calibration(cfg, out_dir: str | os.PathLike) -> dict:
    """Fit, validate and predict as ``cfg`` (a :class:`CalibrateConfig` or DictConfig) says.

    All input is checked before anything is written.

    Returns
    -------
    dict
        Paths written and the headline numbers.

    Raises
    ------
    CalibrationConfigError, DataError
        On bad input; nothing has been written then.
    """
    from forecast.calibration import fit as calibration
    from forecast.calibration import validation as val
    from forecast.calibration.data import load_cases

    validate_config(cfg)
    out_dir = Path(out_dir)
    data_dir = resolve_data_dir(cfg.data_dir)
    cases, report = load_cases(data_dir)
    tables = load_tables(data_dir)
    predict_frame = predict_cases_frame = None
    if cfg.predict:
        predict_cases_frame = read_case_file(cfg.predict, tables)
        predict_frame = pd.read_csv(cfg.predict)
    reused = None
    if cfg.posterior:
        reused = _load_reused_posterior(cfg.posterior)
    attrs = provenance(cfg) | {
        "data_dir": str(data_dir),
        "data_report": json.dumps(report),
        "seed": int(cfg.calibration.sampling.seed),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    if reused is not None:
        log.info("reusing the posterior %s", cfg.posterior)
        tree, fit_seconds = reused, float("nan")
    else:
        log.info("fitting on %d cases in %d wars", report["n_cases"], report["n_wars"])
        started = time.perf_counter()
        tree = calibration.fit(cases, cfg.calibration)
        fit_seconds = time.perf_counter() - started
        written["posterior"] = calibration.save_posterior(tree, out_dir / cfg.posterior_file, attrs)
    effects = effects_table(tree)
    summary = {
        "data": report,
        "diagnostics": {k[12:]: v for k, v in tree.attrs.items() if k.startswith("diagnostics_")},
        "fit_seconds": fit_seconds,
        "sampling_seconds": float(tree["posterior"].attrs.get("sampling_time", float("nan"))),
        "effects": effects.to_dict(orient="records"),
        "raw_honour_rates": raw_honour_rates(cases),
        "la_logit_all_la_cases": la_logit_all_cases(cases),
        "provenance": attrs,
    }
    if predict_frame is not None:
        table = predictions_table(
            tree, predict_frame, predict_cases_frame, seed=cfg.calibration.sampling.seed
        )
        written["predictions"] = _write_csv(out_dir / "predictions.csv", table, attrs)
    if cfg.validation.enabled:
        summary["loo"] = val.psis_loo(tree, cases["war"].to_numpy())
        pred, scores = val.cross_validate(cases, cfg.calibration, cfg.validation)
        summary["cross_validation"] = scores
        written["cv_predictions"] = _write_csv(
            out_dir / "cv_predictions.csv", pred.reset_index(), attrs
        )
        reliability = {
            "hierarchical model": val.reliability_table(
                pred["p_model"].to_numpy(), pred["y"].to_numpy(), cfg.validation.reliability_bins
            ),
            "LA logit (base rate where n/a)": val.reliability_table(
                pred["p_la_logit_or_base"].to_numpy(),
                pred["y"].to_numpy(),
                cfg.validation.reliability_bins,
            ),
        }
        summary["reliability"] = {k: v.to_dict(orient="records") for k, v in reliability.items()}
        written["reliability"] = val.plot_reliability(
            reliability, out_dir / "reliability.png", provenance=attrs
        )
        if cfg.validation.sbc_simulations > 0:
            summary["sbc"] = val.simulation_based_calibration(
                cases, cfg.calibration, cfg.validation
            )
    written["summary"] = _write_json(out_dir / "calibration.json", summary)
    return {"written": {k: str(v) for k, v in written.items()}, "summary": summary}


def _format_headline(result: dict) -> str:
    s = result["summary"]
    d = s["diagnostics"]
    lines = [
        f"cases: {s['data']['n_cases']} in {s['data']['n_wars']} wars; "
        f"R-hat max {d['rhat_max']:.3f}, ESS bulk min {d['ess_bulk_min']:.0f}, "
        f"divergences {d['divergences']} ({'ok' if d['ok'] else 'CHECK FAILED'})"
    ]
    if "cross_validation" in s:
        cv = s["cross_validation"]
        lines.append(
            "CV Brier, all cases: model {:.3f}, base rate {:.3f}, LA logit/base {:.3f}".format(
                cv["all"]["model"]["brier"],
                cv["all"]["base"]["brier"],
                cv["all"]["la_logit_or_base"]["brier"],
            )
        )
        lines.append(
            "CV Brier, LA cases: model {:.3f}, base rate {:.3f}, LA logit {:.3f}".format(
                cv["la"]["model"]["brier"], cv["la"]["base"]["brier"], cv["la"]["la_logit"]["brier"]
            )
        )
    if "sbc" in s:
        lines.append(
            f"SBC coverage: 50% intervals {s['sbc']['coverage_50']:.2f}, "
            f"90% intervals {s['sbc']['coverage_90']:.2f} ({s['sbc']['n_simulations']} simulations)"
        )
    lines += [f"wrote {p}" for p in result["written"].values()]
    return "\n".join(lines)


@hydra.main(config_path=_CONFIG_PATH, config_name="calibrate", version_base="1.3")
def _calibrate(cfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run_calibration(cfg, out_dir)
    except (CalibrationConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted: files already renamed into place are complete", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    print(_format_headline(result))


def main() -> None:
    """Console entry point; Hydra's own config errors (unknown key, wrong type) exit 2."""
    from forecast.cli.run import _hydra_entry

    register_configs()
    _hydra_entry(_calibrate)


if __name__ == "__main__":
    main()
