"""Reading the values people entered in a modal, from Slack's `view.state.values` shape."""

from __future__ import annotations

from typing import Any


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """{block_id: value} for every input in the view: text, selected option value, user,
    checked option values, date, time. Each input block has one element."""
    values: dict[str, Any] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in elements.values():
            values[block_id] = _value_of(element)
    return values


def _value_of(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return (element.get("value") or "").strip()
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "checkboxes":
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "timepicker":
        return element.get("selected_time")
    if kind == "datetimepicker":
        return element.get("selected_date_time")
    return element.get("value")
