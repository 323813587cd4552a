"""The target's defence pacts of a directed dyad-year, and which of them apply to the challenger.

The covariates ``def_applies``, ``def_applies_major`` and ``def_applies_contingent`` of
:data:`forecast.calibration.dyads.COVARIATES` follow the specification of docs/deterrence.md
("The target's defence pacts"), fixed from Leeds (2003b), Johnson & Leeds (2011) and Benson
(2011) and the ATOP 5.1 codebook before any estimate with it was seen: see :func:`_applicable`.
The association columns ``def_any``, ``def_major`` and ``def_contingent`` count every pact of
the target.

Depends on numpy and pandas only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.calibration.dyad_files import DyadTables
from forecast.calibration.dyad_keys import _clip, _key, _lookup, _major, _spell_years


def _pacts(t: DyadTables, c1, c2, year) -> dict[str, np.ndarray]:
    """The target's defence-pact covariates (``def_applies*``, and the association columns
    ``def_any``, ``def_major``, ``def_contingent``), ``def_shared`` and the challenger's
    offensive pacts ``off_a``."""
    a = t.atop_ddy
    last = t.coverage()["atop_ddy"]
    yr = _clip(year, last)
    major = _major(t, a["ccode1"].to_numpy(), a["year"].to_numpy())
    out = {}
    defence = a[a["atop_defense"] == 1]
    d_major = major[(a["atop_defense"] == 1).to_numpy()]
    # (protector, protected, year) rows: ccode1 promises to defend ccode2
    per_target = (
        pd.DataFrame({"k": _key(defence["ccode2"], 0, defence["year"]), "major": d_major})
        .groupby("k")["major"]
        .agg(["size", "sum"])
    )
    n_def = _lookup(
        _key(c2, 0, yr), per_target.index.to_numpy(), per_target["size"].to_numpy(), 0.0
    )
    n_major = _lookup(
        _key(c2, 0, yr), per_target.index.to_numpy(), per_target["sum"].to_numpy(), 0.0
    )
    pair_keys = _key(defence["ccode1"], defence["ccode2"], defence["year"])
    a_defends_b = np.isin(_key(c1, c2, yr), pair_keys).astype(float)
    b_defends_a = np.isin(_key(c2, c1, yr), pair_keys).astype(float)
    major_a = _major(t, c1, year)
    out["def_any"] = (n_def - a_defends_b > 0).astype(float)
    out["def_major"] = (n_major - a_defends_b * major_a > 0).astype(float)
    out["def_shared"] = np.maximum(a_defends_b, b_defends_a)
    offence = a[a["atop_offense"] == 1]
    n_off = pd.Series(1.0, index=_key(offence["ccode2"], 0, offence["year"])).groupby(level=0).sum()
    n_off_a = _lookup(_key(c1, 0, yr), n_off.index.to_numpy(), n_off.to_numpy(), 0.0)
    b_off_a = np.isin(
        _key(c2, c1, yr), _key(offence["ccode1"], offence["ccode2"], offence["year"])
    ).astype(float)
    out["off_a"] = (n_off_a - b_off_a > 0).astype(float)
    out["def_contingent"] = _contingent(t, c2, yr)
    links = _applicable(t, c1, c2, year)
    for name, flag in (
        ("def_applies", None),
        ("def_applies_major", "major"),
        ("def_applies_contingent", "contingent"),
    ):
        rows = links["row"] if flag is None else links.loc[links[flag] == 1, "row"]
        value = np.zeros(len(c1))
        value[rows.to_numpy(np.int64)] = 1.0
        out[name] = value
    return out


def member_years(t: DyadTables) -> pd.DataFrame:
    """ATOP membership by year, one row per ``atopid, member, year``.

    A member still in at the end of the data (``yrexit == 0``) stays until the last ATOP year.
    The flags concern the member's own defence promise (0 where it promises none):

    - ``defense``: it promises defence (member-level ``defense``);
    - ``cond``: that promise is conditional on anything (``defcon``);
    - ``limited``: it is limited to a particular adversary or type of adversary (``defcoadv``)
      or to a particular ongoing conflict (``defcocon``);
    - ``contingent``: it holds only if the ally does not provoke the adversary (``defconpr``);
    - ``named1``, ``named2``: the states the treaty names as the threat (``statthr1``,
      ``statthr2``; 0 for none or unknown).
    """
    m = t.atop_members
    last = t.coverage()["atop_ddy"]
    end = np.where(m["yrexit"].to_numpy() == 0, last, m["yrexit"].to_numpy())
    rep, years = _spell_years(m.index.to_numpy(), m["yrent"].to_numpy(), end)
    defense = (m["defense"] == 1).to_numpy()
    limited = defense & ((m["defcoadv"] == 1) | (m["defcocon"] == 1)).to_numpy()
    rows = pd.DataFrame(
        {
            "atopid": m["atopid"].to_numpy()[rep].astype(np.int64),
            "member": m["member"].to_numpy()[rep].astype(np.int64),
            "year": years,
            "defense": defense[rep].astype(float),
            "cond": (defense & (m["defcon"] == 1).to_numpy())[rep].astype(float),
            "limited": limited[rep].astype(float),
            "contingent": (defense & (m["defconpr"] == 1).to_numpy())[rep].astype(float),
        }
    )
    for k in (1, 2):
        named = m[f"statthr{k}"].fillna(0).clip(lower=0).to_numpy(np.int64)
        rows[f"named{k}"] = named[rep]
    flags = ["defense", "cond", "limited", "contingent", "named1", "named2"]
    return rows.groupby(["atopid", "member", "year"], as_index=False)[flags].max()


def _contingent(t: DyadTables, ccode, year) -> np.ndarray:
    """1 where another member of one of the state's alliances has a conditional defence
    obligation (ATOP member-level ``defense == 1`` and ``defcon == 1``) in the year."""
    rows = member_years(t)
    per_alliance = rows.groupby(["atopid", "year"])["cond"].transform("sum")
    rows["others"] = per_alliance - rows["cond"]
    best = rows.groupby(_key(rows["member"], 0, rows["year"]))["others"].max()
    return (_lookup(_key(ccode, 0, year), best.index.to_numpy(), best.to_numpy(), 0.0) > 0).astype(
        float
    )


def _member_key(atopid, member, year) -> np.ndarray:
    """int64 key of (alliance, member state, year); ATOP ids are below 10 000."""
    return (np.asarray(atopid, np.int64) * 1000 + np.asarray(member, np.int64)) * 10000 + (
        np.asarray(year, np.int64)
    )


def _promises(t: DyadTables, rows: pd.DataFrame) -> pd.DataFrame:
    """Defence promises by year within each alliance: ``atopid, protected, year`` and the
    promise's ``limited, contingent, named1, named2`` and ``major`` (the promising state is a
    major power), one row per promising member. Kept only where the directed ATOP dyad-year
    file also has the promising state defending the protected one."""
    givers = rows[rows["defense"] == 1].rename(columns={"member": "protector"})
    takers = rows[["atopid", "member", "year"]].rename(columns={"member": "protected"})
    p = givers.merge(takers, on=["atopid", "year"])
    p = p[p["protector"] != p["protected"]]
    a = t.atop_ddy[t.atop_ddy["atop_defense"] == 1]
    directed = _key(a["ccode1"], a["ccode2"], a["year"])
    p = p[np.isin(_key(p["protector"], p["protected"], p["year"]), directed)]
    p = p.assign(major=_major(t, p["protector"].to_numpy(), p["year"].to_numpy()))
    cols = ["atopid", "protected", "year", "limited", "contingent", "named1", "named2", "major"]
    return p[cols].reset_index(drop=True)


def _applicable(t: DyadTables, c1, c2, year) -> pd.DataFrame:
    """The target's defence promises that apply to the challenger, by alliance.

    For directed dyad-year ``i`` (A = ``c1[i]``, B = ``c2[i]``), a promise by a member C of
    alliance k in the year applies to A when (docs/deterrence.md, "The target's defence pacts";
    fixed from Leeds 2003b, Johnson & Leeds 2011 and Benson 2011 before any estimate was seen):

    1. C promises defence (ATOP ``defense``) and the directed ATOP file has C defending B;
       B is a member of k and C is not B;
    2. A is not a member of k: a deterrent pact is directed at states outside the alliance
       (so C is not A either);
    3. the promise covers A: it is not limited to an adversary or an ongoing conflict
       (``defcoadv`` and ``defcocon`` 0; other conditions do not say who the adversary is), or
       A is a state the treaty names as the threat (``statthr1``, ``statthr2``), or it is
       limited but names no state (a type of adversary ATOP does not identify; counted, as it
       is not shown to exclude A). A promise limited to named states none of which is A does
       not count.

    Years after ATOP's last take that year.

    Returns
    -------
    pandas.DataFrame
        ``row`` (position in the inputs), ``atopid``, ``major`` and ``contingent`` (1 when one
        of the alliance's applicable promises to B is by a major power, or holds only if B
        does not provoke, ATOP ``defconpr``): one line per applicable alliance of each row.
    """
    rows = member_years(t)
    promises = _promises(t, rows)
    last = t.coverage()["atop_ddy"]
    query = pd.DataFrame(
        {
            "row": np.arange(len(c1)),
            "challenger": np.asarray(c1, np.int64),
            "protected": np.asarray(c2, np.int64),
            "year": _clip(np.asarray(year, np.int64), last),
        }
    )
    named = (promises["named1"] > 0) | (promises["named2"] > 0)
    general = promises[(promises["limited"] == 0) | ~named]
    general = general.groupby(["atopid", "protected", "year"], as_index=False)[
        ["major", "contingent"]
    ].max()
    links = [query.merge(general, on=["protected", "year"])]
    limited = promises[(promises["limited"] == 1) & named]
    for k in (1, 2):
        against = limited[limited[f"named{k}"] > 0].rename(columns={f"named{k}": "challenger"})
        cols = ["atopid", "protected", "year", "challenger", "major", "contingent"]
        links.append(query.merge(against[cols], on=["challenger", "protected", "year"]))
    links = pd.concat(links, ignore_index=True)
    inside = np.isin(
        _member_key(links["atopid"], links["challenger"], links["year"]),
        _member_key(rows["atopid"], rows["member"], rows["year"]),
    )
    links = links[~inside]
    out = links.groupby(["row", "atopid"], as_index=False)[["major", "contingent"]].max()
    return out.sort_values(["row", "atopid"]).reset_index(drop=True)


def target_alliances(t: DyadTables, frame: pd.DataFrame) -> pd.DataFrame:
    """Links of each row of ``frame`` to the target's defence alliances in that year whose
    promises apply to the challenger (:func:`_applicable`).

    Returns
    -------
    pandas.DataFrame
        ``row`` (position in ``frame``), ``atopid``: one line per alliance of B with a defence
        promise to B that applies to A.
    """
    links = _applicable(
        t,
        frame["ccode1"].to_numpy(np.int64),
        frame["ccode2"].to_numpy(np.int64),
        frame["year"].to_numpy(np.int64),
    )
    return links[["row", "atopid"]]
