"""Data loaders: real files in ../shared/data, clear errors, malformed rows reported."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.calibration import cases as case_tables
from forecast.calibration import data
from forecast.calibration.data import DataError

HERE = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORECAST_DATA_DIR", HERE.parents[1] / "shared" / "data"))


@pytest.fixture(scope="module")
def cases_and_report():
    return case_tables.load_cases(DATA)


@pytest.fixture(scope="module")
def tables():
    return case_tables.load_tables(DATA)


def test_case_table_keeps_every_row_in_its_own_coding(cases_and_report):
    cases, report = cases_and_report
    assert report["n_leeds_anac_rows"] == 110
    assert report["n_bf_rows"] == 519
    assert report["n_bf_cases"] == 122 == report["n_bf_rows"] - report["n_bf_not_a_case"]
    # 83 BF cases are events Leeds-Anac also codes (same ATOP alliance, same war): both
    # codings stay, linked by the event key.
    assert report["n_overlap_events"] == 83
    assert report["n_cases"] == 110 + 122 == len(cases)
    assert set(cases["source"]) == {"LA", "BF"}
    assert cases["y"].isin([0.0, 1.0]).all()
    assert list(cases.columns) == list(case_tables.CASE_COLUMNS)
    both = cases[cases["event"].isin(cases.loc[cases["source"] == "BF", "event"])]
    assert set(both["source"]) == {"LA", "BF"}
    # every event lies within one war, so grouped folds keep its two codings together
    assert cases.groupby("event")["war"].nunique().eq(1).all()


def test_raw_honour_rates_match_the_published_figures(cases_and_report, tables):
    """Berkemeier & Fuhrmann (2018): 66.3% before 1945, 22.2% after; defence 41%, offence 74%,
    neutrality 78%, non-aggression 37%; Leeds & Anac: 67.9%. The copies here are training
    splits, so the rates agree within a few points, not exactly."""
    bf = case_tables.cases_from_bf(tables.bf, tables)
    bf = bf[bf["is_case"]]
    assert bf.groupby("post1945")["y"].mean().to_dict() == pytest.approx(
        {0.0: 0.663, 1.0: 0.222}, abs=0.03
    )
    expected = {"defense": 0.41, "offense": 0.74, "neutral": 0.78, "nonagg": 0.37}
    for col, rate in expected.items():
        assert bf.loc[bf[col] == 1, "y"].mean() == pytest.approx(rate, abs=0.05), col
    post_def = bf[(bf["post1945"] == 1) & (bf["defense"] == 1)]["y"]
    assert post_def.mean() == pytest.approx(6 / 43, abs=0.05)
    la = tables.la
    assert la["honor3"].mean() == pytest.approx(0.679, abs=0.05)
    cases, _ = cases_and_report
    # Pooled: far less reliable after 1945.
    rates = cases.groupby("post1945")["y"].mean()
    assert rates[0.0] > 0.7 and rates[1.0] < 0.3


def test_overlap_codings_mostly_agree(cases_and_report):
    _, report = cases_and_report
    assert report["n_overlap_outcome_disagreements"] <= 0.1 * report["n_overlap_events"]


def test_la_war_renumbering_matches_bf(tables):
    """LA's COW v3 war 154 is COW v4 war 156 (Soviet-Hungarian 1956): same alliances."""
    la = case_tables.cases_from_la(tables.la, tables)
    hungary = la[tables.la["war"] == 154]
    assert set(hungary["war"]) == {"cow156"}
    assert set(hungary["war_name"]) == {"Soviet-Hungarian1956"}
    # v3 189 (Ethiopian-Somalian 1977) is v4 187 (Second Ogaden War)
    ogaden = la[tables.la["war"] == 189]
    assert set(ogaden["war"]) == {"cow187"}


def test_crosswalk_maps_each_leeds_anac_war_to_a_war_its_alliances_fought(tables):
    """The source check of the crosswalk: for every v3 war in the Leeds-Anac file, some member
    of its alliances fought in the v4 war it maps to (COW v4 participants), and the v4 war is
    the only one within +-6 numbers for which that holds, or the one whose number is kept."""
    from forecast.calibration.wars import V3_TO_V4

    for v3, rows in tables.la.groupby("war"):
        v4 = V3_TO_V4[int(v3)]
        members = set().union(*(tables.members[int(a)] for a in rows["atopid"]))
        assert members & set(tables.participants[v4]), (v3, v4)
        if v4 != v3:
            others = [
                n
                for n, fought in tables.participants.items()
                if abs(n - v3) <= 6 and n != v4 and members & set(fought)
            ]
            assert others == [], (v3, v4, others)


def test_crosswalk_is_monotone_in_start_year(tables):
    """v3 numbers are chronological; so must be the start years of the v4 wars they map to
    (the two 1977 wars and the two 1956 wars were only re-dated within their year)."""
    from forecast.calibration.wars import V3_TO_V4

    years = [tables.years[v4] for _, v4 in sorted(V3_TO_V4.items())]
    assert all(b >= a for a, b in zip(years, years[1:], strict=False))


def test_predict_every_row_even_without_a_cow_v4_war(tables, tmp_path):
    """A v3 war outside the crosswalk: era from a year or era column, else marginalised with a
    warning that names the line; a malformed year is an error naming line, column, value."""
    rows = pd.read_csv(DATA / "LeedsAnacIIrep.csv").head(3).drop(columns=["honor3"])
    rows["war"] = [157.0, 999.0, 998.0]
    rows["year"] = ["", "1962", ""]
    path = tmp_path / "la_new.csv"
    rows.to_csv(path, index=False)
    cases = case_tables.read_case_file(path, tables)
    assert cases["war"].tolist() == ["cow155", "cow3_999", "cow3_998"]  # 157 -> Sinai (v4 155)
    assert cases["post1945"].iloc[:2].tolist() == [1.0, 1.0]
    assert np.isnan(cases["post1945"].iloc[2])
    assert cases.attrs["warnings"] == [
        "line 4: war = 998 (COW v3) is not in the COW v3 -> v4 crosswalk and the row has no "
        "year or era: predicted by marginalising over the era"
    ]
    rows["era"] = ["", "", "pre1945"]
    rows.to_csv(path, index=False)
    assert case_tables.read_case_file(path, tables)["post1945"].tolist() == [1.0, 1.0, 0.0]
    rows["year"] = ["", "sometime", ""]
    rows.to_csv(path, index=False)
    with pytest.raises(DataError, match="line 3: year = 'sometime'"):
        case_tables.read_case_file(path, tables)


def test_atop_institutionalisation_agrees_with_leeds_anac(tables):
    inst = tables.inst.reindex(tables.la["atopid"])
    for col in ("milinst", "formal"):
        agree = np.mean(inst[col].to_numpy() == tables.la[col].to_numpy())
        assert agree >= 0.95, col


def test_bf_cases_file_matches_the_bf_performance_rows(tables):
    members = data.load_bf_cases(DATA)
    bf = tables.bf[tables.bf["dnaLLM"].isna()]
    assert len(members) == len(bf) == 122
    left = members.set_index(["atopid", "warid"])["outcome_LLM"].eq("honored").astype(float)
    right = bf.set_index(["atopid", "warid"])["honorLLM"].fillna(0.0)
    pd.testing.assert_series_equal(left.sort_index(), right.sort_index(), check_names=False)


def test_bf_covariates_come_from_la_or_atop(cases_and_report):
    cases, _ = cases_and_report
    la_events = set(cases.loc[cases["source"] == "LA", "event"])
    bf_only = cases[(cases["source"] == "BF") & ~cases["event"].isin(la_events)]
    # milinst/formal are knowable from ATOP 5.1 (all but one alliance); the rest are not.
    assert bf_only["formal"].notna().all()
    assert bf_only["milinst"].isna().sum() <= 1
    assert bf_only[["chcap2d", "dinstch2", "origtar1"]].isna().all().all()
    assert cases.loc[cases["source"] != "BF", list(data.LA_COVARIATES)].notna().all().all()


def test_missing_directory_names_the_files_and_their_source(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    with pytest.raises(DataError, match="no data directory.*FORECAST_DATA_DIR") as err:
        case_tables.load_cases()
    assert "LeedsAnacIIrep.csv" in str(err.value) and "treaty-depth" in str(err.value)
    with pytest.raises(DataError, match="does not exist"):
        case_tables.load_cases(tmp_path / "nowhere")


def test_environment_variable_names_the_directory(monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(DATA))
    assert data.resolve_data_dir() == DATA
    assert len(data.load_leeds_anac()) == 110


def test_missing_file_names_it_and_where_to_obtain_it(tmp_path):
    shutil.copy(DATA / "LeedsAnacIIrep.csv", tmp_path / "LeedsAnacIIrep.csv")
    with pytest.raises(DataError) as err:
        case_tables.load_cases(tmp_path)
    msg = str(err.value)
    assert "BerkemeierFuhrmannRAP2018_0303.csv not found" in msg
    assert "Research & Politics" in msg


def test_malformed_rows_are_all_reported_with_line_numbers(tmp_path):
    shutil.copy(HERE / "data" / "la_malformed.csv", tmp_path / "LeedsAnacIIrep.csv")
    with pytest.raises(DataError) as err:
        data.load_leeds_anac(tmp_path)
    msg = str(err.value)
    assert "3 problem(s) in LeedsAnacIIrep.csv" in msg
    assert "line 3: honor3 = 'yes'" in msg
    assert "line 4: milinst = '3.0' (expected one of 0, 1, 2" in msg
    assert "line 5: chcap2d = (empty)" in msg


def test_contradictory_bf_outcomes_are_reported(tmp_path):
    shutil.copy(
        HERE / "data" / "bf_contradictory.csv",
        tmp_path / data.SOURCES["berkemeier_fuhrmann"].filename,
    )
    with pytest.raises(DataError) as err:
        data.load_berkemeier_fuhrmann(tmp_path)
    assert "line 2: honorLLM and violateLLM are both 1" in str(err.value)


def test_case_files_in_either_format(tables, tmp_path):
    la = case_tables.read_case_file(DATA / "LeedsAnacIIrep.csv", tables)
    assert len(la) == 110 and la["is_case"].all()
    bf = case_tables.read_case_file(DATA / "BerkemeierFuhrmannRAP2018_0303.csv", tables)
    assert len(bf) == 519 and bf["is_case"].sum() == 122
    # outcome columns are optional in a file to predict
    no_outcome = tmp_path / "la.csv"
    pd.read_csv(DATA / "LeedsAnacIIrep.csv").drop(columns=["honor3"]).head(3).to_csv(
        no_outcome, index=False
    )
    assert case_tables.read_case_file(no_outcome, tables)["y"].isna().all()
    with pytest.raises(DataError, match="neither known format"):
        case_tables.read_case_file(HERE / "data" / "unknown_format.csv", tables)
    with pytest.raises(DataError, match="does not exist"):
        case_tables.read_case_file(tmp_path / "nope.csv", tables)
