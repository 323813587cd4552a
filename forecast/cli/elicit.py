"""``forecast-elicit``: show how an elicited belief was fitted.

    forecast-elicit scenario=NAME path=scenario.actors.USA.willingness [out=elicit.png]

Prints each expert's quantiles, the linear pool's and the fitted distribution's at every
elicited level, and writes a plot of each expert, the pool and the fitted belief. The belief at
``path`` must give ``quantiles`` or ``experts``. Bad arguments exit with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def family_of(path: str) -> str:
    """Willingness beliefs are Beta, capabilities log-normal."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf == "willingness":
        return "beta"
    if leaf == "capability":
        return "lognormal"
    raise ValueError(f"path must end in .willingness or .capability, got {path!r}")


def main(argv: list[str] | None = None) -> None:
    from omegaconf import OmegaConf

    from forecast.config import ConfigError, elicitation
    from forecast.config.loading import load_config
    from forecast.model import beliefs
    from forecast.results.elicitation import plot, quantile_table

    args = list(sys.argv[1:] if argv is None else argv)
    opts = dict(a.partition("=")[::2] for a in args if a.split("=", 1)[0] in ("path", "out"))
    overrides = [a for a in args if a.split("=", 1)[0] not in ("path", "out")]
    try:
        if "path" not in opts:
            raise ValueError("give path=scenario.actors.<CODE>.willingness (or .capability)")
        family = family_of(opts["path"])
        cfg = load_config(overrides)
        beliefs.check(cfg)
        belief = OmegaConf.select(cfg, opts["path"])
        if belief is None or not elicitation.is_elicited(belief):
            raise ValueError(f"{opts['path']} gives no quantiles or experts in this scenario")
        rows = quantile_table(belief, family)
        fit = elicitation.fit(belief, family)
        out = plot(belief, family, Path(opts.get("out", "elicit.png")), title=opts["path"])
    except (ValueError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    names = [k for k in rows[0] if k != "level"]
    print(f"{'level':>7}" + "".join(f"{n[:12]:>14}" for n in names))
    for row in rows:
        print(f"{row['level']:>7.3f}" + "".join(f"{row[n]:>14.4f}" for n in names))
    params = ("alpha", "beta") if family == "beta" else ("mu", "sigma")
    print(
        f"fitted {family}: {params[0]} = {fit.a:.4g}, {params[1]} = {fit.b:.4g}; largest "
        f"quantile error {fit.max_error:.4f}"
        + (
            " (more than 0.01: the family cannot match these quantiles)"
            if fit.max_error > 0.01
            else ""
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
