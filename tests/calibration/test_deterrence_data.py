"""The dyad-year loader of the initiation model, on the real files (and broken copies)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from forecast.calibration import dyads
from forecast.calibration.data import DataError


@pytest.fixture(scope="module")
def tables(data_dir):
    return dyads.load_dyad_tables(data_dir)


def _rows(*triples):
    return pd.DataFrame(triples, columns=["ccode1", "ccode2", "year"])


def test_known_dyad_years(tables):
    # 1958 Taiwan Strait: China (710) originated a MID against Taiwan (713) (GML dispute 173).
    rows = _rows(
        (710, 713, 1958), (713, 710, 1958), (710, 713, 2000), (365, 366, 2005), (2, 20, 1990)
    )
    frame, report = dyads.dyad_years(tables, rows)
    china_taiwan, taiwan_china, ct2000, rus_est, usa_can = (frame.iloc[i] for i in range(5))
    assert china_taiwan["y"] == 1 and taiwan_china["y"] == 0
    assert china_taiwan["rivalry"] == 1 and china_taiwan["major_a"] == 1
    assert china_taiwan["contig_sea"] == 1 and china_taiwan["contig_land"] == 0
    # The US-ROC defence treaty (1954-1980) protects Taiwan in 1958, not in 2000.
    assert china_taiwan["def_any"] == 1 and china_taiwan["def_major"] == 1
    assert ct2000["def_any"] == 0
    # Estonia in NATO (2004-): a major-power, conditional defence pact; land border with Russia.
    assert rus_est["def_major"] == 1 and rus_est["def_contingent"] == 1
    # NATO's promises are limited to a location (defcoloc), not to an adversary: they apply to
    # Russia; they are not conditional on Estonia not provoking (defconpr 0).
    assert rus_est["def_applies"] == 1 and rus_est["def_applies_major"] == 1
    assert rus_est["def_applies_contingent"] == 0
    assert china_taiwan["def_applies"] == 1 and ct2000["def_applies"] == 0
    assert rus_est["contig_land"] == 1 and rus_est["log_dist"] == 0
    # The US and Canada share a defence pact (NATO), both ways.
    assert usa_can["def_shared"] == 1
    assert report["n_rows"] == 5
    assert np.isclose(china_taiwan["cap_parity"], -abs(china_taiwan["cap_ratio"]))


def test_a_pact_limited_to_a_named_adversary_applies_to_it_alone(tables):
    # The Sino-Soviet treaty of 1950 (ATOP 3200, 1950-1980): each side's defence promise is
    # limited to an adversary (defcoadv 1), the threat named is Japan (statthr1 740). In 1955 it
    # is China's only alliance.
    rows = _rows((740, 710, 1955), (750, 710, 1955), (2, 710, 1955), (740, 365, 1955))
    frame, _ = dyads.dyad_years(tables, rows)
    japan, india, usa, japan_ussr = (frame.iloc[i] for i in range(4))
    # The old coding counts the pact against every challenger ...
    assert india["def_any"] == 1 and usa["def_any"] == 1
    # ... the new one only against the state the treaty names.
    assert japan["def_applies"] == 1 and japan["def_applies_major"] == 1
    assert india["def_applies"] == 0 and usa["def_applies"] == 0
    assert india["def_applies_major"] == 0
    # and China's promise to the Soviet Union, too
    assert japan_ussr["def_applies"] == 1
    links = dyads.target_alliances(tables, rows)
    assert set(links.loc[links["row"] == 0, "atopid"]) == {3200}
    assert not (links["row"] == 1).any() and not (links["row"] == 2).any()


def test_a_pact_limited_to_an_unnamed_type_of_adversary_counts(tables):
    # The Balkan Entente (ATOP 2330, 1934-1940): the promises are limited to an adversary
    # (defcoadv 1) but the treaty names no state (statthr1 0). By the specification's judgement
    # such a promise is not shown to exclude a challenger, so it applies: to Bulgaria's
    # challenge of Greece in 1935 as well as to any other non-member's.
    members = tables.atop_members
    pact = members[(members["atopid"] == 2330) & (members["defense"] == 1)]
    assert set(pact["defcoadv"]) == {1} and set(pact["statthr1"].fillna(0)) == {0}
    rows = _rows((355, 350, 1935), (2, 350, 1935), (640, 350, 1935))
    links = dyads.target_alliances(tables, rows)
    assert 2330 in set(links.loc[links["row"] == 0, "atopid"])
    assert 2330 in set(links.loc[links["row"] == 1, "atopid"])
    # Turkey is a member: the Entente's promises to Greece do not apply to it
    assert 2330 not in set(links.loc[links["row"] == 2, "atopid"])


def test_a_pact_does_not_apply_against_a_member_of_the_same_alliance(tables):
    # Turkey and Greece, both in NATO (ATOP 3180) in 1980: NATO's promises to Greece are not a
    # deterrent against Turkey (a third party is outside the alliance); the pair is allied.
    frame, _ = dyads.dyad_years(tables, _rows((640, 350, 1980), (365, 350, 1980)))
    turkey, ussr = frame.iloc[0], frame.iloc[1]
    assert turkey["def_any"] == 1 and turkey["def_applies"] == 0 and turkey["def_shared"] == 1
    assert ussr["def_applies"] == 1 and ussr["def_applies_major"] == 1


def test_a_non_provocation_clause_makes_the_pact_contingent(tables):
    # ATOP 1040 (1816-1820): the defence promises are limited to the two named adversaries,
    # Tunisia (616) and Algeria (615), and hold only if the ally does not provoke (defconpr 1).
    members = tables.atop_members
    pact = members[(members["atopid"] == 1040) & (members["defense"] == 1)]
    assert set(pact["defconpr"]) == {1} and set(pact["statthr1"]) == {616}
    a, b = (int(c) for c in pact["member"].iloc[:2])
    frame, _ = dyads.dyad_years(tables, _rows((615, b, 1818), (615, a, 1818)))
    assert frame["def_applies_contingent"].tolist() == [1.0, 1.0]
    assert frame["def_applies"].tolist() == [1.0, 1.0]


def test_applicable_pacts_are_a_subset_of_the_targets_pacts(tables):
    frame, _ = dyads.dyad_years(tables)
    assert (frame["def_applies"] <= frame["def_any"]).all()
    assert (frame["def_applies_major"] <= frame["def_applies"]).all()
    assert (frame["def_applies_contingent"] <= frame["def_applies"]).all()
    # the coding drops pacts against some challengers, and not all
    dropped = (frame["def_any"] == 1) & (frame["def_applies"] == 0)
    assert 0 < dropped.mean() < 0.5 * frame["def_any"].mean()


def test_peace_years_count_from_the_last_onset(tables):
    # MIDs between China and Taiwan began in 1958 and 1962 (among others): 1960 is 1 year on.
    frame, _ = dyads.dyad_years(tables, _rows((710, 713, 1959), (710, 713, 1960)))
    years = frame["peace1"].to_numpy() * dyads.PEACE_SCALE
    np.testing.assert_allclose(years, [0.0, 1.0])


def test_universe_outcome_and_coverage(tables):
    frame, report = dyads.dyad_years(tables)
    assert len(frame) == len(tables.ddy)
    assert report["n_events"] == int(np.nansum(frame["y"]))
    assert 2000 < report["n_events"] < 3000
    assert frame.loc[frame["year"] > 2010, "y"].isna().all()
    assert frame.loc[frame["year"] <= 2010, "y"].notna().all()
    assert not frame[list(dyads.COVARIATES)].isna().any().any()
    # the events are concentrated in the politically relevant dyads
    known = frame[frame["y"].notna()]
    rates = known.groupby("prd")["y"].mean()
    assert rates[True] > 10 * rates[False]


def _copy_dir(data_dir, tmp_path, skip=()):
    for name in dyads.SOURCES.values():
        if name.filename not in skip:
            (tmp_path / name.filename).symlink_to(data_dir / name.filename)
    return tmp_path


def test_missing_file_names_it_and_what_it_is(data_dir, tmp_path):
    _copy_dir(data_dir, tmp_path, skip=("peacesciencer_cow_mindist.csv.gz",))
    with pytest.raises(DataError) as err:
        dyads.load_dyad_tables(tmp_path)
    msg = str(err.value)
    assert "peacesciencer_cow_mindist.csv.gz not found" in msg
    assert "minimum distance in km between states" in msg


def test_malformed_row_names_line_column_and_value(data_dir, tmp_path):
    _copy_dir(data_dir, tmp_path, skip=("peacesciencer_cow_majors.csv",))
    text = (data_dir / "peacesciencer_cow_majors.csv").read_text().splitlines()
    cells = text[3].split(",")
    cells[4] = "nineteen-forty"  # endyear of the 3rd data row (line 4)
    text[3] = ",".join(cells)
    (tmp_path / "peacesciencer_cow_majors.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError) as err:
        dyads.load_dyad_tables(tmp_path)
    msg = str(err.value)
    assert "peacesciencer_cow_majors.csv" in msg
    assert "line 4: endyear = 'nineteen-forty'" in msg


def test_malformed_date_in_contiguity(data_dir, tmp_path):
    _copy_dir(data_dir, tmp_path, skip=("peacesciencer_cow_contdir.csv",))
    src = data_dir / "peacesciencer_cow_contdir.csv"
    text = src.read_text().splitlines()
    text[2] = text[2].replace("1973-07-01", "July 1973")
    (tmp_path / src.name).write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"line 3: stdate = 'July 1973'"):
        dyads.load_dyad_tables(tmp_path)


def test_predict_file_rejects_a_pair_not_in_the_system(tables, tmp_path):
    path = tmp_path / "dyads.csv"
    path.write_text("ccode1,ccode2,year\n710,713,2000\n365,366,1960\n2,20,1.5\n")
    with pytest.raises(DataError) as err:
        dyads.read_dyad_file(path, tables)
    assert "line 4: year = 1.5" in str(err.value)
    path.write_text("ccode1,ccode2,year\n710,713,2000\n365,366,1960\n")
    with pytest.raises(DataError) as err:
        dyads.read_dyad_file(path, tables)
    msg = str(err.value)
    assert "line 3: ccode1 = 365, ccode2 = 366, year = 1960: not a pair of system members" in msg
    assert "line 2" not in msg


def test_predict_file_missing_column(tables, tmp_path):
    path = tmp_path / "dyads.csv"
    path.write_text("ccode1,ccode2\n710,713\n")
    with pytest.raises(DataError, match="missing column 'year'"):
        dyads.read_dyad_file(path, tables)
    with pytest.raises(DataError, match="does not exist"):
        dyads.read_dyad_file(tmp_path / "nope.csv", tables)


def test_copying_is_not_needed_for_a_good_directory(data_dir, tmp_path):
    # the symlinked copy loads the same tables (the loader reads only SOURCES' files)
    _copy_dir(data_dir, tmp_path)
    t = dyads.load_dyad_tables(tmp_path)
    assert len(t.ddy) == 2214930
    assert shutil.which("python") is not None
