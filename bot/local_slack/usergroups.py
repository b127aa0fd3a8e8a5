"""User groups (`@platform-oncall`): usergroups.users.update, .disable and .enable, as Slack answers them.

Slack's rules kept here: a group's member list replaces the old one and may not be empty
(`no_users_provided`; an empty group is disabled instead), every id must be a person in the
workspace (`invalid_users`), and an unknown group id is `no_such_subteam`. A disabled group has a
non-zero `date_delete`. The 2020 OpenAPI spec's error lists for these methods predate those errors,
which Slack's method pages document.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from bot.local_slack.errors import SlackError
from bot.local_slack.validation import require
from bot.local_slack.workspace import Workspace


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)
    date_create: int = 0
    date_update: int = 0
    date_delete: int = 0  # non-zero while disabled
    updated_by: str = ""


class Usergroups(Workspace):
    team_id: str
    _usergroups: dict[str, Usergroup]

    def add_usergroup(self, usergroup_id: str, handle: str, users: list[str] | None = None) -> None:
        """A group made by a person in Slack (the bot only changes its members)."""
        with self._lock:
            now = int(time.time())
            self._usergroups[usergroup_id] = Usergroup(
                usergroup_id, handle, handle, list(users or []), now, now
            )

    def usergroup(self, usergroup_id: str) -> Usergroup:
        """A copy of the group as it stands (tests read it)."""
        with self._lock:
            return copy.deepcopy(self._usergroups[usergroup_id])

    def _group(self, params: dict[str, Any]) -> Usergroup:
        group = self._usergroups.get(require(params, "usergroup", "no_such_subteam"))
        if group is None:
            raise SlackError("no_such_subteam")
        return group

    def _api_usergroups_users_update(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(params)
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("no_users_provided")
        if any(u not in self._users or self._users[u].is_bot for u in users):
            raise SlackError("invalid_users")
        group.users = list(dict.fromkeys(users))
        group.date_update, group.updated_by = int(time.time()), self.bot_user_id
        return {"usergroup": self._subteam_json(group, params)}

    def _api_usergroups_disable(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(params)
        if not group.date_delete:
            group.date_delete = int(time.time())
        return {"usergroup": self._subteam_json(group, params)}

    def _api_usergroups_enable(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(params)
        group.date_delete = 0
        return {"usergroup": self._subteam_json(group, params)}

    def _subteam_json(self, group: Usergroup, params: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": group.id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": group.name,
            "description": "",
            "handle": group.handle,
            "is_external": False,
            "date_create": group.date_create,
            "date_update": group.date_update,
            "date_delete": group.date_delete,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": self.bot_user_id,
            "updated_by": group.updated_by or self.bot_user_id,
            "deleted_by": self.bot_user_id if group.date_delete else None,
            "prefs": {"channels": [], "groups": []},
            "users": list(group.users),
        }
        if str(params.get("include_count", "")).lower() in ("1", "true"):
            data["user_count"] = len(group.users)
        return data
