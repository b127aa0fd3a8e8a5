"""The config file's `status_page:` section: the public page's title and components (in display
order), who may publish, and the optional Statuspage.io mirror (bot.core.status_page)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.config_file import Context, Path_, Problem, Section, mapping, only_keys, text
from bot.core.status_page import PUBLISH_BY, Component, StatusPageConfig, StatuspageMirror
from bot.core.text import slug

STATUS_PAGE_KEYS = ("title", "components", "statuspage", "publish_by")
COMPONENT_KEYS = ("name", "services")
STATUSPAGE_KEYS = ("page_id", "components")
_STATUSPAGE_ID = re.compile(r"[a-z0-9]{6,32}")


def _status_page(raw: object, ctx: Context) -> StatusPageConfig:
    path: Path_ = ("status_page",)
    raw = mapping(raw, path, "title, components and optionally statuspage and publish_by")
    only_keys(raw, STATUS_PAGE_KEYS, path)
    title = text(raw["title"], (*path, "title"), "the page's public title") if "title" in raw else "Status"
    components = _components(raw.get("components"), (*path, "components"))
    publish_by = ctx["publish_by"] or "roles"
    if "publish_by" in raw:
        if ctx["publish_by"] is not None:
            raise Problem((*path, "publish_by"), "publish_by is set at the top of the file too: keep one")
        publish_by = text(raw["publish_by"], (*path, "publish_by"), "roles or anyone")
        if publish_by not in PUBLISH_BY:
            raise Problem((*path, "publish_by"), f"{publish_by!r} is not roles or anyone")
    mirror = None
    if "statuspage" in raw:
        mirror = _mirror(raw["statuspage"], components, (*path, "statuspage"))
    return StatusPageConfig(
        title=title.strip(), components=components, statuspage=mirror, publish_by=publish_by
    )


def _components(raw: object, path: Path_) -> tuple[Component, ...]:
    if raw is None:
        raise Problem(path, "missing: list the components customers see, e.g. [{name: API}]")
    if not isinstance(raw, list) or not raw:
        raise Problem(path, "must be a list of components such as {name: API, services: [checkout-api]}")
    out: list[Component] = []
    for index, item in enumerate(raw):
        here = (*path, index)
        item = mapping(item, here, "name and optionally services")
        only_keys(item, COMPONENT_KEYS, here)
        if "name" not in item:
            raise Problem((*here, "name"), "missing: a component has a name")
        name = text(item["name"], (*here, "name"), "the component's public name").strip()
        if any(c.name.lower() == name.lower() for c in out):
            raise Problem((*here, "name"), f"{name!r} is listed twice")
        services = _services(item.get("services", []), (*here, "services"))
        out.append(Component(name, services))
    return tuple(out)


def _services(raw: object, path: Path_) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise Problem(path, "must be a list of service names such as [checkout-api]")
    names = []
    for index, item in enumerate(raw):
        name = text(item, (*path, index), "a service name")
        if slug(name) != name:
            raise Problem((*path, index), f"incidents record services slugged: write it as {slug(name)!r}")
        names.append(name)
    return tuple(names)


def _mirror(raw: object, components: tuple[Component, ...], path: Path_) -> StatuspageMirror:
    raw = mapping(raw, path, "page_id and components (Statuspage's component id by our name)")
    only_keys(raw, STATUSPAGE_KEYS, path)
    if "page_id" not in raw:
        raise Problem((*path, "page_id"), "missing: Statuspage's page id, e.g. kctbh9vrtdwd")
    page_id = text(raw["page_id"], (*path, "page_id"), "Statuspage's page id")
    if not _STATUSPAGE_ID.fullmatch(page_id):
        raise Problem(
            (*path, "page_id"), f"{page_id!r} is not a Statuspage id (lowercase letters and digits)"
        )
    ids: dict[str, str] = {}
    for name, value in mapping(raw.get("components", {}), (*path, "components"), "id by name").items():
        here = (*path, "components", str(name))
        known = next((c.name for c in components if c.name.lower() == str(name).lower()), None)
        if known is None:
            raise Problem(here, f"{name!r} is not one of status_page.components")
        component_id = text(value, here, "Statuspage's component id")
        if not _STATUSPAGE_ID.fullmatch(component_id):
            raise Problem(here, f"{component_id!r} is not a Statuspage id (lowercase letters and digits)")
        ids[known] = component_id
    return StatuspageMirror(page_id=page_id, component_ids=ids)


def _summary(page: StatusPageConfig, ctx: Context) -> Iterable[str]:
    if not page.enabled:
        return ["off (no components)"]
    lines = [f"title: {page.title}", f"publish_by: {page.publish_by}"]
    for component in page.components:
        services = ", ".join(component.services) or "no services"
        lines.append(f"  {component.name} ({services})")
    if page.statuspage is not None:
        mapped = ", ".join(f"{n} -> {i}" for n, i in page.statuspage.component_ids.items()) or "none"
        lines.append(f"statuspage mirror: page {page.statuspage.page_id}; components {mapped}")
    return lines


def _default(ctx: Context) -> Any:
    return StatusPageConfig(publish_by=ctx["publish_by"] or "roles")


def _publish_by(raw: object, ctx: Context) -> str:
    """`publish_by: anyone` at the top of the file, beside `resolve_by`, is the same setting as
    `status_page.publish_by`."""
    value = text(raw, ("publish_by",), "roles or anyone")
    if value not in PUBLISH_BY:
        raise Problem(("publish_by",), f"{value!r} is not roles or anyone")
    return value


SECTIONS: tuple[Section, ...] = (
    Section("publish_by", _publish_by, lambda ctx: None, lambda value, ctx: [str(value or "roles")]),
    Section(
        "status_page", _status_page, _default, _summary, policy_field="status_page", needs=("publish_by",)
    ),
)
