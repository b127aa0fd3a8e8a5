"""Runbook Markdown files read into `bot.core.runbook.Runbook`s, and the folder's lint.

Parsed with markdown-it-py (CommonMark) tokens, whose line maps say where each block starts, so
every problem names the offending line. The rules (the README's "Runbooks" section says the same):

* Every top-level `*.md` file in the folder is a runbook; its name is the file name without `.md`
  (compared case-insensitively); its title is its first heading (less a leading "Runbook:").
* Sections by heading text, ignoring case: Symptoms, Impact, Investigation, Mitigation,
  Communication Template (or Communication), Escalation. Other sections are ignored.
* Steps: the sub-headings under Investigation and Mitigation; where a section has none, its
  numbered list items; where it has neither, the section itself is one step. A runbook with no
  such sections takes the numbered list items outside any section as its steps.
* A step's commands are its code blocks exactly as written; its links every URL in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.core.events import RunbookEscalation, RunbookStep
from bot.core.runbook import (
    HEAD_BLOCKS,
    MAX_BLOCKS,
    MAX_CHUNK,
    Runbook,
    RunbookLibrary,
    format_seconds,
    shown_length,
    step_blocks,
)
from bot.core.runbook_text import read_escalation

INVESTIGATION, MITIGATION = "Investigation", "Mitigation"
_SECTIONS = {
    "symptoms": "symptoms",
    "impact": "impact",
    "investigation": INVESTIGATION,
    "mitigation": MITIGATION,
    "communication template": "communication",
    "communication": "communication",
    "escalation": "escalation",
}
_URL_SCHEMES = ("http://", "https://", "mailto:")
_BARE_URL = re.compile(r"https?://[^\s<>\"'`]+")
_URL_TAIL = ".,;:!?)]}'\""
_TITLE_PREFIX = re.compile(r"^\s*runbook\s*:\s*", re.IGNORECASE)
_MARKDOWN = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Problem:
    """A lint problem in one file: the offending line (from 1) and why."""

    line: int
    reason: str


@dataclass
class _Piece:
    """What a run of blocks says: its text lines, commands (with the line each starts on) and links."""

    lines: list[str] = field(default_factory=list)
    commands: list[tuple[str, int]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")


def _section_key(heading: str) -> str | None:
    return _SECTIONS.get(" ".join(heading.strip().rstrip(":").split()).casefold())


def _inline_text(token: Token, links: list[str] | None = None) -> str:
    """An inline token's plain text: link text without its target, `code` kept in backticks."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "html_inline"):
            out.append(child.content)
            if links is not None:
                _bare_urls(child.content, links)
        elif child.type == "code_inline":
            out.append(f"`{child.content}`")
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "link_open" and links is not None:
            href = str(child.attrs.get("href", ""))
            if href.startswith(_URL_SCHEMES) and href not in links:
                links.append(href)
    return "".join(out).strip()


def _bare_urls(text: str, links: list[str]) -> None:
    for match in _BARE_URL.finditer(text):
        url = match.group(0).rstrip(_URL_TAIL)
        if url not in links:
            links.append(url)


def _command(token: Token) -> tuple[str, int]:
    """A code block's content exactly as written (whole lines, the final newline dropped), and the
    line (from 1) its first line of content is on."""
    assert token.map is not None
    content = token.content[:-1] if token.content.endswith("\n") else token.content
    first = token.map[0] + (2 if token.type == "fence" else 1)
    return content, first


def _render(tokens: Sequence[Token]) -> _Piece:
    """Blocks as plain text: paragraphs as lines, list items as "- item" (nested ones indented two
    spaces a level, numbered ones as "1. item"); code blocks become commands, not text."""
    piece = _Piece()
    lists: list[str] = []  # "-" or "." for each open list
    marker: str | None = None
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append("-" if token.type == "bullet_list_open" else ".")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "list_item_open":
            marker = "- " if lists[-1] == "-" else f"{token.info or 1}. "
        elif token.type == "inline":
            indent = "  " * (len(lists) - 1) if lists else ""
            text = _inline_text(token, piece.links)
            if marker is not None:
                piece.lines.append(f"{indent}{marker}{text}")
                marker = None
            elif lists:
                piece.lines.append(f"{indent}  {text}")
            else:
                piece.lines.append(text)
        elif token.type in ("fence", "code_block"):
            piece.commands.append(_command(token))
            marker = None
    return piece


def _blocks(tokens: Sequence[Token]) -> list[list[Token]]:
    """Tokens grouped into top-level blocks (a heading, a paragraph, a list, a code block)."""
    blocks: list[list[Token]] = []
    depth = 0
    for token in tokens:
        if depth == 0:
            blocks.append([])
        blocks[-1].append(token)
        depth += token.nesting
    return blocks


def _items(block: list[Token]) -> list[list[Token]]:
    """A list block's items, each from its list_item_open to its close."""
    return _blocks(block[1:-1])


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 1


def _heading_step(section: str, heading: list[Token], body: Sequence[Token]) -> RunbookStep:
    return _step(section, _inline_text(heading[1]), _line(heading[0]), _render(body), heading[1])


def _step(
    section: str, title: str, line: int, piece: _Piece, title_inline: Token | None = None
) -> RunbookStep:
    links: list[str] = []
    if title_inline is not None:
        _inline_text(title_inline, links)
    links.extend(url for url in piece.links if url not in links)
    return RunbookStep(
        title=title,
        section=section,
        text=piece.text,
        commands=tuple(command for command, _ in piece.commands),
        links=tuple(links),
        line=line,
    )


def _list_steps(section: str, blocks: list[list[Token]]) -> list[RunbookStep]:
    """Top-level numbered list items as steps; a block between two items (a code block written
    flush left after "1. Check x") belongs to the item before it."""
    steps: list[tuple[str, int, list[Token], Token | None]] = []
    for block in blocks:
        if block[0].type == "ordered_list_open":
            for item in _items(block):
                first = next((t for t in item if t.type == "inline"), None)
                title = _inline_text(first) if first is not None and first.level == 3 else ""
                rest = [t for t in item[1:-1] if t is not first] if title else item[1:-1]
                steps.append((title, _line(item[0]), rest, first if title else None))
        elif steps:
            steps[-1][2].extend(block)
    out: list[RunbookStep] = []
    for title, line, body, title_inline in steps:
        piece = _render(body)
        out.append(_step(section, title or f"Step {len(out) + 1}", line, piece, title_inline))
    return out


def _section_steps(section: str, heading: list[Token], body: list[Token]) -> list[RunbookStep]:
    blocks = _blocks(body)
    sub = [b for b in blocks if b[0].type == "heading_open"]
    if sub:
        level = min(int(b[0].tag[1]) for b in sub)
        steps: list[RunbookStep] = []
        current: list[Token] | None = None
        tokens: list[Token] = []
        for block in blocks:
            if block[0].type == "heading_open" and int(block[0].tag[1]) <= level:
                if current is not None:
                    steps.append(_heading_step(section, current, tokens))
                current, tokens = block, []
            elif current is not None:
                tokens.extend(block)
        if current is not None:
            steps.append(_heading_step(section, current, tokens))
        return steps
    if any(b[0].type == "ordered_list_open" for b in blocks):
        return _list_steps(section, blocks)
    if blocks:
        return [_heading_step(section, heading, body)]
    return []


def _check_links(tokens: Sequence[Token]) -> list[Problem]:
    """A markdown link whose target is not a URL (http, https or mailto), on its own line."""
    problems = []
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = _line(token)
        for child in token.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                if not href.startswith(_URL_SCHEMES):
                    problems.append(
                        Problem(line, f"the link target {href!r} is not a URL (http, https or mailto)")
                    )
    return problems


def _check_commands(tokens: Sequence[Token]) -> list[Problem]:
    problems = []
    for token in tokens:
        if token.type not in ("fence", "code_block"):
            continue
        content, first = _command(token)
        for offset, line in enumerate(content.split("\n")):
            if shown_length(line) > MAX_CHUNK:
                problems.append(
                    Problem(
                        first + offset,
                        f"a command line of {shown_length(line)} characters (as Slack counts them) is longer than {MAX_CHUNK}, "
                        "so Slack cannot show it whole: split it over lines",
                    )
                )
    return problems


def parse_runbook(text: str, name: str, path: str = "") -> tuple[Runbook, list[Problem]]:
    """The runbook a Markdown text writes, and its problems (each with its offending line)."""
    tokens = _MARKDOWN.parse(text)
    blocks = _blocks(tokens)
    headings = [i for i, b in enumerate(blocks) if b[0].type == "heading_open"]
    title, title_line = name, 1
    section_starts = headings
    if headings and _section_key(_inline_text(blocks[headings[0]][1])) is None:
        title_block = blocks[headings[0]]
        title = _TITLE_PREFIX.sub("", _inline_text(title_block[1])) or name
        title_line = _line(title_block[0])
        section_starts = headings[1:]
    level = min((int(blocks[i][0].tag[1]) for i in section_starts), default=0)
    starts = [i for i in section_starts if int(blocks[i][0].tag[1]) <= level]
    preamble_end = starts[0] if starts else len(blocks)
    preamble = blocks[(headings[0] + 1 if headings and headings[0] < preamble_end else 0) : preamble_end]

    fields: dict[str, str | None] = {}
    steps: list[RunbookStep] = []
    escalation: RunbookEscalation | None = None
    problems: list[Problem] = []
    has_step_sections = False
    for n, start in enumerate(starts):
        heading = blocks[start]
        end = starts[n + 1] if n + 1 < len(starts) else len(blocks)
        body = [t for b in blocks[start + 1 : end] for t in b]
        key = _section_key(_inline_text(heading[1]))
        if key in (INVESTIGATION, MITIGATION):
            has_step_sections = True
            steps.extend(_section_steps(key, heading, body))
        elif key in ("symptoms", "impact"):
            fields[key] = _render(body).text
        elif key == "communication":
            fields[key] = _communication(text, heading, body)
        elif key == "escalation":
            escalation, problem = _escalation(heading, body)
            problems.extend([problem] if problem else [])
    if not has_step_sections:
        steps = _list_steps(INVESTIGATION, preamble)
    if not steps:
        problems.append(
            Problem(
                title_line,
                "no steps: write them as ### headings or a numbered list under ## Investigation "
                "or ## Mitigation",
            )
        )
    for step in steps:
        need = step_blocks(step)
        if need > MAX_BLOCKS - HEAD_BLOCKS:
            problems.append(
                Problem(
                    step.line,
                    f"the step {step.title!r} needs {need} Slack blocks, more than one message holds "
                    f"({MAX_BLOCKS - HEAD_BLOCKS}): split it into steps or its commands into fewer blocks",
                )
            )
    problems.extend(_check_links(tokens))
    problems.extend(_check_commands(tokens))
    runbook = Runbook(
        name=name,
        title=title,
        steps=tuple(steps),
        symptoms=fields.get("symptoms") or "",
        impact=fields.get("impact") or "",
        communication=fields.get("communication"),
        escalation=escalation,
        path=path,
    )
    return runbook, sorted(problems, key=lambda p: p.line)


def _communication(text: str, heading: list[Token], body: list[Token]) -> str | None:
    """The template: its code block exactly, else the section's lines as written."""
    code = next((t for t in body if t.type in ("fence", "code_block")), None)
    if code is not None:
        return _command(code)[0]
    spans = [t.map for t in body if t.map is not None and t.level == 0]
    if not spans:
        return None
    lines = text.splitlines()[spans[0][0] : spans[-1][1]]
    written = "\n".join(lines).strip("\n")
    return written or None


def _escalation(heading: list[Token], body: list[Token]) -> tuple[RunbookEscalation | None, Problem | None]:
    sentences = [t for t in body if t.type == "inline"]
    for token in sentences:
        sentence = " ".join(token.content.split())
        read = read_escalation(sentence)
        if read is not None:
            return RunbookEscalation(read[0], read[1], sentence, _line(token)), None
    if not sentences:
        return None, Problem(_line(heading[0]), "the Escalation section is empty")
    sentence = " ".join(sentences[0].content.split())
    return None, Problem(
        _line(sentences[0]),
        f"cannot read the escalation sentence {sentence!r} "
        "(write it like 'If not resolved in 20 minutes, escalate to @platform-leads')",
    )


def read_runbook(path: Path | str) -> Runbook:
    """The runbook in the file at `path` (its problems aside: `check_folder` reports those).
    Raises OSError or UnicodeDecodeError when the file cannot be read as UTF-8 text."""
    path = Path(path)
    return parse_runbook(path.read_text(encoding="utf-8"), _name(path), str(path))[0]


def _name(path: Path) -> str:
    return path.name[: -len(path.suffix)] if path.suffix.lower() == ".md" else path.name


def runbook_files(folder: Path) -> list[Path]:
    """Every top-level `*.md` file in `folder`, in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".md" and p.is_file())


def check_folder(folder: Path | str) -> tuple[RunbookLibrary, list[str]]:
    """Every runbook in `folder`, and its problems as `file:line: reason` (the offending line)."""
    folder = Path(folder)
    if not folder.is_dir():
        return RunbookLibrary(folder=str(folder)), [f"{folder}: no such folder of runbooks"]
    runbooks: list[Runbook] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for path in runbook_files(folder):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            problems.append(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)")
            continue
        except OSError as exc:
            problems.append(f"{path}:1: cannot read it: {exc.strerror}")
            continue
        runbook, found = parse_runbook(text, _name(path), str(path))
        problems.extend(f"{path}:{p.line}: {p.reason}" for p in found)
        if runbook.key in seen:
            problems.append(
                f"{path}:1: the runbook name {runbook.name!r} is taken by {seen[runbook.key].name} "
                "(names ignore case)"
            )
            continue
        seen[runbook.key] = path
        runbooks.append(runbook)
    return RunbookLibrary(tuple(runbooks), str(folder)), problems


def runbook_line(runbook: Runbook) -> str:
    """`high-error-rate: High Error Rate (5xx); 5 steps; escalates to @platform-leads after 20 minutes`."""
    steps = len(runbook.steps)
    rule = "no escalation"
    if runbook.escalation is not None:
        after = format_seconds(runbook.escalation.after_seconds)
        rule = f"escalates to {runbook.escalation.target} after {after}"
    return f"{runbook.name}: {runbook.title}; {steps} step{'' if steps == 1 else 's'}; {rule}"
