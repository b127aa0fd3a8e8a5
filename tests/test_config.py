"""Settings from the environment and the optional YAML file."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_DATABASE_URL, DEFAULT_SLACK_API_URL, load_settings, policy_from_mapping
from bot.core.errors import ConfigError

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


def test_everything_works_without_a_config_file():
    """With only the two secrets set, defaults apply: SQLite, Slack's API, sev1-sev4, #incidents."""
    settings = load_settings(BASE)
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///incidents.db"
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.policy.severity_names == ("sev1", "sev2", "sev3", "sev4")
    assert settings.policy.default_severity == "sev3"
    assert settings.policy.announcement_channel == "#incidents"


def test_yaml_sets_severities_responders_channel_and_prefix(tmp_path):
    """The YAML file sets severities with descriptions and responders, the channel and the prefix."""
    path = tmp_path / "bot.yml"
    path.write_text(
        "severities:\n"
        "  SEV1: {description: Everything is down, responders: [U0ONCALL, U0CTO]}\n"
        "  sev2: {description: Degraded}\n"
        "default_severity: sev2\n"
        "announcement_channel: C0INCIDENTS\n"
        "channel_prefix: incident\n"
    )
    env = {**BASE, "INCIDENT_BOT_CONFIG": str(path), "SLACK_API_URL": "http://127.0.0.1:9/api"}
    settings = load_settings(env)
    policy = settings.policy
    assert policy.severity_names == ("sev1", "sev2")
    assert policy.severity("sev1").responders == ("U0ONCALL", "U0CTO")
    assert (policy.default_severity, policy.announcement_channel, policy.channel_prefix) == (
        "sev2",
        "C0INCIDENTS",
        "incident",
    )
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("severities: []\n", ":1: severities: must be a mapping"),
        ("severities:\n  sev1: {responders: bob}\n", ":2: severities.sev1.responders: must be a list"),
        ("default_severity: sev9\n", ":1: default_severity: unknown severity 'sev9'"),
        ("pager: yes\n", ":1: pager: unknown key 'pager'"),
        ("- a list\n", "must be a mapping"),
        ("severities: {sev1: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, yaml_text, message):
    """A config mistake raises ConfigError saying what is wrong."""
    path = tmp_path / "bot.yml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "INCIDENT_BOT_CONFIG": str(path)})
    assert message in str(caught.value)


def test_missing_config_file_is_reported():
    """A config path that does not exist is a ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="/nonexistent/bot.yml: cannot read the config file"):
        load_settings({**BASE, "INCIDENT_BOT_CONFIG": "/nonexistent/bot.yml"})


def test_services_set_availability_targets(tmp_path):
    """`services` maps names to availability percentages; nonsense is a ConfigError."""
    path = tmp_path / "bot.yml"
    path.write_text("services:\n  checkout: {availability: 99.9}\n")
    assert load_settings({**BASE, "INCIDENT_BOT_CONFIG": str(path)}).policy.services == {"checkout": 99.9}
    path.write_text("services:\n  checkout: {availability: 120}\n")
    with pytest.raises(ConfigError, match="services.checkout.availability: must be a percentage"):
        load_settings({**BASE, "INCIDENT_BOT_CONFIG": str(path)})


def test_alerts_section_maps_severities(tmp_path):
    """`alerts` sets which alert severities page (and as which incident severity) and which triage."""
    path = tmp_path / "bot.yml"
    path.write_text("alerts:\n  declare: {P1: SEV2}\n  triage: [P2]\n  triage_channel: C0TRIAGE\n")
    alerts = load_settings({**BASE, "INCIDENT_BOT_CONFIG": str(path)}).policy.alerts
    assert (dict(alerts.declare), alerts.triage, alerts.triage_channel) == (
        {"p1": "sev2"},
        ("p2",),
        "C0TRIAGE",
    )
    assert alerts.classify("p1") == "declare" and alerts.classify("p2") == "triage"
    path.write_text("alerts:\n  declare: {page: sev9}\n")
    with pytest.raises(ConfigError, match="alerts.declare.page: unknown severity 'sev9'"):
        load_settings({**BASE, "INCIDENT_BOT_CONFIG": str(path)})


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (
            {"severities": {"sev1": {"description": "x", "responder": ["U1"]}}},
            "severities.sev1.responder: unknown key 'responder' .did you mean 'responders'",
        ),
        (
            {"services": {"checkout": {"availability": 99.9, "availabilty": 99.5}}},
            "services.checkout.availabilty: unknown key 'availabilty' .did you mean 'availability'",
        ),
    ],
)
def test_a_typo_inside_a_severity_or_service_entry_is_an_error(raw, named):
    """Unknown keys are errors at every level, so a misspelt key does not silently do nothing."""
    with pytest.raises(ConfigError, match=named):
        policy_from_mapping(raw)
