"""Templates are checked at start-up: each renders, and the Block Kit ones pass slack_sdk's models."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from bot.core.errors import ConfigError
from bot.render.views import Messages, render_every_template


def check_templates(messages: Messages, now: datetime) -> None:
    """Raises ConfigError naming the template, so a broken one stops the bot at start-up."""
    outputs = render_every_template(messages, now)
    for name, blocks in outputs.items():
        for block in blocks:
            parsed = Block.parse(block)
            if parsed is None or type(parsed) is Block:
                raise ConfigError(f"template {name} produced an unknown block: {block.get('type')!r}")
            try:
                parsed.validate_json()
            except SlackObjectFormationError as exc:
                raise ConfigError(f"template {name} produced an invalid block: {exc}") from exc
