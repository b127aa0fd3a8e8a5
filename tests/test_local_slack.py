"""Tests for bot.local_slack: the local Slack, a strict Slack Web API over real loopback HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.local_slack import (
    DEFAULT_SCOPES,
    METHOD_PARAM_EXTRAS,
    METHOD_PARAMS,
    METHOD_SCOPES,
    RETIRED_METHODS,
    LocalSlack,
)

SLACK_SPECS = Path(__file__).resolve().parent / "slack_specs"
SPEC_SLICE = SLACK_SPECS / "web_api_openapi_slice.json"
FULL_SPEC = Path(__file__).resolve().parents[2] / "shared/slack/web_api_openapi_v2.json"
# Methods that post-date the 2020 OpenAPI spec (Slack's external upload flow, which replaced
# files.upload, and Socket Mode's apps.connections.open): the spec cannot vouch for them, so all
# their parameters are METHOD_PARAM_EXTRAS.
METHODS_AFTER_SPEC = frozenset(
    {"files.getUploadURLExternal", "files.completeUploadExternal", "apps.connections.open"}
)


@pytest.fixture
def fake() -> Iterator[LocalSlack]:
    with LocalSlack() as server:
        server.add_user("U0ALICE", "alice")
        server.add_user("U0BOB", "bob")
        yield server


@pytest.fixture
def client(fake: LocalSlack) -> WebClient:
    return WebClient(token=fake.token, base_url=fake.base_url)


def slack_error(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    """Run a WebClient call that must fail and return the SlackApiError."""
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def error_of(call: Any, *args: Any, **kwargs: Any) -> str:
    return slack_error(call, *args, **kwargs).response["error"]


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST without slack_sdk, returning (status, parsed JSON body)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


HISTORY_SCOPES = frozenset({"channels:history", "groups:history"})


@pytest.fixture
def reader() -> Iterator[LocalSlack]:
    """A local Slack whose bot may also read public and private channel history."""
    with LocalSlack(scopes=DEFAULT_SCOPES | HISTORY_SCOPES) as server:
        server.add_user("U0ALICE", "alice")
        server.add_user("U0BOB", "bob")
        yield server


def client_for(fake: LocalSlack) -> WebClient:
    return WebClient(token=fake.token, base_url=fake.base_url)


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def trigger_id(age_seconds: int = 0, n: int = 1) -> str:
    """A trigger id shaped like the ones SlackRequestSender issues, issued age_seconds ago."""
    return f"{int(time.time()) - age_seconds}.{n}.0123456789abcdef"


def modal(**overrides: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "callback_id": "incident.declare",
        "private_metadata": '{"channel_id": "C1"}',
        "title": plain("Declare an incident"),
        "submit": plain("Declare"),
        "close": plain("Cancel"),
        "blocks": [section("Tell us what broke")],
    }
    return view | overrides


def option(value: str) -> dict[str, Any]:
    return {"text": plain(value), "value": value}


def input_block(block_id: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "label": plain(block_id), "element": element}


# --- contract tables ---------------------------------------------------------------


def test_method_params_are_a_subset_of_slacks_openapi_spec() -> None:
    """Every implemented method and each allowed parameter appear in Slack's OpenAPI spec (its slice).

    Only the documented METHODS_AFTER_SPEC are exempt: they must really be missing from the spec
    (the slice keeps every implemented method the spec has), and every one of their parameters
    must be a documented extra.
    """
    paths = json.loads(SPEC_SLICE.read_text())["paths"]
    assert METHODS_AFTER_SPEC.issubset(METHOD_PARAMS)
    for method, allowed in METHOD_PARAMS.items():
        if method in METHODS_AFTER_SPEC:
            assert f"/{method}" not in paths, f"{method} is in the spec now: check it against the spec"
            assert allowed == METHOD_PARAM_EXTRAS[method], f"{method}: undocumented parameters"
            continue
        assert f"/{method}" in paths, f"{method} is not in the spec"
        spec_params = {p["name"] for op in paths[f"/{method}"].values() for p in op.get("parameters", [])}
        extras = METHOD_PARAM_EXTRAS.get(method, frozenset())
        assert allowed - extras <= spec_params, f"{method}: {sorted(allowed - extras - spec_params)}"


def test_spec_slice_is_what_the_script_cuts_from_slacks_full_spec(tmp_path: Path) -> None:
    """The committed slice equals a fresh extract_slice.py run on Slack's full spec, where that exists."""
    if not FULL_SPEC.exists():
        pytest.skip(f"Slack's full OpenAPI spec is not at {FULL_SPEC}: the committed slice is not re-cut")
    fresh = tmp_path / "slice.json"
    script = SLACK_SPECS / "extract_slice.py"
    subprocess.run([sys.executable, str(script), str(FULL_SPEC), str(fresh)], check=True, timeout=60)
    assert fresh.read_text() == SPEC_SLICE.read_text(), f"cut it again: python {script} {FULL_SPEC}"


def test_scope_table_covers_exactly_the_implemented_methods() -> None:
    """METHOD_SCOPES and METHOD_PARAMS describe the same set of methods."""
    assert set(METHOD_SCOPES) == set(METHOD_PARAMS)
    assert {"chat:write", "chat:write.public", "pins:write", "users:read"} <= DEFAULT_SCOPES
    assert not set(RETIRED_METHODS) & set(METHOD_PARAMS), "a retired method cannot also be implemented"


# --- auth, unknown methods and parameters ----------------------------------------------


def test_auth_test_reports_bot_identity(client: WebClient, fake: LocalSlack) -> None:
    """auth.test answers with the bot user id, bot id and team id."""
    response = client.auth_test()
    assert response["user_id"] == fake.bot_user_id
    assert response["team_id"] == fake.team_id
    assert response["bot_id"].startswith("B")


def test_wrong_token_is_invalid_auth(fake: LocalSlack) -> None:
    """A token other than the configured one gets invalid_auth."""
    bad = WebClient(token="xoxb-wrong", base_url=fake.base_url)
    assert error_of(bad.auth_test) == "invalid_auth"


def test_missing_token_is_not_authed(fake: LocalSlack) -> None:
    """No Authorization header and no token param gets not_authed."""
    assert error_of(WebClient(base_url=fake.base_url).auth_test) == "not_authed"


def test_token_inside_json_body_is_ignored(fake: LocalSlack) -> None:
    """Like Slack, a token in a JSON body does not authenticate (header required)."""
    body = json.dumps({"token": fake.token}).encode()
    status, data = raw_post(fake.base_url + "auth.test", body, {"Content-Type": "application/json"})
    assert (status, data["error"]) == (200, "not_authed")


def test_unknown_method_is_http_404(client: WebClient) -> None:
    """A method the local Slack does not implement answers HTTP 404 unknown_method."""
    error = slack_error(client.api_call, "chat.meMessage", params={"channel": "C1", "text": "x"})
    assert error.response.status_code == 404
    assert error.response["error"] == "unknown_method"


def test_unknown_parameter_is_invalid_arguments(client: WebClient) -> None:
    """A parameter outside the method's allow-list is rejected with invalid_arguments."""
    error = slack_error(client.api_call, "conversations.create", params={"name": "ok", "bogus": "1"})
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] unknown parameter 'bogus'"]


def test_team_id_default_param_from_bolt_clients_is_accepted(fake: LocalSlack) -> None:
    """A WebClient(team_id=...) (as Bolt builds per request) sends team_id on every call; only ours is ok."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    ours = WebClient(token=fake.token, base_url=fake.base_url, team_id=fake.team_id)
    assert ours.chat_postMessage(channel=channel, text="hi")["ok"] is True
    assert ours.views_open(trigger_id=trigger_id(), view=modal())["ok"] is True
    assert fake.calls("views.open")[0].params["team_id"] == fake.team_id
    other = WebClient(token=fake.token, base_url=fake.base_url, team_id="T0OTHER")
    assert error_of(other.chat_postMessage, channel=channel, text="hi") == "invalid_arguments"


def test_non_string_thread_ts_is_invalid_arguments(client: WebClient, fake: LocalSlack) -> None:
    """A float thread_ts (a classic client bug) is rejected instead of silently accepted."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    assert error_of(client.chat_postMessage, channel=channel, text="x", thread_ts=1.5) == "invalid_arguments"


def test_form_token_and_query_params_are_accepted(fake: LocalSlack) -> None:
    """A form-encoded body with a token param plus query-string params works like Slack."""
    body = f"token={fake.token}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, data = raw_post(fake.base_url + "users.info?user=U0BOB", body, headers)
    assert (status, data["user"]["name"]) == (200, "bob")
    assert fake.calls("users.info")[0].params == {"user": "U0BOB", "token": fake.token}


def test_latency_delays_each_api_call() -> None:
    """latency= makes every Web API call take at least that long."""
    with LocalSlack(latency=0.05) as slow:
        client = WebClient(token=slow.token, base_url=slow.base_url)
        started = time.monotonic()
        client.auth_test()
        assert time.monotonic() - started >= 0.05


def test_concurrent_posts_get_unique_ordered_timestamps(client: WebClient, fake: LocalSlack) -> None:
    """State is thread-safe: parallel posts are all stored, with unique increasing ts."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: client.chat_postMessage(channel=channel, text=f"m{i}"), range(40)))
    stamps = [m.ts for m in fake.channel(channel).messages]
    assert len(set(stamps)) == 40 and stamps == sorted(stamps, key=float)
    assert len(fake.calls("chat.postMessage")) == 40


def test_missing_scope_names_needed_and_provided(fake: LocalSlack) -> None:
    """Without pins:write, pins.add fails with missing_scope, needed and provided."""
    with LocalSlack(scopes=DEFAULT_SCOPES - {"pins:write"}) as limited:
        channel = limited.add_channel("ops", members=[limited.bot_user_id])
        client = WebClient(token=limited.token, base_url=limited.base_url)
        ts = client.chat_postMessage(channel=channel, text="hello")["ts"]
        error = slack_error(client.pins_add, channel=channel, timestamp=ts)
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == "pins:write"
    assert "chat:write" in error.response["provided"].split(",")


# --- conversations.* ---------------------------------------------------------------------


def test_create_channel_returns_channel_and_bot_is_member(client: WebClient, fake: LocalSlack) -> None:
    """conversations.create returns Slack's channel object; the bot is a member."""
    created = client.conversations_create(name="inc-42-db-down", is_private=False)["channel"]
    assert created["id"].startswith("C") and created["name"] == "inc-42-db-down"
    assert created["is_member"] is True and created["is_private"] is False
    assert set(created["topic"]) == {"value", "creator", "last_set"}
    assert fake.bot_user_id in fake.channel(created["id"]).members
    assert fake.channel_by_name("inc-42-db-down").id == created["id"]


def test_create_private_channel(client: WebClient, fake: LocalSlack) -> None:
    """is_private=True creates a private channel (form-encoded boolean)."""
    created = client.conversations_create(name="inc-secret", is_private=True)["channel"]
    assert created["is_private"] is True
    assert fake.channel(created["id"]).is_private


def test_create_channel_name_taken(client: WebClient) -> None:
    """Creating a channel with an existing name gets name_taken."""
    client.conversations_create(name="inc-1")
    assert error_of(client.conversations_create, name="inc-1") == "name_taken"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Bad Name", "invalid_name_specials"),
        ("café", "invalid_name_specials"),
        ("UPPER", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("---", "invalid_name_punctuation"),
        ("", "invalid_name_required"),
    ],
)
def test_create_channel_rejects_invalid_names(client: WebClient, name: str, expected: str) -> None:
    """Channel names follow Slack's rules: [a-z0-9_-], at most 80 chars, not only punctuation."""
    assert error_of(client.conversations_create, name=name) == expected


def test_invite_then_already_in_channel(client: WebClient, fake: LocalSlack) -> None:
    """Inviting members works; re-inviting gets already_in_channel with an errors array."""
    channel = client.conversations_create(name="inc-2")["channel"]["id"]
    client.conversations_invite(channel=channel, users=["U0ALICE", "U0BOB"])
    assert {"U0ALICE", "U0BOB"} <= fake.channel(channel).members
    error = slack_error(client.conversations_invite, channel=channel, users="U0ALICE")
    assert error.response["error"] == "already_in_channel"
    assert error.response["errors"] == [{"user": "U0ALICE", "ok": False, "error": "already_in_channel"}]


def test_invite_unknown_user_self_and_non_member_bot(client: WebClient, fake: LocalSlack) -> None:
    """Unknown users, the bot itself and channels the bot is not in are rejected."""
    channel = client.conversations_create(name="inc-3")["channel"]["id"]
    assert error_of(client.conversations_invite, channel=channel, users="U0NOBODY") == "user_not_found"
    assert (
        error_of(client.conversations_invite, channel=channel, users=fake.bot_user_id) == "cant_invite_self"
    )
    other = fake.add_channel("general", members=["U0ALICE"])
    assert error_of(client.conversations_invite, channel=other, users="U0BOB") == "not_in_channel"
    assert error_of(client.conversations_invite, channel="C404", users="U0BOB") == "channel_not_found"


def test_set_topic_and_too_long(client: WebClient, fake: LocalSlack) -> None:
    """setTopic stores the topic; more than 250 characters gets too_long."""
    channel = client.conversations_create(name="inc-4")["channel"]["id"]
    response = client.conversations_setTopic(channel=channel, topic="SEV1: db down")
    assert response["channel"]["topic"]["value"] == "SEV1: db down"
    assert error_of(client.conversations_setTopic, channel=channel, topic="x" * 251) == "too_long"
    assert fake.channel(channel).topic == "SEV1: db down"


def test_conversations_info_and_join(client: WebClient, fake: LocalSlack) -> None:
    """info returns the channel; join needs channels:join and refuses private channels."""
    public = fake.add_channel("general", members=["U0ALICE"])
    info = client.conversations_info(channel=public, include_num_members=True)["channel"]
    assert (info["name"], info["is_member"], info["num_members"]) == ("general", False, 1)
    assert error_of(client.conversations_info, channel="C404") == "channel_not_found"
    assert error_of(client.conversations_join, channel=public) == "missing_scope"
    with LocalSlack(scopes=DEFAULT_SCOPES | {"channels:join"}) as joiner:
        public = joiner.add_channel("general")
        private = joiner.add_channel("secret", is_private=True)
        join_client = WebClient(token=joiner.token, base_url=joiner.base_url)
        assert join_client.conversations_join(channel=public)["channel"]["is_member"] is True
        error = slack_error(join_client.conversations_join, channel=private)
        assert error.response["error"] == "method_not_supported_for_channel_type"


# --- chat.* -----------------------------------------------------------------------------


def test_post_message_shape_and_monotonic_ts(client: WebClient, fake: LocalSlack) -> None:
    """postMessage returns channel, ts and message; timestamps strictly increase."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    first = client.chat_postMessage(channel=channel, text="one")
    second = client.chat_postMessage(channel="#ops", text="two")
    assert first["channel"] == second["channel"] == channel
    assert first["message"]["user"] == fake.bot_user_id and first["message"]["text"] == "one"
    assert float(second["ts"]) > float(first["ts"]) and len(first["ts"].split(".")[1]) == 6


def test_post_to_unknown_channel_is_channel_not_found(client: WebClient) -> None:
    """Posting to a channel that does not exist gets channel_not_found."""
    assert error_of(client.chat_postMessage, channel="C0NOPE", text="hi") == "channel_not_found"


def test_post_to_public_non_member_channel_needs_chat_write_public(fake: LocalSlack) -> None:
    """Without chat:write.public, posting to a public channel the bot is not in is not_in_channel."""
    with LocalSlack(scopes=DEFAULT_SCOPES - {"chat:write.public"}) as limited:
        channel = limited.add_channel("general")
        client = WebClient(token=limited.token, base_url=limited.base_url)
        assert error_of(client.chat_postMessage, channel=channel, text="hi") == "not_in_channel"
    channel = fake.add_channel("general")
    WebClient(token=fake.token, base_url=fake.base_url).chat_postMessage(channel=channel, text="hi")
    secret = fake.add_channel("secret", is_private=True, members=["U0ALICE"])
    client = WebClient(token=fake.token, base_url=fake.base_url)
    assert error_of(client.chat_postMessage, channel=secret, text="hi") == "channel_not_found"


@pytest.mark.parametrize(
    "blocks",
    [
        [section(f"line {i}") for i in range(51)],
        [section("x" * 3001)],
        [{"type": "fancy_widget", "text": "hi"}],
        [section("a", block_id="same"), section("b", block_id="same")],
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        [
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
            }
        ],
        [{"type": "actions", "elements": [{"type": "sparkle_button"}]}],
        [{"type": "section", "text": "plain string instead of a text object"}],
        "not json",
    ],
    ids=[
        "51-blocks",
        "section-3001",
        "unknown-type",
        "dup-block-id",
        "header-151",
        "button-76",
        "unknown-element",
        "text-not-object",
        "bad-json",
    ],
)
def test_invalid_blocks_are_rejected(client: WebClient, fake: LocalSlack, blocks: Any) -> None:
    """Block Kit payloads are validated; failures get invalid_blocks with an explanation."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    error = slack_error(client.chat_postMessage, channel=channel, text="fallback", blocks=blocks)
    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert fake.channel(channel).messages == []


def test_valid_blocks_are_accepted_as_list_or_json_string(client: WebClient, fake: LocalSlack) -> None:
    """Blocks may come as a JSON list (JSON body) or a JSON string (form body); calls keep the raw form."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Incident"}}, section("body")]
    client.chat_postMessage(channel=channel, text="fallback", blocks=blocks)
    client.api_call(
        "chat.postMessage", params={"channel": channel, "text": "t", "blocks": json.dumps(blocks)}
    )
    raw = [call.params["blocks"] for call in fake.calls("chat.postMessage")]
    assert isinstance(raw[0], list) and isinstance(raw[1], str)
    assert [m.blocks for m in fake.channel(channel).messages] == [blocks, blocks]


def test_message_text_too_long(client: WebClient, fake: LocalSlack) -> None:
    """Text longer than 40,000 characters gets msg_too_long; no text at all gets no_text."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    assert error_of(client.chat_postMessage, channel=channel, text="x" * 40_001) == "msg_too_long"
    error = slack_error(client.api_call, "chat.postMessage", json={"channel": channel})
    assert error.response["error"] == "no_text"


def test_thread_ts_must_be_an_existing_parent(client: WebClient, fake: LocalSlack) -> None:
    """thread_ts that is not a top-level message in the channel gets thread_not_found."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    assert (
        error_of(client.chat_postMessage, channel=channel, text="r", thread_ts="123.000001")
        == "thread_not_found"
    )


def test_chat_update_changes_message_and_marks_edited(client: WebClient, fake: LocalSlack) -> None:
    """chat.update replaces the text, marks the message edited; unknown/foreign messages fail."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id, "U0ALICE"])
    ts = client.chat_postMessage(channel=channel, text="Status: investigating")["ts"]
    response = client.chat_update(channel=channel, ts=ts, text="Status: resolved")
    assert (response["ts"], response["text"]) == (ts, "Status: resolved")
    message = fake.channel(channel).messages[0]
    assert (message.text, message.edited) == ("Status: resolved", True)
    assert error_of(client.chat_update, channel=channel, ts="1.000001", text="x") == "message_not_found"
    human_ts = fake.post_as_user(channel, "U0ALICE", "I'm on it")
    assert error_of(client.chat_update, channel=channel, ts=human_ts, text="x") == "cant_update_message"


def test_post_ephemeral_is_recorded_but_not_stored(client: WebClient, fake: LocalSlack) -> None:
    """postEphemeral needs the user in the channel and leaves no message in the channel."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id, "U0ALICE"])
    assert client.chat_postEphemeral(channel=channel, user="U0ALICE", text="psst")["message_ts"]
    assert (
        error_of(client.chat_postEphemeral, channel=channel, user="U0BOB", text="x") == "user_not_in_channel"
    )
    assert fake.channel(channel).messages == []
    assert [c.ok for c in fake.calls("chat.postEphemeral")] == [True, False]


def test_pins_add_then_already_pinned(client: WebClient, fake: LocalSlack) -> None:
    """pins.add pins a message once; pinning again gets already_pinned."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    ts = client.chat_postMessage(channel=channel, text="summary")["ts"]
    assert client.pins_add(channel=channel, timestamp=ts)["ok"] is True
    assert error_of(client.pins_add, channel=channel, timestamp=ts) == "already_pinned"
    assert error_of(client.pins_add, channel=channel, timestamp="1.000009") == "message_not_found"
    assert fake.channel(channel).pins == [ts]


def test_users_info(client: WebClient) -> None:
    """users.info returns added users and user_not_found otherwise."""
    user = client.users_info(user="U0ALICE")["user"]
    assert (user["id"], user["name"], user["is_bot"], user["profile"]["display_name"]) == (
        "U0ALICE",
        "alice",
        False,
        "alice",
    )
    assert error_of(client.users_info, user="U0NOPE") == "user_not_found"


def test_transcript_nests_thread_replies_and_marks_pins(client: WebClient, fake: LocalSlack) -> None:
    """transcript() lists top-level messages with their replies indented under them."""
    channel = fake.add_channel("inc-7", members=[fake.bot_user_id])
    client.conversations_setTopic(channel=channel, topic="SEV2")
    parent = client.chat_postMessage(channel=channel, text="Incident declared")["ts"]
    client.chat_postMessage(channel=channel, text="Timeline")
    client.chat_postMessage(channel=channel, text="reply one", thread_ts=parent)
    header = {"type": "header", "text": {"type": "plain_text", "text": "Status update"}}
    blocks_only = {"channel": channel, "blocks": [header], "thread_ts": parent}
    client.api_call("chat.postMessage", json=blocks_only)  # no text: transcript renders the blocks
    client.pins_add(channel=channel, timestamp=parent)
    lines = fake.transcript(channel).splitlines()
    assert lines[0] == "#inc-7 (topic: SEV2)"
    assert lines[1].endswith("📌 Incident declared") and lines[1].startswith("[")
    assert "↳" in lines[2] and lines[2].endswith("reply one")
    assert "↳" in lines[3] and lines[3].endswith("Status update")
    assert lines[4].endswith("] Timeline")


# --- views.open ---------------------------------------------------------------------------


def test_views_open_returns_view_and_records_it(client: WebClient, fake: LocalSlack) -> None:
    """views.open answers Slack's view object (id, hash, empty state) and views() records it, in order."""
    view = client.views_open(trigger_id=trigger_id(n=1), view=modal())["view"]
    assert view["id"].startswith("V") and view["team_id"] == fake.team_id and view["type"] == "modal"
    assert (view["callback_id"], view["private_metadata"]) == ("incident.declare", '{"channel_id": "C1"}')
    assert view["title"] == plain("Declare an incident") and view["blocks"] == modal()["blocks"]
    assert view["state"] == {"values": {}} and view["hash"] and view["root_view_id"] == view["id"]
    form = {"trigger_id": trigger_id(n=2), "view": json.dumps(modal(callback_id="second"))}
    second = client.api_call("views.open", data=form)["view"]  # form-encoded: view is a JSON string
    assert second["id"] != view["id"] and isinstance(fake.calls("views.open")[1].params["view"], str)
    assert fake.views() == [view, second]
    fake.views()[0]["title"]["text"] = "changed"  # a deep copy
    assert fake.views()[0]["title"]["text"] == "Declare an incident"


@pytest.mark.parametrize(
    ("make_trigger", "expected"),
    [
        (lambda: trigger_id(age_seconds=5), "expired_trigger_id"),
        (lambda: "not-a-trigger", "invalid_trigger_id"),
        (lambda: trigger_id(age_seconds=-60), "invalid_trigger_id"),
    ],
    ids=["issued-5s-ago", "unparseable", "issued-in-the-future"],
)
def test_views_open_rejects_stale_or_malformed_trigger_ids(
    client: WebClient, fake: LocalSlack, make_trigger: Any, expected: str
) -> None:
    """A trigger id issued over 3 s ago is expired_trigger_id; unparseable or future ones invalid_trigger_id."""
    assert error_of(client.views_open, trigger_id=make_trigger(), view=modal()) == expected
    assert fake.views() == []


def test_views_open_trigger_id_can_be_exchanged_once(client: WebClient, fake: LocalSlack) -> None:
    """A trigger id is consumed by a successful views.open; reusing it gets exchanged_trigger_id."""
    trigger = trigger_id()
    bad = modal(title=plain("t" * 25))
    assert error_of(client.views_open, trigger_id=trigger, view=bad) == "invalid_arguments"
    client.views_open(trigger_id=trigger, view=modal())  # a failed call does not consume the trigger
    assert error_of(client.views_open, trigger_id=trigger, view=modal()) == "exchanged_trigger_id"
    assert len(fake.views()) == 1


def test_views_open_requires_trigger_id_and_view(client: WebClient) -> None:
    """Missing trigger_id or view is invalid_arguments naming the field."""
    error = slack_error(client.api_call, "views.open", json={"view": modal()})
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] missing required field: trigger_id"]
    assert error_of(client.api_call, "views.open", json={"trigger_id": trigger_id()}) == "invalid_arguments"


@pytest.mark.parametrize(
    "view",
    [
        modal(title=plain("t" * 25)),
        modal(blocks=[section(f"line {i}") for i in range(101)]),
        modal(blocks=[{"type": "fancy_widget", "text": "hi"}]),
        modal(type="home"),
        modal(submit=plain("s" * 25)),
        modal(title="a string, not a text object"),
        modal(callback_id="c" * 256),
        modal(private_metadata="m" * 3001),
        modal(blocks=[section("a", block_id="same"), section("b", block_id="same")]),
        {
            k: v
            for k, v in modal(blocks=[input_block("title", {"type": "plain_text_input"})]).items()
            if k != "submit"
        },
        modal(unknown_field=True),
        "{not json",
    ],
    ids=[
        "title-25",
        "101-blocks",
        "unknown-block-type",
        "not-modal",
        "submit-25",
        "title-not-object",
        "callback-id-256",
        "metadata-3001",
        "dup-block-id",
        "input-without-submit",
        "unknown-view-field",
        "bad-json",
    ],
)
def test_views_open_rejects_invalid_views(client: WebClient, fake: LocalSlack, view: Any) -> None:
    """Invalid views get invalid_arguments with an [ERROR] message pointing into /view."""
    payload = {"trigger_id": trigger_id(), "view": view}
    error = slack_error(client.api_call, "views.open", json=payload)
    assert error.response["error"] == "invalid_arguments"
    message = error.response["response_metadata"]["messages"][0]
    assert message.startswith("[ERROR] ") and "[json-pointer:/view" in message
    assert fake.views() == []


def test_views_open_accepts_input_blocks_with_common_elements(client: WebClient, fake: LocalSlack) -> None:
    """Input blocks with text, select, user, checkbox, date and time elements are valid modal content."""
    blocks = [
        input_block("title", {"type": "plain_text_input", "action_id": "title", "multiline": False}),
        input_block(
            "severity",
            {
                "type": "static_select",
                "action_id": "severity",
                "options": [option("sev1"), option("sev2")],
                "initial_option": option("sev2"),
            },
        ),
        input_block("commander", {"type": "users_select", "action_id": "commander"}),
        input_block("flags", {"type": "checkboxes", "action_id": "flags", "options": [option("customer")]}),
        input_block("date", {"type": "datepicker", "action_id": "date", "initial_date": "2024-05-01"}),
        input_block("time", {"type": "timepicker", "action_id": "time", "initial_time": "09:30"}),
    ]
    blocks[2]["optional"] = True
    view = client.views_open(trigger_id=trigger_id(), view=modal(blocks=blocks))["view"]
    assert view["blocks"] == blocks
    assert fake.views()[0]["blocks"] == blocks


# --- conversations.history / conversations.replies -------------------------------------------


def test_history_returns_top_level_messages_newest_first(reader: LocalSlack) -> None:
    """history lists top-level messages (human ones too) newest first, without thread replies."""
    client = client_for(reader)
    channel = reader.add_channel("ops", members=[reader.bot_user_id, "U0ALICE"])
    first = client.chat_postMessage(channel=channel, text="one")["ts"]
    client.chat_postMessage(channel=channel, text="reply", thread_ts=first)
    human = reader.post_as_user(channel, "U0ALICE", "from alice")
    blocks = [section("three")]
    third = client.chat_postMessage(channel=channel, text="three", blocks=blocks)["ts"]
    client.pins_add(channel=channel, timestamp=first)
    response = client.conversations_history(channel=channel)
    messages = response["messages"]
    assert [m["ts"] for m in messages] == [third, human, first]
    assert [m["user"] for m in messages] == [reader.bot_user_id, "U0ALICE", reader.bot_user_id]
    assert messages[0]["type"] == "message" and messages[0]["blocks"] == blocks
    assert (messages[2]["thread_ts"], messages[2]["reply_count"]) == (first, 1)
    assert "thread_ts" not in messages[1] and "blocks" not in messages[1]
    assert (response["has_more"], response["pin_count"]) == (False, 1)
    assert response["response_metadata"]["next_cursor"] == ""


def test_history_latest_inclusive_limit_one_fetches_exactly_that_message(reader: LocalSlack) -> None:
    """latest=ts, inclusive=true, limit=1 returns just the message at ts; without inclusive the one before."""
    client = client_for(reader)
    channel = reader.add_channel("ops", members=[reader.bot_user_id])
    stamps = [client.chat_postMessage(channel=channel, text=f"m{i}")["ts"] for i in range(3)]
    client.chat_update(channel=channel, ts=stamps[1], text="m1 edited")
    response = client.conversations_history(channel=channel, latest=stamps[1], inclusive=True, limit=1)
    assert [m["text"] for m in response["messages"]] == ["m1 edited"]
    assert response["messages"][0]["edited"]["user"] == reader.bot_user_id
    assert response["has_more"] is True
    older = client.conversations_history(channel=channel, latest=stamps[1], limit=1)["messages"]
    assert [m["ts"] for m in older] == [stamps[0]]
    newer = client.conversations_history(channel=channel, oldest=stamps[1])["messages"]
    assert [m["ts"] for m in newer] == [stamps[2]]
    both = client.conversations_history(channel=channel, oldest=stamps[0], latest=stamps[2], inclusive=True)
    assert [m["ts"] for m in both["messages"]] == stamps[::-1]


def test_history_pages_with_limit_and_cursor(reader: LocalSlack) -> None:
    """limit bounds each page; next_cursor resumes where the page stopped; bad values are rejected."""
    client = client_for(reader)
    channel = reader.add_channel("ops", members=[reader.bot_user_id])
    stamps = [client.chat_postMessage(channel=channel, text=f"m{i}")["ts"] for i in range(5)]
    seen, cursor = [], None
    for _ in range(3):  # bounded: a cursor that does not advance must fail, not loop
        response = client.conversations_history(channel=channel, limit=2, cursor=cursor)
        seen += [m["ts"] for m in response["messages"]]
        cursor = response["response_metadata"]["next_cursor"]
        assert response["has_more"] is bool(cursor)
    assert seen == stamps[::-1] and cursor == ""
    assert error_of(client.conversations_history, channel=channel, cursor="bogus") == "invalid_cursor"
    assert error_of(client.conversations_history, channel=channel, latest="soon") == "invalid_ts_latest"
    assert error_of(client.conversations_history, channel=channel, limit="many") == "invalid_arguments"


def test_history_not_in_channel_and_unknown_channels(reader: LocalSlack) -> None:
    """A public channel the bot is not in is not_in_channel; unknown or hidden private ones channel_not_found."""
    client = client_for(reader)
    public = reader.add_channel("general", members=["U0ALICE"])
    secret = reader.add_channel("secret", is_private=True, members=["U0ALICE"])
    assert error_of(client.conversations_history, channel=public) == "not_in_channel"
    assert error_of(client.conversations_history, channel=secret) == "channel_not_found"
    assert error_of(client.conversations_history, channel="C404") == "channel_not_found"


def test_history_needs_the_history_scope_for_the_channel_type(client: WebClient, fake: LocalSlack) -> None:
    """Without any history scope history is missing_scope; a private channel needs groups:history."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    error = slack_error(client.conversations_history, channel=channel)
    assert (error.response["error"], error.response["needed"]) == (
        "missing_scope",
        "channels:history,groups:history",
    )
    with LocalSlack(scopes=DEFAULT_SCOPES | {"channels:history"}) as public_only:
        public = public_only.add_channel("ops", members=[public_only.bot_user_id])
        private = public_only.add_channel("secret", is_private=True, members=[public_only.bot_user_id])
        limited = client_for(public_only)
        assert limited.conversations_history(channel=public)["messages"] == []
        error = slack_error(limited.conversations_history, channel=private)
        assert (error.response["error"], error.response["needed"]) == ("missing_scope", "groups:history")
        assert error_of(limited.conversations_replies, channel=private, ts="1.000001") == "missing_scope"


def test_replies_returns_parent_then_replies_oldest_first(reader: LocalSlack) -> None:
    """replies gives the parent then its replies in order; a reply's ts selects its thread; paging works."""
    client = client_for(reader)
    channel = reader.add_channel("ops", members=[reader.bot_user_id, "U0ALICE"])
    parent = client.chat_postMessage(channel=channel, text="Incident declared")["ts"]
    other = client.chat_postMessage(channel=channel, text="unrelated")["ts"]
    replies = [client.chat_postMessage(channel=channel, text="bot reply", thread_ts=parent)["ts"]]
    replies.append(reader.post_as_user(channel, "U0ALICE", "alice reply", thread_ts=parent))
    replies.append(client.chat_postMessage(channel=channel, text="last", thread_ts=parent)["ts"])
    response = client.conversations_replies(channel=channel, ts=parent)
    messages = response["messages"]
    assert [m["ts"] for m in messages] == [parent, *replies]
    assert messages[0]["reply_count"] == 3 and messages[0]["latest_reply"] == replies[-1]
    assert messages[0]["reply_users"] == [reader.bot_user_id, "U0ALICE"]
    assert all(m["thread_ts"] == parent for m in messages)
    assert messages[2]["user"] == "U0ALICE" and messages[2]["parent_user_id"] == reader.bot_user_id
    by_reply = client.conversations_replies(channel=channel, ts=replies[1])["messages"]
    assert [m["ts"] for m in by_reply] == [parent, *replies]
    lone = client.conversations_replies(channel=channel, ts=other)
    assert ([m["ts"] for m in lone["messages"]], lone["has_more"]) == ([other], False)
    first_page = client.conversations_replies(channel=channel, ts=parent, limit=2)
    assert [m["ts"] for m in first_page["messages"]] == [parent, replies[0]] and first_page["has_more"]
    cursor = first_page["response_metadata"]["next_cursor"]
    rest = client.conversations_replies(channel=channel, ts=parent, limit=2, cursor=cursor)
    assert [m["ts"] for m in rest["messages"]] == replies[1:] and rest["has_more"] is False
    after = client.conversations_replies(channel=channel, ts=parent, oldest=replies[0])["messages"]
    assert [m["ts"] for m in after] == [parent, *replies[1:]]


def test_replies_unknown_ts_is_thread_not_found(reader: LocalSlack) -> None:
    """A ts that names no message in the channel gets thread_not_found; a missing ts invalid_arguments."""
    client = client_for(reader)
    channel = reader.add_channel("ops", members=[reader.bot_user_id])
    assert error_of(client.conversations_replies, channel=channel, ts="1.000001") == "thread_not_found"
    assert (
        error_of(client.api_call, "conversations.replies", params={"channel": channel}) == "invalid_arguments"
    )


# --- private channels and helpers -----------------------------------------------------------


def test_private_channel_workflow_with_extra_scopes() -> None:
    """With groups:write and groups:history a private incident channel can be run end to end."""
    scopes = DEFAULT_SCOPES | {"groups:write", "groups:history", "channels:history", "reactions:read"}
    with LocalSlack(scopes=scopes) as server:
        server.add_user("U0ALICE", "alice")
        client = client_for(server)
        channel = client.conversations_create(name="inc-secret", is_private=True)["channel"]["id"]
        client.conversations_invite(channel=channel, users="U0ALICE")
        client.conversations_setTopic(channel=channel, topic="SEV1")
        ts = client.chat_postMessage(channel=channel, text="private update")["ts"]
        assert [m["ts"] for m in client.conversations_history(channel=channel)["messages"]] == [ts]
        snapshot = server.channel(channel)
        assert (snapshot.is_private, snapshot.topic, "U0ALICE" in snapshot.members) == (True, "SEV1", True)
    with LocalSlack(scopes=DEFAULT_SCOPES - {"groups:write"}) as limited:
        client = client_for(limited)
        error = slack_error(client.conversations_create, name="inc-secret", is_private=True)
        assert (error.response["error"], error.response["needed"]) == ("missing_scope", "groups:write")
        assert client.conversations_create(name="inc-public")["ok"] is True


def test_message_helper_returns_copies_and_post_as_user_rules(client: WebClient, fake: LocalSlack) -> None:
    """message() returns a deep copy or None; post_as_user only threads under top-level messages."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id, "U0ALICE"])
    parent = client.chat_postMessage(channel=channel, text="parent")["ts"]
    reply = fake.post_as_user(channel, "U0ALICE", "on it", thread_ts=parent, blocks=[section("on it")])
    found = fake.message(channel, reply)
    assert found is not None and (found.user, found.thread_ts, found.blocks) == (
        "U0ALICE",
        parent,
        [section("on it")],
    )
    found.text = "changed"
    assert fake.message(channel, reply).text == "on it"
    assert fake.message(channel, "1.000001") is None
    with pytest.raises(ValueError):
        fake.post_as_user(channel, "U0ALICE", "nested", thread_ts=reply)
    with pytest.raises(ValueError):
        fake.post_as_user(channel, "U0ALICE", "bad", blocks=[{"type": "fancy_widget"}])
    with pytest.raises(KeyError):
        fake.message("C404", parent)


# --- failures, retries and rate limits ------------------------------------------------------


def test_injected_429_raises_with_retry_after_without_retry_handler(
    client: WebClient, fake: LocalSlack
) -> None:
    """fail_next(status=429) gives HTTP 429 + Retry-After; a client without retry handler raises."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    error = slack_error(client.chat_postMessage, channel=channel, text="hi")
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"
    assert error.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel=channel, text="hi")["ok"] is True


def test_rate_limit_retry_handler_succeeds_after_waiting(fake: LocalSlack) -> None:
    """With RateLimitErrorRetryHandler the call succeeds on the second attempt."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    client = WebClient(
        token=fake.token, base_url=fake.base_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    assert client.chat_postMessage(channel=channel, text="hi")["ok"] is True
    assert [(c.status, c.ok) for c in fake.calls("chat.postMessage")] == [(429, False), (200, True)]


def test_injected_503_is_retried_by_server_error_handler(fake: LocalSlack) -> None:
    """A 503 from fail_next is retried by ServerErrorRetryHandler and then succeeds."""
    handler = ServerErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    client = WebClient(token=fake.token, base_url=fake.base_url, retry_handlers=[handler])
    fake.fail_next("auth.test", status=503)
    assert client.auth_test()["ok"] is True
    assert [c.status for c in fake.calls("auth.test")] == [503, 200]


def test_fail_next_with_error_and_times(client: WebClient, fake: LocalSlack) -> None:
    """fail_next(error=..., times=2) fails the next two calls with HTTP 200 and that error."""
    fake.fail_next("conversations.create", error="fatal_error", times=2)
    for _ in range(2):
        error = slack_error(client.conversations_create, name="inc-9")
        assert (error.response.status_code, error.response["error"]) == (200, "fatal_error")
    assert client.conversations_create(name="inc-9")["ok"] is True


def test_post_rate_limit_per_channel(fake: LocalSlack) -> None:
    """post_rate_per_channel allows a burst of 5 posts per channel, then answers 429."""
    with LocalSlack(post_rate_per_channel=0.01) as limited:
        busy = limited.add_channel("busy", members=[limited.bot_user_id])
        quiet = limited.add_channel("quiet", members=[limited.bot_user_id])
        client = WebClient(token=limited.token, base_url=limited.base_url)
        for i in range(5):
            client.chat_postMessage(channel=busy, text=f"msg {i}")
        error = slack_error(client.chat_postMessage, channel=busy, text="one too many")
        assert (error.response.status_code, error.response.headers["Retry-After"]) == (429, "1")
        assert client.chat_postMessage(channel=quiet, text="other channel is fine")["ok"] is True


# --- response URLs -----------------------------------------------------------------------


def test_response_url_posts_are_recorded(fake: LocalSlack) -> None:
    """JSON POSTed to a response URL is recorded with its _url; the 6th use gets used_url."""
    url = fake.response_url("ack")
    headers = {"Content-Type": "application/json"}
    body = json.dumps({"text": "Acknowledged", "replace_original": True}).encode()
    assert raw_post(url, body, headers) == (200, {"ok": True})
    assert fake.responses == [{"text": "Acknowledged", "replace_original": True, "_url": url}]
    for _ in range(4):
        raw_post(url, body, headers)
    assert raw_post(url, body, headers) == (404, {"ok": False, "error": "used_url"})
    assert raw_post(fake.root_url + "/response/999", body, headers)[0] == 404
    empty = json.dumps({"replace_original": True}).encode()
    assert raw_post(fake.response_url(), empty, headers) == (400, {"ok": False, "error": "no_text"})


# --- file uploads (files.getUploadURLExternal -> upload URL -> files.completeUploadExternal) ----------

FILE_SCOPES = DEFAULT_SCOPES | {"files:write"}
POSTMORTEM = "# Postmortem: INC-42\n\n## Timeline\n\n- 10:02 db down — paged on-call\n"


@pytest.fixture
def uploader() -> Iterator[LocalSlack]:
    """A local Slack whose bot may upload files (files:write on top of the default scopes)."""
    with LocalSlack(scopes=FILE_SCOPES) as server:
        server.add_user("U0ALICE", "alice")
        yield server


def post_upload(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST bytes to an upload URL as slack_sdk does (urllib, no extra headers); (status, text body)."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def new_upload(client: WebClient, filename: str, length: int) -> tuple[str, str]:
    """files.getUploadURLExternal for one file; returns (file_id, upload_url)."""
    ticket = client.files_getUploadURLExternal(filename=filename, length=length)
    return ticket["file_id"], ticket["upload_url"]


def test_files_upload_v2_shares_a_markdown_file_end_to_end(uploader: LocalSlack) -> None:
    """files_upload_v2 of a Markdown string runs the 3-step flow; files(), file_content() and the channel show it."""
    client = client_for(uploader)
    channel = uploader.add_channel("inc-42", members=[uploader.bot_user_id, "U0ALICE"])
    response = client.files_upload_v2(
        channel=channel,
        content=POSTMORTEM,
        filename="postmortem.md",
        title="Postmortem INC-42",
        initial_comment="Draft postmortem attached",
    )
    size = len(POSTMORTEM.encode())
    file = response["file"]
    assert response["files"] == [file] and file["id"].startswith("F")
    assert (file["name"], file["title"], file["size"]) == ("postmortem.md", "Postmortem INC-42", size)
    assert (file["filetype"], file["channels"]) == ("markdown", [channel])
    assert file["mimetype"] and file["url_private"] and file["permalink"]
    assert [c.method for c in uploader.calls()] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert uploader.calls()[0].params == {"filename": "postmortem.md", "length": str(size)}
    assert uploader.files() == [
        {
            "id": file["id"],
            "filename": "postmortem.md",
            "title": "Postmortem INC-42",
            "length": size,
            "content": POSTMORTEM.encode(),
            "channels": [channel],
            "alt_txt": None,
            "snippet_type": None,
        }
    ]
    assert uploader.file_content(file["id"]).decode() == POSTMORTEM
    uploader.files()[0]["channels"].append("C0OTHER")  # a deep copy
    assert uploader.files()[0]["channels"] == [channel]
    [message] = uploader.channel(channel).messages
    assert (message.user, message.text, message.thread_ts) == (
        uploader.bot_user_id,
        "Draft postmortem attached",
        None,
    )
    assert message.files is not None and [f["id"] for f in message.files] == [file["id"]]
    lines = uploader.transcript(channel).splitlines()
    assert lines[1].endswith(f"] Draft postmortem attached 📎 postmortem.md ({size} bytes)")


def test_files_upload_v2_bytes_into_a_thread_shows_in_history() -> None:
    """file=bytes with thread_ts shares the file as a thread reply; history/replies carry the file objects."""
    with LocalSlack(scopes=FILE_SCOPES | HISTORY_SCOPES) as server:
        client = client_for(server)
        channel = server.add_channel("inc-43", members=[server.bot_user_id])
        parent = client.chat_postMessage(channel=channel, text="Incident declared")["ts"]
        data = bytes(range(256)) * 3
        file = client.files_upload_v2(channel=channel, file=data, filename="dump.bin", thread_ts=parent)[
            "file"
        ]
        assert server.file_content(file["id"]) == data and file["filetype"] == "binary"
        replies = client.conversations_replies(channel=channel, ts=parent)["messages"]
        assert len(replies) == 2 and replies[0]["ts"] == parent
        assert replies[1]["files"][0]["id"] == file["id"] and replies[1]["upload"] is True
        assert replies[1]["text"] == "" and replies[1]["thread_ts"] == parent
        lines = server.transcript(channel).splitlines()
        assert "↳" in lines[2] and lines[2].endswith(f"] 📎 dump.bin ({len(data)} bytes)")


def test_file_upload_without_files_write_is_missing_scope(client: WebClient, fake: LocalSlack) -> None:
    """Without files:write, files_upload_v2 stops at files.getUploadURLExternal with missing_scope."""
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    error = slack_error(client.files_upload_v2, channel=channel, content="x", filename="x.md")
    assert (error.response["error"], error.response["needed"]) == ("missing_scope", "files:write")
    error = slack_error(client.files_completeUploadExternal, files=[{"id": "F1"}], channel_id=channel)
    assert (error.response["error"], error.response["needed"]) == ("missing_scope", "files:write")
    assert fake.files() == [] and fake.channel(channel).messages == []


def test_retired_files_upload_is_method_deprecated(uploader: LocalSlack) -> None:
    """files.upload (retired by Slack) answers method_deprecated for form, multipart and even a bad token."""
    client = client_for(uploader)
    channel = uploader.add_channel("ops", members=[uploader.bot_user_id])
    form = {"channels": channel, "content": "x", "filename": "x.txt"}
    error = slack_error(client.api_call, "files.upload", data=form)
    assert (error.response.status_code, error.response.data) == (
        200,
        {"ok": False, "error": "method_deprecated"},
    )
    with pytest.warns(UserWarning, match="files_upload_v2"):  # slack_sdk itself warns about files_upload
        assert (
            error_of(client.files_upload, channels=channel, file=b"bytes", filename="x.bin")
            == "method_deprecated"
        )
    bad = WebClient(token="xoxb-wrong", base_url=uploader.base_url)
    assert error_of(bad.api_call, "files.upload", data=form) == "method_deprecated"
    assert [(c.method, c.error) for c in uploader.calls()] == [("files.upload", "method_deprecated")] * 3
    assert uploader.files() == [] and uploader.channel(channel).messages == []


def test_upload_url_rejects_a_body_of_the_wrong_length(uploader: LocalSlack) -> None:
    """The upload URL answers HTTP 400 if the byte count differs from the declared length; it stays usable."""
    client = client_for(uploader)
    file_id, url = new_upload(client, "notes.txt", 5)
    assert url == f"{uploader.root_url}/upload/{file_id}"
    assert post_upload(url, b"abc")[0] == 400
    assert post_upload(url, b"abcdef")[0] == 400
    assert post_upload(url, b"abcde") == (200, "OK - 5")
    client.files_completeUploadExternal(files=[{"id": file_id}])
    assert uploader.file_content(file_id) == b"abcde"


def test_upload_url_is_single_use_and_unknown_ids_are_404(uploader: LocalSlack) -> None:
    """A second POST to the same upload URL is HTTP 404, as is a URL for an id never issued; GET is 405."""
    client = client_for(uploader)
    _, url = new_upload(client, "notes.txt", 2)
    assert post_upload(url, b"ok") == (200, "OK - 2")
    assert post_upload(url, b"ok")[0] == 404
    assert post_upload(f"{uploader.root_url}/upload/F0NEVER", b"ok")[0] == 404
    request = urllib.request.Request(url, method="GET")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    info.value.close()
    assert info.value.code == 405


def test_upload_url_accepts_a_multipart_file_field(uploader: LocalSlack) -> None:
    """A multipart/form-data body is accepted: the 'file' field's bytes are the file (CRLFs kept)."""
    client = client_for(uploader)
    data = b"line one\r\nline two\n--not-a-boundary\r\n"
    file_id, url = new_upload(client, "log.txt", len(data))
    boundary = "fake-slack-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\nlog.txt\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="log.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert post_upload(url, body, headers) == (200, f"OK - {len(data)}")
    client.files_completeUploadExternal(files=[{"id": file_id, "title": "Log"}])
    assert uploader.file_content(file_id) == data
    _, other = new_upload(client, "x.txt", 1)
    no_file = f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--{boundary}--\r\n'
    assert post_upload(other, no_file.encode(), headers)[0] == 400


def test_complete_upload_with_a_never_uploaded_id_is_file_not_found(uploader: LocalSlack) -> None:
    """Issued-but-not-uploaded, made-up and already completed ids are file_not_found; nothing is shared."""
    client = client_for(uploader)
    channel = uploader.add_channel("ops", members=[uploader.bot_user_id])
    pending, _ = new_upload(client, "a.txt", 1)
    done, url = new_upload(client, "b.txt", 1)
    post_upload(url, b"b")
    for files in ([{"id": pending}], [{"id": "F0MADEUP"}], [{"id": done}, {"id": pending}]):
        assert (
            error_of(client.files_completeUploadExternal, files=files, channel_id=channel) == "file_not_found"
        )
    assert uploader.files() == [] and uploader.channel(channel).messages == []
    private = client.files_completeUploadExternal(files=[{"id": done}])["files"][0]  # no channel: private
    assert (private["title"], private["channels"], private["groups"]) == ("b.txt", [], [])
    assert [(f["id"], f["channels"]) for f in uploader.files()] == [(done, [])]
    assert (
        error_of(client.files_completeUploadExternal, files=[{"id": done}], channel_id=channel)
        == "file_not_found"
    )
    assert uploader.channel(channel).messages == []
    with pytest.raises(KeyError):
        uploader.file_content(pending)


def test_complete_upload_needs_the_bot_in_the_channel(uploader: LocalSlack) -> None:
    """Sharing into a channel the bot is not in is not_in_channel (even with chat:write.public); the file stays pending."""
    client = client_for(uploader)
    public = uploader.add_channel("general", members=["U0ALICE"])
    secret = uploader.add_channel("secret", is_private=True, members=["U0ALICE"])
    file_id, url = new_upload(client, "report.md", 3)
    post_upload(url, b"abc")
    assert (
        error_of(client.files_completeUploadExternal, files=[{"id": file_id}], channel_id=public)
        == "not_in_channel"
    )
    for channel in (secret, "C0NOPE"):
        error = error_of(client.files_completeUploadExternal, files=[{"id": file_id}], channel_id=channel)
        assert error == "channel_not_found"
    assert uploader.files() == [] and uploader.channel(public).messages == []
    mine = uploader.add_channel("inc-44", is_private=True, members=[uploader.bot_user_id])
    shared = client.files_completeUploadExternal(files=[{"id": file_id}], channels=[mine])["files"][0]
    assert (shared["channels"], shared["groups"], shared["is_public"]) == ([], [mine], False)
    assert uploader.files()[0]["channels"] == [mine]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"length": "3"}, "invalid_arguments"),
        ({"filename": "a.txt"}, "invalid_arguments"),
        ({"filename": "a.txt", "length": "three"}, "invalid_arguments"),
        ({"filename": "a.txt", "length": "-3"}, "invalid_arguments"),
        ({"filename": "a.txt", "length": "1.5"}, "invalid_arguments"),
        ({"filename": "a.txt", "length": "0"}, "missing_argument"),
        ({"filename": "a.png", "length": "3", "alt_txt": "x" * 1001}, "alt_txt_too_large"),
        ({"filename": "a.py", "length": str(1024 * 1024 + 1), "snippet_type": "python"}, "snippet_too_large"),
        ({"filename": "a.txt", "length": "3", "title": "not here"}, "invalid_arguments"),
    ],
    ids=[
        "no-filename",
        "no-length",
        "length-word",
        "length-negative",
        "length-float",
        "length-0",
        "alt-txt",
        "big-snippet",
        "unknown-param",
    ],
)
def test_get_upload_url_validates_arguments(
    uploader: LocalSlack, params: dict[str, str], expected: str
) -> None:
    """filename and a positive integer length are required (0 is Slack's missing_argument); limits apply."""
    client = client_for(uploader)
    assert error_of(client.api_call, "files.getUploadURLExternal", data=params) == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"files": "not json"}, "invalid_arguments"),
        ({"files": "[]"}, "invalid_arguments"),
        ({"files": '[{"title": "no id"}]'}, "invalid_arguments"),
        ({"files": '[{"id": "F1", "colour": "red"}]'}, "invalid_arguments"),
        ({"channels": "CHAN,CHAN2"}, "invalid_arguments"),
        ({"channel_id": "", "initial_comment": "nowhere to go"}, "invalid_arguments"),
        ({"thread_ts": "1.000001"}, "thread_not_found"),
        ({"initial_comment": "x" * 40_001}, "msg_too_long"),
    ],
    ids=[
        "bad-json",
        "empty",
        "no-id",
        "unknown-key",
        "channel-id-and-channels",
        "comment-without-channel",
        "unknown-thread",
        "comment-too-long",
    ],
)
def test_complete_upload_validates_arguments(
    uploader: LocalSlack, extra: dict[str, str], expected: str
) -> None:
    """Malformed files, channel_id with channels, a comment without a channel or a bad thread are rejected."""
    client = client_for(uploader)
    channel = uploader.add_channel("ops", members=[uploader.bot_user_id])
    file_id, url = new_upload(client, "a.txt", 1)
    post_upload(url, b"a")
    params = {"files": json.dumps([{"id": file_id}]), "channel_id": channel} | extra
    assert error_of(client.api_call, "files.completeUploadExternal", data=params) == expected
    assert uploader.files() == [] and uploader.channel(channel).messages == []


def test_posting_to_a_user_id_opens_the_bots_direct_message(fake_dm):
    """chat.postMessage with a user ID as channel lands in one D... channel with that user."""
    fake, client = fake_dm
    first = client.chat_postMessage(channel="U0DMUSER1", text="Your action item is due")
    second = client.chat_postMessage(channel="U0DMUSER1", text="It is overdue")
    assert first["channel"] == second["channel"] and first["channel"].startswith("D")
    dm = fake.dm("U0DMUSER1")
    assert dm is not None and [m.text for m in dm.messages] == ["Your action item is due", "It is overdue"]
    assert fake.dm("U0NOBODY1") is None


@pytest.fixture
def fake_dm():
    with LocalSlack() as fake:
        fake.add_user("U0DMUSER1", "dmuser")
        yield fake, WebClient(token=fake.token, base_url=fake.base_url)


class _Links:
    def __init__(self) -> None:
        self.issued = 0

    def new_url(self) -> str:
        self.issued += 1
        return f"ws://127.0.0.1:1/link/?ticket={self.issued}"


def test_apps_connections_open_takes_only_the_app_token_with_connections_write() -> None:
    """Socket Mode's URL comes from the app-level token; the bot token there, the app token
    anywhere else, an app token without connections:write, or no Socket Mode server, all fail."""
    with LocalSlack() as server:
        bot = WebClient(token=server.token, base_url=server.base_url)
        with pytest.raises(SlackApiError) as off:
            bot.apps_connections_open(app_token=server.app_token)
        assert off.value.response["error"] == "socket_mode_not_enabled"
        links = _Links()
        server.socket_mode = links
        assert (
            bot.apps_connections_open(app_token=server.app_token)["url"] == "ws://127.0.0.1:1/link/?ticket=1"
        )
        for token, method in ((server.token, "apps.connections.open"), (server.app_token, "auth.test")):
            with pytest.raises(SlackApiError) as wrong:
                WebClient(token=token, base_url=server.base_url).api_call(method)
            assert wrong.value.response["error"] == "not_allowed_token_type"
        with pytest.raises(SlackApiError) as unknown:
            bot.apps_connections_open(app_token="xapp-1-A0OTHER-1-nope")
        assert unknown.value.response["error"] == "invalid_auth"
    with LocalSlack(app_scopes=["authorizations:read"]) as server:
        server.socket_mode = _Links()
        with pytest.raises(SlackApiError) as scope:
            WebClient(base_url=server.base_url).apps_connections_open(app_token=server.app_token)
        assert scope.value.response["error"] == "missing_scope"
        assert scope.value.response["needed"] == "connections:write"
