"""A Hydra multirun directory -> one ``sweep.nc`` with one dim per swept config path.

A swept path's dim is named by :func:`forecast.results.conventions.dim_name` (letters, digits
and underscores: ``scenario.actors.USA.willingness.mean`` ->
``scenario_actors_USA_willingness_mean``); its coordinate keeps the path as ``config_path``.

The sweep is read from the directory itself. ``multirun.yaml`` holds the command's overrides,
from which Hydra's basic sweeper gives every job of the sweep (the cartesian product of the swept
values, in job-number order); each job's ``.hydra/overrides.yaml`` says which point it ran. A job
is *ok* when its ``forecast.nc`` opens; *failed* when its directory exists without a usable result
(the reason is found by checking its config again); *missing* when it never started (Hydra's basic
launcher stops at the first failing job). Failed and missing jobs are listed in the output and in
the file's attributes, and their cells are NaN: never dropped silently.

Every job's provenance is kept as variables over the sweep dims: ``job_num``, ``job_status``,
``job_reason``, ``job_dir``, ``job_overrides``, ``job_seed``, ``job_git_revision``,
``job_created`` and ``job_config`` (the job's resolved config as YAML).
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml

from forecast import storage
from forecast.config import ConfigError
from forecast.results import conventions
from forecast.results import dataset as results

log = logging.getLogger(__name__)

SWEEP_FILE = "sweep.nc"
#: variables drawn as curves against the swept values, when the jobs have them
CURVES = ("p_deterrence", "p_join", "p_defense_success")
_NEVER_RAN = "never ran (the multirun stopped before it, or its directory was removed)"


@dataclass
class Job:
    """One point of the sweep."""

    num: int
    overrides: list[str]
    point: dict[str, Any] = field(default_factory=dict)  # swept config path -> value
    dir: Path | None = None
    status: str = "missing"  # ok | failed | missing
    reason: str = _NEVER_RAN
    attrs: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        where = " ".join(f"{k}={_text(v)}" for k, v in self.point.items())
        return f"job #{self.num} ({where}): {self.reason}"


# ----------------------------------------------------------------------------------------------
# Reading the directory
# ----------------------------------------------------------------------------------------------


def _parse(overrides: list[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(list(overrides))


def _key(o: Any) -> str:
    # the config path without Hydra's +/++/~ prefix: the name of the dim
    return str(o.key_or_group) + (f"@{o.package}" if o.package else "")


def _text(v: Any) -> str:
    return "null" if v is None else str(v)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def job_dirs(sweep_dir: Path) -> dict[int, Path]:
    """Job number -> directory, for every directory under ``sweep_dir`` that holds a Hydra job."""
    out: dict[int, Path] = {}
    for rec in sorted(sweep_dir.glob("**/.hydra/overrides.yaml")):
        job_dir = rec.parent.parent
        hydra_cfg = _read_yaml(rec.parent / "hydra.yaml") or {}
        num = (hydra_cfg.get("hydra") or {}).get("job", {}).get("num")
        if not isinstance(num, int):
            if not job_dir.name.isdigit():
                continue
            num = int(job_dir.name)
        # a copied job directory claims the same number: the one named after it wins
        if num not in out or job_dir.name == str(num):
            out[num] = job_dir
    return out


def plan_jobs(sweep_dir: Path) -> tuple[list[str], list[Job], list[str]]:
    """The swept config paths, every job of the sweep, and the sweep command's overrides.

    From ``multirun.yaml`` when it exists, so that jobs that never ran are known; otherwise from
    the job directories found, the swept paths being those whose values differ between jobs.
    """
    dirs = job_dirs(sweep_dir)
    found = {n: list(_read_yaml(d / ".hydra" / "overrides.yaml") or []) for n, d in dirs.items()}
    multirun = _read_yaml(sweep_dir / "multirun.yaml")
    if multirun:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        task = list(multirun["hydra"]["overrides"]["task"] or [])
        parsed = _parse(task)
        paths = [_key(o) for o in parsed if o.is_sweep_override()]
        combos = [c for batch in BasicSweeper.split_arguments(parsed, None) for c in batch]
        jobs = [Job(i, list(c)) for i, c in enumerate(combos)]
    else:
        task = []
        seen: dict[str, set[str]] = {}
        for ovs in found.values():
            for o in _parse(ovs):
                seen.setdefault(_key(o), set()).add(repr(o.value()))
        every = [{_key(o) for o in _parse(ovs)} for ovs in found.values()]
        paths = [k for k, v in seen.items() if len(v) > 1 or any(k not in e for e in every)]
        jobs = [Job(n, found.get(n, [])) for n in range(max(dirs, default=-1) + 1)]
    for job in jobs:
        if job.num in dirs:
            job.dir, job.overrides = dirs[job.num], found[job.num]
        values = {_key(o): o.value() for o in _parse(job.overrides)}
        job.point = {p: values.get(p) for p in paths}
    return paths, jobs, task


def why_failed(job_dir: Path) -> str:
    """Why a job left no usable result: its config's problems, if it has any."""
    from omegaconf import OmegaConf

    from forecast.analysis import sensitivity as analysis
    from forecast.config.schema import RunConfig
    from forecast.model import beliefs

    try:
        loaded = OmegaConf.load(job_dir / ".hydra" / "config.yaml")
        cfg = OmegaConf.merge(OmegaConf.structured(RunConfig), loaded)
        problems = beliefs.validate(cfg) + analysis.validate(cfg)
    except Exception as exc:  # a config this version cannot read is itself the reason
        return f"its config cannot be checked: {' '.join(str(exc).split())[:300]}"
    if problems:
        return "bad config: " + "; ".join(problems)
    return "no result: the job did not finish (it crashed, was killed or was interrupted)"


def open_job(job: Job, filename: str) -> xr.Dataset | None:
    """Open the job's result and set its status and reason; the Dataset when it is usable."""
    if job.dir is None:
        return None
    path = job.dir / filename
    if not path.is_file():
        job.status, job.reason = "failed", why_failed(job.dir)
        return None
    try:
        ds = storage.read(path)
    except Exception as exc:  # any failure to open means the job is not usable
        job.status, job.reason = "failed", f"{filename} is unreadable ({type(exc).__name__})"
        return None
    if "p_deterrence" not in ds:
        job.status, job.reason = "failed", f"{filename} holds no p_deterrence"
        return None
    job.status, job.reason, job.attrs = "ok", "", dict(ds.attrs)
    return ds


# ----------------------------------------------------------------------------------------------
# Merging
# ----------------------------------------------------------------------------------------------


def coordinate(values: list[Any]) -> np.ndarray:
    """Coordinate of one swept path: numbers sorted ascending, anything else as text in order."""
    uniq: list[Any] = []
    for v in values:
        if v not in uniq:
            uniq.append(v)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in uniq):
        return np.array(sorted(uniq), dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in uniq):
        return np.array(sorted(float(v) for v in uniq))
    return np.array([_text(v) for v in uniq], dtype=object)


def _cell(point: dict[str, Any], coords: dict[str, np.ndarray]) -> tuple[int, ...]:
    """Index of a job's point in the sweep's grid."""
    idx = []
    for p, c in coords.items():
        key = _text(point[p]) if c.dtype == object else point[p]
        idx.append(int(np.flatnonzero(c == key)[0]))
    return tuple(idx)


def merge(paths: list[str], jobs: list[Job], datasets: dict[int, xr.Dataset]) -> xr.Dataset:
    """Stack the jobs' forecasts over one dim per swept path; failed and missing cells are NaN.

    Jobs may differ in their other dims (another scenario has other partners): those are
    joined, and the cells a job does not have are NaN.
    """
    coords = {p: coordinate([j.point[p] for j in jobs]) for p in paths}
    cells = {j.num: _cell(j.point, coords) for j in jobs}
    dims = swept_dims(paths)
    names: dict[str, str] = {}
    parts = []
    for ds in datasets.values():
        # encode the merged file afresh, and give empty dims (a scenario without institutions)
        # text coords, so that they join with another job's names
        ds = ds.drop_encoding()
        empty = {k: np.array([], dtype=str) for k, v in ds.indexes.items() if len(v) == 0}
        ds = ds.assign_coords(empty)
        if "actor_name" in ds.coords:
            names.update(
                zip(map(str, ds.actor.values), map(str, ds.actor_name.values), strict=True)
            )
            ds = ds.drop_vars("actor_name")
        parts.append(ds)
    stacked = xr.concat(
        parts,
        dim="job",
        join="outer",
        data_vars="all",
        coords="different",
        compat="equals",
        fill_value=np.nan,
        combine_attrs="drop",
    )
    shape = tuple(len(c) for c in coords.values())
    data = {}
    for name, da in stacked.data_vars.items():
        if "job" not in da.dims:
            data[name] = da
            continue
        da = da.transpose("job", ...)
        full = np.full(shape + da.shape[1:], np.nan)
        for k, num in enumerate(datasets):
            full[cells[num]] = da.values[k]
        data[name] = (tuple(dims) + da.dims[1:], full, da.attrs)
    kept = {k: v for k, v in stacked.coords.items() if "job" not in v.dims}
    swept = {d: (d, coords[p], {"config_path": p}) for d, p in zip(dims, paths, strict=True)}
    out = xr.Dataset(data, coords={**kept, **swept})
    if names and results.ACTOR in out.dims:
        out = out.assign_coords(
            actor_name=(
                results.ACTOR,
                [names.get(str(a), str(a)) for a in out[results.ACTOR].values],
            )
        )
    return out.merge(_provenance(dims, jobs, coords, cells))


def swept_dims(paths: list[str]) -> list[str]:
    """The dim name of each swept config path (letters, digits, underscores; never twice)."""
    dims: list[str] = []
    for p in paths:
        d = conventions.dim_name(p)
        while d in dims or d in (results.DRAW, results.ACTOR, "job"):
            d += "_"
        dims.append(d)
    return dims


def _provenance(
    dims: list[str], jobs: list[Job], coords: dict[str, np.ndarray], cells: dict[int, tuple]
) -> xr.Dataset:
    shape, dims = tuple(len(c) for c in coords.values()), tuple(dims)
    keys = ("status", "reason", "dir", "overrides", "git_revision", "created", "config")
    text = {k: np.full(shape, "", dtype=object) for k in keys}
    num = np.full(shape, -1, dtype=np.int64)
    seed = np.full(shape, -1, dtype=np.int64)
    for j in jobs:
        c = cells[j.num]
        num[c], seed[c] = j.num, int(j.attrs.get("seed", -1))
        text["status"][c], text["reason"][c] = j.status, j.reason
        text["dir"][c], text["overrides"][c] = str(j.dir or ""), " ".join(j.overrides)
        for k in ("git_revision", "created", "config"):
            text[k][c] = str(j.attrs.get(k, ""))
    out = xr.Dataset({f"job_{k}": (dims, v) for k, v in text.items()})
    out["job_num"] = (dims, num)
    out["job_seed"] = (dims, seed)
    out["job_status"].attrs["description"] = "ok, failed (see job_reason) or missing (never ran)"
    out["job_seed"].attrs["description"] = "the job's sampler.seed; -1 without a result"
    out["job_config"].attrs["description"] = "the job's resolved config (YAML)"
    return out


# ----------------------------------------------------------------------------------------------
# The whole step
# ----------------------------------------------------------------------------------------------


@dataclass
class Collected:
    """What :func:`collect` did: the merged sweep, where it went, and every job's fate."""

    sweep: xr.Dataset
    path: Path
    paths: list[str]
    jobs: list[Job]
    figures: list[Path]

    @property
    def dims(self) -> list[str]:
        """The sweep's dim of each of :attr:`paths`, in the same order."""
        return swept_dims(self.paths)

    @property
    def problems(self) -> list[Job]:
        return [j for j in self.jobs if j.status != "ok"]


def collect(sweep_dir: str | Path, filename: str = "forecast.nc", plots: bool = True) -> Collected:
    """Merge the multirun in ``sweep_dir`` into ``sweep_dir/sweep.nc`` and draw its curves
    (``sweep_<variable>.png`` and the interactive ``sweep.html``).

    Raises :class:`ConfigError` when ``sweep_dir`` is not a directory, holds no Hydra jobs, or
    none of its jobs left a result (every job's reason is listed); nothing is written then.
    """
    from forecast.results import report

    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError([f"sweep directory {str(sweep_dir)!r} does not exist"])
    paths, jobs, task = plan_jobs(sweep_dir)
    if not jobs:
        raise ConfigError(
            [
                f"no Hydra jobs in {str(sweep_dir)!r}: expected a multirun directory (from "
                "`forecast -m ...`) with job directories holding .hydra/overrides.yaml"
            ]
        )
    datasets = {j.num: ds for j in jobs if (ds := open_job(j, filename)) is not None}
    if not datasets:
        raise ConfigError(
            [f"no job in {str(sweep_dir)!r} left a result:"] + [j.describe() for j in jobs]
        )
    sweep = merge(paths, jobs, datasets)
    first = next(j for j in jobs if j.status == "ok")
    seeds = sorted({int(j.attrs["seed"]) for j in jobs if "seed" in j.attrs})
    failed = [j.describe() for j in jobs if j.status == "failed"]
    missing = [j.describe() for j in jobs if j.status == "missing"]
    sweep.attrs.update(
        {
            "sweep_dir": str(sweep_dir.resolve()),
            "swept_paths": "\n".join(paths),
            "swept_dims": "\n".join(swept_dims(paths)),
            "sweep_overrides": " ".join(task),
            "n_jobs": len(jobs),
            "n_jobs_ok": len(datasets),
            "n_jobs_failed": len(failed),
            "n_jobs_missing": len(missing),
            "failed_jobs": "\n".join(failed),
            "missing_jobs": "\n".join(missing),
            "seeds": ", ".join(map(str, seeds)),
            "seed": ", ".join(map(str, seeds)),
            "version_forecast": storage.package_versions().get("forecast", ""),
            "common_random_numbers": int(len(seeds) == 1),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "git_revision": storage.git_revision(),
            "package_versions": "\n".join(
                f"{k}=={v}" for k, v in storage.package_versions().items()
            ),
            # the first job's config and description; job_config has every job's
            "config": str(first.attrs.get("config", "")),
            **{
                k: first.attrs[k]
                for k in ("scenario", "aggressor", "target", "realizations")
                if k in first.attrs
            },
        }
    )
    _sweep_conventions(sweep, len(datasets), len(jobs))
    path = sweep_dir / SWEEP_FILE
    storage.write_atomic(sweep, path)
    figures = []
    if plots and any(sweep.sizes[d] > 1 for d in swept_dims(paths)):
        for name in CURVES:
            if name in sweep:
                out = sweep_dir / f"sweep_{name}.png"
                try:
                    figures.append(report.save_figure(report.plot_sweep(sweep, name), out))
                except Exception:
                    log.exception("could not draw %s", out)
    if plots:
        from forecast.results.sweep_page import SWEEP_PAGE, write_sweep_html

        try:
            figures.append(write_sweep_html(sweep, sweep_dir / SWEEP_PAGE))
        except Exception:
            log.exception("could not write %s", sweep_dir / SWEEP_PAGE)
    return Collected(sweep, path, paths, jobs, figures)


def _sweep_conventions(sweep: xr.Dataset, n_ok: int, n_jobs: int) -> None:
    """CF attributes of ``sweep.nc`` (:mod:`forecast.results.conventions`)."""
    a = sweep.attrs
    version = a.get("version_forecast", "")
    conventions.add_cf_attributes(
        sweep,
        title=f"Sweep of deterrence and coalition-reliability forecasts over "
        f"{', '.join(a['swept_paths'].splitlines()) or 'no swept path'}",
        history=f"{a['created']} forecast-collect (forecast {version}): merged {n_ok} of "
        f"{n_jobs} jobs",
        source=f"forecast {version}, Monte Carlo simulation: one forecast per sweep point",
    )


def format_collected(c: Collected) -> str:
    """The lines ``forecast-collect`` prints: what was merged, each point's P(deterrence), and
    every failed or missing job."""
    from forecast.results import report

    s = c.sweep
    swept = "; ".join(
        f"{p} = {', '.join(_text(v) for v in s[d].values)}"
        for p, d in zip(c.paths, c.dims, strict=True)
    )
    lines = [f"collected {s.attrs['n_jobs_ok']} of {s.attrs['n_jobs']} jobs into {c.path}"]
    lines.append(f"swept: {swept}")
    if not s.attrs["common_random_numbers"]:
        lines.append(
            f"note: the jobs use different seeds ({s.attrs['seeds']}), so differences between "
            "points include Monte Carlo noise"
        )
    mean, lo, hi = report.interval(s["p_deterrence"], "draw")
    coords = {p: s[d].values for p, d in zip(c.paths, c.dims, strict=True)}
    where = {
        j.num: ", ".join(f"{k}={_text(v)}" for k, v in j.point.items()) or "(no swept path)"
        for j in c.jobs
    }
    w = max(len(x) for x in where.values()) + 2
    lines.append(f"{'job':<5}{'point':<{w}}{'P(deterrence)':>14}{'90% interval':>18}  status")
    for j in c.jobs:
        row = f"#{j.num:<4}{where[j.num]:<{w}}"
        if j.status == "ok":
            cell = _cell(j.point, coords)
            iv = f"[{float(lo.values[cell]):.3f}, {float(hi.values[cell]):.3f}]"
            row += f"{float(mean.values[cell]):>14.3f}{iv:>18}"
        else:
            row += " " * 32
        lines.append(f"{row}  {j.status}")
    lines += [f"{j.status}: {j.describe()}" for j in c.problems]
    lines += [f"wrote {f}" for f in c.figures]
    return "\n".join(lines)
