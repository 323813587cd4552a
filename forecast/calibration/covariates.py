"""Partner-level and alliance-level covariates of a case, from public state-year data.

The literature ties an ally's reliability to who it is and what the treaty says:

- ``major``: the partner is a COW major power in the war's first year (Leeds 2003: major
  powers violate more often);
- ``capability``: log10 of the partner's CINC over the strongest enemy's (NMC 6.0; enemies are
  the war's COW v4 participants outside the alliance);
- ``threat``: the partner's external threat (Leeds & Savun) in the war's first year;
- ``rival``: the partner has a Thompson-Dreyer strategic rivalry with an enemy that year;
- ``conditions``, ``specific_threat``, ``military_contact``: ATOP 5.1 alliance-level codes
  (the obligation is conditional; the treaty names the threat; it provides for military
  contact, ``milcon > 0``).

A Leeds-Anac row records one ally's choice, so its partner is that ally; a
Berkemeier-Fuhrmann row records an alliance's, so its partners are all members (the largest
value counts). Where a value cannot be computed (war without a COW number or year, state-year
absent) it is NaN; :func:`standardise` centres every covariate on the training cases and sets
unknown values to the centre, so they add nothing.

Depends on numpy and pandas only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.calibration import data as _d
from forecast.calibration.cases import Tables

PARTNER_COVARIATES = ("major", "capability", "threat", "rival")
ALLIANCE_COVARIATES = ("conditions", "specific_threat", "military_contact")
EXTRA_COVARIATES = (*PARTNER_COVARIATES, *ALLIANCE_COVARIATES)


@dataclass
class StateYears:
    """State-year lookups: majors (ccode -> list of (start, end)), CINC and threat by
    (ccode, year), rivalries as a frame (ccode1, ccode2, styear, endyear)."""

    majors: dict
    cinc: pd.Series
    threat: pd.Series
    rivalries: pd.DataFrame


def load_state_years(data_dir=None) -> StateYears:
    majors = _d.read_source("cow_majors", data_dir)
    nmc = _d.read_source("cow_nmc", data_dir)
    threat = _d.read_source("threat", data_dir).dropna(subset=["ccode"])
    riv = _d.read_source("rivalries", data_dir)
    spells: dict = {}
    for row in majors.itertuples():
        spells.setdefault(int(row.ccode), []).append((row.styear, row.endyear))
    return StateYears(
        majors=spells,
        cinc=nmc.set_index(["ccode", "year"])["cinc"].astype(float),
        threat=threat.set_index(["ccode", "year"])["lsthreat"].astype(float),
        rivalries=riv[["ccode1", "ccode2", "styear", "endyear"]].astype(float),
    )


def _partners(cell) -> list[int]:
    return [int(float(c)) for c in str(cell).split(";") if c.strip() not in ("", "nan")]


def _war_number(key: str) -> int | None:
    return int(key[3:]) if key.startswith("cow") and key[3:].isdigit() else None


def _row_values(row, tables: Tables, sy: StateYears) -> dict:
    out = dict.fromkeys(PARTNER_COVARIATES, np.nan)
    partners = _partners(row.partners)
    year = row.year
    if not partners or not np.isfinite(year):
        return out
    year = int(year)
    out["major"] = float(any(s <= year <= e for p in partners for s, e in sy.majors.get(p, [])))
    threat = [sy.threat.get((p, year), np.nan) for p in partners]
    if np.isfinite(threat).any():
        out["threat"] = float(np.nanmax(threat))
    number = _war_number(row.war)
    fought = (tables.participants or {}).get(number, []) if number is not None else []
    members = set((tables.members or {}).get(row.atopid, [])) | set(partners)
    enemies = [c for c in fought if c not in members]
    if not enemies:
        return out
    own = np.nanmax([sy.cinc.get((p, year), np.nan) for p in partners] + [np.nan])
    foe = np.nanmax([sy.cinc.get((e, year), np.nan) for e in enemies] + [np.nan])
    if np.isfinite(own) and np.isfinite(foe) and own > 0 and foe > 0:
        out["capability"] = float(np.log10(own / foe))
    r = sy.rivalries
    active = r[(r["styear"] <= year) & (r["endyear"] >= year)]
    pairs = set(zip(active["ccode1"].astype(int), active["ccode2"].astype(int), strict=True))
    out["rival"] = float(any((p, e) in pairs or (e, p) in pairs for p in partners for e in enemies))
    return out


def extra_covariates(cases: pd.DataFrame, tables: Tables, sy: StateYears) -> pd.DataFrame:
    """(n, len(EXTRA_COVARIATES)) raw covariate values of a case table, NaN where unknown."""
    rows = [_row_values(r, tables, sy) for r in cases.itertuples()]
    out = pd.DataFrame(rows, index=cases.index, columns=list(PARTNER_COVARIATES))
    atop = tables.atop.reindex(cases["atopid"].astype(int))
    out["conditions"] = atop["conditio"].to_numpy(float)
    for name, col in (("specific_threat", "specthrt"), ("military_contact", "milcon")):
        raw = atop[col].to_numpy(float)
        out[name] = np.where(np.isnan(raw), np.nan, (raw > 0).astype(float))
    return out[list(EXTRA_COVARIATES)]


def standardise(
    values: pd.DataFrame, centre: dict | None = None, scale: dict | None = None
) -> tuple[np.ndarray, dict, dict]:
    """Centre and scale each column (by the given or the column's own mean and sd); unknown
    values become 0, the centre. Returns the (n, k) array and the centre and scale used."""
    centre = centre or {c: float(values[c].mean()) for c in values}
    scale = scale or {c: float(values[c].std()) or 1.0 for c in values}
    out = (
        np.column_stack(
            [((values[c] - centre[c]) / scale[c]).fillna(0.0).to_numpy(float) for c in values]
        )
        if len(values.columns)
        else np.zeros((len(values), 0))
    )
    return out, centre, scale


#: COW state codes of the scenario actors' codes: ISO 3166 alpha-3, and SUN (the Soviet Union),
#: AUH (Austria-Hungary) and CSK (Czechoslovakia) for states that no longer exist. Scenario
#: codes are ISO, not COW abbreviations (ISO AUS is Australia, COW AUS is Austria), so a code
#: absent here is an error, never a guess. DEU is COW 255 (Germany before 1945 and after 1990).
COW_CODES = {
    "USA": 2, "CAN": 20, "ARG": 160, "GBR": 200, "NLD": 210, "BEL": 211, "FRA": 220,
    "ESP": 230, "DEU": 255, "POL": 290, "AUH": 300, "AUT": 305, "HUN": 310, "CSK": 315,
    "CZE": 316, "ITA": 325, "SRB": 345, "GRC": 350, "SUN": 365, "RUS": 365, "EST": 366,
    "LVA": 367, "LTU": 368, "UKR": 369, "GEO": 372, "FIN": 375, "SWE": 380, "NOR": 385,
    "DNK": 390, "ETH": 530, "IRN": 630, "TUR": 640, "IRQ": 645, "EGY": 651, "SYR": 652,
    "ISR": 666, "SAU": 670, "KWT": 690, "CHN": 710, "TWN": 713, "PRK": 731, "KOR": 732,
    "JPN": 740, "IND": 750, "PAK": 770, "VNM": 816, "PHL": 840, "AUS": 900,
}  # fmt: skip
# Last year each source codes (later rows of the threat file are zero placeholders).
_LAST_YEAR = {"major": 2016, "capability": 2022, "threat": 2007, "rival": 2010}


def partner_values(sy: StateYears, partner: int, enemy: int, year: int) -> dict:
    """``major``, ``capability``, ``threat``, ``rival`` of state ``partner`` facing ``enemy``
    in ``year``, each from the last year its source codes when ``year`` is later.

    Returns ``{name: (value, year used)}``; value NaN where the source has no entry.
    """
    out = {}
    y = min(year, _LAST_YEAR["major"])
    out["major"] = (float(any(s <= y <= e for s, e in sy.majors.get(partner, []))), y)
    y = min(year, _LAST_YEAR["capability"])
    own, foe = sy.cinc.get((partner, y), np.nan), sy.cinc.get((enemy, y), np.nan)
    out["capability"] = (float(np.log10(own / foe)) if own > 0 and foe > 0 else np.nan, y)
    y = min(year, _LAST_YEAR["threat"])
    out["threat"] = (float(sy.threat.get((partner, y), np.nan)), y)
    y = min(year, _LAST_YEAR["rival"])
    r = sy.rivalries
    active = r[(r["styear"] <= y) & (r["endyear"] >= y)]
    pair = ((active["ccode1"] == partner) & (active["ccode2"] == enemy)) | (
        (active["ccode1"] == enemy) & (active["ccode2"] == partner)
    )
    out["rival"] = (float(pair.any()), y)
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m forecast.calibration.covariates DATA_DIR YEAR ENEMY PARTNER...``: the
    partner-level covariates of scenario partners (codes of :data:`COW_CODES`), as quoted in
    the scenario files."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 4 or not args[1].isdigit():
        print(__doc__.splitlines()[0], file=sys.stderr)
        print("usage: python -m forecast.calibration.covariates DATA_DIR YEAR ENEMY PARTNER...")
        sys.exit(2)
    sy = load_state_years(args[0])
    year, enemy = int(args[1]), COW_CODES[args[2]]
    for code in args[3:]:
        values = partner_values(sy, COW_CODES[code], enemy, year)
        cells = ", ".join(f"{k}: {v:.2f} ({y})" for k, (v, y) in values.items())
        print(f"{code} vs {args[2]}: {cells}")


if __name__ == "__main__":
    main()
