"""Logging: JSON and text lines with the work's context, LOG_LEVEL/LOG_FORMAT, and redaction."""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import threading

import pytest

from bot import logs
from bot.core.errors import ConfigError
from bot.sync_queue import SyncQueue, TrackingExecutor

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def restore_logging():
    """setup_logging changes the root logger: put it back for the other tests. The test thread
    starts with no log context (other tests call the service on it outside any unit of work)."""
    logs.begin()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    quiet = {name: logging.getLogger(name).level for name in ("apscheduler",)}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


def emit(env: dict[str, str], write) -> str:
    stream = io.StringIO()
    logs.setup_logging(env, stream)
    write(logging.getLogger("bot.test"))
    return stream.getvalue()


def test_json_lines_carry_time_level_logger_message_and_context(restore_logging):
    """LOG_FORMAT=json: one object a line, UTC ISO-8601 time, and the context where it is known."""

    def write(log):
        log.info("before any context")
        with logs.bound(request_id="1700000000.1.abc", incident=7):
            log.warning("inside %s", "a request")
            with logs.bound(job_id="sync-1"):
                log.info("the Slack call", extra={"slack_method": "chat.postMessage", "latency_ms": 12.5})
        log.info("after it")

    lines = [json.loads(line) for line in emit({"LOG_FORMAT": "json"}, write).splitlines()]
    assert [line["message"] for line in lines] == [
        "before any context",
        "inside a request",
        "the Slack call",
        "after it",
    ]
    assert all(TIME.match(line["time"]) and line["logger"] == "bot.test" for line in lines)
    assert lines[1]["level"] == "WARNING"
    assert lines[1]["incident"] == "INC-7" and lines[1]["request_id"] == "1700000000.1.abc"
    assert "job_id" not in lines[1]
    assert lines[2] | {"time": ""} == {
        "time": "",
        "level": "INFO",
        "logger": "bot.test",
        "message": "the Slack call",
        "incident": "INC-7",
        "request_id": "1700000000.1.abc",
        "job_id": "sync-1",
        "slack_method": "chat.postMessage",
        "latency_ms": 12.5,
    }
    assert set(lines[0]) == set(lines[3]) == {"time", "level", "logger", "message"}


def test_text_lines_are_readable_and_carry_the_context_compactly(restore_logging):
    """The default format: time, level, logger, [incident req= job=], message, then any traceback."""

    def write(log):
        log.info("plain")
        with logs.bound(incident=3, job_id="heartbeat-9"):
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("failed")

    out = emit({}, write).splitlines()
    assert re.fullmatch(r"\S+Z INFO bot\.test plain", out[0]) and TIME.match(out[0].split()[0])
    assert re.fullmatch(r"\S+Z ERROR bot\.test \[INC-3 job=heartbeat-9\] failed", out[1])
    assert out[2] == "Traceback (most recent call last):" and out[-1] == "ValueError: boom"


def test_log_level_filters_and_bad_settings_are_refused(restore_logging):
    """LOG_LEVEL defaults to INFO; a level or format the bot does not know is a config error."""
    out = emit({}, lambda log: (log.debug("hidden"), log.info("shown")))
    assert "hidden" not in out and "shown" in out
    out = emit({"LOG_LEVEL": "debug"}, lambda log: log.debug("now shown"))
    assert "now shown" in out
    out = emit({"LOG_LEVEL": "WARNING"}, lambda log: (log.info("hidden"), log.warning("kept")))
    assert "hidden" not in out and "kept" in out
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        logs.setup_logging({"LOG_LEVEL": "verbose"}, io.StringIO())
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        logs.setup_logging({"LOG_FORMAT": "xml"}, io.StringIO())


def test_setup_replaces_its_own_handler_and_quiets_the_scheduler_unless_debugging(restore_logging):
    """Calling it twice leaves one handler; APScheduler's two lines a heartbeat show only at DEBUG."""
    logs.setup_logging({}, io.StringIO())
    logs.setup_logging({}, io.StringIO())
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "incident-bot"]
    assert len(ours) == 1
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    logs.setup_logging({"LOG_LEVEL": "DEBUG"}, io.StringIO())
    assert logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.DEBUG)


@pytest.mark.parametrize("form", ["json", "text"])
def test_no_secret_reaches_a_line_in_any_part_of_a_record(restore_logging, form):
    """Known values from the environment and token-shaped strings are blanked in the message, its
    arguments, the exception and traceback, stack info and extra fields, at every level."""
    env = {
        "LOG_FORMAT": form,
        "LOG_LEVEL": "DEBUG",
        "SLACK_BOT_TOKEN": "xoxb-" + secrets.token_hex(8),
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_APP_TOKEN": "xapp-1-A0-" + secrets.token_hex(8),
        "ALERTMANAGER_TOKEN": "am/" + secrets.token_urlsafe(12),  # '/' shows up %-encoded in URLs
        "STATUSPAGE_API_KEY": secrets.token_hex(12),
        "PAGERDUTY_ROUTING_SECRET": secrets.token_hex(10),  # any *_SECRET is one too
    }
    values = [v for k, v in env.items() if not k.startswith("LOG_")]
    unknown_user_token = "xoxp-123-456-" + secrets.token_hex(6)  # not configured: caught by shape
    db_password = secrets.token_hex(6)

    def write(log):
        log.debug("signing secret %s in the args", env["SLACK_SIGNING_SECRET"])
        log.info(f"app token {env['SLACK_APP_TOKEN']} and a user token {unknown_user_token} in the message")
        log.warning("headers: %r", {"Authorization": f"Bearer {env['SLACK_BOT_TOKEN']}"})
        log.info("url: https://x.example/hook?key=%s&k2=%s", *(env["ALERTMANAGER_TOKEN"], "ok"))
        log.info("quoted: %s", "am%2F" + env["ALERTMANAGER_TOKEN"][3:])
        log.info("db: postgresql://bot:%s@db.internal:5432/incidents", db_password)
        log.error("extra field", extra={"slack_error": f"echo {env['STATUSPAGE_API_KEY']}"})
        try:
            raise RuntimeError(
                f"cannot reach Slack with {env['SLACK_BOT_TOKEN']} ({env['PAGERDUTY_ROUTING_SECRET']})"
            )
        except RuntimeError:
            log.exception("a failure whose message holds a token", stack_info=True)
        log.critical("Bearer %s", "sometoken12345")

    out = emit(env, write)
    for value in values + [
        unknown_user_token,
        db_password,
        "sometoken12345",
        "am%2F" + env["ALERTMANAGER_TOKEN"][3:],
    ]:
        assert value not in out
    assert not re.search(r"xox[a-z]-[A-Za-z0-9]|xapp-[A-Za-z0-9]|Bearer (?!\[REDACTED\])", out)
    # What is not secret stays: the line is still useful.
    assert "signing secret [REDACTED] in the args" in out and "xoxp-[REDACTED]" in out
    assert "postgresql://bot:[REDACTED]@db.internal:5432/incidents" in out
    assert "RuntimeError: cannot reach Slack with [REDACTED] ([REDACTED])" in out
    assert "k2=ok" in out
    if form == "json":
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 9
        assert lines[6]["slack_error"] == "echo [REDACTED]"
        assert "Traceback" in lines[7]["exception"] and "Stack (most recent call last)" in lines[7]["stack"]


def test_secrets_the_bot_is_given_otherwise_are_redacted_too(restore_logging):
    """build_bot registers its settings' tokens, so a secret from anywhere but the environment is covered."""
    secret = secrets.token_hex(16)
    logs.redact_values(secret, None, "")
    out = emit({}, lambda log: log.info("value %s", secret))
    assert secret not in out and "value [REDACTED]" in out


def test_short_placeholder_secrets_do_not_blank_ordinary_words(restore_logging):
    """A value under MIN_SECRET_LENGTH (a test's 's') is not matched by value, or every 's' would go."""
    out = emit({"SLACK_SIGNING_SECRET": "s"}, lambda log: log.info("sessions start"))
    assert "sessions start" in out


def test_work_after_the_ack_keeps_its_request_context(restore_logging):
    """The listener pool runs work in a copy of the request's context; nothing leaks back or onward."""
    pool = TrackingExecutor(max_workers=1)
    seen = []
    with logs.bound(request_id="req-1"):
        logs.bind(incident=4)
        pool.submit(lambda: seen.append(dict(logs.current())))
    pool.submit(lambda: seen.append(dict(logs.current())))  # the same worker thread, a new request
    assert pool.wait_idle(5)
    pool.shutdown()
    assert seen == [{"request_id": "req-1", "incident": "INC-4"}, {}]
    assert dict(logs.current()) == {}


def test_a_sync_job_is_logged_under_its_incident_and_a_job_id(restore_logging):
    """Each run of a Slack sync has the incident and a fresh job id; the worker thread keeps neither."""
    seen: list[dict[str, str]] = []
    done = threading.Event()

    def run(number):
        seen.append(dict(logs.current()))
        if len(seen) == 2:
            done.set()
        raise RuntimeError("Slack is down")

    queue = SyncQueue(run, workers=1, urgent_workers=1)
    stream = io.StringIO()
    logs.setup_logging({"LOG_FORMAT": "json"}, stream)
    queue.request(5)
    assert queue.wait_idle(5)
    queue.request(5)
    assert done.wait(5) and queue.wait_idle(5)
    queue.shutdown()
    assert [s["incident"] for s in seen] == ["INC-5", "INC-5"]
    assert seen[0]["job_id"].startswith("sync-") and seen[0]["job_id"] != seen[1]["job_id"]
    failures = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [f["job_id"] for f in failures] == [s["job_id"] for s in seen]
    assert all("RuntimeError: Slack is down" in f["exception"] for f in failures)


def test_an_unknown_log_setting_stops_any_command_with_one_line(restore_logging, monkeypatch, capsys):
    """incident-bot with LOG_LEVEL=verbose: one line naming it, exit status 2, nothing run."""
    from bot.cli import EXIT_CONFIG, main

    monkeypatch.setenv("LOG_LEVEL", "verbose")
    assert main(["metrics"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err == "incident-bot: LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not 'verbose'\n"
