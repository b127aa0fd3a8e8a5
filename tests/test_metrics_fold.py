"""The metrics' fast path (one query for the window's logs, a fold over their typed events) gives
exactly what the reference path gives (every log read whole, replayed, `compute_metrics`): the
same figures, the same `--json` and the same text, over a varied generated set of incidents."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bot.core import events as ev
from bot.core.metrics import FOLDED_TYPES, IncidentFigures, compute_metrics, metrics_of_logs
from bot.core.policy import Policy
from bot.core.state import replay
from bot.render.renderer import Renderer
from bot.render.views import Messages
from bot.service import IncidentService
from bot.store.event_store import EVENTS, INCIDENTS, head_of
from tests.events import E, data_of

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=40)
USERS = ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE")
SERVICES = {"checkout-api": 99.9, "search": 99.5}


def generated(number: int, rnd: random.Random) -> list[ev.Event]:
    """One incident's log: private or not, with or without a service and an impact start, then a
    random walk of what people and the bot do (reopening, paging, action items, Slack noise)."""
    start = T0 + timedelta(minutes=rnd.randrange(0, 40 * 24 * 60))
    declared = {
        "title": rnd.choice(["API down", "api down", "Disk full", f"Odd thing {number}", "Latency up"]),
        "severity": rnd.choice(["sev1", "sev2", "sev3", "sev4"]),
        "commander": rnd.choice(USERS),
        "private": rnd.random() < 0.25,
    }
    if rnd.random() < 0.5:
        declared["service"] = rnd.choice([*SERVICES, "billing"])
    if rnd.random() < 0.4:
        declared["impact_started_at"] = (start - timedelta(minutes=rnd.randrange(1, 90))).isoformat()
    log = [E(number, 1, ev.IncidentDeclared.TYPE, "U0ALICE", start, declared)]
    at, items, published = start, 0, 0

    def add(kind: str, data: dict | None = None) -> None:
        log.append(E(number, len(log) + 1, kind, rnd.choice(USERS), at, data or {}))

    level = 0
    for _ in range(rnd.randrange(0, 25)):
        at += timedelta(minutes=rnd.randrange(0, 240), seconds=rnd.randrange(60))
        choice = rnd.randrange(16)
        if choice == 0:
            add(ev.IncidentAcknowledged.TYPE)
        elif choice == 1:
            status = rnd.choice(["investigating", "identified", "monitoring", "", "resolved"])
            add(ev.StatusUpdated.TYPE, {"status": status, "from": "investigating", "message": "m"})
        elif choice == 2:
            add(ev.SeverityChanged.TYPE, {"from": "sev3", "to": rnd.choice(["sev1", "sev2"])})
        elif choice == 3:
            add(ev.IncidentMitigated.TYPE, {"note": "n"})
        elif choice == 4:
            data: dict = {"summary": "s"}
            if rnd.random() < 0.5:
                data["impact_ended_at"] = (at - timedelta(minutes=rnd.randrange(0, 30))).isoformat()
            add(ev.IncidentResolved.TYPE, data)
        elif choice == 5:
            add(ev.IncidentReopened.TYPE, {"reason": "back"})
        elif choice == 6:
            add(ev.ServiceSet.TYPE, {"service": rnd.choice(list(SERVICES))})
        elif choice == 7:
            items += 1
            due = rnd.choice([None, "2026-02-10", "2026-03-20", "2026-04-30"])
            add(ev.ActionItemAdded.TYPE, {"n": items, "text": "t", "owner": "U0BOB", "due": due})
        elif choice == 8 and items:
            add(ev.ActionItemDone.TYPE, {"n": rnd.randrange(1, items + 1)})
        elif choice == 9:
            published += 1
            add(ev.PostmortemRequested.TYPE, {"version": published})
            add(
                ev.SlackPostmortemPublished.TYPE,
                {"for_seq": len(log), "version": published, "file_id": "F1", "sha256": "x"},
            )
        elif choice == 10:
            add(ev.PagingStarted.TYPE, {"policy": "default", "levels": [], "repeat": 1})
        elif choice == 11:
            by_hand = rnd.random() < 0.3
            level = 0 if by_hand else level + 1
            users = rnd.sample(USERS, rnd.randrange(0, 3))
            data = {"key": f"k{len(log)}", "level": level, "round": rnd.randrange(2), "users": users}
            add(ev.Paged.TYPE, data)
        elif choice == 12:
            add(ev.NoteAdded.TYPE, {"text": "note"})
        elif choice == 13:
            add(ev.RoleAssigned.TYPE, {"role": "comms", "user": rnd.choice(USERS)})
        elif choice == 14:
            add(ev.SlackChannelMessagePosted.TYPE, {"for_seq": 1, "ts": "1.0"})
        else:
            add(ev.AlertsFiring.TYPE, {"fingerprints": ["f1"]})
    return log


def logs_of(count: int, seed: int) -> list[list[ev.Event]]:
    rnd = random.Random(seed)
    return [generated(n, rnd) for n in range(1, count + 1)]


def test_the_folded_types_are_read_by_the_metrics():
    assert FOLDED_TYPES <= ev.METRICS_TYPES


def test_a_fold_and_a_replay_agree_on_every_incident():
    for log in logs_of(300, seed=1):
        assert IncidentFigures.fold(log) == IncidentFigures.of_state(replay(log))
        typed = [e for e in log if type(e.payload) in FOLDED_TYPES]
        assert IncidentFigures.fold(typed) == IncidentFigures.of_state(replay(log))


def test_the_fast_path_gives_the_reference_figures_json_and_text():
    messages = Messages(Renderer(), Policy())
    logs = logs_of(400, seed=2)
    kinds = {type(e.payload) for log in logs for e in log}
    assert {ev.IncidentReopened, ev.Paged, ev.ActionItemDone, ev.SlackPostmortemPublished} <= kinds
    assert any(replay(log).private for log in logs)
    widest = None
    for since in (T0 - timedelta(days=1), T0 + timedelta(days=12), NOW - timedelta(days=1)):
        reference = compute_metrics([replay(log) for log in logs], since, NOW, SERVICES)
        fast = metrics_of_logs(logs, since, NOW, SERVICES)
        assert fast == reference
        assert json.dumps(fast.as_dict(), indent=2) == json.dumps(reference.as_dict(), indent=2)
        assert messages.metrics(fast) == messages.metrics(reference)
        widest = widest or reference
    assert widest is not None and widest.incidents == len(logs)
    assert widest.pages_sent and widest.escalations and widest.repeat_incidents and widest.private_repeats
    assert widest.action_items_done and widest.action_items_overdue and widest.postmortems_completed
    assert widest.time_to_detect.count and all(b["consumed_minutes"] for b in widest.error_budgets)


def test_the_store_read_gives_the_reference_metrics(store):
    """Through the store as `incident-bot metrics` reads it, on SQLite and PostgreSQL: the same
    as replaying every log read whole."""
    logs = logs_of(250, seed=3)
    with store.engine.begin() as conn:
        rows = [
            {
                "incident": e.incident,
                "seq": e.seq,
                "type": e.type,
                "actor": e.actor,
                "at": e.at,
                "data": data_of(e),
            }
            for log in logs
            for e in log
        ]
        conn.execute(insert(EVENTS), rows)
        conn.execute(
            insert(INCIDENTS), [{"number": log[0].incident, **head_of(replay(log), False)} for log in logs]
        )
    policy = Policy(services=SERVICES)
    messages = Messages(Renderer(), policy)
    service = IncidentService(store, policy, messages)
    since = T0 + timedelta(days=5)
    declared = store.declared_since(since)
    assert 0 < len(declared) < len(logs)
    reference = compute_metrics([replay(store.load(n)) for n in declared], since, NOW, SERVICES)
    fast = service.metrics(since, NOW)
    assert fast.as_dict() == reference.as_dict()
    assert messages.metrics(fast) == messages.metrics(reference)
    assert fast.incidents == len(declared)
