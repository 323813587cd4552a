"""Names a reader understands, and the handling of dims a panel does not show: shared by the
PNG reports (:mod:`forecast.results.report`) and the HTML pages (:mod:`forecast.results.html`).

Every lookup here is by variable name and skips what a Dataset does not have, so that the
reports work on results with fewer or more variables than this version knows.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import xarray as xr
import yaml

from forecast.results import dataset as results

DRAW, ACTOR = results.DRAW, results.ACTOR
LEVEL = 0.9
_MAX_SERIES = 6
_LABELS = {
    "p_deterrence": "P(deterrence holds in a crisis)",
    "p_attack": "P(aggressor attacks in a crisis)",
    "p_defense_success": "P(defence succeeds | attack)",
    "p_win_perceived": "aggressor's perceived P(it wins | attack)",
    "p_join": "P(partner joins | attack)",
    "p_join_in_time": "P(partner joins in time | attack)",
    "p_miscalculation": "P(miscalculation: an attack it would not make with our beliefs)",
    "p_entangled": "P(partner drawn in through an ally | attack)",
    "pivotality": "pivotality: P(defence succeeds), partner forced in - forced out",
    "pivotality_deterrence": "pivotality for deterrence: rise in P(attack) if the aggressor "
    "knew the partner stays out",
    "p_attack_within_horizon": "P(attack within the horizon)",
    "p_attack_true_beliefs": "P(attack) if the aggressor knew the coalition's true resolve",
    "p_attack_repelled": "P(attack, a partner comes, and the coalition wins)",
    "p_attack_failed": "P(attack, and it fails, with or without partners)",
    "p_coalition_forms": "P(at least one partner joins | attack)",
    "coalition_power_ratio": "coalition power / the aggressor's power",
    "p_attack_type": "P(attack type | attack)",
    "p_contributes": "P(partner gives this kind of help | attack)",
    "pivotality_contribution": "pivotality of each kind of help: P(defence succeeds), that help "
    "forced - withheld",
}


# ----------------------------------------------------------------------------------------------
# Names a reader understands
# ----------------------------------------------------------------------------------------------


def quantity_label(name: str) -> str:
    """Axis label of a variable, e.g. ``P(deterrence holds)``; ``<known>_by_type`` reads as the
    known label "by attack type"; other names read as they are."""
    if name in _LABELS:
        return _LABELS[name]
    base = name.removesuffix("_by_type")
    if base != name and base in _LABELS:
        return f"{_LABELS[base]}, by attack type"
    return name


def config_of(ds: xr.Dataset) -> dict:
    try:
        return yaml.safe_load(ds.attrs.get("config", "")) or {}
    except yaml.YAMLError:
        return {}


def state_names(ds: xr.Dataset) -> dict[str, str]:
    """State code -> full name, for the partners, the target and the aggressor."""
    names: dict[str, str] = {}
    sc = config_of(ds).get("scenario", {})
    for role in ("aggressor", "target"):
        node = sc.get(role) or {}
        if node.get("code"):
            names[str(node["code"])] = str(node.get("name") or node["code"])
    for code, node in (sc.get("actors") or {}).items():
        names[str(code)] = str((node or {}).get("name") or code)
    if ACTOR in ds.coords and "actor_name" in ds.coords:
        names.update(
            zip(map(str, ds[ACTOR].values), map(str, ds["actor_name"].values), strict=True)
        )
    return names


# how a kind of belief parameter reads, with its unit; {who} is the state's name
_KINDS = {
    "willingness": "{who} willingness",
    "capability": "{who} capability",
    "perception": "aggressor's error on {who} resolve (sd)",
    "delay": "{who} response delay (days)",
    "fait_accompli": "fait-accompli time (days)",
    # the war as a process: kinds of help, the target's resolve, escalation
    "access": "{who} willingness to grant access",
    "arms": "{who} willingness to give arms",
    "sanctions": "{who} willingness to impose sanctions",
    "arms_amount": "{who} arms given (capability)",
    "resolve": "{who} resolve to fight on",
    "escalation": "escalation probability per phase",
}


def parameter_label(name: str, path: str, ds: xr.Dataset) -> str:
    """``willingness[USA]`` -> ``United States willingness``; the role is added for the target
    and the aggressor, and an attack type's own balance names its type
    (``capability[CHN/quarantine]`` -> ``China (PRC), quarantine capability``). Names of an
    unknown kind read as they are."""
    kind, _, code = name.rstrip("]").partition("[")
    code, _, variant = code.partition("/")  # capability[CHN/quarantine]: an attack type's
    who = state_names(ds).get(code, code) + (f", {variant}" if variant else "")
    role = {"scenario.target": " (target)", "scenario.aggressor": " (aggressor)"}
    suffix = next((r for p, r in role.items() if path.startswith(p)), "") if code else ""
    if kind in _KINDS:
        return _KINDS[kind].format(who=who) + suffix
    return f"{who} {kind}{suffix}" if code else name.replace("_", " ")


def path_label(path: str, ds: xr.Dataset) -> str:
    """A config path with the state's name: ``scenario.actors.USA.willingness.mean`` ->
    ``United States willingness.mean  (scenario.actors.USA.willingness.mean)``."""
    parts = path.split(".")
    names = state_names(ds)
    if len(parts) >= 4 and parts[:2] == ["scenario", "actors"]:
        return f"{names.get(parts[2], parts[2])} {'.'.join(parts[3:])}  ({path})"
    for role in ("target", "aggressor"):
        if parts[:2] == ["scenario", role] and len(parts) > 2:
            code = str((config_of(ds).get("scenario", {}).get(role) or {}).get("code", ""))
            return f"{names.get(code, role)} ({role}) {'.'.join(parts[2:])}  ({path})"
    return path


# ----------------------------------------------------------------------------------------------
# Generic handling of dims a panel does not show
# ----------------------------------------------------------------------------------------------


def groups(
    da: xr.DataArray, keep: tuple[str, ...], split: tuple[str, ...] = (ACTOR,), names=None
) -> list[tuple[str, dict[str, Any], list[str]]]:
    """How to draw ``da`` as series over the dims not in ``keep``: (label, selection, dims to
    average) for each series.

    Dims in ``split`` (the actor) are always one series per value, labelled by name. The other
    dims become one series per combination when there are few (at most 6 series in all), else
    they are averaged, and the label says over which.
    """
    names = names or {}
    extra = [d for d in da.dims if d not in keep]
    always = [d for d in extra if d in split]
    other = [d for d in extra if d not in split]
    n_always = int(np.prod([da.sizes[d] for d in always]))
    if n_always * int(np.prod([da.sizes[d] for d in other])) <= _MAX_SERIES:
        always, averaged = extra, []
    else:
        averaged = other
    out = []
    for combo in itertools.product(*(da[d].values for d in always)):
        sel = dict(zip(always, combo, strict=True))
        parts = [
            names.get(str(v), str(v)) if d in (ACTOR, results.ATTACK_TYPE) else f"{d}={v}"
            for d, v in sel.items()
        ]
        if averaged:
            parts.append(f"mean over {', '.join(averaged)}")
        out.append((", ".join(parts), sel, averaged))
    return out


def series(da: xr.DataArray, keep: tuple[str, ...], names=None) -> list[tuple[str, xr.DataArray]]:
    """``da`` split into labelled series over the dims not in ``keep`` (see :func:`groups`)."""
    return [
        (label, da.sel(sel).mean(avg) if avg else da.sel(sel))
        for label, sel, avg in groups(da, keep, names=names)
    ]


def interval(da: xr.DataArray, dim: str) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Mean and the ``LEVEL`` interval of ``da`` over ``dim``; NaN where all of it is NaN (the
    cells of failed or missing sweep jobs), without a warning."""
    lo, hi = (1 - LEVEL) / 2, (1 + LEVEL) / 2
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        return (
            da.mean(dim),
            da.quantile(lo, dim).drop_vars("quantile"),
            da.quantile(hi, dim).drop_vars("quantile"),
        )


def mcse_of_mean(ds: xr.Dataset, name: str, dim: str = DRAW) -> xr.DataArray | None:
    if f"mcse_{name}" not in ds:
        return None
    s = ds[f"mcse_{name}"]
    return np.sqrt((s**2).sum(dim)) / s.sizes[dim]


def swept_paths(sweep: xr.Dataset) -> list[str]:
    """The dims of the swept config paths of a ``sweep.nc``, in the sweep's order (each dim's
    coordinate holds its path as ``config_path``)."""
    names = sweep.attrs.get("swept_dims", sweep.attrs.get("swept_paths", ""))
    return [d for d in str(names).split("\n") if d in sweep.dims]


#: the legend's entry for a sweep series once an attack is seen (numeric and categorical x)
ONCE_SEEN = "dashed: once an attack is seen"
ONCE_SEEN_CATEGORIES = "open diamonds: once an attack is seen"


def config_path(sweep: xr.Dataset, dim: str) -> str:
    """The config path a sweep dim stands for (its coordinate's ``config_path``)."""
    return str(sweep[dim].attrs.get("config_path", dim))


def series_label(label: str, sweep: xr.Dataset) -> str:
    """A series label with each swept path by its short name: ``Japan willingness.mean = 0.3``."""
    for d in swept_paths(sweep):
        short = path_label(config_path(sweep, d), sweep).split("  (")[0]
        label = label.replace(f"{d}=", f"{short} = ").replace(d, short)
    return label


def crises_error_of_series(
    sweep: xr.Dataset, name: str, sel: dict, avg: list[str], single: list[str]
) -> np.ndarray | None:
    """The crises' part of the Monte Carlo error of the mean over draws (and averaged dims) at
    each point of a sweep series, from the per-draw MCSEs of independent estimates; None when
    the sweep did not record them."""
    if f"mcse_{name}" not in sweep:
        return None
    s = sweep[f"mcse_{name}"].isel({d: 0 for d in single}).sel(sel) ** 2
    n = int(np.prod([s.sizes[d] for d in (DRAW, *avg)]))
    return (np.sqrt(s.sum([DRAW, *avg])) / n).values


def error_of_series(sub: xr.DataArray) -> np.ndarray:
    """The whole Monte Carlo error of the mean over draws at each point of a series, from the
    draws and the crises both: sd / sqrt(D) of the (finite) per-draw values (see
    :func:`forecast.results.dataset.error_of_mean`)."""
    n = np.isfinite(sub).sum(DRAW)
    return (sub.std(DRAW, ddof=1) / np.sqrt(n.where(n > 1))).values


def given_series(
    sweep: xr.Dataset, name: str, sel: dict, avg: list[str], single: list[str]
) -> np.ndarray | None:
    """A sweep series once an attack is seen (each draw weighted by its P(attack) at that point,
    :func:`forecast.results.dataset.if_attacked_over_draws`), averaged over ``avg``; None for an
    output that does not condition on an attack."""
    given = results.if_attacked_over_draws(sweep, name)
    if given is None:
        return None
    given = given.isel({d: 0 for d in single if d in given.dims}).sel(sel)
    return (given.mean(avg) if avg else given).values
