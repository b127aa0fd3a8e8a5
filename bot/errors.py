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
