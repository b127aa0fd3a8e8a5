"""Publishing to the status page from Slack: who may, what one publication holds, and what an
update or a resolution adds to it.

Nothing becomes public unless a person chose it: the publish modal, the update modal's "Also
publish to the status page", or resolving an incident that was already published (its public
closing message). Each publication is one `StatusPagePublished` event whose `components` are
every affected component as it stands after it (a full set, not a change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from bot.core import events as ev
from bot.core.decide import Decision, NotAllowed
from bot.core.errors import FormErrors, UserError
from bot.core.events import ComponentStatus, NewEvent
from bot.core.policy import Policy
from bot.core.replies import reply
from bot.core.state import IncidentState
from bot.core.status_page import StatusPageConfig

OPERATIONAL = "operational"
PUBLISHING_ROLES = ("commander", "comms")


@dataclass(frozen=True)
class PublicChoice:
    """What a person chose in a form: the message customers read, the public status, the status
    of each component the form showed (by our name), and the public title (None: keep the one
    already published)."""

    message: str
    status: str
    components: Mapping[str, str]
    public_title: str | None = None


def may_publish(state: IncidentState, actor: str, page: StatusPageConfig) -> bool:
    """The commander or comms, or anyone with `publish_by: anyone`."""
    if page.publish_by == "anyone":
        return True
    return actor in {state.facts.roles.get(role) for role in PUBLISHING_ROLES}


def check_may_publish(state: IncidentState, actor: str, policy: Policy) -> None:
    page = policy.status_page
    if not page.enabled:
        raise UserError(reply("status_page_off"))
    if not may_publish(state, actor, page):
        roles = state.facts.roles
        raise NotAllowed(
            reply(
                "only_roles_publish",
                key=state.key,
                commander=roles.get("commander"),
                comms=roles.get("comms"),
            )
        )


def offers_publication(state: IncidentState, actor: str, policy: Policy) -> bool:
    """Does the update modal show "Also publish to the status page" to `actor`? Once the incident
    is published, to whoever may publish."""
    page = policy.status_page
    return page.enabled and state.public.published and may_publish(state, actor, page)


def owes_public_closing(state: IncidentState) -> bool:
    """Resolving tells customers too when they were told about it and not yet that it is over."""
    latest = state.public.latest
    return latest is not None and latest.status != "resolved"


def current_title(state: IncidentState) -> str:
    latest = state.public.latest
    return latest.public_title if latest else ""


def current_components(state: IncidentState) -> dict[str, str]:
    """Each affected component's published status, by our name (empty before any publication)."""
    latest = state.public.latest
    return {c.component: c.status for c in latest.components} if latest else {}


def affected(
    before: Mapping[str, str], chosen: Mapping[str, str], page: StatusPageConfig
) -> tuple[ComponentStatus, ...]:
    """Every affected component after a publication, in display order: each one affected before
    (so its return to operational is said) and each one not operational now. A component the
    form did not show keeps its status."""
    out = []
    for component in page.components:
        name = component.name
        status = chosen.get(name, before.get(name, OPERATIONAL))
        if name in before or status != OPERATIONAL:
            out.append(ComponentStatus(name, status))
    known = {c.name for c in page.components}
    out += [ComponentStatus(name, status) for name, status in before.items() if name not in known]
    return tuple(out)


def publication(state: IncidentState, choice: PublicChoice, page: StatusPageConfig) -> ev.StatusPagePublished:
    latest = state.public.latest
    title = choice.public_title or (latest.public_title if latest else "")
    if not title:
        raise UserError(reply("status_page_not_published", key=state.key))
    return ev.StatusPagePublished(
        public_title=title,
        message=choice.message,
        status=choice.status,
        components=affected(current_components(state), choice.components, page),
    )


def decide_publish(
    state: IncidentState, choice: PublicChoice, actor: str, now: datetime, policy: Policy, source: str
) -> Decision:
    """The publish modal submitted: one publication (once per submitted view)."""
    if source in state.sources:
        return Decision(reply=reply("already_applied", key=state.key))
    check_may_publish(state, actor, policy)
    published = replace(publication(state, choice, policy.status_page), source=source)
    return Decision(
        [NewEvent(actor, now, published)], reply("published", key=state.key, status=published.status)
    )


def with_update_publication(
    state: IncidentState,
    decision: Decision,
    choice: PublicChoice | None,
    actor: str,
    now: datetime,
    policy: Policy,
    source: str | None,
) -> Decision:
    """The update modal with "Also publish to the status page" ticked: the update, then the
    publication (its own public message and status), from the same submission."""
    if choice is None or not decision.events:
        return decision
    if not offers_publication(state, actor, policy):
        raise FormErrors({"also_publish": reply("publish_not_offered", key=state.key)})
    published = replace(publication(state, choice, policy.status_page), source=source)
    return Decision([*decision.events, NewEvent(actor, now, published)], decision.reply)


def closing(state: IncidentState, message: str) -> ev.StatusPagePublished:
    """The public resolution: the published title, `message`, and every affected component back
    to operational."""
    latest = state.public.latest
    assert latest is not None
    back = tuple(ComponentStatus(c.component, OPERATIONAL) for c in latest.components)
    return ev.StatusPagePublished(
        public_title=latest.public_title, message=message, status="resolved", components=back
    )


def with_public_closing(
    state: IncidentState, decision: Decision, message: str, actor: str, now: datetime, source: str | None
) -> Decision:
    """Resolving an incident customers were told about tells them it is resolved (whoever may
    resolve it: leaving the page saying "investigating" would be worse). `message` is what the
    Resolve modal asked for, or the team's template for `/incident resolve <text>`."""
    if not decision.events or not owes_public_closing(state):
        return decision
    public = replace(closing(state, message), source=source)
    answer = reply("resolved_and_published", key=state.key, message=message)
    return Decision([*decision.events, NewEvent(actor, now, public)], answer)
