"""The scenario's beliefs with their sources: the line comments of a scenario YAML file, by
config path.

House rule: every number in a scenario file carries its source or an honest "judgement" note in
a comment. A comment belongs to the key on its line (a trailing comment) or to the key right
below it at the same indentation (a comment block above a key). A belief shown as one row (a
mapping of numbers such as ``willingness: {mean, interval}``) collects the comments of its keys;
a key without a comment of its own takes that of the nearest enclosing key below the top level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*:(?P<rest>.*)$")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
#: keys that name or describe rather than state a belief
_NOT_BELIEFS = {"name", "description", "code"}


def _strip_comment(rest: str) -> tuple[str, str]:
    """Split the text after a key's colon into (value, comment), ignoring # inside quotes."""
    quote = ""
    for i, ch in enumerate(rest):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or rest[i - 1].isspace()):
            return rest[:i].strip(), rest[i + 1 :].strip()
    return rest.strip(), ""


def comments(text: str) -> dict[str, list[str]]:
    """Config path (dotted, relative to the file's top) -> the comments that belong to it."""
    out: dict[str, list[str]] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    pending_indent = -1
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            pending, pending_indent = [], -1
            continue
        if stripped.startswith("#"):
            indent = len(line) - len(line.lstrip())
            if pending and indent != pending_indent:
                pending = []
            pending_indent = indent
            pending.append(stripped.lstrip("#").strip())
            continue
        m = _KEY.match(line)
        if not m or stripped.startswith("- "):
            pending, pending_indent = [], -1
            continue
        indent = len(m["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m["key"].strip("\"'")))
        path = ".".join(k for _, k in stack)
        _, trailing = _strip_comment(m["rest"])
        block = [" ".join(pending)] if pending and pending_indent == indent else []
        notes = block + ([trailing] if trailing else [])
        if notes:
            out.setdefault(path, []).extend(notes)
        pending, pending_indent = [], -1
    return out


@dataclass
class Belief:
    """One row of the beliefs table."""

    path: str  # full config path, e.g. scenario.actors.USA.willingness
    value: str  # as set for this run
    note: str  # the file's comments, or ""
    kind: str  # "source", "judgement", "source and judgement", "note" (neither) or "no note"
    file_value: str | None = None  # the file's value when this run set another one


def kind_of(note: str) -> str:
    """Whether a note cites a source (a year), calls the number a judgement, both, or neither."""
    judged = "judgement" in note.lower() or "judgment" in note.lower()
    sourced = bool(_YEAR.search(note)) or "domain brief" in note.lower()
    if judged and sourced:
        return "source and judgement"
    if judged:
        return "judgement"
    if sourced:
        return "source"
    return "note" if note else "no note"


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, bool | int | float | str)


def _compact(v: Any) -> bool:
    """A belief read as one row: a scalar, a list of scalars, or a mapping of those."""
    if _scalar(v):
        return True
    if isinstance(v, list):
        return all(_scalar(x) for x in v)
    if isinstance(v, dict):
        return all(_scalar(x) or (isinstance(x, list) and all(map(_scalar, x))) for x in v.values())
    return False


def show(v: Any) -> str:
    """A value as the table shows it: ``mean 0.75, interval [0.45, 0.93]``."""
    if isinstance(v, dict):
        return ", ".join(f"{k} {show(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.6g}"
    return "null" if v is None else str(v)


def _rows(node: dict, prefix: str) -> list[tuple[str, Any]]:
    """(path, value) of every belief in the file's tree, depth first in the file's order."""
    out = []
    for k, v in node.items():
        path = f"{prefix}.{k}" if prefix else str(k)
        if str(k) in _NOT_BELIEFS and _scalar(v):
            continue
        if isinstance(v, dict):
            v = {a: b for a, b in v.items() if a not in _NOT_BELIEFS}
            if not v:
                continue
        if _compact(v):
            out.append((path, v))
        elif isinstance(v, dict):
            out += _rows(v, path)
        else:
            out.append((path, v))
    return out


def _lookup(tree: Any, path: str) -> tuple[bool, Any]:
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def beliefs(scenario_file: Path, resolved: dict) -> list[Belief]:
    """The beliefs of ``scenario_file`` with their notes and the values set for this run
    (``resolved`` is the run's resolved ``scenario`` node)."""
    text = scenario_file.read_text()
    notes = comments(text)
    tree = yaml.safe_load(text) or {}
    out = []
    for path, file_value in _rows(tree, ""):
        # the row's own notes, then its keys' notes, each named by its key
        own = list(notes.get(path, []))
        own += [
            f"{p[len(path) + 1 :]}: {n}"
            for p, ns in notes.items()
            if p.startswith(path + ".") and p[len(path) + 1 :] not in _NOT_BELIEFS
            for n in ns
        ]
        if not own:  # the nearest enclosing key's note, below the top level
            parts = path.split(".")
            for depth in range(len(parts) - 1, 1, -1):
                own = notes.get(".".join(parts[:depth]), [])
                if own:
                    break
        note = " ".join(own)
        found, value = _lookup(resolved, path)
        if found and isinstance(value, dict) and isinstance(file_value, dict):
            # the resolved node also has the schema's defaults: show the keys the file sets
            value = {k: value.get(k) for k in file_value if k not in _NOT_BELIEFS}
        if isinstance(file_value, dict):
            file_value = {k: v for k, v in file_value.items() if k not in _NOT_BELIEFS}
        shown = show(value) if found else show(file_value)
        differs = found and shown != show(file_value)
        out.append(
            Belief(
                f"scenario.{path}",
                shown,
                note,
                kind_of(note),
                show(file_value) if differs else None,
            )
        )
    return out


def scenario_file(name: str) -> Path | None:
    """The shipped scenario file ``configs/scenario/<name>.yaml``, if there is one."""
    from forecast.config.loading import config_dir

    try:
        path = config_dir() / "scenario" / f"{name}.yaml"
    except Exception:  # no shipped configs: the table falls back to the resolved config
        return None
    return path if path.is_file() else None
