"""Writes `release_a6d0b6c.db`: a SQLite database made by the release before migrations (a6d0b6c).

It was made by running this script on a checkout of that commit (`python -m tests.golden.make_release_db
OUT.db`), which drives the real bot over signed HTTP against the local Slack: three incidents between
them write every event type that release had, plus an Alertmanager alert (deliveries, alert_log) and
the scheduler's leases. Running it on later code writes a database of that code's schema instead, so
the committed file is kept, not regenerated; `tests/test_migrations.py` upgrades a copy of it.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from tests.harness import ALERT_TOKEN, BOB, CAROL, start_harness, wait_for
from tests.test_alert_intake_http import FIRING
from tests.test_interactions_http import deliver, reaction
from tests.test_manifest import manifest_bot_scopes


def _alert(h, body: dict) -> None:
    request = urllib.request.Request(
        f"{h.server.url}/webhooks/alertmanager", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {ALERT_TOKEN}")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, response.status
    h.settle()


def make(path: Path) -> None:
    h = start_harness(f"sqlite:///{path}", manifest_bot_scopes())
    try:
        h.command("declare sev2 Checkout errors in EU")
        h.settle()
        one = h.incident_channel(1)
        for text in (
            "ack",
            "update identified Rolled back the 14:20 deploy",
            "severity sev1 Customers in two regions",
            f"role comms <@{CAROL}|carol>",
            "note Support reports checkout failures",
            "service checkout-api",
            "mitigate Error rate back under 1%",
            "resolve Connection pool leak in auth middleware",
            "postmortem root-cause A connection leak in the auth middleware",
            f"action add Add a pool-exhaustion alert <@{BOB}> due 2027-01-15",
            "action add Load-test the auth middleware",
            "action done 1",
            "reopen Errors are back",
            "resolve The second fix held",
            "postmortem",
        ):
            h.command(text, channel=one)
            h.settle()
        ts = h.slack.post_as_user(one, CAROL, "DB CPU pinned at 100% since 14:20")
        deliver(h, reaction("reaction_added", BOB, one, ts), "Ev01")
        deliver(h, reaction("reaction_removed", BOB, one, ts), "Ev02")
        h.command("declare sev3 Slow search results")
        h.settle()
        h.command("update monitoring A cache warm-up is running", channel=h.incident_channel(2))
        h.settle()
        _alert(h, FIRING)
        grown = json.loads(json.dumps(FIRING))
        grown["alerts"].append({**grown["alerts"][0], "fingerprint": "d7b7c5e4b3a2f1c0"})
        grown["alerts"][1]["labels"] = {**grown["alerts"][0]["labels"], "instance": "api-2"}
        _alert(h, grown)
        resolved = json.loads(json.dumps(grown))
        resolved["status"] = "resolved"
        for alert in resolved["alerts"]:
            alert.update(status="resolved", endsAt="2026-02-04T15:01:00Z")
        _alert(h, resolved)
        h.bot.start_heartbeat(interval_seconds=0.2)
        assert wait_for(
            lambda: h.bot.store.engine.connect().exec_driver_sql("SELECT count(*) FROM leases").scalar()
        )
        h.settle()
    finally:
        h.close()


if __name__ == "__main__":
    make(Path(sys.argv[1]))
