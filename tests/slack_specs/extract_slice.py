"""Cut the slice of Slack's Web API OpenAPI spec that the tests check the local Slack against.

    python tests/slack_specs/extract_slice.py ../shared/slack/web_api_openapi_v2.json [OUTPUT]

Keeps the ``paths`` entries, whole, of the Web API methods that the local Slack implements or the
bot calls, and nothing else; methods the 2020 spec lacks are simply not in it. Writes JSON with
sorted keys, so one spec always gives the same bytes. OUTPUT defaults to
``web_api_openapi_slice.json`` next to this script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.local_slack import METHOD_PARAMS
from bot.slack.notifier import METHOD_SCOPES as BOT_METHODS

SLICE = Path(__file__).resolve().with_name("web_api_openapi_slice.json")


def wanted_methods() -> list[str]:
    """The methods whose entries the slice keeps: all the local Slack implements or the bot calls."""
    return sorted(set(METHOD_PARAMS) | set(BOT_METHODS))


def extract_slice(spec: dict[str, Any]) -> dict[str, Any]:
    paths = spec["paths"]
    return {"paths": {f"/{m}": paths[f"/{m}"] for m in wanted_methods() if f"/{m}" in paths}}


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="Slack's full spec (web_api_openapi_v2.json)")
    parser.add_argument("output", type=Path, nargs="?", default=SLICE, help=f"default: {SLICE.name}")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    args.output.write_text(dump(extract_slice(spec)), encoding="utf-8")


if __name__ == "__main__":
    main()
