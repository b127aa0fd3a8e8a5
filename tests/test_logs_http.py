"""No secret reaches a log line: a whole incident over signed HTTP with every logger at DEBUG,
failing Slack calls and a wrong Alertmanager token, in both formats."""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from bot import logs
from bot.render import ids
from tests.harness import ALICE, BOB, start_harness, wait_for
from tests.test_alert_intake_http import FIRING
from tests.test_logs import restore_logging  # noqa: F401 - a fixture
from tests.test_manifest import manifest_bot_scopes

TOKEN_SHAPES = re.compile(r"xox[a-z]-[A-Za-z0-9]|xapp-[A-Za-z0-9]|Bearer\s+(?!\[REDACTED\])\S")


class RawRecords(logging.Handler):
    """What the records said before redaction (it sits before the bot's handler): proof that the
    secrets were really there to be redacted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def post_alert(url: str, token: str) -> int:
    request = urllib.request.Request(
        url + "/webhooks/alertmanager",
        data=json.dumps(FIRING).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("form", ["json", "text"])
def test_a_whole_incident_with_failures_logs_no_secret(tmp_path, monkeypatch, restore_logging, form):  # noqa: F811
    # Short enough that slack_sdk's error message (the body's first 100 characters) holds it whole.
    bot_token = f"xoxb-{secrets.randbelow(10**10)}-{secrets.randbelow(10**10)}-{secrets.token_hex(8)}"
    env = {
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_APP_TOKEN": f"xapp-1-A0{secrets.token_hex(4)}-{secrets.token_hex(16)}",
        "ALERTMANAGER_TOKEN": secrets.token_urlsafe(24),
        "STATUSPAGE_API_KEY": secrets.token_hex(16),
    }
    for name, value in {**env, "LOG_FORMAT": form, "LOG_LEVEL": "DEBUG"}.items():
        monkeypatch.setenv(name, value)
    raw = RawRecords()
    logging.getLogger().addHandler(raw)
    out = io.StringIO()
    logs.setup_logging(stream=out)
    h = start_harness(
        f"sqlite:///{tmp_path / 'incidents.db'}",
        manifest_bot_scopes(),
        bot_token=env["SLACK_BOT_TOKEN"],
        signing_secret=env["SLACK_SIGNING_SECRET"],
        alert_token=env["ALERTMANAGER_TOKEN"],
    )
    # Every library logs at DEBUG (Bolt copies the root's level into its loggers when the app is
    # built, which is why `main` sets logging up first).
    for name in ("slack_sdk.web.base_client", "slack_bolt.App", "waitress", "urllib3", "bot.slack.api"):
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    try:
        h.slack.fail_next("conversations.create", error="invalid_auth")
        # A broken proxy answering with the request's headers: the token is in the body Slack's
        # client logs, in the SlackApiError it raises, and in the traceback of the failed sync.
        h.slack.fail_next("chat.postMessage", status=400, echo_headers=True)
        h.slack.fail_next("pins.add", status=429, times=4)  # outlasts the client's 3 retries
        assert h.command("declare sev2 Checkout is down").status == 200
        h.settle()
        h.bot.start_heartbeat(interval_seconds=0.2)  # retries what failed
        assert wait_for(lambda: not h.bot.service.incidents_owing_slack(), timeout=30)
        h.settle()
        channel = h.incident_channel()
        summary = h.slack.channel(channel).messages[0]
        pressed = h.sender.block_action(
            ids.ACK,
            user_id=BOB,
            channel_id=channel,
            message_ts=summary.ts,
            value="1",
            response_url=h.slack.response_url(),
        )
        assert pressed.status == 200
        h.settle()
        h.command("update identified rolled back the deploy", channel=channel)
        h.command("resolve the deploy is rolled back", user=ALICE, channel=channel)
        assert post_alert(h.server.url, "xoxb-" + secrets.token_hex(10)) == 401  # a token in the wrong place
        assert post_alert(h.server.url, env["ALERTMANAGER_TOKEN"]) == 200
        h.settle()
        assert wait_for(lambda: not h.bot.service.incidents_owing_slack(), timeout=30)
        h.bot.stop_heartbeat()
    finally:
        h.close()
        logging.getLogger().removeHandler(raw)

    text = out.getvalue()
    before = "\n".join(raw.lines)
    # The test could fail: Slack's client really logged at DEBUG, and the token really was there.
    assert "slack_sdk.web.base_client Sending a request - url: " in before
    assert bot_token in before
    assert "Authorization: Bearer " + bot_token in before
    # ... and none of it reached the bot's log, in any form.
    for value in env.values():
        assert value not in text and quote(value, safe="") not in text
    assert not TOKEN_SHAPES.search(text), TOKEN_SHAPES.search(text)
    assert "Authorization: Bearer [REDACTED]" in text

    if form == "json":
        lines = [json.loads(line) for line in text.splitlines()]
        api = [line for line in lines if line["logger"] == "bot.slack.api"]
        posts = [line for line in api if line["slack_method"] == "chat.postMessage" and line["slack_ok"]]
        assert posts and all(p["incident"] == "INC-1" and p["job_id"].startswith("sync-") for p in posts[:3])
        assert all(isinstance(line["latency_ms"], float) and line["level"] == "DEBUG" for line in posts)
        errors = {line["slack_method"]: line for line in api if not line["slack_ok"]}
        assert errors["conversations.create"]["slack_error"] == "invalid_auth"
        assert errors["conversations.create"]["level"] == "INFO"
        assert errors["pins.add"]["slack_error"] == "ratelimited"
        assert "[REDACTED]" in errors["chat.postMessage"]["slack_error"]
        assert errors["pins.add"]["latency_ms"] >= 2900  # three Retry-After waits of 1 s
        failed = [line for line in lines if line["message"] == "INC-1: Slack sync failed; will retry"]
        assert any(
            "SlackApiError" in line["exception"] and "[REDACTED]" in line["exception"] for line in failed
        )
        assert any(line.get("job_id", "").startswith("heartbeat-") for line in lines)
        # The button's work after the ack is logged under the press's trigger id, with its incident.
        bolt = [line for line in lines if line["logger"].startswith("slack_bolt") and "request_id" in line]
        assert any(re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", line["request_id"]) for line in bolt)
        after_ack = [line for line in lines if line["logger"] == "slack_sdk.webhook.client"]
        assert any(
            line.get("incident") == "INC-1"
            and re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", line.get("request_id", ""))
            for line in after_ack
        )
        refused = [line for line in lines if "refused an Alertmanager request" in line["message"]]
        assert len(refused) == 1 and refused[0]["request_id"].startswith("http-")
        alert = [line for line in lines if line["message"].startswith("alert group ")]
        assert alert and alert[0]["incident"] == "INC-2"
    else:
        assert re.search(
            r"Z DEBUG bot\.slack\.api \[INC-1 job=sync-\w+\] chat\.postMessage ok in [\d.]+ ms\n", text
        )
        assert re.search(
            r"Z INFO bot\.slack\.api \[INC-1 job=sync-\w+\] conversations\.create failed in [\d.]+ ms: invalid_auth\n",
            text,
        )
        assert re.search(
            r"Z WARNING bot\.alert_intake \[req=http-\w+\] refused an Alertmanager request", text
        )
        assert re.search(r"\[job=heartbeat-\w+\]", text)
        assert "Traceback (most recent call last):" in text
