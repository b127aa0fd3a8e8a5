"""The PagerDuty Events API v2 client against the strict fake on loopback, and the fake itself."""

from __future__ import annotations

import json
import logging
import socket
import threading
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.core.errors import ConfigError
from bot.pagerduty import (
    Backoff,
    Link,
    PagerDutyClient,
    Payload,
    Rejected,
    RetryLater,
    Sent,
    acknowledge,
    cut_summary,
    resolve,
    trigger,
)
from tests.fake_pagerduty import FakePagerDuty

KEY = "R0utingKeyOfTheTestIntegration42"
OTHER_KEY = "AnotherWellFormedKeyNobodyOwns00"
assert len(KEY) == len(OTHER_KEY) == 32


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with FakePagerDuty(routing_keys=[KEY]) as fake:
        yield fake


@pytest.fixture
def client(pagerduty: FakePagerDuty) -> PagerDutyClient:
    return PagerDutyClient(KEY, events_url=pagerduty.url, timeout=5)


def page(summary: str = "INC-42 Checkout is down (SEV1)") -> Payload:
    return Payload(summary=summary, source="incident-bot", severity="critical")


def post_raw(fake: FakePagerDuty, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(
        fake.url + "/v2/enqueue", data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def post_event(fake: FakePagerDuty, event: dict[str, Any]) -> tuple[int, Any]:
    return post_raw(fake, json.dumps(event).encode())


def refused_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the life cycle of one incident's alert -------------------------------------------------------


def test_trigger_acknowledge_resolve_move_the_incidents_alert_through_pagerdutys_states(pagerduty, client):
    """The incident key is the dedup_key: each event lands on the same alert, in order."""
    assert client.send(trigger("INC-42", page())) == Sent("INC-42")
    alert = pagerduty.alert("INC-42")
    assert (alert.status, alert.summary, alert.severity, alert.source) == (
        "triggered",
        "INC-42 Checkout is down (SEV1)",
        "critical",
        "incident-bot",
    )

    assert client.send(acknowledge("INC-42")) == Sent("INC-42")
    assert pagerduty.alert("INC-42").status == "acknowledged"

    assert client.send(resolve("INC-42")) == Sent("INC-42")
    assert pagerduty.alert("INC-42").status == "resolved"
    assert pagerduty.alert("INC-42").log == ["trigger", "acknowledge", "resolve"]

    events = pagerduty.events
    assert [(e["event_action"], e["dedup_key"]) for e in events] == [
        ("trigger", "INC-42"),
        ("acknowledge", "INC-42"),
        ("resolve", "INC-42"),
    ]
    assert "payload" in events[0] and "payload" not in events[1] and "payload" not in events[2]
    assert all(e["routing_key"] == KEY for e in events)


def test_a_trigger_carries_every_optional_field_in_pagerdutys_shape(pagerduty, client):
    payload = Payload(
        summary="INC-7 Search latency",
        source="incident-bot.example.com",
        severity="warning",
        timestamp=datetime(2026, 3, 8, 7, 30, 5, 250000, tzinfo=UTC),
        component="search",
        group="platform",
        event_class="incident",
        custom_details={"channel": "#inc-7-search-latency", "commander": "alice"},
    )
    link = Link("https://example.slack.com/archives/C123", "Incident channel")
    assert isinstance(client.send(trigger("INC-7", payload, links=[link])), Sent)
    (event,) = pagerduty.events
    assert event["payload"] == {
        "summary": "INC-7 Search latency",
        "source": "incident-bot.example.com",
        "severity": "warning",
        "timestamp": "2026-03-08T07:30:05.250+00:00",
        "component": "search",
        "group": "platform",
        "class": "incident",
        "custom_details": {"channel": "#inc-7-search-latency", "commander": "alice"},
    }
    assert event["links"] == [{"href": "https://example.slack.com/archives/C123", "text": "Incident channel"}]


def test_a_trigger_after_a_resolve_opens_a_new_alert_and_a_second_trigger_joins_the_open_one(
    pagerduty, client
):
    client.send(trigger("INC-9", page()))
    client.send(trigger("INC-9", page("INC-9 escalated to level 2")))
    assert len(pagerduty.alerts("INC-9")) == 1
    assert pagerduty.alert("INC-9").log == ["trigger", "trigger"]
    client.send(resolve("INC-9"))
    client.send(trigger("INC-9", page("INC-9 reopened")))
    first, second = pagerduty.alerts("INC-9")
    assert (first.status, second.status, second.summary) == ("resolved", "triggered", "INC-9 reopened")


def test_acknowledging_a_key_with_no_open_alert_is_accepted_and_changes_nothing(pagerduty, client):
    assert client.send(acknowledge("INC-404")) == Sent("INC-404")
    assert pagerduty.alert("INC-404") is None
    assert len(pagerduty.events) == 1


def test_pagerdutys_severity_is_the_callers_choice_and_an_unknown_one_fails_before_sending():
    assert Payload(summary="s", source="bot", severity="info").severity == "info"
    with pytest.raises(ValueError, match="critical"):
        Payload(summary="s", source="bot", severity="sev1")  # type: ignore[arg-type]


# --- answers the caller records ------------------------------------------------------------------


def test_a_400_is_rejected_with_pagerdutys_reasons_and_sent_only_once(pagerduty):
    client = PagerDutyClient(OTHER_KEY, events_url=pagerduty.url)
    result = client.send(trigger("INC-1", page()))
    assert isinstance(result, Rejected)
    assert result.status == 400
    assert result.errors == ("Invalid routing key",)
    assert "Event object is invalid" in result.reason
    assert [r.status for r in pagerduty.requests] == [400]
    assert pagerduty.events == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_retry_later_and_the_same_event_goes_through_afterwards(pagerduty, client, status):
    pagerduty.fail_next(status)
    result = client.send(trigger("INC-3", page()))
    assert isinstance(result, RetryLater)
    assert result.status == status
    assert result.delay == Backoff().first
    assert pagerduty.events == []
    assert client.send(trigger("INC-3", page()), attempt=1) == Sent("INC-3")
    assert pagerduty.alert("INC-3").status == "triggered"


def test_a_429_is_retry_later_with_a_delay_that_grows_per_attempt_up_to_a_cap(pagerduty, client):
    pagerduty.fail_next(429, count=4)
    delays = [client.send(acknowledge("INC-5"), attempt=n) for n in (0, 1, 2, 10)]
    assert all(isinstance(d, RetryLater) and d.status == 429 for d in delays)
    assert [d.delay for d in delays] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(minutes=5),
    ]
    assert pagerduty.events == []


def test_a_retry_after_header_sets_the_delay(pagerduty, client):
    pagerduty.fail_next(429, retry_after=7)
    result = client.send(resolve("INC-5"))
    assert isinstance(result, RetryLater) and result.delay == timedelta(seconds=7)


def test_a_refused_connection_is_retry_later():
    client = PagerDutyClient(KEY, events_url=f"http://127.0.0.1:{refused_port()}", timeout=5)
    result = client.send(trigger("INC-6", page()))
    assert isinstance(result, RetryLater)
    assert result.status is None
    assert "refused" in result.reason.lower()


def test_no_answer_within_the_timeout_is_retry_later():
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = PagerDutyClient(KEY, events_url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        result = client.send(trigger("INC-6", page()))
    assert isinstance(result, RetryLater)
    assert "timed out" in result.reason


@pytest.mark.parametrize("status", [301, 302, 303, 307])
def test_a_redirect_is_not_followed_so_the_routing_key_stays_with_the_configured_host(pagerduty, status):
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(status)
            self.send_header("Location", pagerduty.url + "/v2/enqueue")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        client = PagerDutyClient(KEY, events_url=f"http://127.0.0.1:{server.server_address[1]}")
        result = client.send(trigger("INC-8", page()))
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(result, Rejected) and result.status == status
    assert pagerduty.requests == []


def test_a_dedup_key_longer_than_255_is_rejected_without_a_request(pagerduty, client):
    result = client.send(trigger("K" * 256, page()))
    assert isinstance(result, Rejected) and "255" in result.reason
    assert pagerduty.requests == []
    assert client.send(trigger("K" * 255, page())) == Sent("K" * 255)


# --- the routing key is a secret ----------------------------------------------------------------


def test_the_routing_key_never_appears_in_results_logs_or_exceptions(pagerduty, caplog):
    """Every outcome, including answers that echo the key back, at DEBUG."""
    caplog.set_level(logging.DEBUG)
    client = PagerDutyClient(KEY, events_url=pagerduty.url, timeout=0.3)
    echo = {"status": "invalid event", "message": f"bad key {KEY}", "errors": [f"routing_key {KEY} unknown"]}
    pagerduty.fail_next(400, body=echo)
    pagerduty.fail_next(500, body={"status": "error", "message": f"{KEY} broke us"})
    pagerduty.fail_next(429)
    results: list[object] = [
        client.send(trigger("INC-1", page())),  # 400 echoing the key
        client.send(trigger("INC-1", page())),  # 500 echoing the key
        client.send(trigger("INC-1", page())),  # 429
        client.send(trigger("INC-1", page())),  # sent
        client.send(trigger("K" * 300, page())),  # refused before sending
        PagerDutyClient(KEY, events_url=f"http://127.0.0.1:{refused_port()}").send(resolve("INC-1")),
    ]
    assert [type(r) for r in results] == [Rejected, RetryLater, RetryLater, Sent, Rejected, RetryLater]
    assert "[routing key redacted]" in results[0].reason and "[routing key redacted]" in results[0].errors[0]

    raised: list[BaseException] = []
    for bad_key in (KEY[:-1], KEY + "x", KEY[:-1] + "-"):
        with pytest.raises(ConfigError) as info:
            PagerDutyClient(bad_key)
        raised.append(info.value)
    with pytest.raises(ConfigError) as info:
        PagerDutyClient(KEY, events_url="ftp://events.example.com")
    raised.append(info.value)

    assert caplog.records, "the outcomes above are logged"
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    texts = [caplog.text, repr(client), *map(repr, results), *map(str, results)]
    texts += [f"{e!s} {e!r} {e.args}" for e in raised]
    for text in texts:
        assert KEY not in text and KEY[:-1] not in text


# --- the summary ---------------------------------------------------------------------------------


def test_a_summary_longer_than_1024_is_cut_on_a_character_boundary_and_sent(pagerduty, client):
    decomposed = "Caf" + "e\u0301"  # "Café" with a combining acute accent: five code points
    long_summary = "INC-11 " + decomposed * 400
    assert len(long_summary) > 1024
    assert client.send(trigger("INC-11", page(long_summary))) == Sent("INC-11")
    sent = pagerduty.alert("INC-11").summary
    assert len(sent) <= 1024 and sent.endswith("\u2026")
    kept = sent.removesuffix("\u2026")
    assert long_summary.startswith(kept)
    assert unicodedata.combining(long_summary[len(kept)]) == 0, "no accent is parted from its letter"


def test_cut_summary_keeps_short_text_and_whole_characters():
    exactly = "x" * 1024
    assert cut_summary(exactly) is exactly
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji of five code points
    cut = cut_summary("a" * 1020 + family)
    assert cut == "a" * 1020 + "\u2026"
    astral = cut_summary("\U0001f525" * 2000)  # no surrogate halves: Python counts code points
    assert astral == "\U0001f525" * 1023 + "\u2026"
    assert astral.encode("utf-8").decode("utf-8") == astral


# --- configuration -------------------------------------------------------------------------------


def test_from_environ_needs_the_routing_key_and_defaults_the_endpoint():
    assert PagerDutyClient.from_environ({}) is None
    assert PagerDutyClient.from_environ({"PAGERDUTY_ROUTING_KEY": "  "}) is None
    default = PagerDutyClient.from_environ({"PAGERDUTY_ROUTING_KEY": KEY})
    assert default is not None and default.enqueue_url == "https://events.pagerduty.com/v2/enqueue"
    local = PagerDutyClient.from_environ(
        {"PAGERDUTY_ROUTING_KEY": KEY, "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9/"}
    )
    assert local is not None and local.enqueue_url == "http://127.0.0.1:9/v2/enqueue"


# --- the fake is as strict as PagerDuty ----------------------------------------------------------


def test_the_fake_answers_pagerdutys_202_shape(pagerduty):
    status, reply = post_event(
        pagerduty,
        {
            "routing_key": KEY,
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "x", "severity": "info"},
        },
    )
    assert status == 202
    assert reply["status"] == "success" and reply["message"] == "Event processed"
    assert len(reply["dedup_key"]) == 32  # PagerDuty makes one up when none is sent
    assert pagerduty.alert(reply["dedup_key"]).status == "triggered"


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"routing_key": "short", "event_action": "resolve", "dedup_key": "k"}, "Length of 'routing_key'"),
        ({"routing_key": "-" * 32, "event_action": "resolve", "dedup_key": "k"}, "non-alphanumeric"),
        ({"routing_key": KEY, "event_action": "snooze", "dedup_key": "k"}, "'event_action' is invalid"),
        ({"routing_key": KEY, "event_action": "acknowledge"}, "'dedup_key' is required"),
        ({"routing_key": KEY, "event_action": "resolve", "dedup_key": "k" * 256}, "'dedup_key' is too long"),
        ({"routing_key": KEY, "event_action": "trigger", "dedup_key": "k"}, "'payload' is required"),
        (
            {
                "routing_key": KEY,
                "event_action": "trigger",
                "payload": {"summary": "s" * 1025, "source": "x", "severity": "info"},
            },
            "'payload.summary' is too long",
        ),
        (
            {
                "routing_key": KEY,
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "x", "severity": "sev1"},
            },
            "'payload.severity' is invalid",
        ),
        (
            {
                "routing_key": KEY,
                "event_action": "trigger",
                "payload": {"summary": " ", "source": "x", "severity": "info"},
            },
            "'payload.summary' is missing",
        ),
        (
            {"routing_key": KEY, "event_action": "trigger", "payload": {"summary": "s", "severity": "info"}},
            "'payload.source' is missing",
        ),
        (
            {
                "routing_key": KEY,
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "x", "severity": "info", "timestamp": "yesterday"},
            },
            "'payload.timestamp'",
        ),
        ({"routing_key": KEY, "event_action": "resolve", "dedupkey": "k"}, "Unknown field 'dedupkey'"),
    ],
)
def test_the_fake_refuses_what_pagerduty_refuses_with_its_error_shape(pagerduty, event, error):
    status, reply = post_event(pagerduty, event)
    assert status == 400
    assert reply["status"] == "invalid event" and reply["message"] == "Event object is invalid"
    assert any(error in e for e in reply["errors"]), reply["errors"]
    assert pagerduty.events == []


def test_the_fake_lists_every_problem_at_once(pagerduty):
    status, reply = post_event(pagerduty, {"routing_key": "no-good", "event_action": "trigger"})
    assert status == 400
    assert len(reply["errors"]) == 3  # length, characters, missing payload


def test_the_fake_refuses_bodies_that_are_not_a_json_event(pagerduty):
    assert post_raw(pagerduty, b"{not json")[1]["status"] == "Unrecognized object"
    assert post_raw(pagerduty, b"[]")[1]["status"] == "Unrecognized object"
    status, reply = post_raw(pagerduty, b'{"routing_key": "x"}', content_type="text/plain")
    assert status == 400 and "Content-Type" in reply["errors"][0]
    padding = "p" * (512 * 1024)
    big = {"routing_key": KEY, "event_action": "resolve", "dedup_key": "k", "links": [{"href": padding}]}
    status, reply = post_event(pagerduty, big)
    assert status == 400 and "too large" in reply["errors"][0]
    assert pagerduty.events == [] and [r.status for r in pagerduty.requests] == [400, 400, 400, 400]


def test_the_fake_fails_exactly_the_next_n_requests(pagerduty):
    pagerduty.fail_next(500, count=2)
    event = {"routing_key": KEY, "event_action": "resolve", "dedup_key": "k"}
    assert [post_event(pagerduty, event)[0] for _ in range(3)] == [500, 500, 202]
