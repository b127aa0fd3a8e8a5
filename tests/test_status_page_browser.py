"""/status in a real browser: Debian's headless Chromium loads the page (no JavaScript needed) and
shows the state, the components with their bars and the open incident, on a phone-sized window, in
light and dark mode. Skipped without `chromium`, except under CI=true.

`UPDATE_SCREENSHOTS=1 pytest tests/test_status_page_browser.py -k sqlite` also writes the phone
screenshot to docs/status-page.png (shown in the README)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.render.renderer import Renderer
from bot.server import ServerThread, make_status_page_wsgi
from bot.status_site import StatusSite
from tests.status_publications import CONFIG, declare, publish

ROOT = Path(__file__).resolve().parents[1]
PHONE = "412,915"


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium must be installed under CI=true (.ci/run installs Debian's package)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={PHONE}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


class Rendered(HTMLParser):
    """The text of each element with a class, by class (what the browser's DOM holds)."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, list[str]] = {}
        self.stack: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        for name in classes:
            self.classes.setdefault(name, [])
        if tag not in ("meta", "link", "br"):
            self.stack.append(classes)

    def handle_endtag(self, tag):
        if tag not in ("meta", "link", "br") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        for classes in self.stack:
            for name in classes:
                self.classes[name].append(data)

    def text(self, name: str) -> str:
        return " ".join(" ".join(self.classes.get(name, [])).split())


def top_left_pixel(png: bytes) -> tuple[int, int, int]:
    """The first pixel of a PNG: whatever the first row's filter, its first pixel is stored as is."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IDAT":
            data += body
        pos += 12 + length
    raw = zlib.decompressobj().decompress(data, 16)
    return raw[1], raw[2], raw[3]


def png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


@pytest.fixture
def page(store):
    now = datetime.now(UTC)
    old = declare(store, now - timedelta(days=40))
    publish(
        store,
        old,
        now - timedelta(days=40),
        "Dashboard loads slowly",
        "Investigating.",
        Dashboard="degraded_performance",
    )
    publish(store, old, now - timedelta(days=39, hours=20), "Dashboard loads slowly", "Resolved.", "resolved")
    webhooks = declare(store, now - timedelta(days=12))
    publish(
        store,
        webhooks,
        now - timedelta(days=12),
        "Webhook deliveries delayed",
        "Delays.",
        Webhooks="major_outage",
    )
    publish(
        store,
        webhooks,
        now - timedelta(days=11, hours=20),
        "Webhook deliveries delayed",
        "Caught up.",
        "resolved",
    )
    open_ = declare(store, now - timedelta(hours=1))
    publish(
        store,
        open_,
        now - timedelta(minutes=40),
        "Checkout errors for some customers",
        "Some payments fail at checkout. We have found the cause and are rolling out a fix.",
        "identified",
        API="partial_outage",
    )
    site = StatusSite(store, CONFIG, Renderer(), lambda: datetime.now(UTC))
    server = ServerThread(make_status_page_wsgi(store, site)).start()
    yield server
    server.stop()


def test_chromium_renders_the_status_page_without_javascript(page, tmp_path):
    """The DOM Chromium builds shows the overall state, the components in config order with their
    states and 90 bars each, and the open incident with its update."""
    dom = run_chromium(tmp_path, "--dump-dom", f"{page.url}/status").stdout
    rendered = Rendered()
    rendered.feed(dom)
    assert rendered.text("overall") == "Partial System Outage"
    assert rendered.text("component-name") == "API Dashboard Webhooks"
    assert rendered.text("component-status") == "Partial outage Operational Operational"
    assert dom.count('class="bar ') == 3 * 90
    assert (
        dom.count('class="bar bar-major_outage"') == 1
        and dom.count('class="bar bar-degraded_performance"') == 1
    )
    assert "Checkout errors for some customers" in rendered.text("incident")
    assert "We have found the cause" in rendered.text("update-body")


def test_chromium_screenshots_it_on_a_phone_in_light_and_dark_mode(page, tmp_path):
    """A phone-sized screenshot (412x915): a light background normally, a dark one when the browser
    prefers a dark colour scheme."""
    light, dark = tmp_path / "light.png", tmp_path / "dark.png"
    run_chromium(tmp_path, f"--screenshot={light}", f"{page.url}/status")
    run_chromium(tmp_path, "--force-dark-mode", f"--screenshot={dark}", f"{page.url}/status")
    light_png, dark_png = light.read_bytes(), dark.read_bytes()
    assert png_size(light_png) == png_size(dark_png) == (412, 915)
    assert top_left_pixel(light_png) == (255, 255, 255)
    assert top_left_pixel(dark_png) == (0x0D, 0x11, 0x17)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copy(light, ROOT / "docs" / "status-page.png")
