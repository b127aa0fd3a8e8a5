"""The config file's `slos:` section and `incident-bot slo rules`: the seed's SLOs load as written,
the explicit forms too, a latency quantile becomes a bucket ratio, and what cannot become an honest
error ratio is refused as FILE:LINE: slos[i].key: reason."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_config_file, policy_from_mapping
from bot.config_slo import SLO_KEYS
from bot.core.slo import le_pattern
from tests.test_slo_promtool import EXPLICIT, SEED

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def load(tmp_path: Path, text: str):
    path = tmp_path / "bot.yml"
    path.write_text(text)
    return load_config_file(path)["policy"].slos


def test_the_seeds_two_slos_load_as_written(tmp_path):
    """The availability ratio is split into good and total with its [30d] rewritten per window; the
    p99 <= 0.5 s latency SLI becomes objective 0.99 with the le=0.5 bucket over _count."""
    availability, latency = load(tmp_path, SEED)
    assert (availability.name, availability.slug, availability.service) == (
        "API Availability",
        "api-availability",
        "checkout-api",
    )
    assert availability.objective == 0.999 and availability.window == timedelta(days=30)
    assert availability.good == 'sum(rate(http_requests_total{code!~"5.."}[{{window}}]))'
    assert availability.total == "sum(rate(http_requests_total[{{window}}]))"
    assert (
        availability.form == "sli ratio"
        and availability.runbook_url == "https://runbooks.example.com/checkout"
    )
    assert (latency.slug, latency.service, latency.objective, latency.form) == (
        "api-latency-p99",
        "api-latency-p99",
        0.99,
        "latency quantile",
    )
    assert latency.good == 'sum(rate(http_request_duration_seconds_bucket{le=~"0[.]50*"}[{{window}}]))'
    assert latency.total == "sum(rate(http_request_duration_seconds_count[{{window}}]))"
    assert latency.quantile is not None and latency.quantile.threshold == 0.5


def test_the_explicit_forms_and_a_listed_bucket(tmp_path):
    """errors/total and good/total keep their queries ({{ window }} with spaces too); a summed
    quantile keeps its selector on both the bucket and the count."""
    errors, good, search = load(tmp_path, EXPLICIT)
    assert errors.errors == 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))' and errors.good is None
    assert good.good == 'sum(rate(http_requests_total{code!~"5.."}[{{window}}]))'
    assert good.window == timedelta(days=28) and good.service == "checkout-api"
    assert search.objective == 0.95 and search.min_events == 20
    assert search.good == 'sum(rate(search_seconds_bucket{job="search", le=~"0[.]250*"}[{{window}}]))'
    assert search.total == 'sum(rate(search_seconds_count{job="search"}[{{window}}]))'


def test_a_window_range_in_an_explicit_query_and_a_window_in_minutes(tmp_path):
    """`[12h]` in a good: query with a 720m window is the window, so it is rewritten like [{{window}}]."""
    (slo,) = load(
        tmp_path,
        "slos:\n  - name: Short\n    good: sum(rate(ok[12h]))\n    total: sum(rate(all[720m]))\n"
        "    target: 0.99\n    window: 720m\n",
    )
    assert (slo.good, slo.total, slo.window) == (
        "sum(rate(ok[{{window}}]))",
        "sum(rate(all[{{window}}]))",
        timedelta(hours=12),
    )


@pytest.mark.parametrize(
    ("written", "matches", "misses"),
    [
        (0.5, ["0.5", "0.50"], ["0.05", "5", "0.51"]),
        (1.0, ["1", "1.0", "1.00"], ["10", "0.1", "1.5"]),
        (1, ["1", "1.0"], ["11"]),
        (0.005, ["0.005"], ["0.0050x", "0.05"]),
        (10, ["10", "10.0"], ["1", "100"]),
    ],
)
def test_the_le_pattern_matches_the_threshold_however_an_exporter_writes_it(written, matches, misses):
    """Go's client writes 1, Python's 1.0, Prometheus 3 normalises to 1.0: all are the same bucket.
    (Prometheus anchors label regexes, as fullmatch does.)"""
    pattern = le_pattern(written)
    for text in matches:
        assert re.fullmatch(pattern, text), (pattern, text)
    for text in misses:
        assert not re.fullmatch(pattern, text), (pattern, text)


BASE = "slos:\n  - name: API\n    window: 30d\n"
MISTAKES = [
    ("slos: {}\n", "bot.yml:1: slos: must be a list of SLOs"),
    ("slos:\n  - name: API\n    target: 0.999\n", "bot.yml:2: slos[0].window: missing"),
    (BASE + "    target: 0.999\n    sly: x\n", "bot.yml:5: slos[0].sly: unknown key 'sly' (did you mean 'sli'?)"),
    (BASE + "    target: 99.9\n    sli: sum(rate(a[30d])) / sum(rate(b[30d]))\n", "slos[0].target: is a share between 0 and 1: write 0.999 for 99.9%"),
    (BASE + "    target: 0.999\n    window: 30m\n", "written twice"),
    ("slos:\n  - name: API\n    window: 30m\n    target: 0.99\n    good: a\n    total: b\n", "bot.yml:3: slos[0].window: 30m is too short"),
    ("slos:\n  - name: API\n    window: 30 days\n    target: 0.99\n", "bot.yml:3: slos[0].window: '30 days' is not a window"),
    (BASE + "    target: 0.999\n", "slos[0].sli: an SLO needs sli:, or good: and total:, or errors: and total:"),
    (BASE + "    target: 0.999\n    good: sum(rate(a[{{window}}]))\n", "bot.yml:2: slos[0].total: an SLO needs"),
    (BASE + "    target: 0.999\n    good: a\n    errors: b\n    total: c\n", "slos[0].sli: an SLO needs"),
    (BASE + "    target: 0.999\n    sli: x\n    total: y\n", "bot.yml:5: slos[0].sli: an SLO has sli:, or good: and total:"),
    (BASE + "    target: 0.999\n    sli: sum(rate(a[5m])) / sum(rate(b[30d]))\n", "bot.yml:5: slos[0].sli: the range [5m] is not the SLO's window 30d"),
    (BASE + "    target: 0.999\n    sli: sum(rate(a[30d:1m])) / sum(rate(b[30d]))\n", "slos[0].sli: the subquery [30d:1m] cannot be rewritten"),
    (BASE + "    target: 0.999\n    sli: 1 - sum(rate(e[30d])) / sum(rate(b[30d]))\n", "slos[0].sli: must be a ratio of good events to all events"),
    (BASE + "    target: 0.999\n    sli: sum(rate(a[30d]))\n", "slos[0].sli: must be a ratio"),
    (BASE + "    target: 0.999\n    good: sum(a)\n    total: sum(rate(b[{{window}}]))\n", "slos[0].good: has no range: write the range as [{{window}}]"),
    (BASE + "    target: 0.5\n    sli: histogram_quantile(0.99, sum(rate(x_bucket[30d])) by (le, job))\n", "slos[0].sli: the histogram must be rate(x_bucket[window]), optionally summed by (le) alone"),
    (BASE + "    target: 0.5\n    sli: histogram_quantile(0.99, rate(x_bucket[30d])) > 0.5\n", "slos[0].sli: uses histogram_quantile in a form that cannot be converted"),
    (BASE + "    target: 0.5\n    sli: histogram_quantile(1.5, rate(x_bucket[30d]))\n", "slos[0].sli: the quantile 1.5 must be between 0 and 1"),
    (BASE + "    target: fast\n    sli: histogram_quantile(0.99, rate(x_bucket[30d]))\n", "slos[0].target: for a latency quantile, the target is the threshold"),
    (BASE + "    target: 0.3\n    buckets: [0.1, 0.25, 0.5]\n    sli: histogram_quantile(0.99, rate(x_bucket[30d]))\n", "bot.yml:4: slos[0].target: 0.3 is not one of the histogram's buckets (0.1, 0.25, 0.5)"),
    (BASE + "    target: 0.5\n    sli: histogram_quantile(0.99, rate(x_bucket{le=\"1\"}[30d]))\n", "slos[0].sli: selects on le itself"),
    (BASE + "    target: 0.999\n    buckets: [1]\n    good: a[{{window}}]\n    total: b[{{window}}]\n", "slos[0].buckets: is for a histogram_quantile SLI only"),
    (BASE + "    target: 0.999\n    good: histogram_quantile(0.9, a[{{window}}])\n    total: b[{{window}}]\n", "slos[0].good: counts events; a histogram_quantile is not a count"),
    (BASE + "    target: 0.999\n    service: Checkout API\n    good: a[30d]\n    total: b[30d]\n", "slos[0].service: incidents record services slugged: write it as 'checkout-api'"),
    (BASE + "    target: 0.999\n    runbook_url: wiki/checkout\n    good: a[30d]\n    total: b[30d]\n", "slos[0].runbook_url: 'wiki/checkout' is not an http(s) URL"),
    (BASE + "    target: 0.999\n    min_events: 0\n    good: a[30d]\n    total: b[30d]\n", "slos[0].min_events: must be a positive number of events"),
    (BASE + "    target: 0.999\n    good: a[30d]\n    total: b[30d]\n  - name: api\n    window: 30d\n    target: 0.99\n    good: a[30d]\n    total: b[30d]\n", "bot.yml:7: slos[1].name: 'api' is a second SLO with the slug 'api'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_each_slo_mistake_is_one_line_naming_its_key(capsys, tmp_path, text, expected):
    """`config check` fails with status 2 and one FILE:LINE: slos[i].key: reason line."""
    path = tmp_path / "bot.yml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(str(tmp_path)) and expected.replace("bot.yml", "") in line.replace("bot.yml", "")
    if expected.startswith("bot.yml:"):
        assert line.startswith(f"{tmp_path}/{expected.split(' ', 1)[0]}"), line


def test_config_check_summarises_the_slos(capsys, tmp_path):
    """The summary shows each SLO's objective, budget in minutes, the queries and the conversion."""
    path = tmp_path / "bot.yml"
    path.write_text(SEED + "  - name: Scaled\n    good: a[{{window}}]\n    total: b[{{window}}]\n"
                    "    target: 0.99\n    window: 720m\n    min_events: 50\n")  # fmt: skip
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    for line in (
        "slos:",
        "  API Availability (api-availability, service checkout-api):",
        "    objective 99.9% over 30d, error budget 43.2 minutes",
        '    good: sum(rate(http_requests_total{code!~"5.."}[{{window}}]))',
        "    runbook: https://runbooks.example.com/checkout",
        "  API Latency P99 (api-latency-p99, service api-latency-p99):",
        "    objective 99% over 30d, error budget 432 minutes",
        "    from histogram_quantile(0.99) <= 0.5: requests in http_request_duration_seconds_bucket le=0.5 "
        "(assumed a bucket boundary; SLOBucketMissing says if not) over http_request_duration_seconds_count",
        "    burn windows scaled x0.01667: 1m/5s, 6m/30s, 24m/2m, 72m/6m",
        "    alerts need at least 50 events in the short window",
    ):
        assert line in out.splitlines(), line


def test_no_slos_is_the_default(capsys, tmp_path):
    assert policy_from_mapping({}).slos == ()
    path = tmp_path / "bot.yml"
    path.write_text("resolve_by: anyone\n")
    assert main(["config", "check", str(path)]) == 0
    assert "slos: none  (default)" in capsys.readouterr().out.splitlines()


def test_slo_rules_writes_the_rule_file_from_the_config(capsys, tmp_path, monkeypatch):
    """`slo rules` reads INCIDENT_BOT_CONFIG (or --config) and prints the rules, or writes --output."""
    path = tmp_path / "bot.yml"
    path.write_text(SEED)
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(path))
    assert main(["slo", "rules"]) == 0
    printed = capsys.readouterr().out
    groups = yaml.safe_load(printed)["groups"]
    assert [g["name"] for g in groups] == ["slo-api-availability", "slo-api-latency-p99"]
    alerts = [r for r in groups[0]["rules"] if "alert" in r]
    assert [(a["labels"]["severity"], a["labels"]["long"], a["labels"]["short"]) for a in alerts] == [
        ("page", "1h", "5m"),
        ("page", "6h", "30m"),
        ("ticket", "1d", "2h"),
        ("ticket", "3d", "6h"),
    ]
    assert all(a["labels"]["runbook_url"] == "https://runbooks.example.com/checkout" for a in alerts)
    assert all("for" not in r for g in groups for r in g["rules"])
    assert not any("histogram_quantile" in r["expr"] for g in groups for r in g["rules"])
    monkeypatch.delenv("INCIDENT_BOT_CONFIG")
    out = tmp_path / "rules.yml"
    assert main(["slo", "rules", "--config", str(path), "--output", str(out)]) == 0
    assert out.read_text() == printed
    assert capsys.readouterr().err == f"wrote 2 SLOs' rules to {out}\n"


def test_slo_rules_without_a_config_or_slos_or_with_a_mistake_exits_2(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("INCIDENT_BOT_CONFIG", raising=False)
    assert main(["slo", "rules"]) == 2
    assert "needs --config FILE (or INCIDENT_BOT_CONFIG" in capsys.readouterr().err
    path = tmp_path / "bot.yml"
    path.write_text("resolve_by: anyone\n")
    assert main(["slo", "rules", "--config", str(path)]) == 2
    assert "has no slos: section" in capsys.readouterr().err
    path.write_text(SEED.replace("target: 0.999", "target: 99.9"))
    assert main(["slo", "rules", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:6: slos[0].target: is a share between 0 and 1")


def test_the_readme_documents_every_slo_key_and_the_command():
    for key in SLO_KEYS:
        assert re.search(rf"^\s*(- )?{key}:", README, re.MULTILINE), key
    assert "incident-bot slo rules" in README and "--output" in README and "--config" in README
