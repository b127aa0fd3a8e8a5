"""The bot's exception tree: one root, user-facing errors carry a reply (rendered at the edge)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.replies import Reply


class IncidentBotError(Exception):
    """Root of every error the bot raises on purpose."""


class UserError(IncidentBotError):
    """A mistake by the person typing: shown to them as an ephemeral reply."""

    def __init__(self, reply: Reply, *, usage: str | None = None) -> None:
        super().__init__(reply.key)
        self.reply = reply
        self.usage = usage  # command syntax (`USAGE`), shown under the reply


class ConfigError(IncidentBotError):
    """Settings or templates that cannot work; reported at start-up."""


class ConcurrencyConflict(IncidentBotError):
    """Another writer appended to the same incident first; reload and decide again."""


class StoreUnavailable(IncidentBotError):
    """The database dropped the connection or could not be reached for a moment: the same write
    (or read) may be tried again; what Slack already did must not be."""


class PrometheusUnavailable(IncidentBotError):
    """Prometheus could not answer a query (refused, timed out, not 200, `status: error`); the
    message says why, fit to show."""


class ChannelBusy(IncidentBotError):
    """A channel is at Slack's posting limit for longer than is worth waiting; try that step later."""


class FormErrors(UserError):
    """A modal submitted with missing or wrong fields: shown inline, next to each field."""

    def __init__(self, errors: Mapping[str, Reply]) -> None:
        if not errors:
            raise ValueError("FormErrors needs at least one field's error")
        super().__init__(next(iter(errors.values())))
        self.errors = dict(errors)


class DuplicateDelivery(IncidentBotError):
    """Slack delivered the same request again; it was already applied (to `incident`)."""

    def __init__(self, incident: int) -> None:
        super().__init__(f"already applied to INC-{incident}")
        self.incident = incident


class NamesUnavailable(IncidentBotError):
    """Slack could not give names just now (429, 5xx, a dropped connection). Names are best effort:
    nothing waits for them; after a 429, nothing asks again for `retry_after` seconds."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
