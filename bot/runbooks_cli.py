"""`incident-bot runbooks check [FOLDER]`: lint the runbooks folder as `serve` does at start.

FOLDER defaults to the config file's `runbooks:` ($INCIDENT_BOT_CONFIG), else ./runbooks. Exit 0
with a line per runbook; 1 with each problem as `file:line: reason` on standard error; 2 when the
config file naming the folder cannot be read."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.config_file import ConfigFileError, Problem, dotted, parse_yaml
from bot.config_runbooks import runbooks_folder
from bot.runbook_files import check_folder, runbook_line

EXIT_PROBLEMS = 1
EXIT_CONFIG = 2
DEFAULT_FOLDER = "runbooks"


def add_runbooks_parser(commands: Any) -> None:
    runbooks = commands.add_parser("runbooks", help="the runbooks folder: check its Markdown files")
    actions = runbooks.add_subparsers(dest="runbooks_command", required=True)
    check = actions.add_parser(
        "check", help="read every runbook and print what the bot understood, or each problem as file:line"
    )
    check.add_argument(
        "folder",
        nargs="?",
        help="the runbooks folder (default: the config's runbooks:, from $INCIDENT_BOT_CONFIG, else ./runbooks)",
    )


def run_runbooks(args: argparse.Namespace) -> int:
    try:
        folder = Path(args.folder) if args.folder else _configured_folder()
    except ConfigFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    library, problems = check_folder(folder)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    count = len(library.runbooks)
    print(f"{folder}: OK ({count} runbook{'' if count == 1 else 's'})")
    for runbook in library.runbooks:
        print(runbook_line(runbook))
    return 0


def _configured_folder() -> Path:
    """The config's `runbooks:` folder (its other keys are `config check`'s business), else ./runbooks."""
    name = os.environ.get("INCIDENT_BOT_CONFIG")
    if not name:
        return Path(DEFAULT_FOLDER)
    path = Path(name)
    try:
        located = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError([f"{path}: cannot read the config file: {exc}"]) from None
    except Problem as problem:
        raise ConfigFileError(
            [f"{path}:{problem.line or 1}: {dotted(problem.path)}: {problem.reason}"]
        ) from None
    except yaml.YAMLError as exc:  # `config check` explains it line by line
        raise ConfigFileError(
            [f"{path}: not valid YAML ({type(exc).__name__}); run `incident-bot config check`"]
        ) from None
    data = located.data
    if not isinstance(data, dict) or "runbooks" not in data:
        return Path(DEFAULT_FOLDER)
    try:
        return runbooks_folder(data["runbooks"], path.parent)
    except Problem as problem:
        raise ConfigFileError(
            [f"{path}:{located.line_of(problem.path)}: runbooks: {problem.reason}"]
        ) from None
