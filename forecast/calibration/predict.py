"""Posterior files and posterior predictive P(honour): historical cases and new crises.

:func:`predict_willingness` is the interface to the sampler (``beliefs.source=calibrated``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.calibration.covariates import EXTRA_COVARIATES
from forecast.calibration.data import LA_COVARIATES, LA_LEVELS, TYPE_COLUMNS
from forecast.calibration.model import (
    EFFECTS,
    _draws,
    _predict_probabilities,
    design_from_cases,
)

#: Commitment types of the scenario schema, as ATOP obligation dummies (see docs/calibration.md).
COMMITMENT_TYPES = {
    "defense": {"defense": 1.0},
    "offense": {"offense": 1.0},
    "neutrality": {"neutral": 1.0},
    "consultation": {"consul": 1.0},
    # A deliberately ambiguous commitment promises at most to consult: the decision stays open.
    "ambiguous": {"consul": 1.0},
    # No commitment: the nearest coded case is a non-aggression pact (no promise to help).
    "none": {"nonagg": 1.0},
}
_COVARIATE_KEYS = {"commitment", "post1945", "multilateral", *LA_COVARIATES, *EXTRA_COVARIATES}
#: Outcome coding of a prediction for a new crisis, on the +-1/2 scale of ``delta_source``.
CODINGS = {"LA": 0.5, "BF": -0.5, "midpoint": 0.0}


def save_posterior(tree: xr.DataTree, path: str | os.PathLike, attrs: dict) -> Path:
    """Write ``tree`` with provenance ``attrs`` atomically (temporary name, then rename)."""
    from forecast.storage import replace_atomically

    tree.attrs.update(attrs)
    return replace_atomically(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))


def load_posterior(posterior: str | os.PathLike | xr.DataTree) -> xr.DataTree:
    """A posterior DataTree from a path (loaded into memory, file closed) or as given."""
    if isinstance(posterior, xr.DataTree):
        return posterior
    with xr.open_datatree(posterior, engine="h5netcdf") as tree:
        return tree.load()


def predict_cases(
    posterior: str | os.PathLike | xr.DataTree,
    cases: pd.DataFrame,
    *,
    seed: int = 0,
    source: np.ndarray | None = None,
    new_wars: bool = False,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior draws of P(honour) for historical-format cases, shape (S, n).

    A case in a war of the fit uses that war's posterior effect (unless ``new_wars``); any other
    case gets a fresh war effect per draw, shared by the cases of the same war. ``source`` (n,)
    is the outcome coding to predict in (+1/2 Leeds-Anac, -1/2 Berkemeier-Fuhrmann, 0 the
    midpoint; default: each case's own ``source``); ``w`` (n, k) the standardised extra
    covariates the posterior was fitted with (default: the raw values from columns of ``cases``
    of the same names, standardised as in the fit). A case with unknown era (``post1945`` NaN) is
    predicted by averaging the two eras, weighted by the posterior's ``p_post1945`` attribute
    (the share of post-1945 cases in the training data).
    """
    tree = load_posterior(posterior)
    draws = _draws(tree)
    names = json.loads(tree.attrs.get("extra_covariates", "[]"))
    if w is None and names:
        # Raw extra covariates as columns of the case table, standardised as in the fit.
        missing = [n for n in names if n not in cases.columns]
        if missing:
            raise ValueError(
                f"the posterior uses extra covariates {names}: give w= or add columns "
                f"{missing} (forecast.calibration.covariates.extra_covariates)"
            )
        from forecast.calibration.covariates import standardise

        centre = json.loads(tree.attrs["extra_centre"])
        scale = json.loads(tree.attrs["extra_scale"])
        w = standardise(cases[names], centre, scale)[0]
    era = cases["post1945"].to_numpy(float)
    unknown = np.isnan(era)
    if not unknown.any():
        return _predict_known_era(draws, cases, seed, source, new_wars, w)
    p_post = float(tree.attrs.get("p_post1945", 0.5))
    # The same seed in both passes: the two eras share each draw's war effects.
    pre, post = (
        _predict_known_era(
            draws, cases.assign(post1945=np.where(unknown, v, era)), seed, source, new_wars, w
        )
        for v in (0.0, 1.0)
    )
    return np.where(unknown, p_post * post + (1.0 - p_post) * pre, pre)


def _predict_known_era(draws, cases, seed, source, new_wars, w) -> np.ndarray:
    design = design_from_cases(cases, source, w)
    k = draws["theta"].shape[1]
    if design.w.shape[1] != k:
        raise ValueError(f"the posterior has {k} extra covariates, the cases {design.w.shape[1]}")
    rng = np.random.default_rng(seed)
    n_draws = draws["alpha"].shape[0]
    known = pd.Index(draws["war"])
    idx = known.get_indexer(design.war.astype(str)) if not new_wars else np.full(len(cases), -1)
    war_effect = np.zeros((n_draws, len(cases)))
    war_effect[:, idx >= 0] = draws["u_war"][:, idx[idx >= 0]]
    for war in pd.unique(design.war[idx < 0]):
        fresh = draws["sigma_war"] * rng.standard_normal(n_draws)
        war_effect[:, design.war == war] = fresh[:, None]
    return _predict_probabilities(draws, design, war_effect)


def _covariate_frame(covariates: list[dict]) -> pd.DataFrame:
    problems = []
    rows = []
    for i, cov in enumerate(covariates):
        unknown = set(cov) - _COVARIATE_KEYS
        if unknown:
            problems.append(f"covariates[{i}]: unknown keys {sorted(unknown)}")
        commitment = str(cov.get("commitment"))
        commitment = getattr(cov.get("commitment"), "value", commitment)
        if commitment not in COMMITMENT_TYPES:
            problems.append(
                f"covariates[{i}].commitment = {cov.get('commitment')!r}: expected one of "
                f"{', '.join(COMMITMENT_TYPES)}"
            )
            commitment = "defense"
        row = {t: 0.0 for t in TYPE_COLUMNS} | COMMITMENT_TYPES[commitment]
        for flag in ("post1945", "multilateral"):
            if not isinstance(cov.get(flag), (bool, np.bool_)):
                problems.append(f"covariates[{i}].{flag} = {cov.get(flag)!r}: expected a bool")
            row[flag] = float(bool(cov.get(flag)))
        for name in LA_COVARIATES:
            value = cov.get(name)
            if value is not None and not (
                min(LA_LEVELS[name]) <= float(value) <= max(LA_LEVELS[name])
            ):
                problems.append(
                    f"covariates[{i}].{name} = {value!r}: expected a number in "
                    f"[{min(LA_LEVELS[name])}, {max(LA_LEVELS[name])}] or None (unknown)"
                )
                value = None
            row[name] = np.nan if value is None else float(value)
        for name in EXTRA_COVARIATES:
            value = cov.get(name)
            if value is not None and not np.isfinite(float(value)):
                problems.append(f"covariates[{i}].{name} = {value!r}: expected a number or None")
                value = None
            row[name] = np.nan if value is None else float(value)
        rows.append(row)
    if problems:
        raise ValueError(
            f"{len(problems)} problem(s) in the covariates:\n  " + "\n  ".join(problems)
        )
    frame = pd.DataFrame(rows, columns=[*EFFECTS, *LA_COVARIATES, *EXTRA_COVARIATES])
    frame["war"] = "new"
    return frame


def predict_willingness(
    posterior: str | os.PathLike | xr.DataTree,
    covariates: list[dict],
    n_draws: int,
    seed: int,
    *,
    selection_shift: tuple[float, float] | None = None,
    coding: str = "BF",
) -> np.ndarray:
    """Posterior predictive draws of P(honour) for partners in one new war.

    Each draw takes a posterior draw of the parameters (with replacement when ``n_draws``
    exceeds the posterior's size), one fresh war effect shared by all partners (they are in the
    same war, hence correlated), and unknown Leeds-Anac covariates are summed over as in
    training. Outcome coding: ``coding`` (:data:`CODINGS`); the default is Berkemeier &
    Fuhrmann's, whose cases cover the post-1945 era and judge performance of the obligation
    in the war itself (see docs/calibration.md).

    Parameters
    ----------
    posterior : path or DataTree written by ``forecast-calibrate``
    covariates : list of dict, one per partner, keys ``commitment`` (defense, offense,
        neutrality, consultation, ambiguous, none), ``post1945`` (bool), ``multilateral``
        (bool), optional ``milinst``, ``formal`` (0-2), ``chcap2d``, ``dinstch2``, ``origtar1``
        (0-1), and the extra covariates the posterior was fitted with (``major``,
        ``capability``, ...; see :mod:`forecast.calibration.covariates`); missing or None
        means unknown (an extra covariate then sits at the training mean).
    n_draws : int
    seed : int
    selection_shift : (mu, sigma), optional
        Logit-scale correction for selection on deterrence failure; default: the posterior's
        ``selection_shift_mu`` / ``selection_shift_sigma`` attributes (set from the config).

    Returns
    -------
    numpy.ndarray
        (n_draws, len(covariates)) probabilities in (0, 1); the same for the same seed.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws = {n_draws}: expected >= 1")
    tree = load_posterior(posterior)
    frame = _covariate_frame(covariates)
    draws = _draws(tree)
    rng = np.random.default_rng(seed)
    total = draws["alpha"].shape[0]
    pick = rng.choice(total, size=n_draws, replace=n_draws > total)
    picked = {k: v[pick] for k, v in draws.items() if k != "war"}
    war_effect = picked["sigma_war"] * rng.standard_normal(n_draws)
    if selection_shift is None:
        selection_shift = (
            float(tree.attrs.get("selection_shift_mu", 0.0)),
            float(tree.attrs.get("selection_shift_sigma", 0.0)),
        )
    shift = selection_shift[0] + selection_shift[1] * rng.standard_normal(n_draws)
    if coding not in CODINGS:
        raise ValueError(f"coding = {coding!r}: expected one of {', '.join(CODINGS)}")
    names = json.loads(tree.attrs.get("extra_covariates", "[]"))
    w = None
    if names:
        from forecast.calibration.covariates import standardise

        centre = json.loads(tree.attrs["extra_centre"])
        scale = json.loads(tree.attrs["extra_scale"])
        w = standardise(frame[names], centre, scale)[0]
    design = design_from_cases(frame, source=np.full(len(frame), CODINGS[coding]), w=w)
    offset = np.repeat((war_effect + shift)[:, None], len(frame), axis=1)
    return _predict_probabilities(picked, design, offset)
