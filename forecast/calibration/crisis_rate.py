"""The aggressor's crisis rate from the initiation posterior
(``beliefs.aggressor_source=calibrated``).

A crisis in the model is an occasion on which the aggressor weighs an attack; a militarised
dispute initiation is its dispute-level analogue. Each epistemic draw takes one posterior draw
of the initiation model (:mod:`forecast.calibration.initiation`) and the scenario's directed
dyad-year (aggressor -> target, in ``scenario.year``), and gets the dyad's annual initiation
probability ``p``. Taken as a Poisson process, ``p`` gives the crisis rate

    opportunities_per_year = -log(1 - p),

so that P(at least one crisis in a year) is ``p``, and P(attack within ``years``)
= 1 - exp(-rate * years * P(attack | crisis)) <= 1 - (1 - p)^years: the dispute propensity over
the horizon bounds the attack probability (disputes are an upper bound on wars).

``calibration.deterrence_pacts`` says whether the target's defence pacts enter the rate:
``none`` (default) gives the rate without the target's defence pacts, because the crisis model's
coalition already supplies their deterrent effect in each crisis; ``observed`` keeps them (their
effect then counts twice). Every draw also reports how pacts and the capability balance move the
propensity (:data:`OUTPUTS`).

Which posterior draw an epistemic draw takes comes from ``SeedSequence([seed, 8])``
(:data:`forecast.model.streams.INITIATION_POSTERIOR`): the same for the same seed, on any number of
threads or workers.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forecast.config import ConfigError
from forecast.config.rules import scenario_year
from forecast.model import streams

#: The per-draw outputs, written to ``forecast.nc`` with these descriptions.
OUTPUTS = {
    "p_initiation": (
        "the draw's annual P(the aggressor initiates a militarised dispute against the target) "
        "in the scenario's dyad-year, with the target's pacts as calibration.deterrence_pacts says"
    ),
    "initiation_rate": (
        "-log(1 - p_initiation): the crises a year that replace "
        "scenario.horizon.opportunities_per_year"
    ),
    "initiation_pact_ratio": (
        "p_initiation with a major-power defence pact of the target / without defence pacts "
        "(below 1: such a pact deters in the dispute data)"
    ),
    "initiation_observed_pact_ratio": (
        "p_initiation with the target's observed pacts / without defence pacts (1 when it has none)"
    ),
    "initiation_capability_ratio": (
        "p_initiation with the aggressor twice as strong (CINC) / as used"
    ),
}
#: The target's defence-pact covariates that calibration.deterrence_pacts=none sets to 0.
PACTS = ("def_applies", "def_applies_major", "def_applies_contingent")


@dataclass(frozen=True)
class CrisisRate:
    """Per-draw results of the initiation posterior for a scenario (D epistemic draws).

    ``values`` maps each name of :data:`OUTPUTS` to a (D,) array; ``posterior_draw`` (D,) is the
    index of the flattened (chain, draw) posterior sample each draw took; ``attrs`` is the
    provenance written to ``forecast.nc``.
    """

    values: dict[str, np.ndarray]
    posterior_draw: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> np.ndarray:
        return self.values["initiation_rate"]


def rate_from_propensity(p: np.ndarray) -> np.ndarray:
    """Poisson rate whose P(at least one event in a year) is ``p``: -log(1 - p)."""
    return -np.log1p(-np.asarray(p, dtype=float))


def cow_codes(sc: Any) -> tuple[int, int]:
    """COW state codes of the scenario's aggressor and target (state codes of
    :data:`forecast.calibration.covariates.COW_CODES`)."""
    from forecast.calibration.covariates import COW_CODES

    out, problems = [], []
    for path, code in (
        ("scenario.aggressor.code", sc.aggressor.code),
        ("scenario.target.code", sc.target.code),
    ):
        if code not in COW_CODES:
            problems.append(
                f"{path} = {code}: no COW state code is known for it "
                "(forecast.calibration.covariates.COW_CODES), so the initiation posterior "
                "cannot be applied; beliefs.aggressor_source=calibrated needs both states in "
                "the COW state system"
            )
        out.append(COW_CODES.get(code, -1))
    if problems:
        raise ConfigError(problems)
    return out[0], out[1]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def _posterior_propensities(
    posterior: str,
    sha256: str,
    data_dir: str | None,
    ccode1: int,
    ccode2: int,
    year: int,
    pacts: str,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every posterior draw's outputs (S,) for one dyad-year, and the dyad's provenance.

    Cached by the posterior's hash: a sensitivity analysis builds several plans of one run.
    """
    from forecast.calibration import initiation as ini
    from forecast.calibration.data import DataError
    from forecast.calibration.dyads import load_dyad_tables

    try:
        tree = ini.load_posterior(posterior)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            [
                f"calibration.deterrence_posterior = {posterior}: not a readable initiation "
                f"posterior ({exc})"
            ]
        ) from None
    try:
        tables = load_dyad_tables(data_dir)
    except DataError as exc:
        raise ConfigError([f"calibration.data_dir = {data_dir}: {exc}"]) from None
    ddy = tables.ddy
    last = int(ddy["year"].max())
    used = min(year, last)
    pair = (ddy["ccode1"] == ccode1) & (ddy["ccode2"] == ccode2) & (ddy["year"] == used)
    if not pair.any():
        raise ConfigError(
            [
                f"scenario.year = {year}: {ccode1} -> {ccode2} (scenario.aggressor.code -> "
                f"scenario.target.code) is not a pair of COW state-system members in {used}, so "
                "the initiation posterior cannot be applied"
            ]
        )
    observed = ini.dyad_frame(tables, ccode1, ccode2, year)
    frame = observed.copy()
    if pacts == "none":
        frame[list(PACTS)] = 0.0
    p_obs = ini.annual_propensity(tree, observed)
    p_used = ini.annual_propensity(tree, frame)
    no_pact = p_obs.sel(case="target without defence pacts").to_numpy()
    p = p_used.sel(case="as observed").to_numpy()
    values = {
        "p_initiation": p,
        "initiation_rate": rate_from_propensity(p),
        "initiation_pact_ratio": (
            p_obs.sel(case="target with a major-power defence pact").to_numpy() / no_pact
        ),
        "initiation_observed_pact_ratio": p_obs.sel(case="as observed").to_numpy() / no_pact,
        "initiation_capability_ratio": (
            p_used.sel(case="challenger twice as strong").to_numpy() / p
        ),
    }
    from forecast.calibration.dyads import COVARIATES

    row, seen = frame.iloc[0], observed.iloc[0]
    attrs = {
        # the year whose state-system membership was checked (the file's last, when earlier)
        "deterrence_state_system_year": used,
        "deterrence_covariates": json.dumps({c: float(row[c]) for c in COVARIATES}),
        "deterrence_target_pacts_observed": json.dumps({c: float(seen[c]) for c in PACTS}),
        "deterrence_posterior_samples": len(p),
    }
    return values, attrs


def calibrated_crisis_rate(cfg: Any, n_draws: int, seed: int) -> CrisisRate:
    """Per-draw crisis rates (and contrasts) from ``calibration.deterrence_posterior``.

    Raises
    ------
    ConfigError
        A state code without a COW code, a missing or unreadable posterior, missing or malformed
        data files, or a dyad that is not in the state system in the scenario's year.
    """
    sc = cfg.scenario
    link = cfg.calibration
    path = link.deterrence_posterior
    if path is None or not Path(path).is_file():
        raise ConfigError([f"calibration.deterrence_posterior: no such file, got {path}"])
    ccode1, ccode2 = cow_codes(sc)
    year = scenario_year(sc)
    pacts = str(getattr(link.deterrence_pacts, "value", link.deterrence_pacts))
    data_dir = None if link.get("data_dir") is None else str(link.data_dir)
    sha = file_sha256(path)
    every, extra = _posterior_propensities(
        str(path), sha, data_dir, ccode1, ccode2, int(year), pacts
    )
    total = len(every["p_initiation"])
    rng = np.random.Generator(
        np.random.SFC64(np.random.SeedSequence([int(seed), streams.INITIATION_POSTERIOR]))
    )
    pick = rng.choice(total, size=n_draws, replace=n_draws > total)
    attrs = {
        "aggressor_source": "calibrated",
        "deterrence_posterior": str(path),
        "deterrence_posterior_sha256": sha,
        "deterrence_dyad": f"{sc.aggressor.code} -> {sc.target.code} (COW {ccode1} -> {ccode2})",
        "deterrence_ccode1": ccode1,
        "deterrence_ccode2": ccode2,
        "deterrence_year": int(year),
        "deterrence_pacts": pacts,
        **extra,
    }
    return CrisisRate({k: v[pick] for k, v in every.items()}, pick, attrs)
