"""The YAML config file: read with the line of every key, checked section by section, summarised.

Each top-level key is a `Section` (its parser, its default and its summary) in one registry,
`bot.config_sections.SECTIONS`; a section added later plugs in there and is checked, reported
and summarised like the rest. A parser raises `Problem(path, reason)` naming the key's path
inside its section's value; this module adds the file name and the line where PyYAML's composer
found that key, so every mistake reads `FILE:LINE: key.path: reason`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError

Path_ = tuple[str | int, ...]


class Problem(ConfigError):
    """One mistake in the config, at `path` (keys and list indexes from the top of the file)."""

    def __init__(self, path: Sequence[str | int], reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.path: Path_ = tuple(path)
        self.reason = reason
        self.line = line  # known only for mistakes found while parsing (a key written twice)


class ConfigFileError(ConfigError):
    """The config file's mistakes, one `FILE:LINE: key.path: reason` line each."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        # A problem may carry lines of its own (a runbook file's `file:line: reason`s), one each.
        self.lines = tuple(line for message in lines for line in message.split("\n"))


def dotted(path: Sequence[str | int]) -> str:
    """`alerts.triage[2]`, `severities.SEV1.responders`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Located:
    """A parsed YAML document and the line (1-based) of each key path in it."""

    data: object
    lines: dict[Path_, int] = field(default_factory=dict)
    # Scalars YAML 1.1 read as sexagesimal numbers (unquoted `19:00` is the int 1140), as written.
    sexagesimal: dict[Path_, str] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of `path`, or of its nearest ancestor written in the file (a key left out)."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def parse_yaml(text: str) -> Located:
    """Parse `text` as `yaml.safe_load` does, and note where each key and list item starts.

    A key written twice in one mapping is a Problem (PyYAML keeps the last one silently); a key
    that a `<<` merge brings in is noted where the merged mapping wrote it, unless overridden."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located({}, {(): 1})
        lines: dict[Path_, int] = {(): node.start_mark.line + 1}
        sexagesimal: dict[Path_, str] = {}
        _index(loader, node, (), lines, set(), sexagesimal)
        return Located(loader.construct_document(node), lines, sexagesimal)
    finally:
        loader.dispose()


_MERGE = "tag:yaml.org,2002:merge"


def _index(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    active: set[int],
    sexagesimal: dict[Path_, str] | None = None,
) -> None:
    if sexagesimal is not None and isinstance(node, yaml.ScalarNode) and ":" in str(node.value):
        sexagesimal[path] = str(node.value)  # the parser reads it only where it wanted text
    if id(node) in active:  # an alias to a node that contains it: YAML allows the cycle
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
                continue
            key = str(loader.construct_object(key_node, deep=True))
            if key in seen:
                raise Problem(
                    (*path, key),
                    "written twice in the same mapping (the later one would win)",
                    key_node.start_mark.line + 1,
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _index(loader, value_node, (*path, key), lines, active, sexagesimal)
        for source in merged:  # keys written here win over merged ones, and earlier merges over later
            inherited: dict[Path_, int] = {}
            _index(loader, source, path, inherited, active, sexagesimal)
            for key_path, line in inherited.items():
                lines.setdefault(key_path, line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _index(loader, item, (*path, index), lines, active, sexagesimal)
    active.discard(id(node))


# --- sections -------------------------------------------------------------------------------------


class Context:
    """What a section's parser may use: the sections parsed before it, and the file's folder."""

    def __init__(self, base_dir: Path | None, raw: Mapping[Any, Any] | None = None) -> None:
        self.base_dir = base_dir
        self.values: dict[str, Any] = {}
        self.written: set[str] = set()
        # The whole file as written, for a section that reads a key of another (severities' `page`).
        self.raw: Mapping[Any, Any] = raw or {}
        self.located: Located | None = None

    def written_as(self, path: Path_) -> str | None:
        """How the file wrote a scalar that YAML 1.1 read as a sexagesimal number (`19:00`)."""
        return self.located.sexagesimal.get(path) if self.located is not None else None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass(frozen=True)
class Section:
    """One top-level key of the config file.

    `parse(value, ctx)` turns the value as written into the effective value, raising Problem with
    the mistake's whole path (from this key down); `default(ctx)` is the effective value when the key is left
    out; `summary(value, ctx)` gives the lines `config check` prints. The value lands in Policy's
    `policy_field` or Settings' `settings_field`. `needs` names sections parsed before this one.
    """

    key: str
    parse: Callable[[Any, Context], Any]
    default: Callable[[Context], Any]
    summary: Callable[[Any, Context], Iterable[str]]
    policy_field: str | None = None
    settings_field: str | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckedConfig:
    """A config file that passed: each section's effective value, and which were written."""

    source: str
    sections: tuple[Section, ...]
    context: Context
    located: Located

    def where(self, *path: str | int) -> str:
        """`FILE:LINE: key.path:`, the start of a message about `path`."""
        return _where(self.source, self.located, path)

    @property
    def values(self) -> Mapping[str, Any]:
        return self.context.values

    def policy_fields(self) -> dict[str, Any]:
        return {s.policy_field: self.values[s.key] for s in self.sections if s.policy_field}

    def settings_fields(self) -> dict[str, Any]:
        """Settings fields the file sets (left-out keys keep Settings' own defaults)."""
        return {
            s.settings_field: self.values[s.key]
            for s in self.sections
            if s.settings_field and s.key in self.context.written
        }

    def summary(self) -> str:
        lines = []
        for section in self.sections:
            body = list(section.summary(self.values[section.key], self.context))
            default = section.key not in self.context.written
            if len(body) == 1:
                lines.append(f"{section.key}: {body[0]}" + ("  (default)" if default else ""))
            else:
                lines.append(f"{section.key}:" + (" (default)" if default else ""))
                lines.extend(f"  {line}" for line in body)
        return "\n".join(lines)


def check_mapping(
    raw: object,
    sections: Sequence[Section],
    source: str,
    located: Located | None = None,
    base_dir: Path | None = None,
) -> CheckedConfig:
    """Check every section of `raw` (the whole file's mapping); raise ConfigFileError listing every
    section's first mistake as `source:LINE: path: reason` (without LINE when `located` is None)."""
    located = located or Located(raw)

    def where(problem: Problem) -> tuple[int, str]:
        return located.line_of(problem.path), f"{_where(source, located, problem.path)} {problem.reason}"

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError([where(Problem((), "the config file must be a mapping of settings"))[1]])
    by_key = {s.key: s for s in sections}
    errors: list[tuple[int, str]] = []
    for key in raw:
        if str(key) not in by_key:
            errors.append(where(unknown_key((), str(key), by_key)))
    context = Context(base_dir, raw)
    context.located = located
    failed: set[str] = set()
    for section in sections:
        if failed & set(section.needs):
            failed.add(section.key)
            continue
        try:
            if section.key in raw:
                context.values[section.key] = section.parse(raw[section.key], context)
                context.written.add(section.key)
            else:
                context.values[section.key] = section.default(context)
        except Problem as problem:
            errors.append(where(problem))
            failed.add(section.key)
    if errors:
        raise ConfigFileError([message for _, message in sorted(errors)])
    return CheckedConfig(source, tuple(sections), context, located)


def _where(source: str, located: Located, path: Sequence[str | int]) -> str:
    line = f":{located.line_of(path)}" if located.lines else ""
    return f"{source}{line}:" + (f" {dotted(path)}:" if path else "")


def read_config_file(path: Path, sections: Sequence[Section]) -> CheckedConfig:
    """Read, parse and check the file at `path` (ConfigFileError for any mistake, with its line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError([f"{path}: cannot read the config file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigFileError([f"{path}: the config file is not UTF-8 text"]) from exc
    try:
        located = parse_yaml(text)
    except Problem as problem:
        line = problem.line or 1
        raise ConfigFileError([f"{path}:{line}: {dotted(problem.path)}: {problem.reason}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "cannot be parsed"
        if exc.problem and exc.context and exc.context_mark:
            reason += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise ConfigFileError([f"{path}:{line}: not valid YAML: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError([f"{path}: not valid YAML: {exc}"]) from None
    return check_mapping(located.data, sections, str(path), located, path.parent)


# --- helpers for section parsers ----------------------------------------------------------------


def unknown_key(path: Path_, key: str, known: Iterable[str]) -> Problem:
    """`unknown key 'severites' (did you mean 'severities'?)`, or the keys it takes."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"it takes {', '.join(known)}"
    return Problem((*path, key), f"unknown key {key!r} ({hint})")


def only_keys(raw: Mapping[Any, Any], known: Iterable[str], path: Path_) -> None:
    known = set(known)
    for key in raw:
        if str(key) not in known:
            raise unknown_key(path, str(key), known)


def mapping(value: object, path: Path_, what: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise Problem(path, f"must be a mapping ({what}), not {kind(value)}")
    return value


def text(value: object, path: Path_, what: str = "text") -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
        hint = " (unquoted, a value starting with # is a comment: quote it)" if value is None else ""
        raise Problem(path, f"must be {what}, not {kind(value)}{hint}")
    return str(value).strip()


def positive_number(value: object, path: Path_) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Problem(path, f"must be a positive number, not {kind(value)}")
    return float(value)


def kind(value: object) -> str:
    """How a wrong value is named in a message: `a list`, `'fast'`, `nothing`."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()} (YAML reads yes/no/on/off as true/false)"
    return repr(value)
