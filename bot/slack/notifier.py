"""Outbound Slack: performs one owed step with the Web API and reports what Slack gave back."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, assert_never

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot import pagerduty, statuspage
from bot.core import events as ev
from bot.core.alerts import AlertGroup
from bot.core.audience import Destination
from bot.core.errors import ChannelBusy
from bot.core.mirror import UPDATE, mirror_request
from bot.core.names import shown_outside_slack
from bot.core.owed import Owed, StepKind
from bot.core.policy import Policy
from bot.core.replies import reply
from bot.core.state import IncidentState
from bot.render.renderer import clip
from bot.render.views import Messages
from bot.slack.naming import channel_name_for
from bot.slack.pacing import ChannelPacer
from bot.slack.web_client import LoggedWebClient
from bot.store.names import NameStore

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 10
# How far Slack's clock may be behind ours when telling a channel made by a crashed try (adopt)
# from an older one of the same name (do not).
ADOPTION_CLOCK_SKEW = timedelta(seconds=60)
MAX_PACING_WAIT = 2.0
MAX_TOPIC = 250
# Invite answers that will never change by retrying: record them and move on.
FINAL_INVITE_ERRORS = {"already_in_channel", "cant_invite_self", "user_not_found", "user_is_restricted"}

# Every Web API method the bot calls, with the bot scopes it needs (public channels, then
# private ones). manifest.yml must grant exactly these plus EXTRA_SCOPES; tests/test_manifest.py
# keeps the two in step.
METHOD_SCOPES = {
    "conversations.create": ("channels:manage", "groups:write"),
    "conversations.invite": ("channels:manage", "groups:write"),
    "conversations.setTopic": ("channels:manage", "groups:write"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.info": ("channels:read", "groups:read"),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),  # on-call schedules may name people by email
    # A schedule's `usergroup:` kept equal to who is on call (emptied: disabled, refilled: enabled).
    "usergroups.users.update": ("usergroups:write",),
    "usergroups.disable": ("usergroups:write",),
    "usergroups.enable": ("usergroups:write",),
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "pins.add": ("pins:write",),
    "views.open": (),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
# Slash commands; posting the announcement without being invited; receiving reaction events.
EXTRA_SCOPES = {"commands", "chat:write.public", "reactions:read"}


def make_client(token: str, base_url: str, *, max_retries: int = 3) -> WebClient:
    """A WebClient that waits out 429s per Retry-After and retries 5xx and dropped connections, and
    logs each call (method, latency, error)."""
    return LoggedWebClient(
        token=token,
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=max_retries),
            ServerErrorRetryHandler(max_retry_count=max_retries),
            ConnectionErrorRetryHandler(max_retry_count=max_retries),
        ],
    )


class SlackNotifier:
    def __init__(
        self,
        client: WebClient,
        messages: Messages,
        policy: Policy,
        pacer: ChannelPacer,
        names: NameStore | None = None,
        pager: pagerduty.PagerDutyClient | None = None,
        statuspage: statuspage.StatuspageClient | None = None,
    ) -> None:
        self.client = client
        self.statuspage = statuspage  # Statuspage.io's Manage API, when STATUSPAGE_API_KEY is set
        self._fresh_markers: set[str] = set()  # recorded by this process, not yet sent with a create
        self.pager = pager  # PagerDuty's Events API, when PAGERDUTY_ROUTING_KEY is set
        self.messages = messages
        self.policy = policy
        self.pacer = pacer
        self.names = names  # the name cache, for the postmortem file (read outside Slack)
        self._bot_user_id: str | None = None

    def _post(self, channel: str, **kwargs: Any) -> SlackResponse:
        """chat.postMessage, paced per channel so the bot stays under Slack's limit. A channel
        backed up for longer than MAX_PACING_WAIT (say, the announcement channel during a storm of
        incidents) defers the step instead of holding a worker that other incidents need."""
        if self.pacer.wait(channel, max_wait=MAX_PACING_WAIT) is None:
            raise ChannelBusy(f"{channel} is at Slack's posting limit")
        return self.client.chat_postMessage(channel=channel, **kwargs)

    def perform(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """Do one owed step at the destination the core chose; say what Slack gave back."""
        match step.kind:
            case StepKind.CREATE_CHANNEL:
                return self._create_channel(step, state, now)
            case StepKind.INVITE:
                return self._invite(step, state, now)
            case StepKind.SET_TOPIC:
                return self._set_topic(step, state, now)
            case StepKind.POST_SUMMARY:
                return self._post_summary(step, state, now)
            case StepKind.PIN_SUMMARY:
                return self._pin_summary(step, state, now)
            case StepKind.UPDATE_SUMMARY:
                return self._update_summary(step, state, now)
            case StepKind.ANNOUNCE:
                return self._announce(step, state, now)
            case StepKind.POST_IN_CHANNEL:
                return self._post_in_channel(step, state, now)
            case StepKind.POST_IN_THREAD:
                return self._post_in_thread(step, state, now)
            case StepKind.POST_NOTICE:
                return self._post_notice(step, state, now)
            case StepKind.PUBLISH_POSTMORTEM:
                return self._publish_postmortem(step, state, now)
            case StepKind.PAGE:
                return self._page(step, state, now)
            case StepKind.PAGERDUTY:
                return self._pagerduty(step, state, now)
            case StepKind.STATUSPAGE:
                return self._statuspage(step, state, now)
            case StepKind.POST_RUNBOOK:
                return self._post_runbook(step, state, now)
            case StepKind.UPDATE_RUNBOOK:
                return self._update_runbook(step, state, now)
            case _:
                assert_never(step.kind)

    def _post_to(self, destination: Destination, **kwargs: Any) -> SlackResponse:
        if destination.channel is None:
            raise RuntimeError(f"no address for {destination.audience}")
        return self._post(destination.channel, thread_ts=destination.thread_ts, **kwargs)

    def _create_channel(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """First record the name (no Slack call), then create exactly that name. A `name_taken`
        for it is either the bot's own channel from a try that died before its answer was
        recorded (adopted: no second channel) or somebody else's (the next name is chosen)."""
        chosen = state.slack.chosen_name
        if chosen is None:
            attempt = len(state.slack.names_taken)
            if attempt >= MAX_NAME_ATTEMPTS:
                raise RuntimeError(f"{state.key}: every channel name tried was taken")
            name = channel_name_for(state.number, state.facts.title, self.policy.channel_prefix, attempt)
            return ev.SlackChannelNameChosen(name=name)
        try:
            response = self.client.conversations_create(name=chosen, is_private=state.private)
        except SlackApiError as exc:
            if exc.response.get("error") != "name_taken":
                raise
            own = self._own_new_channel(chosen, state.slack.chosen_at or now)
            if own is not None:
                # Not the name: it carries a private incident's title.
                log.warning("%s: adopting its channel, created by a try that did not record it", state.key)
                return ev.SlackChannelCreated(channel_id=own, name=chosen)
            return ev.SlackChannelNameTaken(name=chosen)
        channel = response["channel"]
        return ev.SlackChannelCreated(channel_id=channel["id"], name=channel["name"])

    def _own_new_channel(self, name: str, chosen_at: datetime) -> str | None:
        """The id of channel `name` if this bot created it after the name was chosen (a channel of
        that name from before, say a reinstalled bot's, is not adopted)."""
        if self._bot_user_id is None:
            self._bot_user_id = self.client.auth_test()["user_id"]
        cursor = None
        while True:
            page = self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
            )
            channels: list[dict[str, Any]] = page.get("channels", [])
            for channel in channels:
                if channel.get("name") != name:
                    continue
                created = datetime.fromtimestamp(int(channel.get("created", 0)), tz=UTC)
                fresh = created >= chosen_at - ADOPTION_CLOCK_SKEW
                return channel["id"] if channel.get("creator") == self._bot_user_id and fresh else None
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def _invite(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        result = "invited"
        try:
            self.client.conversations_invite(channel=_address(step), users=step.user)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in FINAL_INVITE_ERRORS:
                raise
            result = error
            if error != "already_in_channel":
                log.warning("%s: could not invite %s: %s", state.key, step.user, error)
        return ev.SlackMemberInvited(user=step.user, result=result)

    def _set_topic(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        topic = clip(self.messages.topic(state), MAX_TOPIC)
        self.client.conversations_setTopic(channel=_address(step), topic=topic)
        return ev.SlackTopicSet(for_seq=step.seq, topic=topic)

    def _post_summary(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        response = self._post_to(
            step.destination,
            text=self.messages.summary_text(state),
            blocks=self.messages.summary_blocks(state, now),
        )
        return ev.SlackSummaryPosted(channel_id=response["channel"], ts=response["ts"], for_seq=step.seq)

    def _pin_summary(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        ts = _summary_ts(state)
        try:
            self.client.pins_add(channel=_address(step), timestamp=ts)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_pinned":
                raise
        return ev.SlackSummaryPinned(ts=ts)

    def _update_summary(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        self.client.chat_update(
            channel=_address(step),
            ts=_summary_ts(state),
            text=self.messages.summary_text(state),
            blocks=self.messages.summary_blocks(state, now),
        )
        return ev.SlackSummaryUpdated(for_seq=step.seq)

    def _announce(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        response = self._post_to(
            step.destination,
            text=self.messages.announcement_text(state),
            blocks=self.messages.announcement_blocks(state),
            unfurl_links=False,
        )
        return ev.SlackAnnouncementPosted(channel_id=response["channel"], ts=response["ts"])

    def _post_in_channel(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        response = self._post_to(step.destination, text=self._entry(step, state))
        return ev.SlackChannelMessagePosted(for_seq=step.seq, ts=response["ts"])

    def _post_in_thread(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        response = self._post_to(step.destination, text=self._entry(step, state))
        return ev.SlackThreadReplyPosted(for_seq=step.seq, ts=response["ts"])

    def _post_notice(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        notice = state.event(step.seq)
        response = self._post_to(step.destination, text=self.messages.notice(notice, state))
        return ev.SlackChannelMessagePosted(for_seq=step.seq, ts=response["ts"])

    def _post_runbook(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        response = self._post_to(
            step.destination,
            text=self.messages.runbook_checklist_text(state, step.runbook, step.part),
            blocks=self.messages.runbook_checklist_blocks(state, step.runbook, step.part),
            unfurl_links=False,
        )
        return ev.SlackRunbookPosted(
            name=step.runbook,
            part=step.part,
            channel_id=response["channel"],
            ts=response["ts"],
            for_seq=step.seq,
        )

    def _update_runbook(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """The checklist message edited in place: the ticks, who made them and when."""
        posted = state.runbooks.posted[(step.runbook.casefold(), step.part)]
        self.client.chat_update(
            channel=posted.channel_id,
            ts=posted.ts,
            text=self.messages.runbook_checklist_text(state, step.runbook, step.part),
            blocks=self.messages.runbook_checklist_blocks(state, step.runbook, step.part),
        )
        return ev.SlackRunbookUpdated(name=step.runbook, part=step.part, for_seq=step.seq)

    def _publish_postmortem(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """Upload the Markdown as a new file (files.getUploadURLExternal -> upload -> complete).
        A regenerated postmortem is a new version; the earlier file is left, and the comment says so."""
        request = state.event(step.seq).payload
        assert isinstance(request, ev.PostmortemRequested)
        version = request.version
        names = self.names.known(shown_outside_slack(state).ids) if self.names is not None else {}
        markdown = self.messages.postmortem(state, names)
        response = self.client.files_upload_v2(
            channel=state.slack.channel_id,
            content=markdown,
            filename=f"{state.key}-postmortem-v{version}.md",
            title=self.messages.reply(reply("postmortem_file_title", key=state.key, version=version)),
            initial_comment=self.messages.reply(reply("postmortem_posted", key=state.key, version=version)),
        )
        file_id = response["files"][0]["id"] if response.get("files") else response["file"]["id"]
        digest = hashlib.sha256(markdown.encode()).hexdigest()
        return ev.SlackPostmortemPublished(for_seq=step.seq, version=version, file_id=file_id, sha256=digest)

    def _page(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """The page's direct message (a user id as the channel: Slack posts in the bot's DM with
        them, which needs only chat:write)."""
        page = state.event(step.seq)
        response = self._post_to(
            step.destination,
            text=self.messages.page_text(page, state),
            blocks=self.messages.page_blocks(page, state),
            unfurl_links=False,
        )
        return ev.SlackPageSent(
            for_seq=step.seq, user=step.user, channel_id=response["channel"], ts=response["ts"]
        )

    def _pagerduty(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """One trigger, acknowledge or resolve. PagerDuty asking to retry later is recorded with the
        time to try again; until then the step stays owed but waits (like a channel at its limit)."""
        if self.pager is None:
            raise RuntimeError("a PagerDuty step is owed but PAGERDUTY_ROUTING_KEY is not set")
        deferred = state.paging.pagerduty_retry.get((step.seq, step.action))
        if deferred is not None and deferred.retry_at > now:
            raise ChannelBusy(f"PagerDuty asked to wait until {deferred.retry_at.isoformat()}")
        attempt = deferred.attempt if deferred is not None else 0
        result = self.pager.send(self._pagerduty_event(step, state, now), attempt=attempt)
        match result:
            case pagerduty.Sent():
                return ev.PagerDutyNotified(for_seq=step.seq, action=step.action)
            case pagerduty.Rejected(reason=reason):
                log.warning("%s: PagerDuty refused the %s: %s", state.key, step.action, reason)
                return ev.PagerDutyNotified(
                    for_seq=step.seq, action=step.action, result="rejected", reason=reason
                )
            case pagerduty.RetryLater(reason=reason, delay=delay):
                return ev.PagerDutyDeferred(
                    for_seq=step.seq,
                    action=step.action,
                    attempt=attempt + 1,
                    retry_at=now + delay,
                    reason=reason,
                )
            case _:
                assert_never(result)

    def _pagerduty_event(self, step: Owed, state: IncidentState, now: datetime) -> pagerduty.PagerDutyEvent:
        if step.action == "acknowledge":
            return pagerduty.acknowledge(state.key)
        if step.action == "resolve":
            return pagerduty.resolve(state.key)
        page = state.event(step.seq).payload
        assert isinstance(page, ev.Paged)
        details = {
            "incident": state.key,
            "severity": state.facts.severity,
            "slack_channel": state.slack.channel_name or state.slack.channel_id,
            "paged": list(page.users),
            "level": page.level,
        }
        body = pagerduty.Payload(
            summary=f"{state.key} ({state.facts.severity.upper()}): {state.facts.title}",
            source="incident-bot",
            severity="critical",
            timestamp=now,
            custom_details=details,
        )
        return pagerduty.trigger(state.key, body)

    def _statuspage(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload:
        """Mirror one publication: update the Statuspage incident, or create it. A create is first
        recorded with a marker (no call); a create whose marker this process did not just record
        may have reached Statuspage before a crash, so it is looked for by its marker first."""
        mirror = self.policy.status_page.statuspage
        if self.statuspage is None or mirror is None:
            raise RuntimeError("a Statuspage step is owed but STATUSPAGE_API_KEY or the mirror is not set")
        deferred = state.statuspage.retry.get(step.seq)
        if deferred is not None and deferred.retry_at > now:
            raise ChannelBusy(f"Statuspage asked to wait until {deferred.retry_at.isoformat()}")
        attempt = deferred.attempt if deferred is not None else 0
        request = mirror_request(state, step.seq, mirror)
        incident_id = state.statuspage.incident_id
        if step.action == UPDATE and incident_id is not None:
            result = self.statuspage.update(mirror.page_id, incident_id, request, attempt=attempt)
            return self._statuspage_answer(step, state, now, result, attempt)
        marker = state.statuspage.create_marker
        if marker is None:
            marker = uuid.uuid4().hex
            self._fresh_markers.add(marker)
            return ev.StatuspageCreateAttempted(for_seq=step.seq, marker=marker)
        if marker not in self._fresh_markers:
            resolved = request.status == "resolved"
            found = self.statuspage.find(mirror.page_id, marker, resolved=resolved, attempt=attempt)
            if not isinstance(found, statuspage.NotFound):
                return self._statuspage_answer(step, state, now, found, attempt)
        self._fresh_markers.discard(marker)  # from here on, Statuspage may have it
        result = self.statuspage.create(mirror.page_id, request, marker=marker, attempt=attempt)
        return self._statuspage_answer(step, state, now, result, attempt)

    def _statuspage_answer(
        self,
        step: Owed,
        state: IncidentState,
        now: datetime,
        result: statuspage.StatuspageResult,
        attempt: int,
    ) -> ev.Payload:
        match result:
            case statuspage.Created(incident_id=incident_id):
                return ev.StatuspageIncidentCreated(for_seq=step.seq, incident_id=incident_id)
            case statuspage.Found(incident_id=incident_id):
                log.warning(
                    "%s: adopting Statuspage incident %s, created by an unrecorded try",
                    state.key,
                    incident_id,
                )
                return ev.StatuspageIncidentCreated(for_seq=step.seq, incident_id=incident_id, found=True)
            case statuspage.Updated():
                return ev.StatuspageUpdated(for_seq=step.seq)
            case statuspage.Rejected(reason=reason, status=status):
                log.warning("%s: Statuspage refused publication %s: %s", state.key, step.seq, reason)
                return ev.StatuspageRejected(for_seq=step.seq, status=status, reason=reason)
            case statuspage.RetryLater(reason=reason, delay=delay):
                return ev.StatuspageDeferred(
                    for_seq=step.seq, attempt=attempt + 1, retry_at=now + delay, reason=reason
                )
            case statuspage.NotFound():
                raise RuntimeError("a lookup's NotFound is not an answer to record")
            case _:
                assert_never(result)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """A modal, opened while the trigger is fresh (Slack allows 3 seconds)."""
        self.client.views_open(trigger_id=trigger_id, view=view)

    def fetch_message(self, channel: str, ts: str) -> ev.MessagePinned | None:
        """The message a 📌 reaction is on: its author, text and own time (from its ts)."""
        response = self.client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            if message.get("ts") == ts:
                return ev.MessagePinned(
                    message_ts=ts,
                    author=message.get("user") or message.get("bot_id") or "unknown",
                    text=message.get("text", ""),
                    message_at=datetime.fromtimestamp(float(ts), tz=UTC),
                )
        return None

    def post_triage(self, group: AlertGroup, destination: Destination) -> None:
        """A ticket-grade alert group: shown in the triage channel, no incident."""
        self._post_to(destination, text=self.messages.triage(group), unfurl_links=False)

    def _entry(self, step: Owed, state: IncidentState) -> str:
        event = state.event(step.seq)
        if isinstance(event.payload, ev.NoticeDue):
            return self.messages.notice(event, state)
        return self.messages.timeline_entry(event, state)


def _address(step: Owed) -> str:
    """The channel the core chose for this step (the incident channel exists by now)."""
    if step.destination.channel is None:
        raise RuntimeError(f"{step.kind}: no channel to send it to yet")
    return step.destination.channel


def _summary_ts(state: IncidentState) -> str:
    if state.slack.summary_ts is None:
        raise RuntimeError(f"{state.key}: the summary was not posted yet")
    return state.slack.summary_ts
