"""The README and the docs keep the house rules: two set-up commands that CI runs as written, a
short README, and pages that speak only of the project itself."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = REPO / "README.md"
PAGES = sorted((REPO / "docs").rglob("*.md"))


def _setup_commands() -> list[str]:
    first = re.search(r"^```bash\n(.*?)^```", README.read_text(), re.M | re.S)
    assert first, "the README opens with no bash block"
    return [line for line in first.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_setup_commands():
    install_and_run, install_and_test = _setup_commands()
    assert install_and_run == "python -m pip install -e . && forecast scenario=taiwan"
    assert install_and_test == "python -m pip install -e '.[test]' && python -m pytest"


def test_ci_runs_the_readmes_test_command_as_written():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert _setup_commands()[1] in ci


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 300


def test_pages_speak_only_of_the_project():
    """No paths outside the repository, issue numbers or git hashes in the README or the docs."""
    banned = {
        "a path outside the repository": r"\.\./shared|/work/|\bshared/(data|domain)",
        "an issue number": r"\bissue\s*#?\d+",
        "a git hash": r"\bgit [0-9a-f]{7,40}\b",
    }
    problems = [
        f"{page.relative_to(REPO)}: {what}"
        for page in [README, *PAGES]
        for what, pattern in banned.items()
        if re.search(pattern, page.read_text(), re.I)
    ]
    assert problems == []
