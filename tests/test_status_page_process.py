"""`incident-bot serve --status-page-only` as a real process: only DATABASE_URL and
INCIDENT_BOT_CONFIG, no Slack or Statuspage secrets; the public page and API from the same
database, a new publication showing within 2 seconds, /slack/events 404, no heartbeat, no Slack."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.db import make_engine
from bot.store.event_store import EventStore
from bot.store.migrate import upgrade
from tests.processes import Serve
from tests.status_publications import declare, get, get_json, publish
from tests.test_cli import clean_env

CONFIG_YAML = """\
status_page:
  title: Example Inc. status
  components:
    - {name: API, services: [checkout-api]}
    - {name: Dashboard}
"""


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = EventStore(make_engine(url))
    upgrade(store.engine)
    yield url, store
    store.engine.dispose()


def test_status_page_only_serves_the_public_page_without_slack_secrets(tmp_path, database):
    """Public routes answer from the bot's database; Slack's route is 404; the process logs no
    heartbeat and no Slack call, and stops cleanly on SIGTERM."""
    url, store = database
    now = datetime.now(UTC)
    one = declare(store, now - timedelta(hours=1))
    publish(store, one, now - timedelta(minutes=30), "Checkout errors", "Investigating.", API="major_outage")
    config = tmp_path / "bot.yml"
    config.write_text(CONFIG_YAML)
    serve = Serve(clean_env(DATABASE_URL=url, INCIDENT_BOT_CONFIG=str(config)), "--status-page-only")
    try:
        summary = get_json(f"{serve.url}/api/v2/summary.json")
        assert summary["page"]["name"] == "Example Inc. status"
        assert summary["status"]["indicator"] == "critical"
        assert [i["name"] for i in summary["incidents"]] == ["Checkout errors"]
        status, _, body = get(f"{serve.url}/status")
        assert status == 200 and "Checkout errors" in body.decode()
        assert get(f"{serve.url}/healthz")[0] == 200
        assert get(f"{serve.url}/slack/events", method="POST")[0] == 404
        assert get(f"{serve.url}/webhooks/alertmanager", method="POST")[0] == 404

        publish(store, one, datetime.now(UTC), "Checkout errors", "Fixed.", "resolved", API="operational")
        published = time.monotonic()
        while time.monotonic() - published < 2:
            if get_json(f"{serve.url}/api/v2/status.json")["status"]["indicator"] == "none":
                break
            time.sleep(0.05)
        assert get_json(f"{serve.url}/api/v2/status.json")["status"]["indicator"] == "none"
        assert time.monotonic() - published < 2
        assert "All Systems Operational" in get(f"{serve.url}/status")[2].decode()
        assert serve.terminate() == 0
    finally:
        serve.stop()
    log = "".join(serve.stderr).lower()
    assert "heartbeat" not in log and "slack.com" not in log and "scheduler" not in log
    assert "stopped cleanly" in log


def test_status_page_only_with_a_bad_config_exits_2(tmp_path, database):
    """A config file that does not parse stops it at start with exit status 2."""
    import subprocess
    import sys

    url, _ = database
    config = tmp_path / "bot.yml"
    config.write_text("status_page: {components: [{name: API}], title: [not, a, string]}\n")
    env = clean_env(DATABASE_URL=url, INCIDENT_BOT_CONFIG=str(config))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--status-page-only", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "status_page.title" in result.stderr
