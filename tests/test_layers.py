"""The house layout holds: the core is pure Python (standard library and bot.core only)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "bot" / "core"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_core_imports_only_the_standard_library_and_itself():
    """Every import in bot/core is a standard-library module or bot.core (import-linter checks
    the layers between the adapters in CI; this names the one rule it cannot: 'only stdlib')."""
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted(CORE.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            assert name.startswith("bot.core") or top in allowed, f"{path.name} imports {name}"
