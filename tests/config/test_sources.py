"""The source check: every number in a scenario has a source or a judgement, and no backtest
case cites anything dated after its crisis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forecast.config import sources

BACKTEST = """\
name: backtest_x
aggressor:
  code: A
  cost: 0.3                 # judgement: the library's default
  prize: 1.0                # judgement
  capability: {mean: 1.0, sd: 0.2}   # COW NMC 1949
  # Acheson speech (12 January 1950)
  decision_noise: 0.1
target:
  code: B
  capability: {mean: 1.0, sd: 0.1}   # an estimate of 1952
late_discount: 0.5
backtest:
  crisis_date: "1950-06-25"
  outcome:
    attack: true            # armistice 1953
"""


def test_the_shipped_scenarios_and_backtest_cases_pass():
    assert sources.check_files(sources.shipped_scenarios()) == []


def test_each_kind_of_problem_is_found_on_its_line(tmp_path):
    path = tmp_path / "backtest_x.yaml"
    path.write_text(BACKTEST)
    problems = sources.check_file(path)
    text = "\n".join(problems)
    assert "backtest_x.yaml:5: aggressor.prize = 1.0" in text  # a bare judgement, no reason
    assert "backtest_x.yaml:12: late_discount = 0.5" in text  # nothing at all
    assert "backtest_x.yaml:11: a source dated 1952, after the crisis (1950)" in text
    assert len(problems) == 3, problems  # the block comment covers decision_noise; the
    # outcome block's 1953 is exempt


def test_a_plain_scenario_accepts_a_bare_judgement_and_has_no_date_rule(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(BACKTEST.replace("late_discount: 0.5", "late_discount: 0.5  # judgement"))
    assert sources.check_file(path) == []


def test_the_check_covers_the_parent_block_but_not_the_grandparent(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(
        "actors:\n"
        "  # a comment about all actors, judgement\n"
        "  USA:\n"
        "    willingness:\n"
        "      # Pew (2015)\n"
        "      mean: 0.7\n"
        "      interval: [0.4, 0.9]\n"
        "    capability: {mean: 8.0, sd: 2.0}\n"
    )
    problems = sources.check_file(path)
    assert len(problems) == 2 and all(":8: actors.USA.capability" in p for p in problems)


def test_a_scenario_authored_before_a_date_is_held_to_the_backtest_rules(tmp_path):
    """ukraine_2022 and korea_1950 are no backtest cases but declare the date their sources
    precede: a bare judgement or a later year there is a problem too, as in a backtest case."""
    for name in ("ukraine_2022", "korea_1950"):
        shipped = next(p for p in sources.shipped_scenarios() if p.stem == name)
        text = shipped.read_text()
        assert text.startswith("# sources before: "), name
        assert sources.check_file(shipped) == []
        late = tmp_path / f"{name}.yaml"
        late.write_text(text + "\nzz_bare: 0.5   # judgement\n\n# an estimate of 2031\n")
        problems = "\n".join(sources.check_file(late))
        assert "zz_bare = 0.5 has neither a source with a year nor a" in problems, name
        assert "a source dated 2031, after the crisis" in problems, name
    # without the line, the same file is held to the looser rule
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: x\nzz_bare: 0.5   # judgement\n\n# an estimate of 2031\n")
    assert sources.check_file(plain) == []


def test_the_command_names_an_unreadable_or_malformed_file_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nactors: [1\nother: 2\n")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: x\n# Gen\u00e8ve\n".encode("latin-1"))
    cases = (
        (tmp_path / "missing.yaml", "cannot be read"),
        (bad, "not valid YAML"),
        (latin, ":2: not UTF-8 text (byte 0xe8)"),
    )
    for path, words in cases:
        run = subprocess.run(
            [sys.executable, "-m", "forecast.config.sources", str(path)],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 2
        assert f"{path}" in run.stderr and words in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "forecast.config.sources", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},  # argparse wraps the help to the terminal's width
    )
    assert shown.returncode == 0 and "sources before" in shown.stdout


def test_the_command_exits_1_and_prints_each_problem(tmp_path, capsys):
    path = tmp_path / "backtest_x.yaml"
    path.write_text(BACKTEST)
    with pytest.raises(SystemExit) as stop:
        sources.main([str(path)])
    assert stop.value.code == 1
    out = capsys.readouterr()
    assert out.out.count("backtest_x.yaml:") == 3 and "3 unsourced" in out.err
