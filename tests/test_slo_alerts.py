"""SLO burn-rate alerts through the Alertmanager intake: the incident records which SLO, which window
pairs fired and the error budget they prove spent, and its summary and postmortem show it."""

from __future__ import annotations

import copy

import pytest

from bot.core import events as ev
from bot.core.slo import make_slo
from bot.core.slo_burn import burn_of, burns_of
from tests.harness import start_harness, team_policy
from tests.test_alert_intake_http import post
from tests.test_manifest import manifest_bot_scopes

AVAILABILITY = make_slo(
    name="API Availability",
    service="checkout-api",
    errors='sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
    total="sum(rate(http_requests_total[{{window}}]))",
    target=0.999,
    window="30d",
)
SCALED = make_slo(
    name="Checkout scaled",
    errors='sum(rate(http_requests_total{code=~"5.."}[{{window}}]))',
    total="sum(rate(http_requests_total[{{window}}]))",
    target=0.99,
    window="720m",
)


def burn_labels(slo: str, long: str, short: str, severity: str = "page") -> dict[str, str]:
    return {
        "alertname": "SLOErrorBudgetBurn",
        "severity": severity,
        "service": "checkout-api",
        "slo": slo,
        "long": long,
        "short": short,
    }


@pytest.mark.parametrize(
    ("slo", "long", "short", "rate", "spent"),
    [
        (AVAILABILITY, "1h", "5m", 14.4, 14.4 / 720),
        (AVAILABILITY, "6h", "30m", 6.0, 6 * 6 / 720),
        (AVAILABILITY, "1d", "2h", 3.0, 3 * 24 / 720),
        (AVAILABILITY, "3d", "6h", 1.0, 72 / 720),
        (SCALED, "1m", "5s", 14.4, 14.4 / 720),  # 720m: 1h -> 1m, 5m -> 5s; the same share
        (SCALED, "6m", "30s", 6.0, 6 * 6 / 720),
    ],
)
def test_a_burn_alert_proves_at_least_its_pairs_rate_and_budget_share(slo, long, short, rate, spent):
    """The pair that fired is found by its (scaled) windows: at least its burn rate, and at least
    rate x long / window of the budget spent in the long window."""
    burn = burn_of(burn_labels(slo.slug, long, short), (AVAILABILITY, SCALED))
    assert burn is not None and burn.name == slo.name and (burn.long, burn.short) == (long, short)
    assert burn.burn_rate == rate and burn.budget_spent == pytest.approx(spent)
    assert burn.objective == slo.objective and burn.window in ("30d", "12h")


def test_an_unknown_slo_or_pair_is_recorded_without_figures_and_other_alerts_are_not_burns():
    """A slug the config does not know keeps the slug as its name and gives no figure; windows that
    are no pair of the table give the SLO but no figure; a non-burn alert gives nothing."""
    unknown = burn_of(burn_labels("gone", "1h", "5m"), (AVAILABILITY,))
    assert unknown == ev.SLOBurn("gone", "gone", "1h", "5m", "page")
    odd = burn_of(burn_labels("api-availability", "2h", "5m"), (AVAILABILITY,))
    assert odd is not None and odd.name == "API Availability" and odd.budget_spent is None
    assert burn_of({"alertname": "HighLatency", "slo": "api-availability"}, (AVAILABILITY,)) is None
    assert burn_of({**burn_labels("", "1h", "5m")}, (AVAILABILITY,)) is None
    two = burns_of(
        [burn_labels("api-availability", "1h", "5m")] * 2 + [burn_labels("api-availability", "6h", "30m")],
        (AVAILABILITY,),
    )
    assert [(b.long, b.budget_spent) for b in two] == [
        ("6h", pytest.approx(0.05)),
        ("1h", pytest.approx(0.02)),
    ]


def group(*alerts: tuple[str, str, str]) -> dict:
    """An Alertmanager v4 webhook for SLO burn alerts given as (long, short, fingerprint)."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="SLOErrorBudgetBurn", service="checkout-api", severity="page"}',
        "status": "firing",
        "receiver": "incident-bot",
        "groupLabels": {"alertname": "SLOErrorBudgetBurn", "service": "checkout-api", "severity": "page"},
        "commonLabels": {"alertname": "SLOErrorBudgetBurn", "service": "checkout-api", "severity": "page"},
        "commonAnnotations": {},
        "alerts": [
            {
                "status": "firing",
                "labels": burn_labels("api-availability", long, short),
                "annotations": {"summary": f"API Availability: error budget burning over {long} and {short}"},
                "startsAt": "2026-02-04T14:31:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": fingerprint,
            }
            for long, short, fingerprint in alerts
        ],
    }


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes(), policy=team_policy(slos=(AVAILABILITY,)))
    yield harness
    harness.close()


def summary_slo_text(h) -> str:
    channel = h.slack.channel(h.bot.service.state_of(1).slack.channel_id)
    (block,) = [b for b in channel.messages[0].blocks if b.get("block_id") == "summary.slo"]
    return block["text"]["text"]


def test_an_slo_page_declares_with_the_slo_recorded_and_a_later_pair_joins_it(h):
    """The 1h/5m page declares an incident whose log names the SLO, the pair and the budget; the
    pinned summary shows it. The 6h/30m pair joining the group is added to the log, the summary and
    the postmortem; a re-send adds nothing."""
    status, body = post(h, group(("1h", "5m", "f1")))
    assert status == 200 and body["incident"] == "INC-1"
    (declared,) = [e for e in h.bot.store.load(1) if e.type == ev.IncidentDeclared.TYPE]
    assert declared.payload.alert.slo_burns == (
        ev.SLOBurn("api-availability", "API Availability", "1h", "5m", "page", "30d", 0.999, 14.4, 0.02),
    )
    text = summary_slo_text(h)
    assert "*API Availability* (99.9% over 30d): burning at least 14.4x over 1h and 5m" in text
    assert "at least 2% of its 30d error budget spent in 1h" in text
    assert "6h" not in text

    both = group(("1h", "5m", "f1"), ("6h", "30m", "f2"))
    post(h, both)
    post(h, copy.deepcopy(both))
    joined = [e for e in h.bot.store.load(1) if e.type == ev.AlertsFiring.TYPE]
    assert len(joined) == 1 and [(b.long, b.budget_spent) for b in joined[0].payload.slo_burns] == [
        ("6h", 0.05)
    ]
    text = summary_slo_text(h)
    assert "at least 6x over 6h and 30m, so at least 5% of its 30d error budget spent in 6h" in text
    assert "at least 14.4x over 1h and 5m" in text
    markdown = h.bot.service.postmortem_markdown(1)
    assert "## Error budget" in markdown
    assert (
        "- **API Availability** (objective 99.9% over 30d): the page alert over 6h and 30m fired, so its "
        "budget burned at least 6x as fast as the objective allows, and at least 5% of the 30d error "
        "budget was spent in 6h (at a steady request rate)."
    ) in markdown
    assert "over 1h and 5m fired" in markdown


def test_an_incident_from_other_alerts_shows_no_error_budget(h):
    """Alerts that are not SLO burn alerts record no burn: no Error budget block or section."""
    other = group(("1h", "5m", "f1"))
    for alert in other["alerts"]:
        alert["labels"]["alertname"] = "CheckoutErrors"
    post(h, other)
    state = h.bot.service.state_of(1)
    assert state.alert.link is not None and state.alert.slo_burns == {}
    channel = h.slack.channel(state.slack.channel_id)
    assert all(b.get("block_id") != "summary.slo" for b in channel.messages[0].blocks)
    assert "## Error budget" not in h.bot.service.postmortem_markdown(1)
