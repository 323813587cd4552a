"""The historical backtest: forecast every case of the library and score it against the record.

A case is a scenario ``configs/scenario/backtest_<name>.yaml`` authored only from information
dated before its crisis (``scenario.backtest.crisis_date``); its outcome block
(``scenario.backtest.outcome``) is read here, for scoring, and never by the model. Events: the
attack, each partner's join, the defence's success and each institution's mandate; joins,
defence and mandates are forecast given an attack and scored only where the attack happened.

Three predictors are scored on the same events:

- ``model``: the crisis model (the scenario's beliefs through the sampler);
- ``base_rate``: the share of events of the same kind that happened in strictly earlier cases
  (:func:`forecast.analysis.scoring.leave_future_out_base_rates`);
- ``calibrated``: the calibrated willingness alone, without the crisis model: P(join) is the
  posterior predictive mean P(honour) of the historical model fitted only on wars that ended
  before the case's crisis year, given the partner's commitment and covariates; it says nothing
  about the other events, which take the base rate.

:func:`run_backtest` needs no Hydra; :mod:`forecast.cli.backtest` wraps it.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from omegaconf import DictConfig, OmegaConf

from forecast.analysis import scoring
from forecast.config.loading import config_dir, load_config
from forecast.results.dataset import if_attacked

PREFIX = "backtest_"
PREDICTORS = ("model", "base_rate", "calibrated")


@dataclass(frozen=True)
class Settings:
    """Sampler and calibration settings of a backtest run (modest: the run takes minutes)."""

    draws: int = 200
    realizations: int = 2000
    seed: int = 20261122
    calibrated: bool = True
    data_dir: str | None = None
    # NUTS draws and tuning steps of each calibration fit (2 chains in parallel): enough for the
    # mean P(honour) the baseline needs, not for published posteriors (the fit logs a warning)
    fit_draws: int = 100
    fit_tune: int = 200


@dataclass(frozen=True)
class Case:
    """One case: its name, crisis date, config, and events with their outcomes (NaN: unscored)."""

    name: str
    date: str
    cfg: DictConfig
    outcomes: dict[str, float]

    @property
    def year(self) -> int:
        return int(self.date[:4])


def case_names() -> list[str]:
    """Names of every backtest case shipped in ``configs/scenario/``, in file order."""
    return sorted(p.stem for p in (config_dir() / "scenario").glob(f"{PREFIX}*.yaml"))


def _flag(x: Any) -> float:
    return np.nan if x is None else float(bool(x))


def case_events(cfg: DictConfig) -> dict[str, float]:
    """Every event a case forecasts, with its outcome on record (1/0) or NaN when not scored.

    Outcomes of the conditional events (joins, defence, mandates) count only when the attack
    happened.
    """
    sc = cfg.scenario
    out = sc.backtest.outcome
    attacked = out.attack is True
    events = {"attack": _flag(out.attack)}
    for code in sc.actors:
        events[f"join:{code}"] = _flag(out.join.get(code)) if attacked else np.nan
    events["defense_success"] = _flag(out.defense_success) if attacked else np.nan
    for name in sc.institutions:
        events[f"mandate:{name}"] = _flag(out.mandate.get(name)) if attacked else np.nan
    return events


def check_case(name: str, cfg: DictConfig) -> list[str]:
    """Problems of a case's backtest block: a date, and outcomes that name known actors."""
    sc = cfg.scenario
    problems = []
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(sc.backtest.crisis_date)):
        problems.append(
            f"{name}: scenario.backtest.crisis_date must be an ISO date YYYY-MM-DD, "
            f"got {sc.backtest.crisis_date!r}"
        )
    for key, known in (("join", sc.actors), ("mandate", sc.institutions)):
        for code in sc.backtest.outcome[key]:
            if code not in known:
                problems.append(
                    f"{name}: scenario.backtest.outcome.{key}.{code}: unknown "
                    f"(known: {sorted(known)})"
                )
    return problems


def load_case(name: str, settings: Settings) -> Case:
    """Compose case ``name`` with the backtest's sampler settings."""
    from forecast.config import ConfigError

    block = min(settings.realizations, 1000)
    cfg = load_config(
        [
            f"scenario={name}",
            f"sampler.draws={settings.draws}",
            f"sampler.realizations={settings.realizations}",
            f"sampler.block_size={block}",
            f"sampler.seed={settings.seed}",
            "sampler.progress=false",
        ]
    )
    problems = check_case(name, cfg)
    if problems:
        raise ConfigError(problems)
    return Case(name, str(cfg.scenario.backtest.crisis_date), cfg, case_events(cfg))


def model_forecasts(ds: xr.Dataset, events: list[str]) -> dict[str, float]:
    """The crisis model's probability of each event.

    The attack: the mean over epistemic draws of P(attack). The events that follow an attack
    (a partner joins, the defence succeeds, a mandate) are scored on cases in which the attack
    came, so their forecast is the probability once an attack is seen: the draws weighted by
    their P(attack) (:func:`forecast.results.dataset.if_attacked`).
    """
    out = {}
    for event in events:
        kind, _, name = event.partition(":")
        if kind == "attack":
            out[event] = float(ds.p_attack.mean("draw"))
            continue
        if kind == "join":
            value = if_attacked(ds, "p_join", {"actor": name})
        elif kind == "defense_success":
            value = if_attacked(ds, "p_defense_success")
        else:
            value = if_attacked(ds, "p_mandate", {"institution": name})
        out[event] = float("nan") if value is None else value
    return out


# ----------------------------------------------------------------------------------------------
# The calibrated-willingness baseline, fitted without the future
# ----------------------------------------------------------------------------------------------


def war_end_years(data_dir: str | None = None) -> pd.Series:
    """Last year of each war of the calibration record, indexed by the case table's war key.

    COW wars (``cow<N>``) from the COW inter-state war file; wars known only to the Interstate
    War Data (``iwd<N>``) from the last year in their name (those without one are left out,
    so :func:`training_cases` excludes them).
    """
    from forecast.calibration.cases import load_cases
    from forecast.calibration.data import read_source

    cow = read_source("cow_wars", data_dir).groupby("warnum")["year"].max()
    years = {f"cow{int(k)}": int(v) for k, v in cow.items()}
    cases, _ = load_cases(data_dir)
    for key, name in cases[["war", "war_name"]].drop_duplicates("war").itertuples(index=False):
        if key not in years:
            found = re.findall(r"(1[89]\d\d|20\d\d)", str(name))
            if found:
                years[key] = int(found[-1])
    return pd.Series(years, name="end_year")


def training_cases(cases: pd.DataFrame, end_years: pd.Series, crisis_year: int) -> pd.DataFrame:
    """The cases with an outcome whose war ended before ``crisis_year`` (unknown end: left out).

    A war ending in the crisis year itself is left out too: it may have ended after the crisis.
    """
    end = cases["war"].map(end_years)
    return cases[cases["y"].notna() & end.notna() & (end < crisis_year)]


def calibrated_forecasts(
    cases: list[Case], settings: Settings, log=print
) -> dict[str, dict[str, float]]:
    """P(join) of every partner of every case from a posterior fitted only on earlier wars.

    Cases whose training sets are equal share one fit. Returns case name -> event -> P.
    """
    from forecast.calibration.cases import load_cases
    from forecast.calibration.fit import fit, predict_willingness
    from forecast.calibration.willingness import partner_covariates

    record, _ = load_cases(settings.data_dir)
    end_years = war_end_years(settings.data_dir)
    calib = load_config(
        ["calibration=quick", "calibration.sampling.cores=2"], config_name="calibrate"
    ).calibration
    wars = record["war"].unique()  # every fit has the same wars: one compiled graph
    fits: dict[frozenset, Any] = {}
    out: dict[str, dict[str, float]] = {}
    for case in cases:
        train = training_cases(record, end_years, case.year)
        key = frozenset(train.index)
        if key not in fits:
            t0 = time.perf_counter()
            fits[key] = fit(
                train,
                calib,
                draws=settings.fit_draws,
                tune=settings.fit_tune,
                seed=settings.seed,
                log_likelihood=False,
                wars=wars,
            )
            log(
                f"calibration fit on {len(train)} cases of {train['war'].nunique()} wars ended "
                f"before {case.year}: {time.perf_counter() - t0:.0f} s"
            )
        codes = tuple(case.cfg.scenario.actors)
        w = predict_willingness(fits[key], partner_covariates(case.cfg, codes), 2000, settings.seed)
        out[case.name] = {f"join:{c}": float(w[:, i].mean()) for i, c in enumerate(codes)}
    return out


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------


def _grid(cases: list[Case], values: dict[str, dict[str, float]], events: list[str]):
    return np.array([[values[c.name].get(e, np.nan) for e in events] for c in cases])


def run_backtest(
    settings: Settings = Settings(), names: list[str] | None = None, log=print
) -> xr.Dataset:
    """Forecast and score every case; return the Dataset (dims ``case``, ``event``).

    Cases are ordered by crisis date. Variables: ``outcome``, ``p_<predictor>``,
    ``brier_<predictor>`` and ``log_score_<predictor>`` (NaN where an event does not apply to
    a case or is not scored); attrs hold the overall scores and the provenance.
    """
    from forecast.jobs.run import simulate
    from forecast.results import backtest as report

    t_start = time.perf_counter()
    cases = sorted((load_case(n, settings) for n in (names or case_names())), key=lambda c: c.date)
    events = list(dict.fromkeys(e for c in cases for e in c.outcomes))
    forecasts: dict[str, dict[str, dict[str, float]]] = {"model": {}}
    for case in cases:
        t0 = time.perf_counter()
        ds = simulate(case.cfg)
        forecasts["model"][case.name] = model_forecasts(ds, list(case.outcomes))
        log(f"{case.name}: {time.perf_counter() - t0:.1f} s")
    outcome = _grid(cases, {c.name: c.outcomes for c in cases}, events)
    kinds = np.array([scoring.event_kind(e) for e in events])
    dates = np.array([c.date for c in cases])
    p = {"model": _grid(cases, forecasts["model"], events)}
    base = scoring.leave_future_out_base_rates(kinds, dates, outcome)
    p["base_rate"] = base
    if settings.calibrated:
        joins = _grid(cases, calibrated_forecasts(cases, settings, log), events)
        p["calibrated"] = np.where(kinds == "join", joins, p["base_rate"])
        p["calibrated"] = np.where(np.isnan(outcome), np.nan, p["calibrated"])
    ds = report.to_dataset(cases, events, kinds, outcome, p)
    ds.attrs.update(
        {
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "created_by": "forecast-backtest",
            "settings": json.dumps(settings.__dict__),
            "cases_yaml": OmegaConf.to_yaml(
                {c.name: OmegaConf.to_container(c.cfg.scenario) for c in cases}
            ),
            "seconds": time.perf_counter() - t_start,
        }
    )
    return ds


def write_backtest(ds: xr.Dataset, out_dir: str | Path) -> dict[str, Path]:
    """Write ``backtest.nc``, ``backtest.csv``, ``scores.csv`` and ``reliability.png``."""
    from forecast.results import backtest as report

    return report.write(ds, Path(out_dir))
