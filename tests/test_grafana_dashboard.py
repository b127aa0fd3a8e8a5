"""contrib/grafana-dashboard.json queries only what exists: each incident_bot_* name in its PromQL is
on a live bot's /metrics, and each slo:* name is a rule `incident-bot slo rules` generates."""

from __future__ import annotations

import json
import re
import tempfile
import urllib.request
from pathlib import Path

import pytest
import yaml

from bot.config import load_config_file
from bot.slo_cli import rules_yaml
from tests.harness import start_harness
from tests.test_manifest import manifest_bot_scopes
from tests.test_slo_promtool import EXPLICIT, SEED

DASHBOARD = Path(__file__).resolve().parents[1] / "contrib" / "grafana-dashboard.json"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_VARIABLES = re.compile(r"\$\{?\w+\}?")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
KEYWORDS = {
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
    "group_left",
    "group_right",
    "on",
    "ignoring",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left after taking out strings, label
    matchers, grouping clauses, ranges, dashboard variables, function calls and keywords."""
    rest = _VARIABLES.sub(
        " ", _RANGES.sub(" ", _BRACES.sub(" ", _GROUPING.sub(" ", _STRING.sub('""', expr))))
    )
    names = set()
    for match in _NAME.finditer(rest):
        word = match.group()
        called = rest[match.end() :].lstrip().startswith("(")
        if (
            not called
            and word.lower() not in KEYWORDS
            and not rest[match.start() - 1 : match.start()].isdigit()
        ):
            names.add(word)
    return names


def test_the_extractor_finds_metric_names_and_skips_functions_labels_and_variables():
    expr = (
        'histogram_quantile(0.99, sum by (le, kind) (rate(incident_bot_ack_seconds_bucket{le="3.0"}[5m])))'
        ' / on(slo) group_left slo:error_ratio:rate1h{slo=~"$slo"} / (1 - $objective) and bool up offset 5m'
    )
    assert metric_names(expr) == {"incident_bot_ack_seconds_bucket", "slo:error_ratio:rate1h", "up"}


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        found = re.fullmatch(r"label_values\(([^,]+),\s*\w+\)", str(variable.get("query", "")))
        if variable["type"] == "query" and found:
            exprs.append(found.group(1))
    return exprs


def generated_rule_names() -> set[str]:
    names = set()
    with tempfile.TemporaryDirectory() as folder:
        for number, config in enumerate((SEED, EXPLICIT)):
            path = Path(folder) / f"slos{number}.yaml"
            path.write_text(config)
            rules = yaml.safe_load(rules_yaml(load_config_file(path)["policy"].slos, str(path)))
            names |= {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    return names


@pytest.fixture
def exposed(database_url) -> dict[str, str]:
    """Each metric family on a fresh bot's /metrics, with its type."""
    h = start_harness(database_url, manifest_bot_scopes())
    try:
        with urllib.request.urlopen(f"{h.server.url}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        h.close()
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


def test_every_metric_the_dashboard_queries_exists(exposed):
    exprs = dashboard_queries()
    assert len(exprs) >= 15
    rules = generated_rule_names()
    assert "slo:error_ratio:rate1h" in rules
    missing = []
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric found in {expr!r}"
        for name in names:
            if name.startswith("slo:"):
                ok = name in rules
            elif name.startswith("incident_bot_"):
                base = re.sub(r"_(bucket|count|sum)$", "", name)
                ok = name in exposed or exposed.get(base) == "histogram"
            else:
                ok = False  # the dashboard is for the bot and its SLO rules only
            if not ok:
                missing.append((name, expr))
    assert not missing
    used = {n for e in exprs for n in metric_names(e)}
    assert {re.sub(r"_(bucket|count|sum)$", "", n) for n in used if n.startswith("incident_bot_")} == set(
        exposed
    ), "a metric the bot exposes has no panel"
