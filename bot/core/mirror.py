"""What Statuspage.io is owed for an incident, and exactly what each request carries, from the log.

Every `StatusPagePublished` is mirrored once, in order: the first creates the Statuspage incident,
each later one updates it. A request carries only the publication's public fields (its title,
message and status) and component statuses keyed by Statuspage's component ids; nothing internal
(the incident's own title, people, notes, severity) is read here, so nothing internal can be sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core import events as ev
from bot.core.state import IncidentState
from bot.core.status_page import StatuspageMirror, impact_of

CREATE, UPDATE = "create", "update"
OPERATIONAL = "operational"


# Statuspage's impact words, mildest first, and the impact each component status implies.
def statuspage_owed(state: IncidentState) -> list[tuple[int, str]]:
    """(publication seq, create | update) still owed: only the first publication Statuspage has not
    answered for, so they reach it in order. Create while no Statuspage incident exists (a refused
    create leaves none, and the next publication tries again)."""
    for publication in state.public.publications:
        if publication.seq not in state.statuspage.done:
            return [(publication.seq, UPDATE if state.statuspage.incident_id else CREATE)]
    return []


@dataclass(frozen=True)
class MirrorRequest:
    """One create or update: `components` maps Statuspage component id -> status."""

    name: str
    status: str
    body: str
    components: Mapping[str, str]
    impact: str

    @property
    def component_ids(self) -> list[str]:
        return list(self.components)


def mirror_request(state: IncidentState, seq: int, mirror: StatuspageMirror) -> MirrorRequest:
    """What publication `seq` asks of Statuspage. On `resolved`, every component the incident's
    publications ever named goes back to operational. The impact is the worst the publications so
    far implied, so a resolved incident keeps the impact it had on Statuspage's history."""
    upto = [p for p in state.public.publications if p.seq <= seq]
    if not upto or upto[-1].seq != seq:
        raise KeyError(seq)
    published = [_publication(p) for p in upto]
    this = published[-1]
    if this.status == "resolved":
        names = _in_order(c.component for p in published for c in p.components)
        statuses = {name: OPERATIONAL for name in names}
    else:
        statuses = {c.component: c.status for c in this.components}
    components = {_id: status for name, status in statuses.items() if (_id := _id_of(mirror, name))}
    impact = impact_of(c for p in published for c in p.components)
    return MirrorRequest(this.public_title, this.status, this.message, components, impact)


def _publication(event: ev.Event) -> ev.StatusPagePublished:
    assert isinstance(event.payload, ev.StatusPagePublished)
    return event.payload


def _in_order(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _id_of(mirror: StatuspageMirror, name: str) -> str | None:
    """Statuspage's id for our component `name`; None for one the mirror does not map (not sent)."""
    if name in mirror.component_ids:
        return mirror.component_ids[name]
    return next((i for n, i in mirror.component_ids.items() if n.lower() == name.lower()), None)
