"""Outbound Slack for on-call: handoff messages (a DM or the handoff channel) and user groups kept
equal to who is on call. Slack refuses an empty user group, so an empty one is disabled instead,
and enabled again before it next gets members."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.errors import ChannelBusy
from bot.slack.pacing import ChannelPacer

log = logging.getLogger(__name__)

MAX_PACING_WAIT = 2.0
# Answers that retrying will not change: logged, and the step is recorded as done.
FINAL_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "cannot_dm_bot",
    "missing_scope",
    "no_such_subteam",
    "invalid_users",
    "permission_denied",
    "no_permission",
    "paid_teams_only",
    "plan_upgrade_required",
}


class OnCallSlackNotifier:
    def __init__(self, client: WebClient, pacer: ChannelPacer) -> None:
        self.client = client
        self.pacer = pacer

    def tell(self, to: str, text: str) -> bool:
        """Post `text` to `to` (a user id: the bot's DM with them; or a channel)."""
        if self.pacer.wait(to, max_wait=MAX_PACING_WAIT) is None:
            raise ChannelBusy(f"{to} is at Slack's posting limit")
        return self._final(
            lambda: self.client.chat_postMessage(channel=to, text=text, unfurl_links=False), to
        )

    def set_usergroup(self, usergroup: str, users: tuple[str, ...], enable: bool) -> bool:
        if not users:
            return self._final(lambda: self.client.usergroups_disable(usergroup=usergroup), usergroup)
        if enable and not self._final(lambda: self.client.usergroups_enable(usergroup=usergroup), usergroup):
            return False
        return self._final(
            lambda: self.client.usergroups_users_update(usergroup=usergroup, users=",".join(users)), usergroup
        )

    def _final(self, call: Callable[[], object], target: str) -> bool:
        try:
            call()
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in FINAL_ERRORS:
                raise
            log.warning("on-call: Slack refused %s for %s: %s", exc.response.api_url, target, error)
            return False
        return True
