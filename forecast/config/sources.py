"""The source check: every number in a scenario file has a source or a named judgement.

A number is *covered* when a comment near it carries a source (a citation with a year,
1800-2099) or a ``judgement`` tag. "Near" is its own line, the comment lines directly above
it, or its parent key's line, the comment lines directly above that key, and the comment lines
inside the parent's block before the number::

    willingness:            # <- the parent key's line
      # Pew (2015): ...     # <- inside the parent's block
      mean: 0.7
      interval: [0.4, 0.9]

Backtest cases (``backtest_*.yaml``) are held to more: a judgement must give its reason
(``judgement: <reason>``), and no comment outside the outcome block (``scenario.backtest``) may
cite a year after the crisis year (``crisis_date``). The outcome block itself is what happened,
and is exempt. A scenario that is no backtest case but is authored from what was known before a
date, such as ``ukraine_2022``, is held to the same rules by a comment line of its own::

    # sources before: 2022-02-24

``python -m forecast.config.sources [FILES]`` prints every problem (default: the shipped
scenarios) and exits 1 if there is any. Depends on PyYAML only.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_JUDGEMENT = re.compile(r"\bjudgement\b", re.IGNORECASE)
_JUDGEMENT_REASON = re.compile(r"\bjudgement\s*:\s*\w", re.IGNORECASE)
_COMMENT = re.compile(r"(?:^|\s)#(.*)$")
_SOURCES_BEFORE = re.compile(r"^#\s*sources before:\s*(\d{4})-\d\d-\d\d\s*$", re.MULTILINE)


def _comment(line: str) -> str | None:
    m = _COMMENT.search(line)
    return m.group(1).strip() if m else None


def _is_comment_line(line: str) -> bool:
    return line.lstrip().startswith("#")


def _numbers(node, parents=()):
    """Yield (scalar node, chain of key nodes from the innermost outwards) for each number."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _numbers(value, (key, *parents))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _numbers(item, parents)
    elif isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS:
        yield node, parents


def _above(lines: list[str], row: int) -> list[str]:
    """Comment-only lines directly above line ``row`` (0-based)."""
    out = []
    r = row - 1
    while r >= 0 and _is_comment_line(lines[r]):
        out.append(_comment(lines[r]) or "")
        r -= 1
    return out


def _near(lines: list[str], row: int, keys: tuple) -> list[str]:
    """The comments that may carry the source of a number on line ``row``."""
    found = [_comment(lines[row]) or "", *_above(lines, row)]
    if keys:  # the number's own key (a flow collection may put it on another line)
        found += [_comment(lines[keys[0].start_mark.line]) or ""]
        found += _above(lines, keys[0].start_mark.line)
    if len(keys) > 1:
        parent = keys[1].start_mark.line
        found += [_comment(lines[parent]) or "", *_above(lines, parent)]
        found += [
            _comment(lines[r]) or "" for r in range(parent + 1, row) if _is_comment_line(lines[r])
        ]
    return [c for c in found if c]


def _is_backtest(path: Path) -> bool:
    return path.stem.startswith("backtest_")


def _outcome_rows(root) -> range:
    """Lines (0-based) of the ``backtest`` block, which holds the outcome on record."""
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "backtest":
                return range(key.start_mark.line, value.end_mark.line + 1)
    return range(0)


def _crisis_year(root) -> int | None:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "backtest" and isinstance(value, yaml.MappingNode):
                for k, v in value.value:
                    if k.value == "crisis_date":
                        m = _YEAR.match(str(v.value))
                        return int(m.group(1)) if m else None
    return None


def check_file(path: str | Path) -> list[str]:
    """Every problem of one scenario file, each as ``file:line: message``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    root = yaml.compose(text)
    declared = _SOURCES_BEFORE.search(text)
    strict = _is_backtest(path) or declared is not None
    outcome = _outcome_rows(root) if strict else range(0)
    problems = []
    for node, keys in _numbers(root):
        row = node.start_mark.line
        if row in outcome:
            continue
        comments = _near(lines, row, keys)
        where = f"{path.name}:{row + 1}"
        name = ".".join(str(k.value) for k in reversed(keys)) or "value"
        sourced = any(_YEAR.search(c) for c in comments)
        judged = any((_JUDGEMENT_REASON if strict else _JUDGEMENT).search(c) for c in comments)
        if not (sourced or judged):
            tag = '"judgement: <reason>"' if strict else '"judgement"'
            problems.append(
                f"{where}: {name} = {node.value} has neither a source with a year nor a {tag} "
                "tag on its line or block"
            )
    if strict:
        year = _crisis_year(root) if _is_backtest(path) else int(declared.group(1))
        if year is None:
            problems.append(f"{path.name}: scenario.backtest.crisis_date (YYYY-MM-DD) is missing")
        else:
            for row, line in enumerate(lines):
                comment = _comment(line) if row not in outcome else None
                for y in _YEAR.findall(comment or ""):
                    if int(y) > year:
                        problems.append(
                            f"{path.name}:{row + 1}: a source dated {y}, after the crisis "
                            f"({year}): {comment}"
                        )
    return problems


def check_files(paths) -> list[str]:
    return [p for path in paths for p in check_file(path)]


def shipped_scenarios() -> list[Path]:
    from forecast.config.loading import config_dir

    return sorted((config_dir() / "scenario").glob("*.yaml"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m forecast.config.sources",
        description=(
            "Check that every number in a scenario file has a source with a year or a "
            "judgement tag; backtest cases and files declaring '# sources before: DATE' must "
            "also give each judgement's reason and cite nothing dated after the crisis."
        ),
    )
    parser.add_argument(
        "files", nargs="*", type=Path, help="scenario files (default: the shipped scenarios)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    problems = []
    for path in args.files or shipped_scenarios():
        try:
            problems += check_file(path)
        except OSError as e:
            parser.exit(2, f"{path}: cannot be read: {e.strerror or e}\n")
        except UnicodeDecodeError as e:
            line = e.object[: e.start].count(b"\n") + 1
            parser.exit(2, f"{path}:{line}: not UTF-8 text (byte {e.object[e.start]:#04x})\n")
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            parser.exit(2, f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}\n")
    for p in problems:
        print(p)
    print(f"{len(problems)} unsourced or late-dated numbers", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
