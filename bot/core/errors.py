"""The bot's exception tree: one root, user-facing errors carry a message fit for Slack."""


class IncidentBotError(Exception):
    """Root of every error the bot raises on purpose."""


class UserError(IncidentBotError):
    """A mistake by the person typing: shown to them as an ephemeral reply."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class ConfigError(IncidentBotError):
    """Settings or templates that cannot work; reported at start-up."""


class ConcurrencyConflict(IncidentBotError):
    """Another writer appended to the same incident first; reload and decide again."""


class ChannelBusy(IncidentBotError):
    """A channel is at Slack's posting limit for longer than is worth waiting; try that step later."""


class FormErrors(UserError):
    """A modal submitted with missing or wrong fields: shown inline, next to each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class DuplicateDelivery(IncidentBotError):
    """Slack delivered the same request again; it was already applied (to `incident`)."""

    def __init__(self, incident: int) -> None:
        super().__init__(f"already applied to INC-{incident}")
        self.incident = incident
