"""The generated rules, proven with Prometheus's own promtool (Debian's `prometheus` package):
`promtool check rules` accepts them, and `promtool test rules` with synthetic counters shows each
burn-rate pair firing on a total outage within the SRE Workbook's detection time (plus one
evaluation interval), and staying quiet at a burn just under its threshold (firing just over it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import load_config_file
from bot.slo_cli import rules_yaml

PROMTOOL = shutil.which("promtool")

# The SRE Workbook's table for a 30-day window, written out again here (not read from bot.core.slo)
# so the rules are held to the book, not to themselves: (severity, long s, short s, burn rate).
TABLE = (
    ("page", 3600, 300, 14.4),
    ("page", 6 * 3600, 1800, 6.0),
    ("ticket", 86400, 7200, 3.0),
    ("ticket", 3 * 86400, 6 * 3600, 1.0),
)

SEED = """\
slos:
  - name: API Availability
    service: checkout-api
    sli: |
      ( sum(rate(http_requests_total{code!~"5.."}[30d])) / sum(rate(http_requests_total[30d])) )
    target: 0.999
    window: 30d
    runbook_url: https://runbooks.example.com/checkout
  - name: API Latency P99
    sli: |
      histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[30d]) )
    target: 0.5
    window: 30d
"""

EXPLICIT = """\
slos:
  - name: Checkout errors
    errors: sum(rate(http_requests_total{code=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total[{{window}}]))
    target: 0.995
    window: 30d
  - name: Checkout good
    service: checkout-api
    good: sum(rate(http_requests_total{code!~"5.."}[{{ window }}]))
    total: sum(rate(http_requests_total[{{window}}]))
    target: 0.99
    window: 28d
  - name: Search latency
    sli: histogram_quantile(0.95, sum by (le) (rate(search_seconds_bucket{job="search"}[7d])))
    target: 0.25
    buckets: [0.1, 0.25, 0.5, 1]
    window: 7d
    min_events: 20
"""

# A window of minutes, for tests: every burn window scales with it (12h / 30d = 1/60: 1h -> 1m, 5m -> 5s).
SCALED = """\
slos:
  - name: Checkout scaled
    errors: sum(rate(http_requests_total{code=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total[{{window}}]))
    target: 0.99
    window: 720m
"""


@pytest.fixture
def promtool():
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool must be installed under CI=true (.ci/run installs Debian's prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return PROMTOOL


def generated(tmp_path: Path, config: str, only: str | None = None) -> tuple[Path, list[dict]]:
    """The rule file `incident-bot slo rules` writes for `config` (for one SLO if `only` names it,
    so another SLO over the same series does not add its alerts)."""
    path = tmp_path / "bot.yml"
    path.write_text(config)
    slos = load_config_file(path)["policy"].slos
    if only is not None:
        slos = tuple(s for s in slos if s.slug == only)
        assert slos, only
    rules = tmp_path / "rules.yml"
    rules.write_text(rules_yaml(slos, str(path)))
    return rules, yaml.safe_load(rules.read_text())["groups"]


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=300, check=False)


def readme_slos() -> str:
    """The README's `slos:` example."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL) if b.startswith("slos:")]
    return block


@pytest.mark.parametrize("config", [SEED, EXPLICIT, readme_slos()], ids=["seed", "explicit", "readme"])
def test_promtool_check_rules_accepts_the_generated_file(promtool, tmp_path, config):
    """`promtool check rules` passes on the rules for the seed's SLOs and for the explicit forms,
    with 7 recording rules and 4 burn alerts per SLO, a bucket check per latency SLO and 4
    traffic recordings for the SLO with min_events."""
    rules, groups = generated(tmp_path, config)
    done = run(promtool, "check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    quantiles = config.count("histogram_quantile")
    guarded = len(re.findall(r"^\s*min_events:", config, re.MULTILINE))
    expected = 7 * len(groups) + 4 * len(groups) + quantiles + 4 * guarded
    assert f"SUCCESS: {expected} rules found" in done.stdout


def test_promtool_check_rules_refuses_a_broken_file(promtool, tmp_path):
    """The check can fail: a rule file with a bad expression is refused (so a pass means something)."""
    rules, _ = generated(tmp_path, SEED)
    rules.write_text(rules.read_text().replace("sum(rate(http_requests_total[5m]))", "sum(rate(", 1))
    assert run(promtool, "check", "rules", str(rules)).returncode != 0


# --- promtool test rules ------------------------------------------------------------------------


def series(increments: list[float], start: float = 1_000_000) -> str:
    """Explicit values, compressed: each run of equal steps becomes `a+bxn` (n+1 values)."""
    values = [start]
    for step in increments:
        values.append(values[-1] + step)
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        step = values[i + 1] - values[i] if i + 1 < len(values) else 0
        while j + 1 < len(values) and abs((values[j + 1] - values[j]) - step) < 1e-9:
            j += 1
        parts.append(f"{values[i]:.6f}+{step:.6f}x{j - i}")
        i = j + 1
    return " ".join(parts)


def burn_alerts(groups: list[dict], slo: str) -> dict[tuple[str, str], dict]:
    """The generated burn alerts of one SLO by (long, short)."""
    (group,) = [g for g in groups if g["name"] == f"slo-{slo}"]
    return {
        (r["labels"]["long"], r["labels"]["short"]): r
        for r in group["rules"]
        if r.get("alert") == "SLOErrorBudgetBurn"
    }


def expected(alerts: list[dict]) -> list[dict]:
    return [{"exp_labels": a["labels"], "exp_annotations": a["annotations"]} for a in alerts]


def duration(seconds: float) -> str:
    ms = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def promtool_test(promtool: str, tmp_path: Path, rules: Path, interval: float, tests: list[dict]) -> None:
    spec = tmp_path / "tests.yml"
    spec.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(rules)],
                "evaluation_interval": duration(interval),
                "tests": tests,
            },
            sort_keys=False,
            width=1000,
        )
    )
    done = run(promtool, "test", "rules", str(spec))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]
    assert "SUCCESS" in done.stdout


OUTAGE_CASES = [
    # (config, SLO slug, window / 30d, objective, evaluation and scrape interval in seconds)
    pytest.param(SEED, "api-availability", 1.0, 0.999, 60, id="seed-ratio-30d"),
    pytest.param(SCALED, "checkout-scaled", 1 / 60, 0.99, 2, id="errors-total-scaled-720m"),
]
STEADY_CASES = [
    # (config, SLO slug, window / 30d, objective)
    pytest.param(SEED, "api-availability", 1.0, 0.999, id="seed-ratio-30d"),
    pytest.param(EXPLICIT, "checkout-errors", 1.0, 0.995, id="errors-total-30d"),
    pytest.param(EXPLICIT, "checkout-good", 28 / 30, 0.99, id="good-total-28d"),
    pytest.param(SCALED, "checkout-scaled", 1 / 60, 0.99, id="errors-total-scaled-720m"),
]
METRIC = "http_requests_total"


def traffic(minutes_or_steps: int, error_share: float, per_step: float = 100.0) -> dict[str, list[float]]:
    return {
        "200": [per_step * (1 - error_share)] * minutes_or_steps,
        "500": [per_step * error_share] * minutes_or_steps,
    }


def input_series(metric: str, steps: dict[str, list[float]]) -> list[dict]:
    return [
        {"series": f'{metric}{{code="{code}"}}', "values": series(increments)}
        for code, increments in steps.items()
    ]


@pytest.mark.parametrize(("config", "slo", "scale", "objective", "interval"), OUTAGE_CASES)
def test_a_total_outage_fires_each_pair_within_its_detection_time(
    promtool, tmp_path, config, slo, scale, objective, interval
):
    """After the longest window of healthy traffic, every request fails: each pair fires at the first
    evaluation at or after long x burn rate x budget (the Workbook's detection time for a 100% error
    ratio), so within that time plus one evaluation interval, and not one evaluation before."""
    rules, groups = generated(tmp_path, config, only=slo)
    alerts = burn_alerts(groups, slo)
    budget = 1 - objective
    pairs = [
        (alerts[(duration(long * scale), duration(short * scale))], long * scale * burn * budget)
        for _, long, short, burn in TABLE
    ]
    healthy = int(3 * 86400 * scale / interval) + 10  # the longest window, full of good requests
    after = int(max(detect for _, detect in pairs) / interval) + 2
    steps = {"200": [100.0] * healthy + [0.0] * after, "500": [0.0] * healthy + [100.0] * after}
    checks = []
    for k in range(after + 1):  # every evaluation from the outage's start until all pairs fired
        firing = [alert for alert, detect in pairs if k * interval >= detect]
        checks.append(
            {
                "eval_time": duration((healthy + k) * interval),
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": expected(firing),
            }
        )
    assert not checks[0]["exp_alerts"] and len(checks[-1]["exp_alerts"]) == 4
    test = {
        "interval": duration(interval),
        "input_series": input_series(METRIC, steps),
        "alert_rule_test": checks,
    }
    promtool_test(promtool, tmp_path, rules, interval, [test])


@pytest.mark.parametrize(("config", "slo", "scale", "objective"), STEADY_CASES)
@pytest.mark.parametrize("pair", range(4), ids=["1h-5m", "6h-30m", "1d-2h", "3d-6h"])
def test_a_burn_just_under_a_pairs_threshold_does_not_fire_it_and_just_over_does(
    promtool, tmp_path, config, slo, scale, objective, pair
):
    """A steady burn at 0.97x the pair's threshold never fires that pair (only the pairs with lower
    thresholds); at 1.03x it fires. Checked when the short window is full, when the long one is, and
    later. The burn is steady from the first sample, so every window sees the same ratio however full
    it is; samples every short/5 keep each run to about 70 evaluations."""
    rules, groups = generated(tmp_path, config, only=slo)
    alerts = burn_alerts(groups, slo)
    by_pair = [alerts[(duration(long * scale), duration(short * scale))] for _, long, short, _ in TABLE]
    _, long, short, burn = TABLE[pair]
    step = short * scale / 5
    length = round(long / short * 5) + 6
    times = [6, round(long / short * 5) + 1, length]
    tests = []
    for factor in (0.97, 1.03):
        share = factor * burn * (1 - objective)
        firing = [a for a, (_, _, _, b) in zip(by_pair, TABLE, strict=True) if b < factor * burn]
        assert (by_pair[pair] in firing) == (factor > 1)
        tests.append(
            {
                "interval": duration(step),
                "input_series": input_series(METRIC, traffic(length, share)),
                "alert_rule_test": [
                    {
                        "eval_time": duration(t * step),
                        "alertname": "SLOErrorBudgetBurn",
                        "exp_alerts": expected(firing),
                    }
                    for t in times
                ],
            }
        )
    promtool_test(promtool, tmp_path, rules, step, tests)


LATENCY = "http_request_duration_seconds"


def histogram(steps: int, slow_share: float, buckets: tuple[str, ...]) -> list[dict]:
    """100 requests a step; `slow_share` of them over 0.5 s (under 1 s), the rest under 0.25 s."""
    fast = 100 * (1 - slow_share)
    rows = [
        {
            "series": f'{LATENCY}_bucket{{le="{le}"}}',
            "values": series([fast if float(le) < 1 else 100.0] * steps),
        }
        for le in buckets
    ]
    rows.append({"series": f'{LATENCY}_bucket{{le="+Inf"}}', "values": series([100.0] * steps)})
    rows.append({"series": f"{LATENCY}_count", "values": series([100.0] * steps)})
    return rows


def test_the_converted_latency_slo_counts_the_thresholds_bucket(promtool, tmp_path):
    """The seed's p99 <= 0.5 s SLO: with 1.03x of 14.4 x 1% of requests slower than 0.5 s every pair
    fires; with 0.97x the 1h/5m page does not. Buckets written 0.25, 0.5, 1.0 (as Python's client
    writes them); only le="0.5" counts as good."""
    rules, groups = generated(tmp_path, SEED, only="api-latency-p99")
    alerts = burn_alerts(groups, "api-latency-p99")
    by_pair = [alerts[(duration(long), duration(short))] for _, long, short, _ in TABLE]
    tests = [
        {
            "interval": "1m",
            "input_series": histogram(70, factor * 14.4 * 0.01, ("0.25", "0.5", "1.0")),
            "alert_rule_test": [
                {"eval_time": "65m", "alertname": "SLOErrorBudgetBurn", "exp_alerts": expected(firing)},
                {"eval_time": "65m", "alertname": "SLOBucketMissing", "exp_alerts": []},
            ],
        }
        for factor, firing in ((1.03, by_pair), (0.97, by_pair[1:]))
    ]
    promtool_test(promtool, tmp_path, rules, 60, tests)


def test_a_latency_threshold_that_is_no_bucket_raises_slo_bucket_missing(promtool, tmp_path):
    """Where the histogram has no le="0.5" bucket the burn alerts cannot fire, so SLOBucketMissing
    does (a ticket) instead of the SLO going silently unwatched."""
    rules, groups = generated(tmp_path, SEED, only="api-latency-p99")
    (group,) = groups
    (missing,) = [r for r in group["rules"] if r.get("alert") == "SLOBucketMissing"]
    test = {
        "interval": "1m",
        "input_series": histogram(70, 0.5, ("0.25", "1")),
        "alert_rule_test": [
            {"eval_time": "65m", "alertname": "SLOBucketMissing", "exp_alerts": expected([missing])},
            {"eval_time": "65m", "alertname": "SLOErrorBudgetBurn", "exp_alerts": []},
        ],
    }
    promtool_test(promtool, tmp_path, rules, 60, [test])


GUARDED = """\
slos:
  - name: Idle API
    errors: sum(rate(http_requests_total{code=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total[{{window}}]))
    target: 0.999
    window: 30d
    min_events: 100
"""


@pytest.mark.parametrize(
    ("guarded", "per_request_step", "fires"),
    [(False, 5, True), (True, 5, False), (True, 1, True)],
    ids=["no-guard-trickle", "min-events-100-trickle", "min-events-100-busy"],
)
def test_min_events_keeps_a_trickle_of_errors_on_an_idle_service_from_paging(
    promtool, tmp_path, guarded, per_request_step, fires
):
    """One request every 5 minutes, each failing: without min_events every pair fires; with
    min_events: 100 (fewer than 100 requests in every short window) none does. At 100 failing
    requests a minute the guarded SLO fires every pair (the guard is not simply always closed)."""
    config = GUARDED if guarded else GUARDED.replace("    min_events: 100\n", "")
    rules, groups = generated(tmp_path, config)
    alerts = list(burn_alerts(groups, "idle-api").values())
    size = 1.0 if per_request_step == 5 else 100.0
    failing = [size if minute % per_request_step == per_request_step - 1 else 0.0 for minute in range(400)]
    test = {
        "interval": "1m",
        "input_series": input_series(METRIC, {"200": [0.0] * 400, "500": failing}),
        "alert_rule_test": [
            {
                "eval_time": "395m",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": expected(alerts) if fires else [],
            }
        ],
    }
    promtool_test(promtool, tmp_path, rules, 60, [test])
