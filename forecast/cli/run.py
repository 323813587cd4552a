"""Console entry points: thin ``@hydra.main`` wrappers around :mod:`forecast.jobs.run`.

Bad input prints every problem and exits with status 2, without a traceback and without
writing anything. Ctrl-C exits 130 and leaves no partial file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from forecast.config import ConfigError
from forecast.config.loading import config_dir
from forecast.config.schema import register_configs

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
_CONFIG_PATH = str(config_dir())


def _fail(exc: ConfigError) -> None:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


@hydra.main(config_path=_CONFIG_PATH, config_name="run", version_base="1.3")
def _forecast(cfg: DictConfig) -> None:
    from forecast.config.silent import empty_mapping_overrides
    from forecast.jobs import run

    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    try:
        problems = empty_mapping_overrides(cfg, list(hc.overrides.task))
        if problems:
            raise ConfigError(problems)
        ds = run.run(cfg, out_dir, progress=cfg.sampler.progress)
    except ConfigError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        print("interrupted: no forecast.nc written", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    print(run.describe(ds, cfg))
    print(f"wrote {out_dir / cfg.output.filename}")


def _hydra_entry(app) -> None:
    """Run a Hydra app; Hydra's own config errors (unknown key, wrong type) exit 2, not 1."""
    from forecast.config.silent import number_for_belief_overrides

    register_configs()
    try:
        problems = number_for_belief_overrides([a for a in sys.argv[1:] if not a.startswith("-")])
    except Exception:  # an override Hydra cannot parse: Hydra reports it itself
        problems = []
    if problems:
        _fail(ConfigError(problems))
    try:
        app()
    except SystemExit as exc:
        if exc.code == 1:
            sys.exit(EXIT_BAD_INPUT)
        raise


def main() -> None:
    _hydra_entry(_forecast)


if __name__ == "__main__":
    main()
