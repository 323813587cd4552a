"""The CF conventions of ``forecast.nc`` and ``sweep.nc``: names, ``long_name`` and ``units``.

Every variable and coordinate gets a ``long_name`` and, when it holds numbers, ``units``
(UDUNITS strings: ``1`` for probabilities, counts, indices and the model's relative capability
and prize units; ``days`` for delays; ``year-1`` for a rate per year). Text variables (state
codes and names, config paths, job records) carry a ``long_name`` only, as CF asks units of
quantities alone. The file gets the
global attributes ``Conventions``, ``title``, ``history`` and ``source``. Names of dims and
variables are letters, digits and underscores: a swept config path such as
``scenario.actors.USA.willingness.mean`` becomes the dim ``scenario_actors_USA_willingness_mean``,
whose coordinate keeps the path as its ``config_path`` attribute.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import xarray as xr

CONVENTIONS = "CF-1.11"
PROBABILITY = "1"
DIMENSIONLESS = "1"
DAYS = "days"
PER_YEAR = "year-1"

#: long names of what the descriptions of :mod:`forecast.results.dataset` do not cover
LONG_NAMES = {
    "draw": "epistemic draw",
    "actor": "partner (state code)",
    "actor_name": "partner (state name)",
    "attack_type": "attack type",
    "institution": "institution",
    "quantile": "quantile level",
    "parameter": "belief parameter",
    "parameter_path": "config path of the belief parameter",
    "capability_target": "the draw's capability of the target",
    "capability_aggressor": "the draw's capability of the aggressor",
    "n_realizations": "crises simulated in the draw",
    "tornado_base": "p_deterrence with every belief at its median",
    "tornado_low": "p_deterrence with the belief at its low quantile",
    "tornado_high": "p_deterrence with the belief at its high quantile",
    "tornado_value_low": "the belief's value at its low quantile",
    "tornado_value_high": "the belief's value at its high quantile",
    "tornado_value_base": "the belief's median",
    "sensitivity_first_order": "first-order sensitivity index of p_deterrence",
    "sensitivity_first_order_se": "bootstrap standard error of the first-order index",
    "parameter_value": "the draw's value of each belief parameter",
    "threshold": "the belief's value at which the quantity reaches the target",
    "threshold_se_draws": "standard error of the threshold from the finite epistemic draws",
    "threshold_draw": "the draw's own threshold",
    "threshold_quantile": "quantiles of the per-draw thresholds",
    "threshold_q": "quantile level",
    "threshold_value": "value of the belief searched",
    "threshold_curve": "mean over draws of the quantity at each value searched",
    "threshold_curve_draw": "the quantity in each draw at each value searched",
    "job_num": "Hydra job number of the sweep point",
    "job_status": "job status: ok, failed or missing",
    "job_reason": "why the job left no usable result",
    "job_dir": "job directory",
    "job_overrides": "the job's Hydra overrides",
    "job_seed": "the job's sampler.seed (-1 without a result)",
    "job_git_revision": "git revision of the job's run",
    "job_created": "creation time of the job's result",
    "job_config": "the job's resolved config (YAML)",
}

_DAYS = {"delay", "fait_accompli"}
# rates: the aggressor's crises per year (a belief of the time horizon)
_PER_YEAR = {"opportunities_per_year", "initiation_rate"}
# variables holding values of the belief that the threshold search moves
_THRESHOLD_VALUES = {"threshold", "threshold_se_draws", "threshold_draw", "threshold_quantile"}
_PER_PARAMETER = {"parameter_value", "tornado_value_low", "tornado_value_high"}


def dim_name(path: str) -> str:
    """A dim name of letters, digits and underscores for a config path (or a group name)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(path))
    return name if re.match(r"[A-Za-z]", name) else f"d_{name}"


def _belief_units(path: str) -> str:
    """Units of a belief parameter from its config path: days for delays, else 1."""
    leaf = str(path).rsplit(".", 1)[-1]
    return DAYS if leaf in _DAYS else DIMENSIONLESS


def _base(name: str) -> str:
    for prefix in ("mcse_mean_", "mcse_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def units(name: str, ds: xr.Dataset) -> str | None:
    """UDUNITS units of variable ``name`` of ``ds``; None for text."""
    da = ds[name]
    if da.dtype.kind in "OUS":
        return None
    base = _base(name)
    if base in _DAYS:
        return DAYS
    if base in _PER_YEAR:
        return PER_YEAR
    if base in _THRESHOLD_VALUES and "threshold" in ds:
        return _belief_units(ds["threshold"].attrs.get("path", ""))
    if name == "threshold_value" and "threshold" in ds:
        return _belief_units(ds["threshold"].attrs.get("path", ""))
    if name in ds.dims and "config_path" in da.attrs:
        return _belief_units(da.attrs["config_path"])
    return DIMENSIONLESS


def long_name(name: str, da: xr.DataArray) -> str:
    """The variable's long name: its own, its description, the table, or one built from the
    Monte Carlo error prefixes."""
    for key in ("long_name", "description"):
        if da.attrs.get(key):
            return str(da.attrs[key])
    if name in LONG_NAMES:
        return LONG_NAMES[name]
    if name.startswith("mcse_mean_"):
        return f"Monte Carlo standard error of the mean of {name[10:]} over the draws"
    if name.startswith("mcse_"):
        return f"Monte Carlo standard error of {name[5:]}"
    if "config_path" in da.attrs:
        return f"swept value of {da.attrs['config_path']}"
    return name.replace("_", " ")


def add_cf_attributes(ds: xr.Dataset, title: str, history: str, source: str) -> xr.Dataset:
    """Give every variable and coordinate of ``ds`` its ``long_name`` and ``units``, and ``ds``
    the global CF attributes; returns ``ds`` (changed in place).

    Coordinates are written without a fill value, as CF asks of coordinate variables.
    """
    for name in list(ds.variables):
        da = ds[name]
        da.attrs["long_name"] = long_name(str(name), da)
        u = units(str(name), ds)
        if u is not None:
            da.attrs["units"] = u
        if str(_base(str(name))) in _PER_PARAMETER and u is not None:
            da.attrs["comment"] = "in the parameter's own units: days for delays, else 1"
        if name in ds.dims:
            ds[name].encoding["_FillValue"] = None
    ds.attrs.update(Conventions=CONVENTIONS, title=title, history=history, source=source)
    return ds


def forecast_attributes(ds: xr.Dataset) -> xr.Dataset:
    """:func:`add_cf_attributes` for a forecast made by :func:`forecast.jobs.run.simulate`."""
    a: dict[str, Any] = ds.attrs
    version = a.get("version_forecast", "")
    where = f"{a.get('aggressor', '')} attacks {a.get('target', '')}"
    realizations = int(np.asarray(ds["n_realizations"]).max()) if "n_realizations" in ds else 0
    return add_cf_attributes(
        ds,
        title=f"Deterrence and coalition-reliability forecast: {where} "
        f"(scenario {a.get('scenario', '')})",
        history=f"{a.get('created', '')} forecast {version}: scenario {a.get('scenario', '')}, "
        f"seed {a.get('seed', '')}",
        source=f"forecast {version}, Monte Carlo simulation ({a.get('backend', '')} backend): "
        f"{a.get('draws', '')} epistemic draws, up to {realizations} crises each",
    )
