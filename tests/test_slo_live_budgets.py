"""Live error budgets: `/incident slo` over signed HTTP and `incident-bot slo status [--json]` ask
a strict fake Prometheus (instant queries pinned to one `time`), say plainly when it cannot
answer (refused, timed out, not 200, `status: error`) and then show the incident-time budget,
labelled, never an earlier live number; an exhausted budget is told once per window in
`slo_channel`, with two replicas beating."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from bot.cli import main
from bot.config import load_config_file
from bot.core.errors import PrometheusUnavailable
from bot.core.oncall_events import BudgetExhaustedNoticed, BudgetExhaustedSent
from bot.core.slo import make_slo
from bot.core.slo_budget import (
    Reading,
    burn_query,
    burn_windows,
    due_exhausted_notices,
    live_status,
    sli_query,
)
from bot.prometheus import PrometheusClient
from bot.scheduler import heartbeat
from bot.server import build_bot
from bot.store.oncall_events import OnCallEventStore
from tests.clock import DrivenClock
from tests.fake_prometheus import FakePrometheus, Scalar
from tests.harness import ALICE, Harness, start_harness
from tests.test_manifest import manifest_bot_scopes

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CONFIG = """\
slos:
  - name: API Availability
    service: checkout-api
    sli: |
      ( sum(rate(http_requests_total{code!~"5.."}[30d])) / sum(rate(http_requests_total[30d])) )
    target: 0.999
    window: 30d
  - name: Search Errors
    service: search
    errors: sum(rate(search_errors_total[{{window}}]))
    total: sum(rate(search_requests_total[{{window}}]))
    target: 0.99
    window: 30d
slo_channel: "#releases"
"""
LIVE_TEXT = "21.6 of 43.2 min"


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "bot.yml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def slos(config_path):
    return load_config_file(config_path)["policy"].slos


@pytest.fixture
def prometheus():
    with FakePrometheus() as fake:
        yield fake


def teach(fake: FakePrometheus, slo, sli: float | None, ratios: dict[str, float | None]) -> None:
    """What the fake answers for one SLO's SLI and burn windows."""
    fake.answer(sli_query(slo), sli)
    for name, window in burn_windows(slo):
        fake.answer(burn_query(slo, window), ratios.get(name))


def healthy(fake: FakePrometheus, slos) -> None:
    availability, search = slos
    # half of 99.9%'s budget spent; burning 14.4x over 1h, 6x over 6h
    teach(fake, availability, 0.9995, {"1h": 0.0144, "6h": 0.006, "1d": 0.001, "3d": 0.0005})
    teach(fake, search, 0.995, {"1h": 0.01, "6h": 0.0, "1d": 0.0, "3d": None})


@pytest.fixture
def clock():
    return DrivenClock(T0)


def harness_for(database_url, config_path, clock, prometheus_url: str | None) -> Harness:
    policy = load_config_file(config_path)["policy"]
    h = start_harness(
        database_url, manifest_bot_scopes(), policy=policy, clock=clock, prometheus_url=prometheus_url
    )
    h.slack.add_channel("releases", members=[ALICE])
    return h


@pytest.fixture
def h(database_url, config_path, clock, prometheus):
    harness = harness_for(database_url, config_path, clock, prometheus.root_url)
    yield harness
    harness.close()


def said(h: Harness, text: str) -> str:
    reply = h.command(text)
    assert reply.status == 200
    return reply.text


# --- the core's arithmetic --------------------------------------------------------------------------


def test_budget_left_is_the_unspent_share_of_one_minus_objective_times_window():
    slo = make_slo(
        name="x",
        target=0.999,
        window="30d",
        good="sum(rate(ok[{{window}}]))",
        total="sum(rate(all[{{window}}]))",
    )
    half = live_status(slo, Reading(0.9995, {"1h": 0.0144, "6h": None}))
    assert half["budget_minutes"] == 43.2
    assert half["budget_left_minutes"] == 21.6 and half["budget_left_percent"] == 50.0
    assert half["burn_rates"] == {"1h": 14.4, "6h": None} and half["exhausted"] is False
    gone = live_status(slo, Reading(0.998, {}))
    assert (
        gone["budget_left_minutes"] == -43.2 and gone["budget_left_percent"] == -100.0 and gone["exhausted"]
    )
    unknown = live_status(slo, Reading(None, {}))
    assert unknown["budget_left_minutes"] is None and unknown["exhausted"] is False


def test_burn_windows_are_the_pairs_long_windows_scaled_with_the_slo():
    short = make_slo(
        name="x",
        target=0.99,
        window="288m",
        good="sum(rate(ok[{{window}}]))",
        total="sum(rate(all[{{window}}]))",
    )
    assert [(n, w.total_seconds()) for n, w in burn_windows(short)] == [
        ("1h", 24.0),
        ("6h", 144.0),
        ("1d", 576.0),
        ("3d", 1728.0),
    ]
    assert "[24s]" in burn_query(short, burn_windows(short)[0][1])
    assert "[288m]" in sli_query(short) or "[4h48m]" in sli_query(short) or "[17280s]" in sli_query(short)


def test_an_exhausted_budget_is_due_again_only_a_window_later():
    status = {"slug": "x", "exhausted": True}
    windows = {"x": timedelta(days=30)}
    assert due_exhausted_notices([status], windows, {}, T0) == [status]
    assert due_exhausted_notices([status], windows, {"x": T0}, T0 + timedelta(days=29)) == []
    assert due_exhausted_notices([status], windows, {"x": T0}, T0 + timedelta(days=30)) == [status]
    assert due_exhausted_notices([{**status, "exhausted": False}], windows, {}, T0) == []


# --- the client against the strict fake ----------------------------------------------------------------


def test_client_reads_vectors_scalars_empty_and_nan_at_the_instant_given(prometheus):
    client = PrometheusClient(prometheus.root_url)
    prometheus.answer("v", 0.25)
    prometheus.answer("s", Scalar(3.0))
    prometheus.answer("empty", None)
    prometheus.answer("nan", math.nan)
    assert client.query("v", T0) == 0.25
    assert client.query("s", T0) == 3.0
    assert client.query("empty", T0) is None
    assert client.query("nan", T0) is None
    assert {r.time for r in prometheus.requests} == {f"{T0.timestamp():.3f}"}
    assert {(r.method, r.path) for r in prometheus.requests} == {("GET", "/api/v1/query")}


@pytest.mark.parametrize("status", [400, 422, 503])
def test_client_says_prometheus_refused_on_an_error_status(prometheus, status):
    prometheus.answer("v", 1.0)
    prometheus.fail_next(status)
    with pytest.raises(
        PrometheusUnavailable, match=f"refused the query: the fake was told to fail with {status}"
    ):
        PrometheusClient(prometheus.root_url).query("v", T0)


def test_client_says_unreachable_when_refused_or_too_slow(prometheus):
    prometheus.answer("v", 1.0)
    prometheus.hang_next(1.0)
    with pytest.raises(PrometheusUnavailable, match="cannot be reached: timed out"):
        PrometheusClient(prometheus.root_url, timeout=0.2).query("v", T0)
    url = prometheus.root_url
    prometheus.stop()
    with pytest.raises(PrometheusUnavailable, match="cannot be reached: .*refused"):
        PrometheusClient(url).query("v", T0)


# --- /incident slo over signed HTTP -----------------------------------------------------------------


def test_slo_command_shows_each_slos_live_budget_and_burn_rates(h, prometheus, slos):
    healthy(prometheus, slos)
    text = said(h, "slo")
    assert "live from Prometheus" in text and text.count("\n• ") == 2
    assert "*API Availability* (checkout-api, 99.9% over 30d): SLI 99.9500%" in text
    assert f"budget left {LIVE_TEXT} (50.0%)" in text
    assert "burn rate 1h: 14.4x, 6h: 6.0x, 1d: 1.0x, 3d: 0.5x" in text
    assert (
        "*Search Errors* (search, 99% over 30d): SLI 99.5000%, budget left 216.0 of 432.0 min (50.0%)" in text
    )
    assert "3d: no data" in text
    assert {r.time for r in prometheus.requests} == {f"{T0.timestamp():.3f}"}


def test_slo_command_names_one_slo_or_says_which_exist(h, prometheus, slos):
    healthy(prometheus, slos)
    one = said(h, "slo search")
    assert "Search Errors" in one and "API Availability" not in one
    assert "API Availability" in said(h, "slo api availability")
    assert (
        said(h, "slo nope") == 'There is no SLO called "nope". The SLOs are: API Availability, Search Errors.'
    )


@pytest.mark.parametrize("failure", ["down", "503", "timeout-free error status"])
def test_when_prometheus_cannot_answer_the_command_says_so_and_shows_no_stale_number(
    h, prometheus, slos, failure
):
    healthy(prometheus, slos)
    assert LIVE_TEXT in said(h, "slo")
    if failure == "down":
        prometheus.stop()
    elif failure == "503":
        prometheus.fail_next(503, count=50)
    else:
        prometheus.fail_next(422, count=50)
    text = said(h, "slo")
    assert "Prometheus is unavailable" in text
    assert ("cannot be reached" if failure == "down" else "refused the query") in text
    assert "the incident-time budget (from incident durations, not Prometheus)" in text
    assert LIVE_TEXT not in text and "SLI" not in text and "burn rate" not in text
    assert "budget left 43.2 of 43.2 min (100.0%)" in text  # no incidents: nothing spent


# --- incident-bot slo status --------------------------------------------------------------------------


def run_status(monkeypatch, capsys, config_path, database_url, prometheus_url, *flags) -> str:
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(config_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    if prometheus_url is None:
        monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    else:
        monkeypatch.setenv("PROMETHEUS_URL", prometheus_url)
    assert main(["slo", "status", *flags]) == 0
    return capsys.readouterr().out


def test_slo_status_json_has_the_documented_shape(
    monkeypatch, capsys, config_path, tmp_path, prometheus, slos
):
    healthy(prometheus, slos)
    out = run_status(
        monkeypatch, capsys, config_path, f"sqlite:///{tmp_path}/i.db", prometheus.root_url, "--json"
    )
    document = json.loads(out)
    assert set(document) == {"at", "source", "slos"} and document["source"] == "prometheus"
    assert datetime.fromisoformat(document["at"]).tzinfo is not None
    first = document["slos"][0]
    assert first == {
        "name": "API Availability",
        "slug": "api-availability",
        "service": "checkout-api",
        "objective": 0.999,
        "window": "30d",
        "sli": 0.9995,
        "budget_minutes": 43.2,
        "budget_left_minutes": 21.6,
        "budget_left_percent": 50.0,
        "burn_rates": {"1h": 14.4, "6h": 6.0, "1d": 1.0, "3d": 0.5},
        "exhausted": False,
    }
    text = run_status(monkeypatch, capsys, config_path, f"sqlite:///{tmp_path}/i.db", prometheus.root_url)
    assert f"budget left {LIVE_TEXT} (50.0%)" in text


def test_slo_status_falls_back_to_incident_time_labelled(monkeypatch, capsys, config_path, tmp_path):
    out = run_status(monkeypatch, capsys, config_path, f"sqlite:///{tmp_path}/i.db", None, "--json")
    document = json.loads(out)
    assert document["source"] == "incidents" and document["error"] == "PROMETHEUS_URL is not set"
    assert [s["sli"] for s in document["slos"]] == [None, None]
    assert [s["burn_rates"] for s in document["slos"]] == [{}, {}]
    assert document["slos"][0]["budget_left_minutes"] == 43.2
    text = run_status(monkeypatch, capsys, config_path, f"sqlite:///{tmp_path}/i.db", "http://127.0.0.1:9")
    assert "Prometheus is unavailable" in text and "from incident durations, not Prometheus" in text


# --- the exhausted budget, told once per window ------------------------------------------------------


def beat(bot) -> None:
    heartbeat(bot.service, bot.queue, bot.settings.heartbeat_seconds)


def releases(h: Harness) -> list[str]:
    return [m.text for m in h.slack.channel_by_name("releases").messages]


def test_an_exhausted_budget_is_told_once_per_window_with_two_replicas(
    database_url, config_path, clock, prometheus, slos
):
    availability, search = slos
    teach(prometheus, availability, 0.998, {"1h": 0.002})  # twice the budget spent: exhausted
    teach(prometheus, search, 0.995, {})
    first = harness_for(database_url, config_path, clock, prometheus.root_url)
    second = build_bot(first.bot.settings, clock=clock)
    try:
        beat(first.bot)
        beat(second)
        first.bot.service.release_scheduler_lease()  # the other replica takes over
        clock.after(timedelta(minutes=5))
        beat(second)
        beat(first.bot)
        told = releases(first)
        assert len(told) == 1
        assert "*API Availability* (checkout-api) has spent its error budget" in told[0]
        assert "Freeze feature releases to checkout-api" in told[0]
        clock.after(timedelta(days=29))
        beat(second)
        assert len(releases(first)) == 1
        clock.after(timedelta(days=30, minutes=1))
        beat(second)
        assert len(releases(first)) == 2
        log = OnCallEventStore(first.bot.store.engine).load()
        noticed = [e.payload for e in log if isinstance(e.payload, BudgetExhaustedNoticed)]
        sent = [e.payload for e in log if isinstance(e.payload, BudgetExhaustedSent)]
        assert [n.slo for n in noticed] == ["api-availability", "api-availability"]
        assert sorted(s.key for s in sent) == sorted(n.key for n in noticed)
    finally:
        second.close()
        first.close()


def test_no_notice_while_prometheus_is_down(h, prometheus, slos):
    availability, search = slos
    teach(prometheus, availability, 0.998, {})
    teach(prometheus, search, 0.995, {})
    prometheus.stop()
    beat(h.bot)
    assert releases(h) == []
    assert not [
        e
        for e in OnCallEventStore(h.bot.store.engine).load()
        if isinstance(e.payload, BudgetExhaustedNoticed)
    ]
