"""A strict fake of Statuspage.io's Manage API v1 incident endpoints on loopback, for tests.

``FakeStatuspage`` binds 127.0.0.1 on a free port; its :attr:`url` (ending in ``/v1``) is the
``STATUSPAGE_API_URL``. It serves one page, with the components it is given (id -> name):

* ``POST /v1/pages/{page_id}/incidents`` - 201 and the incident, as Statuspage does;
* ``PATCH /v1/pages/{page_id}/incidents/{incident_id}`` - 200 and the incident;
* ``GET /v1/pages/{page_id}/incidents`` and ``.../incidents/unresolved`` (``page``, ``per_page``) -
  200 and a JSON array, newest first.

It checks what Statuspage checks and some it may not, so a mistake cannot pass silently: the
method for the path (405), the path and page (404), ``Authorization: OAuth <key>`` (401, Statuspage's
``Could not authenticate``), a JSON body ``{"incident": {...}}`` with only known fields (400), and
the values (422): a non-blank ``name`` on create; ``status`` one of investigating, identified,
monitoring, resolved; ``impact_override`` one of none, minor, major, critical; ``components`` an
object from component ids **known to the page** (not names) to a component status; ``component_ids``
a list of known ids naming exactly the components in ``components``; ``metadata`` an object whose
top-level values are objects. An unknown incident id is 404.

It keeps the incidents (with their updates, statuses and metadata) and the page's component
statuses. :meth:`fail_next` answers the next requests with 420, 429 or 500 (no ``Retry-After``, as
Statuspage sends none); :meth:`drop_answer_next` carries out the next create and closes the
connection without answering, as if the bot died before hearing back. Every request is kept, with
its monotonic time, in :attr:`requests`.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.local_slack.loopback import LoopbackService

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
IMPACTS = ("none", "minor", "major", "critical")
INCIDENT_FIELDS = frozenset(
    {
        "name",
        "status",
        "body",
        "impact_override",
        "component_ids",
        "components",
        "metadata",
        "deliver_notifications",
    }
)


@dataclass(frozen=True)
class Request:
    """One request the fake answered: what came, when (time.monotonic()), what it said."""

    method: str
    path: str
    status: int
    at: float
    authorization: str
    body: bytes


@dataclass
class Update:
    status: str
    body: str
    components: dict[str, str]


@dataclass
class Incident:
    id: str
    name: str
    status: str
    impact: str
    metadata: dict[str, Any]
    created_at: str
    updates: list[Update] = field(default_factory=list)
    component_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "impact": self.impact,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "resolved_at": None,
            "components": [{"id": c} for c in self.component_ids],
            "incident_updates": [
                {"status": u.status, "body": u.body, "affected_components": u.components}
                for u in reversed(self.updates)
            ],
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeStatuspage) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Dropped(Exception):
    """Close the connection without an answer."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            status, reply = self.server.fake.handle(
                method,
                self.path,
                self.headers.get("Authorization", ""),
                self.headers.get("Content-Type", ""),
                body,
            )
        except _Dropped:
            self.close_connection = True
            return
        payload = json.dumps(reply).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Stay quiet."""


class FakeStatuspage(LoopbackService):
    """See the module docstring. Use as a context manager."""

    def __init__(self, api_key: str, page_id: str, components: Mapping[str, str]) -> None:
        self.api_key = api_key
        self.page_id = page_id
        self.component_names = dict(components)  # id -> name
        self._lock = threading.Lock()
        self._components = {c: "operational" for c in components}
        self._incidents: list[Incident] = []
        self._requests: list[Request] = []
        self._failures: deque[list[Any]] = deque()  # [status, remaining, error text]
        self._drop_creates = 0

    def _make_server(self) -> _Server:
        return _Server(self)

    @property
    def url(self) -> str:
        return self.root_url + "/v1"

    # -- what the test reads ----------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def incidents(self) -> list[Incident]:
        """Every incident, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._incidents)

    def component_status(self, component_id: str) -> str:
        with self._lock:
            return self._components[component_id]

    # -- what the test arranges -------------------------------------------------------------------

    def fail_next(self, status: int, count: int = 1, *, error: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (420, 429, 500...), changing nothing;
        ``error`` is the text of the answer's ``error``."""
        with self._lock:
            self._failures.append([status, count, error])

    def drop_answer_next(self, count: int = 1) -> None:
        """Carry out the next ``count`` creates, then close the connection without answering."""
        with self._lock:
            self._drop_creates += count

    # -- the API ----------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, authorization: str, content_type: str, body: bytes
    ) -> tuple[int, Any]:
        with self._lock:
            dropped = False
            try:
                status, reply = self._answer(method, path, authorization, content_type, body)
            except _Dropped:
                dropped, status, reply = True, 201, None
            self._requests.append(Request(method, path, status, time.monotonic(), authorization, body))
            if dropped:
                raise _Dropped
            return status, reply

    def _answer(
        self, method: str, path: str, authorization: str, content_type: str, body: bytes
    ) -> tuple[int, Any]:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        if segments[:2] != ["v1", "pages"] or len(segments) < 4 or segments[3] != "incidents":
            return 404, {"error": "The requested resource could not be found."}
        if authorization != f"OAuth {self.api_key}":
            return 401, {"error": "Could not authenticate"}
        if segments[2] != self.page_id:
            return 404, {"error": "The requested resource could not be found."}
        rest = segments[4:]
        if self._failures:
            failure = self._failures[0]
            failure[1] -= 1
            if failure[1] <= 0:
                self._failures.popleft()
            default = "Rate limited" if failure[0] in (420, 429) else "Something went wrong"
            return failure[0], {"error": failure[2] or default}
        query = parse_qs(parts.query)
        if rest in ([], ["unresolved"]) and method == "GET":
            return 200, self._list(unresolved=rest == ["unresolved"], query=query)
        if rest == [] and method == "POST":
            return self._create(content_type, body)
        if len(rest) == 1 and rest[0] != "unresolved" and method == "PATCH":
            return self._update(rest[0], content_type, body)
        if len(rest) <= 1:
            return 405, {"error": f"{method} is not allowed here"}
        return 404, {"error": "The requested resource could not be found."}

    def _list(self, *, unresolved: bool, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["100"])[0])
        chosen = [i for i in reversed(self._incidents) if not unresolved or i.status != "resolved"]
        return [i.to_json() for i in chosen[(page - 1) * per_page : page * per_page]]

    def _create(self, content_type: str, body: bytes) -> tuple[int, Any]:
        incident, problem = self._incident_object(content_type, body, creating=True)
        if problem is not None:
            return problem
        assert incident is not None
        new = Incident(
            id="".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12)),
            name=incident["name"],
            status=incident.get("status", "investigating"),
            impact=incident.get("impact_override", "none"),
            metadata=incident.get("metadata", {}),
            created_at=datetime.now(UTC).isoformat(),
        )
        self._incidents.append(new)
        self._apply(new, incident)
        if self._drop_creates:
            self._drop_creates -= 1
            raise _Dropped
        return 201, new.to_json()

    def _update(self, incident_id: str, content_type: str, body: bytes) -> tuple[int, Any]:
        found = next((i for i in self._incidents if i.id == incident_id), None)
        if found is None:
            return 404, {"error": "The requested resource could not be found."}
        incident, problem = self._incident_object(content_type, body, creating=False)
        if problem is not None:
            return problem
        assert incident is not None
        found.name = incident.get("name", found.name)
        found.status = incident.get("status", found.status)
        found.impact = incident.get("impact_override", found.impact)
        if "metadata" in incident:
            found.metadata = incident["metadata"]
        self._apply(found, incident)
        return 200, found.to_json()

    def _apply(self, incident: Incident, fields: dict[str, Any]) -> None:
        components = fields.get("components", {})
        self._components.update(components)
        for component_id in fields.get("component_ids", []):
            if component_id not in incident.component_ids:
                incident.component_ids.append(component_id)
        incident.updates.append(Update(incident.status, fields.get("body", ""), dict(components)))

    def _incident_object(
        self, content_type: str, body: bytes, *, creating: bool
    ) -> tuple[dict[str, Any] | None, tuple[int, Any] | None]:
        if content_type.split(";")[0].strip().lower() != "application/json":
            return None, (400, {"error": "Content-Type must be application/json"})
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, (400, {"error": "Body is not JSON"})
        if not isinstance(document, dict) or set(document) != {"incident"}:
            return None, (400, {"error": 'The body must be {"incident": {...}}'})
        incident = document["incident"]
        if not isinstance(incident, dict):
            return None, (400, {"error": "incident must be an object"})
        unknown = sorted(set(incident) - INCIDENT_FIELDS)
        if unknown:
            return None, (400, {"error": f"Unknown incident fields: {', '.join(unknown)}"})
        errors = self._errors(incident, creating=creating)
        if errors:
            return None, (422, {"error": errors})
        return incident, None

    def _errors(self, incident: dict[str, Any], *, creating: bool) -> list[str]:
        errors = []
        name = incident.get("name")
        if (creating or "name" in incident) and (not isinstance(name, str) or not name.strip()):
            errors.append("Name can't be blank")
        if "status" in incident and incident["status"] not in INCIDENT_STATUSES:
            errors.append(f"Status {incident['status']!r} is not an incident status")
        if "body" in incident and not isinstance(incident["body"], str):
            errors.append("Body must be a string")
        if "impact_override" in incident and incident["impact_override"] not in IMPACTS:
            errors.append(f"Impact override {incident['impact_override']!r} is not one of {IMPACTS}")
        components = incident.get("components", {})
        if not isinstance(components, dict):
            errors.append("components must be an object of component id -> status")
            components = {}
        for component_id, status in components.items():
            if component_id not in self.component_names:
                errors.append(f"Component {component_id!r} is not a component of this page")
            if status not in COMPONENT_STATUSES:
                errors.append(f"Component status {status!r} is not one of {COMPONENT_STATUSES}")
        ids = incident.get("component_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            errors.append("component_ids must be a list of component ids")
        else:
            errors += [
                f"Component {i!r} is not a component of this page"
                for i in ids
                if i not in self.component_names
            ]
            if set(ids) != set(components):
                errors.append("component_ids must name exactly the components given a status")
        metadata = incident.get("metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values()):
            errors.append("metadata must be an object whose top-level values are objects")
        return errors
