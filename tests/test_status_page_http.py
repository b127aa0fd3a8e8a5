"""The public status page over HTTP: every endpoint's shape, the HTML, the feeds, and caching that a
reverse proxy understands (ETag, Last-Modified, 304), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from bot.core.status_page import StatusPageConfig
from bot.render.renderer import Renderer
from bot.server import ServerThread, make_status_page_wsgi
from bot.status_site import StatusSite
from tests.status_publications import CONFIG, declare, get, get_json, publish

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
API = ("status", "summary", "components", "incidents", "incidents/unresolved")
ATOM = "{http://www.w3.org/2005/Atom}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def serve(store, config=CONFIG, template_dir=None, clock=None):
    site = StatusSite(store, config, Renderer(template_dir), clock or Clock(NOW), check_every=0)
    return site, ServerThread(make_status_page_wsgi(store, site)).start()


@pytest.fixture
def page(store):
    clock = Clock(NOW)
    site, server = serve(store, clock=clock)
    server.clock = clock
    yield server
    server.stop()


def two_incidents(store):
    """One open (API partial outage, then Dashboard degraded too), one resolved yesterday."""
    one = declare(store, NOW - timedelta(hours=3))
    publish(
        store,
        one,
        NOW - timedelta(hours=2),
        "Checkout is failing",
        "We are looking into it.",
        API="partial_outage",
    )
    publish(
        store,
        one,
        NOW - timedelta(hours=1),
        "Checkout is failing",
        "Found it; a fix is rolling out.",
        "identified",
        API="partial_outage",
        Dashboard="degraded_performance",
    )
    two = declare(store, NOW - timedelta(days=1, hours=3))
    publish(
        store, two, NOW - timedelta(days=1, hours=2), "Webhooks delayed", "Delays.", Webhooks="major_outage"
    )
    publish(
        store,
        two,
        NOW - timedelta(days=1),
        "Webhooks delayed",
        "All caught up.",
        "resolved",
        Webhooks="operational",
    )
    return one, two


def parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def test_the_json_api_has_statuspages_shape_and_field_names(store, page):
    """page, status.indicator, components in config order with positions, incidents with their
    incident_updates, ISO 8601 times: as Statuspage's public API v2 answers."""
    two_incidents(store)
    docs = {name: get_json(f"{page.url}/api/v2/{name}.json") for name in API}
    for doc in docs.values():
        assert set(doc["page"]) == {"id", "name", "url", "time_zone", "updated_at"}
        assert doc["page"]["name"] == "Example Inc. status" and doc["page"]["url"] == page.url
        parse_iso(doc["page"]["updated_at"])
    assert docs["status"]["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert set(docs["summary"]) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    components = docs["components"]["components"]
    assert [(c["name"], c["position"], c["status"]) for c in components] == [
        ("API", 1, "partial_outage"),
        ("Dashboard", 2, "degraded_performance"),
        ("Webhooks", 3, "operational"),
    ]
    assert {"id", "name", "status", "created_at", "updated_at", "position", "page_id"} <= set(components[0])
    incidents = docs["incidents"]["incidents"]
    assert [(i["name"], i["status"], i["impact"]) for i in incidents] == [
        ("Checkout is failing", "identified", "major"),
        ("Webhooks delayed", "resolved", "critical"),
    ]
    first = incidents[0]
    for field in ("created_at", "updated_at", "started_at"):
        parse_iso(first[field])
    assert first["resolved_at"] is None and parse_iso(incidents[1]["resolved_at"]) == NOW - timedelta(days=1)
    assert first["shortlink"] == f"{page.url}/status/incidents/{first['id']}"
    assert [(u["status"], u["body"]) for u in first["incident_updates"]] == [
        ("identified", "Found it; a fix is rolling out."),
        ("investigating", "We are looking into it."),
    ]
    update = first["incident_updates"][0]
    assert {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"} <= set(update)
    assert update["incident_id"] == first["id"]
    assert {(a["name"], a["old_status"], a["new_status"]) for a in update["affected_components"]} == {
        ("API", "partial_outage", "partial_outage"),
        ("Dashboard", "operational", "degraded_performance"),
    }
    assert [c["name"] for c in first["components"]] == ["API", "Dashboard"]
    unresolved = docs["incidents/unresolved"]["incidents"]
    assert [i["id"] for i in unresolved] == [first["id"]] == [i["id"] for i in docs["summary"]["incidents"]]


def test_the_html_page_shows_state_components_bars_and_open_incidents_without_script(store, page):
    """/status: the overall state, each component with its state and 90 bars, the open incident's
    updates; no JavaScript; a phone viewport; a dark scheme; public text escaped."""
    one, _ = two_incidents(store)
    publish(
        store,
        one,
        NOW - timedelta(minutes=5),
        "Checkout is failing",
        "Fix <script>x</script> & more",
        "monitoring",
        API="degraded_performance",
    )
    status, headers, body = get(f"{page.url}/status")
    html = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "<script" not in html and "&lt;script&gt;x&lt;/script&gt; &amp; more" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "prefers-color-scheme: dark" in html
    assert "Minor Service Outage" in html and "Checkout is failing" in html
    assert "Webhooks delayed" not in html  # resolved: in the history, not the current incidents
    names = re.findall(r'<span class="component-name">([^<]+)</span>', html)
    assert names == ["API", "Dashboard", "Webhooks"]
    assert html.count('class="bar ') == 3 * 90
    assert html.count('"bar bar-major_outage"') == 1  # Webhooks, yesterday
    incident_id = get_json(f"{page.url}/api/v2/incidents/unresolved.json")["incidents"][0]["id"]
    assert f'href="/status/incidents/{incident_id}"' in html


def test_an_incident_page_uses_the_same_id_as_the_api_and_unknown_ids_are_404(store, page):
    """/status/incidents/<id> with the JSON API's id shows that incident's updates."""
    two_incidents(store)
    resolved = get_json(f"{page.url}/api/v2/incidents.json")["incidents"][1]
    status, _, body = get(f"{page.url}/status/incidents/{resolved['id']}")
    assert status == 200
    assert "Webhooks delayed" in body.decode() and "All caught up." in body.decode()
    assert get(f"{page.url}/status/incidents/nosuchincident")[0] == 404
    assert get(f"{page.url}/status/incidents/1")[0] == 404  # internal numbers mean nothing here


def test_the_history_page_holds_90_days(store, page):
    """/status/history lists the incidents of the last 90 days, newest first, and not older ones."""
    two_incidents(store)
    old = declare(store, NOW - timedelta(days=120))
    publish(store, old, NOW - timedelta(days=120), "Ancient outage", "Long ago.", API="major_outage")
    publish(store, old, NOW - timedelta(days=119), "Ancient outage", "Over.", "resolved")
    html = get(f"{page.url}/status/history")[2].decode()
    assert html.index("Checkout is failing") < html.index("Webhooks delayed")
    assert "Ancient outage" not in html


def test_the_feeds_are_valid_atom_and_rss_with_one_entry_per_incident(store, page):
    """/history.atom and /history.rss parse as XML and hold each format's required elements."""
    two_incidents(store)
    status, headers, body = get(f"{page.url}/history.atom")
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(body)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None and feed.find(f"{ATOM}{required}").text
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Checkout is failing", "Webhooks delayed"]
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}").text
        assert entry.find(f"{ATOM}link").get("href").startswith(f"{page.url}/status/incidents/")
        parse_iso(entry.find(f"{ATOM}updated").text)
    status, headers, body = get(f"{page.url}/history.rss")
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")
    rss = ET.fromstring(body)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    for required in ("title", "link", "description"):
        assert channel.find(required).text
    items = channel.findall("item")
    assert [i.find("title").text for i in items] == ["Checkout is failing", "Webhooks delayed"]
    for item in items:
        assert item.find("guid").text == item.find("link").text
        assert parsedate_to_datetime(item.find("pubDate").text).tzinfo is not None
        assert "Found it" in items[0].find("description").text


def test_etag_and_last_modified_answer_304_and_a_publication_changes_them(store, page):
    """Both validators on every answer; a matching If-None-Match or If-Modified-Since gets 304 with
    no body; the next publication shows at the next request with new validators."""
    one, _ = two_incidents(store)
    for path in ("/status", "/api/v2/summary.json", "/history.atom"):
        status, headers, _ = get(page.url + path)
        etag, modified = headers["etag"], headers["last-modified"]
        assert parsedate_to_datetime(modified) == NOW - timedelta(hours=1)
        status, again, body = get(page.url + path, {"If-None-Match": etag})
        assert (status, body, again["etag"]) == (304, b"", etag)
        assert get(page.url + path, {"If-None-Match": f'W/"x", {etag}'})[0] == 304
        assert get(page.url + path, {"If-Modified-Since": modified})[0] == 304
        assert get(page.url + path, {"If-Modified-Since": "not a date"})[0] == 200
        earlier = format_datetime(NOW - timedelta(hours=2), usegmt=True)
        assert get(page.url + path, {"If-Modified-Since": earlier})[0] == 200
        assert get(page.url + path, {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
    _, headers, _ = get(f"{page.url}/status")
    publish(store, one, NOW - timedelta(minutes=1), "Checkout is failing", "Fixed now.", "resolved")
    status, after, body = get(f"{page.url}/status", {"If-None-Match": headers["etag"]})
    assert status == 200 and after["etag"] != headers["etag"]
    assert "All Systems Operational" in body.decode()
    assert parsedate_to_datetime(after["last-modified"]) == NOW - timedelta(minutes=1)
    assert get_json(f"{page.url}/api/v2/status.json")["status"]["indicator"] == "none"


def test_the_page_is_rebuilt_only_when_a_publication_changes_it(store, page, monkeypatch):
    """Requests, and events that are not publications, reuse the built view; a publication or a
    new UTC day (the bars move) builds it again."""
    import bot.status_site

    builds = []
    real = bot.status_site.build_view
    monkeypatch.setattr(bot.status_site, "build_view", lambda *a: builds.append(1) or real(*a))
    one, _ = two_incidents(store)
    for _ in range(3):
        get(f"{page.url}/status")
        get(f"{page.url}/api/v2/summary.json")
    assert len(builds) == 1
    declare(store, NOW)  # an internal event: nothing public changed
    get(f"{page.url}/status")
    assert len(builds) == 1
    publish(store, one, NOW, "Checkout is failing", "Still on it.", "identified", API="partial_outage")
    get(f"{page.url}/status")
    assert len(builds) == 2
    page.clock.now = NOW + timedelta(days=1)
    html = get(f"{page.url}/status")[2].decode()
    assert len(builds) == 3 and html.count('"bar bar-major_outage"') == 1


def test_head_gives_the_headers_and_other_methods_are_refused(store, page):
    """HEAD answers like GET without a body; POST is 405."""
    two_incidents(store)
    status, headers, body = get(f"{page.url}/status", method="HEAD")
    assert status == 200 and body == b"" and headers["etag"]
    assert get(f"{page.url}/status", method="POST")[0] == 405


def test_without_components_every_status_route_is_404(store):
    """`status_page` with no components: no public page, no API, no feeds."""
    _, server = serve(store, config=StatusPageConfig(title="Nothing"))
    try:
        for path in ("/status", "/status/history", "/api/v2/summary.json", "/history.atom", "/history.rss"):
            assert get(server.url + path)[0] == 404, path
    finally:
        server.stop()


def test_unknown_public_paths_are_404(store, page):
    """A path under the public prefixes that is not an endpoint is 404, as are Slack's."""
    for path in ("/api/v2/nothing.json", "/api/v2/summary", "/status/nothing", "/slack/events"):
        assert get(page.url + path)[0] == 404, path


def test_a_team_can_override_a_status_page_template(store, tmp_path):
    """A status_page.html.j2 in the templates folder replaces the default page; the others stay."""
    (tmp_path / "status_page.html.j2").write_text(
        "<!doctype html><title>{{ page.title }}</title><p>Ours: {{ description }}</p>"
    )
    _, server = serve(store, template_dir=tmp_path)
    try:
        assert get(f"{server.url}/status")[2].decode().endswith("<p>Ours: All Systems Operational</p>")
        assert "Incident history" in get(f"{server.url}/status/history")[2].decode()
    finally:
        server.stop()


def test_components_follow_the_config_order(store):
    """Reordering the config reorders components on the page and in the API."""
    config = replace(CONFIG, components=tuple(reversed(CONFIG.components)))
    _, server = serve(store, config=config)
    try:
        names = [c["name"] for c in get_json(f"{server.url}/api/v2/components.json")["components"]]
        assert names == ["Webhooks", "Dashboard", "API"]
    finally:
        server.stop()
