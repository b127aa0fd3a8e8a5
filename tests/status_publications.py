"""Publications for the status page tests and its benchmark: incidents declared in the store, then
`StatusPagePublished` events appended to their logs, as the publishing side writes them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from bot.core import events as ev
from bot.core.state import replay
from bot.core.status_page import Component, StatusPageConfig
from tests.events import E, N, data_of

CONFIG = StatusPageConfig(
    title="Example Inc. status",
    components=(
        Component("API", ("checkout-api", "auth-api")),
        Component("Dashboard"),
        Component("Webhooks"),
    ),
)


def declare(store, at: datetime, title: str = "internal title", actor: str = "U0ALICE01") -> int:
    data = {"title": title, "severity": "sev2", "commander": actor}
    return store.declare(N(ev.IncidentDeclared.TYPE, actor, at, data)).incident


def publish(
    store,
    number: int,
    at: datetime,
    title: str,
    message: str,
    status: str = "investigating",
    actor: str = "U0ALICE01",
    **components: str,
) -> None:
    """Append one publication to incident `number`'s log (components by name=status)."""
    payload = {
        "public_title": title,
        "message": message,
        "status": status,
        "components": [{"component": name, "status": state} for name, state in components.items()],
    }
    events = store.load(number)
    last = events[-1].seq
    new = N(ev.StatusPagePublished.TYPE, actor, at, payload)
    numbered = E(number, last + 1, new.type, new.actor, new.at, data_of(new))
    store.append(number, last, [new], replay([*events, numbered]), owed=True)


def get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lowercase names, body) for one request; errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def get_json(url: str) -> Any:
    status, _, body = get(url)
    assert status == 200, (url, status, body[:200])
    return json.loads(body)
