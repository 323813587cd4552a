"""``forecast-calibrate``: a thin ``@hydra.main`` wrapper around :mod:`forecast.jobs.calibrate`.

    forecast-calibrate data_dir=DIR                      # fit, validate, write posterior.nc
    forecast-calibrate data_dir=DIR predict=CASES.csv    # ... and predictions.csv (+ .json)
    forecast-calibrate data_dir=DIR calibration=quick validation.enabled=false

Bad input exits with status 2 and a message naming the config path or file and the value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from forecast.config.loading import config_dir
from forecast.jobs.calibrate import run_calibration  # noqa: F401  (the job, re-exported)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


@hydra.main(config_path=str(config_dir()), config_name="calibrate", version_base="1.3")
def _calibrate(cfg: DictConfig) -> None:
    from forecast.calibration.data import DataError
    from forecast.config import ConfigError
    from forecast.jobs.honour import format_headline

    if cfg.calibration.kind == "deterrence":
        from forecast.jobs.deterrence import format_headline

    try:
        result = run_calibration(cfg, Path(HydraConfig.get().runtime.output_dir))
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted: files already renamed into place are complete", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    print(format_headline(result))


def main() -> None:
    """Console entry point; Hydra's own config errors (unknown key, wrong type) exit 2."""
    from forecast.cli.run import _hydra_entry
    from forecast.config.calibration import register_configs

    register_configs()
    _hydra_entry(_calibrate)


if __name__ == "__main__":
    main()
