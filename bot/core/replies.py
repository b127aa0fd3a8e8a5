"""What the bot answers a person, as a key and plain data: the words live in `templates/replies.yml`.

The core decides *which* reply and with what values; the renderer turns it into text at the edge,
so a team can reword any reply without touching Python. `REPLIES` is the registry: every key the
code may produce, with sample data of the exact shape it is produced with (the start-up check
renders each entry of the catalogue with these samples).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

ReplyValue = str | int | datetime | tuple[str, ...] | None

_AT = datetime(2026, 1, 1, 14, 34, tzinfo=UTC)
_SEVERITIES = ("sev1", "sev2", "sev3")

# Every reply key, with sample data of the shape the code gives it.
REPLIES: Mapping[str, Mapping[str, ReplyValue]] = MappingProxyType(
    {
        # Deciding a change to an incident (bot/core/decide.py)
        "already_applied": {"key": "INC-0"},
        "already_acknowledged": {"key": "INC-0", "user": "U0SAMPLE", "at": _AT},
        "acknowledged": {"key": "INC-0"},
        "update_posted": {"key": "INC-0", "status": "identified"},
        "severity_unchanged": {"key": "INC-0", "severity": "sev1"},
        "severity_changed": {"key": "INC-0", "severity": "sev1", "previous": "sev2"},
        "role_unchanged": {"key": "INC-0", "user": "U0SAMPLE", "role": "comms"},
        "role_assigned": {"key": "INC-0", "user": "U0SAMPLE", "role": "comms"},
        "noted": {"key": "INC-0"},
        "already_mitigated": {"key": "INC-0"},
        "mitigated": {"key": "INC-0"},
        "already_resolved": {"key": "INC-0", "at": _AT},
        "resolved": {"key": "INC-0"},
        "still_open": {"key": "INC-0", "status": "investigating"},
        "reopened": {"key": "INC-0"},
        "service_unchanged": {"key": "INC-0", "service": "checkout"},
        "service_set": {"key": "INC-0", "service": "checkout"},
        "postmortem_section_saved": {"key": "INC-0", "section": "root-cause"},
        "postmortem_publishing": {"key": "INC-0", "version": 2},
        "action_added": {"n": 1, "owner": "U0SAMPLE", "due": "2026-01-01"},
        "action_item_missing": {"key": "INC-0", "item": 9},
        "action_item_already_done": {"item": 1},
        "action_item_done": {"item": 1},
        "only_the_commander": {"key": "INC-0", "commander": "U0SAMPLE", "verb": "resolve"},
        "resolved_takes_nothing": {"key": "INC-0", "verb": "update"},
        # Runbooks (bot/core/runbook_decide.py)
        "runbooks_none": {},
        "runbook_name_one_word": {},
        "runbook_unknown": {"name": "Sample & <check>", "choices": ("high-error-rate",)},
        "runbook_already_attached": {"key": "INC-0", "name": "high-error-rate"},
        "runbook_attached": {"key": "INC-0", "name": "high-error-rate", "steps": 5},
        "runbook_not_attached": {"key": "INC-0", "name": "Sample & <check>"},
        "runbook_step_missing": {"name": "high-error-rate", "step": 9},
        "runbook_step_already": {
            "name": "high-error-rate",
            "step": 2,
            "outcome": "skipped",
            "user": "U0SAMPLE",
            "at": _AT,
        },
        "runbook_step_checked": {"key": "INC-0", "name": "high-error-rate", "step": 2, "outcome": "done"},
        "suggestion_gone": {"key": "INC-0"},
        # Action items the runbooks' use suggests (bot/core/runbook.py suggestions)
        "suggestion_update_runbook": {"key": "INC-0", "name": "high-error-rate", "steps": ("2", "4")},
        "suggestion_write_runbook": {"key": "INC-0", "alert": "HighErrorRate"},
        "suggestion_already_added": {"key": "INC-0"},
        # Publishing to the status page (bot/core/publish.py)
        "status_page_off": {},
        "only_roles_publish": {"key": "INC-0", "commander": "U0SAMPLE", "comms": None},
        "status_page_not_published": {"key": "INC-0"},
        "published": {"key": "INC-0", "status": "identified"},
        "publish_not_offered": {"key": "INC-0"},
        "resolved_and_published": {"key": "INC-0", "message": "Sample & <check>"},
        # Paging by hand (bot/core/paging.py, bot/core/commands.py)
        "paged": {"key": "INC-0", "users": ("U0SAMPLE",)},
        "page_unknown_schedule": {"name": "Sample & <check>", "choices": ("Platform Primary",)},
        "page_nobody_on_call": {"name": "Platform Primary"},
        "page_target_missing": {},
        # The summary's buttons (bot/core/buttons.py)
        "button_not_a_severity": {"severity": "Sample & <check>"},
        "button_already_resolved": {"key": "INC-0", "action": "mitigate"},
        "button_already_mitigated": {"key": "INC-0"},
        # Which incident a command is about (bot/core/routing.py)
        "incident_not_named": {"verb": "update"},
        # Parsing `/incident ...` (bot/core/commands.py)
        "unknown_command": {"word": "Sample & <check> that is longer than forty characters"},
        "declare_not_a_severity": {"word": "sev9", "choices": _SEVERITIES},
        "title_missing": {},
        "title_too_long": {"length": 151, "limit": 150},
        "title_without_words": {},
        "update_text_missing": {},
        "severity_missing": {"choices": _SEVERITIES},
        "severity_unknown": {"word": "critical", "choices": _SEVERITIES},
        "role_unknown": {"choices": ("commander", "comms", "scribe")},
        "mention_one_person": {},
        "takes_no_text": {"verb": "list"},
        "text_too_long": {"length": 3001, "limit": 3000},
        "control_character": {"character": "U+0000"},
        "note_text_missing": {},
        "mitigate_text_missing": {},
        "resolve_text_missing": {},
        "reopen_text_missing": {},
        "section_unknown": {"choices": ("summary", "root-cause")},
        "section_text_missing": {"section": "lessons"},
        "action_list_takes_mine": {},
        "action_item_number_missing": {},
        "action_sub_unknown": {},
        "due_not_a_date": {"due": "2026-02-30"},
        "action_text_missing": {},
        "metrics_window_unknown": {},
        "service_missing": {},
        "oncall_override_id_missing": {},
        "oncall_schedule_missing": {},
        "oncall_end_missing": {},
        # /incident oncall (bot/service/oncall_commands.py)
        "oncall_no_schedules": {},
        # /incident slo (bot/service/commands.py)
        "slo_none": {},
        "slo_unknown": {"word": "Sample & <check>", "choices": ("API Availability",)},
        "oncall_unknown_schedule": {"word": "Sample & <check>", "choices": ("Platform Primary",)},
        "oncall_bad_end": {"problem": "'3x' is not a duration like 30s, 5min, 15m, 2h, 2d or 1w"},
        "oncall_nobody_to_take_from": {"schedule": "Platform Primary"},
        "oncall_override_added": {
            "id": 7,
            "user": "U0SAMPLE",
            "schedule": "Platform Primary",
            "start": "Tue 1 Dec 12:00",
            "end": "Tue 1 Dec 14:00",
            "zone": "Europe/Berlin",
        },
        "oncall_no_such_override": {"id": 7},
        "oncall_override_removed": {"id": 7, "user": "U0SAMPLE", "schedule": "Platform Primary"},
        # Modals (bot/core/forms.py)
        "form_severity_unknown": {},
        "form_update_message_missing": {},
        "form_mitigate_note_missing": {},
        "form_resolve_summary_missing": {},
        "form_ended_needs_both": {},
        "form_ended_in_future": {},
        "form_public_title_missing": {},
        "form_public_message_missing": {},
        "form_public_status_unknown": {},
        "form_component_status_unknown": {},
        # Use cases (bot/service/)
        "no_such_incident": {"key": "INC-0"},
        "private_refusal": {"key": "INC-0"},
        "already_declared": {"key": "INC-0"},
        "declared": {
            "key": "INC-0",
            "severity": "sev1",
            "title": "Sample & <check>",
            "channel_name": "inc-0-sample",
        },
        "channel_ready": {"key": "INC-0", "channel_id": "C0SAMPLE"},
        "channel_slow": {},
        "joined": {"channel_id": "C0SAMPLE"},
        "already_joined": {"channel_id": "C0SAMPLE"},
        "join_slow": {},
        # The postmortem file as posted (bot/slack/notifier.py)
        "postmortem_posted": {"key": "INC-0", "version": 2},
        "postmortem_file_title": {"key": "INC-0", "version": 2},
        # The error handler (bot/slack/app.py)
        "internal_error": {"error_id": "0123abcd"},
    }
)


@dataclass(frozen=True)
class Reply:
    """A sentence for a person, by name: `key` is an entry of the catalogue, `data` its values."""

    key: str
    data: Mapping[str, ReplyValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = REPLIES.get(self.key)
        if expected is None:
            raise ValueError(f"unknown reply key {self.key!r}")
        if set(self.data) != set(expected):
            raise ValueError(f"reply {self.key!r} takes {sorted(expected)}, got {sorted(self.data)}")


def reply(key: str, /, **data: ReplyValue) -> Reply:
    """`reply("noted", key="INC-3")`: the reply named by the first argument, with its data."""
    return Reply(key, MappingProxyType(data))
