"""The config file's `runbooks:` key: the folder of runbook Markdown files (bot.runbook_files),
relative to the config file's folder. A folder with problems fails the whole config, listing each
problem as `file:line: reason`, so `serve` refuses to start and names the file that is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bot.config_file import Context, Path_, Problem, Section, text
from bot.core.runbook import RunbookLibrary
from bot.runbook_files import check_folder, runbook_line


def runbooks_folder(raw: object, base_dir: Path | None) -> Path:
    """The folder `runbooks:` names, relative to the config file's folder."""
    written = text(raw, ("runbooks",), "a folder of runbook Markdown files, e.g. ./runbooks")
    return (base_dir or Path.cwd()) / written


def _runbooks(raw: object, ctx: Context) -> RunbookLibrary:
    path: Path_ = ("runbooks",)
    folder = runbooks_folder(raw, ctx.base_dir)
    if not folder.is_dir():
        raise Problem(path, f"the runbooks folder {folder} does not exist")
    library, problems = check_folder(folder)
    if problems:
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        raise Problem(
            path,
            f"{count} in the runbooks folder {folder} (`incident-bot runbooks check` lists them):\n"
            + "\n".join(problems),
        )
    return library


def _summary(library: RunbookLibrary, ctx: Context) -> Iterable[str]:
    if library.folder is None:
        return ["none"]
    if not library.runbooks:
        return [f"none in {library.folder}"]
    count = len(library.runbooks)
    return [
        f"{count} runbook{'' if count == 1 else 's'} in {library.folder}",
        *(f"  {line}" for line in map(runbook_line, library.runbooks)),
    ]


SECTIONS: tuple[Section, ...] = (
    Section("runbooks", _runbooks, lambda ctx: RunbookLibrary(), _summary, policy_field="runbooks"),
)
