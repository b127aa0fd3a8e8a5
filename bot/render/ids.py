"""Every Slack action_id and callback_id the bot uses, in one place (templates get them as `ids`)."""

from __future__ import annotations

from types import SimpleNamespace

ACK = "incident.ack"
UPDATE = "incident.update"
SEVERITY = "incident.severity"
MITIGATE = "incident.mitigate"
RESOLVE = "incident.resolve"
JOIN = "incident.join"
# Link buttons (runbook, dashboard from the alert): Slack still reports the click; it is acked.
RUNBOOK = "incident.runbook"
DASHBOARD = "incident.dashboard"
# Acknowledge on a page's direct message.
PAGE_ACK = "incident.page_ack"
# Publish to status page, on the summary (only with a status page configured).
PUBLISH = "incident.publish"
# A runbook checklist's Done and Skip on each step; Add on an action item the runbooks suggest.
RUNBOOK_DONE = "incident.runbook_done"
RUNBOOK_SKIP = "incident.runbook_skip"
SUGGESTION_ADD = "incident.suggestion_add"
ACTION_IDS: tuple[str, ...] = (ACK, UPDATE, SEVERITY, MITIGATE, RESOLVE, JOIN, RUNBOOK, DASHBOARD, PAGE_ACK)
ACTION_IDS += (PUBLISH, RUNBOOK_DONE, RUNBOOK_SKIP, SUGGESTION_ADD)

DECLARE_VIEW = "incident.declare_view"
UPDATE_VIEW = "incident.update_view"
MITIGATE_VIEW = "incident.mitigate_view"
RESOLVE_VIEW = "incident.resolve_view"
PUBLISH_VIEW = "incident.publish_view"
CALLBACK_IDS = (DECLARE_VIEW, UPDATE_VIEW, MITIGATE_VIEW, RESOLVE_VIEW, PUBLISH_VIEW)

# The reaction that puts a channel message on the incident's timeline.
PIN_REACTION = "pushpin"
EVENTS = ("reaction_added", "reaction_removed")

IDS = SimpleNamespace(
    **{name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)}
)
