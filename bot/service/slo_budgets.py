"""Live error budgets: `/incident slo` and `incident-bot slo status` ask Prometheus (when
PROMETHEUS_URL is set) and fall back, labelled, to incident durations; at the heartbeat an
exhausted budget is noticed once per window in the on-call (workspace) stream, then told in
`slo_channel`, each message recorded as sent, so two replicas or a restart never tell it twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.errors import PrometheusUnavailable, UserError
from bot.core.events import METRICS_TYPES
from bot.core.metrics import error_budgets
from bot.core.oncall_events import BudgetExhaustedNoticed, BudgetExhaustedSent, OnCallLog, OnCallPayload
from bot.core.replies import reply
from bot.core.slo import SLO
from bot.core.slo_budget import (
    SOURCE_INCIDENTS,
    SOURCE_PROMETHEUS,
    Reading,
    burn_query,
    burn_windows,
    due_exhausted_notices,
    exhausted_key,
    incident_status,
    live_status,
    pick,
    sli_query,
    status_document,
)
from bot.core.state import replay
from bot.service.base import Outcome, bulk_read
from bot.service.oncall_handoffs import BOT_ACTOR, OnCallHandoffs

log = logging.getLogger(__name__)

# Prometheus is asked at most this often by the heartbeat (the budget moves slowly).
CHECK_EVERY = timedelta(seconds=60)


class PrometheusPort(Protocol):
    """An instant query's one number (None: no series); raises PrometheusUnavailable. Not
    `configured`: PROMETHEUS_URL is unset, and every query raises."""

    configured: bool

    def query(self, expr: str, at: datetime) -> float | None: ...


class SLOBudgets(OnCallHandoffs):
    prometheus: PrometheusPort | None = None
    _slo_checked_at: datetime | None = None

    def slo_status(self, slos: tuple[SLO, ...], now: datetime) -> dict[str, Any]:
        """The `slo status --json` document: live from Prometheus, else from incident durations
        with the reason (PROMETHEUS_URL unset, or Prometheus's error)."""
        try:
            readings = [self._reading(slo, now) for slo in slos]
        except PrometheusUnavailable as exc:
            return self._incident_status(slos, now, str(exc))
        return status_document(
            now, SOURCE_PROMETHEUS, [live_status(s, r) for s, r in zip(slos, readings, strict=True)]
        )

    def _reading(self, slo: SLO, now: datetime) -> Reading:
        assert self.prometheus is not None, "the adapter wires a PrometheusPort (bot.prometheus)"
        sli = self.prometheus.query(sli_query(slo), now)
        ratios = {name: self.prometheus.query(burn_query(slo, w), now) for name, w in burn_windows(slo)}
        return Reading(sli, ratios)

    def _incident_status(self, slos: tuple[SLO, ...], now: datetime, reason: str) -> dict[str, Any]:
        entries = []
        with bulk_read():
            for slo in slos:
                since = now - slo.window
                logs = self.store.load_many(self.store.declared_since(since), types=METRICS_TYPES)
                states = [replay(events) for events in logs.values() if events]
                target = self.policy.services.get(slo.service, slo.objective * 100)
                (budget,) = error_budgets(states, {slo.service: target}, since, now)
                entries.append(incident_status(slo, target, budget["consumed_minutes"]))
        return status_document(now, SOURCE_INCIDENTS, entries, error=reason)

    def slo_command(self, word: str, now: datetime) -> Outcome:
        """`/incident slo [name]`: every SLO's budget, or the one named (answered to the asker only)."""
        slos = self.policy.slos
        if not slos:
            raise UserError(reply("slo_none"))
        if word:
            slos = tuple(pick(slos, word))
            if not slos:
                raise UserError(
                    reply("slo_unknown", word=word, choices=tuple(s.name for s in self.policy.slos))
                )
        return Outcome(self.messages.slo_status(self.slo_status(slos, now)))

    def run_slo_notices(self) -> int:
        """At the heartbeat: notice budgets Prometheus says are exhausted (once per SLO per window),
        then tell the owed ones in `slo_channel`; returns the number of messages sent."""
        slos, channel = self.policy.slos, self.policy.slo_channel
        if not slos or channel is None or self.prometheus is None or not self.prometheus.configured:
            return 0
        now = self.clock()
        if self._slo_checked_at is None or now - self._slo_checked_at >= CHECK_EVERY:
            self._slo_checked_at = now
            document = self.slo_status(slos, now)
            if document["source"] == SOURCE_PROMETHEUS:  # never on the fallback's estimate
                windows = {s.slug: s.window for s in slos}

                def notice(log_: OnCallLog) -> list[OnCallPayload]:
                    due = due_exhausted_notices(document["slos"], windows, log_.last_budget_notices(), now)
                    return [
                        BudgetExhaustedNoticed(
                            exhausted_key(s["slug"], now),
                            s["slug"],
                            s["name"],
                            s["service"],
                            s["window"],
                            s["budget_left_percent"],
                        )
                        for s in due
                    ]

                self.append_oncall(notice, BOT_ACTOR, now)
            else:
                log.warning("SLO budgets not checked: %s", document.get("error"))
        if self.oncall_slack is None:
            return 0
        sent = 0
        for owed in self.oncall_log().owed_budget_notices():
            sent += self._tell_exhausted(owed, channel, now)
        return sent

    def _tell_exhausted(self, notice: BudgetExhaustedNoticed, channel: str, now: datetime) -> int:
        assert self.oncall_slack is not None
        try:
            self.oncall_slack.tell(channel, self.messages.slo_exhausted(notice))
        except Exception as exc:  # Slack down, slow or limiting: still owed, tried next heartbeat
            log.warning("SLO: could not tell %s about %s (%s); retried", channel, notice.key, exc)
            return 0
        key = notice.key

        def sent(log_: OnCallLog) -> list[OnCallPayload]:
            return [] if key in log_.budget_sent else [BudgetExhaustedSent(key, channel)]

        self.append_oncall(sent, BOT_ACTOR, now)
        return 1
