"""`status_page:` in the config: the issue's example loads as written, and each mistake is one
`FILE:LINE: status_page.key: reason` line from `incident-bot config check`."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import load_config_file
from bot.core.status_page import Component, StatusPageConfig, StatuspageMirror

EXAMPLE = """\
status_page:
  title: Example Inc. status
  components:                     # in display order
    - {name: API, services: [checkout-api, auth-api]}
    - {name: Dashboard}
  statuspage:                      # optional mirror; the key comes from STATUSPAGE_API_KEY
    page_id: kctbh9vrtdwd
    components: {API: 8kbf7d35c070, Dashboard: vtnh60py4yd7}   # Statuspage ids by our name
"""


def test_the_issues_example_loads_as_written(tmp_path):
    path = tmp_path / "bot.yml"
    path.write_text(EXAMPLE)
    page = load_config_file(path)["policy"].status_page
    assert page == StatusPageConfig(
        title="Example Inc. status",
        components=(Component("API", ("checkout-api", "auth-api")), Component("Dashboard")),
        statuspage=StatuspageMirror("kctbh9vrtdwd", {"API": "8kbf7d35c070", "Dashboard": "vtnh60py4yd7"}),
        publish_by="roles",
    )
    assert page.enabled and page.components_for_service("auth-api") == (page.components[0],)


def test_without_the_section_there_is_no_status_page(tmp_path):
    path = tmp_path / "bot.yml"
    path.write_text("default_severity: sev2\n")
    assert not load_config_file(path)["policy"].status_page.enabled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status_page:\n  title: X\n", "1: status_page.components: missing"),
        ("status_page:\n  components: []\n", "2: status_page.components: must be a list of components"),
        ("status_page:\n  components:\n    - {name: API}\n    - {name: api}\n", "4: status_page.components[1].name: 'api' is listed twice"),
        ("status_page:\n  components:\n    - {name: API, services: [Checkout API]}\n", "3: status_page.components[0].services[0]: incidents record services slugged"),
        ("status_page:\n  components:\n    - {name: API}\n  publish_by: everyone\n", "4: status_page.publish_by: 'everyone' is not roles or anyone"),
        ("status_page:\n  components:\n    - {name: API}\n  statuspage: {components: {}}\n", "4: status_page.statuspage.page_id: missing"),
        ("status_page:\n  components:\n    - {name: API}\n  statuspage: {page_id: abcdef12, components: {Web: abcdef99}}\n", "4: status_page.statuspage.components.Web: 'Web' is not one of status_page.components"),
        ("status_page:\n  components:\n    - {name: API}\n  statuspage: {page_id: abcdef12, components: {API: Not-An-Id}}\n", "4: status_page.statuspage.components.API: 'Not-An-Id' is not a Statuspage id"),
        ("status_page:\n  components:\n    - {name: API}\n  colour: blue\n", "4: status_page.colour: unknown key 'colour'"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_line_naming_its_key(capsys, tmp_path, text, expected):
    path = tmp_path / "bot.yml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    (line,) = err.strip().splitlines()
    assert out == "" and line.startswith(f"{path}:{expected}"), line


def test_publish_by_may_also_be_written_at_the_top_beside_resolve_by(tmp_path, capsys):
    """`publish_by: anyone` at the top of the file is the same setting; written in both places, it is refused."""
    path = tmp_path / "bot.yml"
    path.write_text("publish_by: anyone\nstatus_page:\n  components:\n    - {name: API}\n")
    assert load_config_file(path)["policy"].status_page.publish_by == "anyone"
    path.write_text(
        "publish_by: anyone\nstatus_page:\n  publish_by: roles\n  components:\n    - {name: API}\n"
    )
    assert main(["config", "check", str(path)]) == 2
    assert (
        f"{path}:3: status_page.publish_by: publish_by is set at the top of the file too"
        in capsys.readouterr().err
    )
