"""Runbook Markdown files read into Runbooks (bot.runbook_files), and the folder's lint: each
problem as `file:line: reason`, with the offending line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.runbook import (
    HEAD_BLOCKS,
    MAX_BLOCKS,
    MAX_CHUNK,
    checklist_parts,
    command_chunks,
    step_blocks,
)
from bot.runbook_files import check_folder, parse_runbook, read_runbook

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "runbooks" / "high-error-rate.md"


def line_of(path: Path, text: str) -> int:
    """The line (from 1) where `text` is written in the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line == text)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# The shipped seed runbook ------------------------------------------------------------------------


def test_the_seed_runbook_has_its_title_symptoms_impact_and_escalation():
    runbook = read_runbook(SEED)
    assert runbook.name == "high-error-rate"
    assert runbook.title == "High Error Rate (5xx)"
    assert runbook.path == str(SEED)
    assert runbook.symptoms == (
        "- Error rate >5% for 5 minutes\n- Dashboard: https://grafana.company.com/d/errors"
    )
    assert runbook.impact == "- Customer requests failing\n- Severity: HIGH"
    escalation = runbook.escalation
    assert escalation is not None
    assert (escalation.after_seconds, escalation.target) == (1200, "@platform-leads")
    assert escalation.sentence == "If not resolved in 20 minutes, escalate to @platform-leads"
    assert escalation.line == line_of(SEED, escalation.sentence)


def test_the_seed_runbook_has_four_investigation_steps_and_a_mitigation_step():
    steps = read_runbook(SEED).steps
    assert [(s.section, s.title) for s in steps] == [
        ("Investigation", "Step 1: Check recent deployments"),
        ("Investigation", "Step 2: Check dependencies"),
        ("Investigation", "Step 3: Check logs"),
        ("Investigation", "Step 4: Check database connections"),
        ("Mitigation", "Mitigation"),
    ]
    for step in steps[:4]:
        assert step.line == line_of(SEED, f"### {step.title}")
    assert steps[4].line == line_of(SEED, "## Mitigation")


def test_the_seed_runbook_steps_carry_its_commands_exactly():
    steps = read_runbook(SEED).steps
    assert steps[0].commands == (
        "# Was there a recent deploy?\n"
        "kubectl rollout history deployment/api-service\n"
        "\n"
        "# If yes, rollback\n"
        "kubectl rollout undo deployment/api-service",
    )
    assert steps[1].commands == ()
    assert steps[2].commands == (
        "# Recent errors\n"
        "kubectl logs deployment/api-service --since=10m | grep ERROR\n"
        "\n"
        "# Common patterns\n"
        "kubectl logs deployment/api-service --since=10m | grep ERROR | sort | uniq -c | sort -rn",
    )
    assert steps[3].commands == (
        "-- Active connections\n"
        "SELECT count(*) FROM pg_stat_activity;\n"
        "\n"
        "-- Long-running queries\n"
        "SELECT pid, now() - query_start as duration, query\n"
        "FROM pg_stat_activity\n"
        "WHERE state = 'active'\n"
        "ORDER BY duration DESC;",
    )
    assert steps[4].text == "If database is the issue:"
    assert steps[4].commands == (
        "# Scale up read replicas\n"
        "kubectl scale deployment api-service --replicas=10\n"
        "\n"
        "# Or: Enable read-only mode\n"
        "kubectl set env deployment/api-service READ_ONLY_MODE=true",
    )


def test_the_seed_runbook_step_2_has_its_three_dashboard_links():
    step = read_runbook(SEED).steps[1]
    assert step.links == (
        "https://grafana.company.com/d/postgres",
        "https://grafana.company.com/d/redis",
        "https://status.stripe.com",
    )
    assert step.text == (
        "- Database: https://grafana.company.com/d/postgres\n"
        "- Redis: https://grafana.company.com/d/redis\n"
        "- External API: https://status.stripe.com"
    )
    assert all(s.links == () for i, s in enumerate(read_runbook(SEED).steps) if i != 1)


def test_the_seed_runbook_communication_template_is_its_code_block_exactly():
    assert read_runbook(SEED).communication == (
        "🚨 Incident: High error rate on API service\n"
        "Status: Investigating\n"
        "Impact: ~10% of API requests failing\n"
        "Started: 2026-02-04 14:32 UTC\n"
        "Last Update: 14:35 UTC\n"
        "Actions:\n"
        "- Rolled back recent deployment\n"
        "- Monitoring error rate\n"
        "Next update: 14:45 UTC"
    )


def test_the_shipped_runbooks_folder_checks_clean():
    library, problems = check_folder(ROOT / "runbooks")
    assert problems == []
    assert library.names == ("high-error-rate",)
    assert library.find("High-Error-Rate.md") is not None


# Awkward runbooks --------------------------------------------------------------------------------


def test_a_runbook_without_headings_takes_its_numbered_items_as_steps():
    """No headings at all: the title is the file's name, each numbered item a step whose first
    paragraph is its title, with the code block written under it."""
    text = (
        "1. Restart the cache\n"
        "\n"
        "   ```sh\n"
        "   systemctl restart redis\n"
        "   ```\n"
        "2. Check the hit rate: https://grafana.example.com/d/cache\n"
        "3. Tell #support\n"
    )
    runbook, problems = parse_runbook(text, "cache-down")
    assert problems == []
    assert runbook.title == "cache-down"
    assert [(s.title, s.line, s.section) for s in runbook.steps] == [
        ("Restart the cache", 1, "Investigation"),
        ("Check the hit rate: https://grafana.example.com/d/cache", 6, "Investigation"),
        ("Tell #support", 7, "Investigation"),
    ]
    assert runbook.steps[0].commands == ("systemctl restart redis",)
    assert runbook.steps[1].links == ("https://grafana.example.com/d/cache",)


def test_numbered_steps_under_a_section_keep_a_flush_left_code_block_with_the_item_before_it():
    text = (
        "# Disk full\n\n## Mitigation\n\n"
        "1. Find the big files\n"
        "```\n"
        "du -sh /var/* | sort -h\n"
        "```\n"
        "2. Rotate the logs\n"
        "```\n"
        "logrotate -f /etc/logrotate.conf\n"
        "```\n"
    )
    runbook, problems = parse_runbook(text, "disk-full")
    assert problems == []
    assert [(s.title, s.section, s.commands, s.line) for s in runbook.steps] == [
        ("Find the big files", "Mitigation", ("du -sh /var/* | sort -h",), 5),
        ("Rotate the logs", "Mitigation", ("logrotate -f /etc/logrotate.conf",), 9),
    ]


def test_nested_lists_are_text_indented_by_level():
    text = (
        "# Queue backlog\n\n## Investigation\n\n### Look at the consumers\n\n"
        "Check each one:\n\n"
        "- workers\n"
        "  - [pool A](https://grafana.example.com/d/a)\n"
        "    - threads\n"
        "  - pool B\n"
        "- schedulers\n"
        "1. first\n"
        "2. second\n"
    )
    runbook, problems = parse_runbook(text, "queue")
    assert problems == []
    (step,) = runbook.steps
    assert step.text == (
        "Check each one:\n- workers\n  - pool A\n    - threads\n  - pool B\n- schedulers\n1. first\n2. second"
    )
    assert step.links == ("https://grafana.example.com/d/a",)


def test_a_very_long_code_block_is_read_whole_and_split_between_whole_lines():
    """A 10,000-character block of short lines is one command; the checklist splits it into
    chunks within a Slack section, each of whole lines, which join back into the command."""
    lines = [f"echo line-{n:05d} && true" for n in range(420)]
    command = "\n".join(lines)
    assert len(command) > 10_000
    text = f"# Long\n\n## Investigation\n\n### Run it all\n\n```bash\n{command}\n```\n"
    runbook, problems = parse_runbook(text, "long")
    assert problems == []
    (step,) = runbook.steps
    assert step.commands == (command,)
    chunks = command_chunks(step.commands[0])
    assert len(chunks) > 1
    assert all(len(chunk) <= MAX_CHUNK for chunk in chunks)
    assert "\n".join(chunks) == command
    assert all(set(chunk.split("\n")) <= set(lines) for chunk in chunks)
    assert checklist_parts(runbook.steps) == [(0,)]


def test_many_long_steps_are_spread_over_several_checklist_messages():
    block = "\n".join(f"echo {n:04d}-{'x' * 60}" for n in range(200))
    steps = "".join(f"### Step {n}\n\n```\n{block}\n```\n\n" for n in range(1, 13))
    runbook, problems = parse_runbook(f"# Big\n\n## Investigation\n\n{steps}", "big")
    assert problems == []
    parts = checklist_parts(runbook.steps)
    assert len(parts) > 1
    assert [i for part in parts for i in part] == list(range(12))


def test_non_ascii_titles_commands_and_escalations_are_kept_as_written():
    text = (
        "# Runbook: Erreur de paiement é 日本語 🚨\n\n"
        "## Investigation\n\n"
        "### Étape 1 : vérifier 日本語のログ 🔍\n\n"
        "```bash\n"
        "grep 'échec' /var/log/支払い.log  # 🚨\n"
        "```\n\n"
        "## Escalation\n\n"
        "If not resolved in 15 minutes, escalate to Équipe paiements\n"
    )
    runbook, problems = parse_runbook(text, "paiement-日本")
    assert problems == []
    assert runbook.title == "Erreur de paiement é 日本語 🚨"
    assert runbook.steps[0].title == "Étape 1 : vérifier 日本語のログ 🔍"
    assert runbook.steps[0].commands == ("grep 'échec' /var/log/支払い.log  # 🚨",)
    assert runbook.escalation is not None
    assert (runbook.escalation.after_seconds, runbook.escalation.target) == (900, "Équipe paiements")


def test_a_communication_section_without_a_code_block_is_its_lines_as_written():
    text = (
        "# X\n\n## Investigation\n\n1. look\n\n## Communication\n\n"
        "Incident: {{ title }}\n"
        "Status: Investigating\n\n"
        "- keep calm\n"
    )
    runbook, _ = parse_runbook(text, "x")
    assert runbook.communication == "Incident: {{ title }}\nStatus: Investigating\n\n- keep calm"


def test_a_step_heading_link_and_markdown_links_are_its_links_in_order():
    text = (
        "# X\n\n## Investigation\n\n### Open [the board](https://a.example.com/board)\n\n"
        "See [logs](https://b.example.com/logs), <https://c.example.com> and https://d.example.com/x.\n"
        "Mail [us](mailto:sre@example.com).\n"
    )
    runbook, problems = parse_runbook(text, "x")
    assert problems == []
    (step,) = runbook.steps
    assert step.title == "Open the board"
    assert step.links == (
        "https://a.example.com/board",
        "https://b.example.com/logs",
        "https://c.example.com",
        "https://d.example.com/x",
        "mailto:sre@example.com",
    )
    assert step.text == "See logs, https://c.example.com and https://d.example.com/x. Mail us."


def test_unknown_sections_are_ignored():
    text = "# X\n\n## Background\n\n1. not a step\n\n## Investigation\n\n1. a step\n"
    runbook, problems = parse_runbook(text, "x")
    assert problems == []
    assert [s.title for s in runbook.steps] == ["a step"]


# The lint ----------------------------------------------------------------------------------------


def test_a_runbook_with_no_steps_is_a_problem_on_its_title_line(tmp_path):
    folder = tmp_path / "runbooks"
    path = write(folder, "empty.md", "\n\n# Empty runbook\n\n## Symptoms\n\n- all fine\n")
    library, problems = check_folder(folder)
    assert problems == [
        f"{path}:3: no steps: write them as ### headings or a numbered list under ## Investigation "
        "or ## Mitigation"
    ]
    assert library.names == ("empty",)


def test_a_file_with_nothing_in_it_has_no_steps_on_line_1(tmp_path):
    path = write(tmp_path / "runbooks", "blank.md", "")
    _, problems = check_folder(tmp_path / "runbooks")
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:1"]


def test_an_unreadable_escalation_sentence_is_a_problem_on_its_line(tmp_path):
    folder = tmp_path / "runbooks"
    path = write(
        folder, "db.md", "# DB\n\n## Mitigation\n\n1. fail over\n\n## Escalation\n\nCall Bob if it is bad.\n"
    )
    library, problems = check_folder(folder)
    assert problems == [
        f"{path}:9: cannot read the escalation sentence 'Call Bob if it is bad.' "
        "(write it like 'If not resolved in 20 minutes, escalate to @platform-leads')"
    ]
    assert library.runbooks[0].escalation is None


def test_two_runbooks_with_one_name_report_the_second(tmp_path):
    folder = tmp_path / "runbooks"
    write(folder, "High-Error-Rate.md", "# A\n\n## Investigation\n\n1. a\n")
    second = write(folder, "high-error-rate.md", "# B\n\n## Investigation\n\n1. b\n")
    library, problems = check_folder(folder)
    assert problems == [
        f"{second}:1: the runbook name 'high-error-rate' is taken by High-Error-Rate.md (names ignore case)"
    ]
    assert library.names == ("High-Error-Rate",)


def test_a_link_that_is_not_a_url_is_a_problem_on_its_line(tmp_path):
    folder = tmp_path / "runbooks"
    path = write(
        folder,
        "api.md",
        "# API\n\n## Investigation\n\n### Look\n\nFirst the board,\nthen [dash](grafana/d/x).\n\n"
        "- [ok](https://grafana.example.com)\n- [bad](#anchor)\n",
    )
    _, problems = check_folder(folder)
    assert problems == [
        f"{path}:8: the link target 'grafana/d/x' is not a URL (http, https or mailto)",
        f"{path}:11: the link target '#anchor' is not a URL (http, https or mailto)",
    ]


def test_a_command_line_longer_than_a_slack_section_is_a_problem_on_its_line(tmp_path):
    folder = tmp_path / "runbooks"
    long = "curl " + "x" * MAX_CHUNK
    path = write(folder, "long.md", f"# L\n\n## Investigation\n\n### Run\n\n```\necho ok\n{long}\n```\n")
    _, problems = check_folder(folder)
    assert problems == [
        f"{path}:9: a command line of {len(long)} characters (as Slack counts them) is longer than {MAX_CHUNK}, "
        "so Slack cannot show it whole: split it over lines"
    ]


def test_a_step_needing_more_blocks_than_a_message_holds_is_a_problem_on_its_line(tmp_path):
    folder = tmp_path / "runbooks"
    fences = "".join(f"```\necho {n}\n```\n\n" for n in range(MAX_BLOCKS))
    path = write(folder, "huge.md", f"# H\n\n## Investigation\n\n### Everything\n\n{fences}")
    runbook, problems = check_folder(folder)
    need = step_blocks(runbook.runbooks[0].steps[0])
    assert need > MAX_BLOCKS - HEAD_BLOCKS
    assert problems == [
        f"{path}:5: the step 'Everything' needs {need} Slack blocks, more than one message holds "
        f"({MAX_BLOCKS - HEAD_BLOCKS}): split it into steps or its commands into fewer blocks"
    ]


def test_a_file_that_is_not_utf8_is_a_problem_on_the_line_of_its_first_bad_byte(tmp_path):
    folder = tmp_path / "runbooks"
    folder.mkdir()
    path = folder / "latin.md"
    path.write_bytes(b"# Caf\n\n## Investigation\n\n1. caf" + b"\xe9\n")
    library, problems = check_folder(folder)
    assert problems == [f"{path}:5: not UTF-8 text (save the file as UTF-8)"]
    assert library.runbooks == ()


def test_a_missing_folder_is_one_problem(tmp_path):
    library, problems = check_folder(tmp_path / "nope")
    assert problems == [f"{tmp_path / 'nope'}: no such folder of runbooks"]
    assert library.runbooks == ()


def test_only_top_level_md_files_are_runbooks(tmp_path):
    folder = tmp_path / "runbooks"
    write(folder, "a.md", "# A\n\n## Investigation\n\n1. a\n")
    write(folder, "notes.txt", "not a runbook")
    write(folder / "drafts", "b.md", "# no steps\n")
    library, problems = check_folder(folder)
    assert (library.names, problems) == (("a",), [])
    assert library.folder == str(folder)


@pytest.mark.parametrize("relative", ["runbooks", "./runbooks"])
def test_problems_name_the_file_as_the_folder_was_given(tmp_path, monkeypatch, relative):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "runbooks", "x.md", "# X\n")
    _, problems = check_folder(relative)
    assert problems[0].startswith("runbooks/x.md:1: no steps")


def test_the_readme_example_runbook_reads_as_the_readme_says():
    """The README's file-format example: two investigation steps, a mitigation step, the template
    and the escalation."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("~~~markdown\n", 1)[1].split("\n~~~\n", 1)[0]
    runbook, problems = parse_runbook(example, "high-error-rate")
    assert problems == []
    assert [s.title for s in runbook.steps] == [
        "Step 1: Check recent deployments",
        "Step 2: Check dependencies",
        "Mitigation",
    ]
    assert runbook.steps[1].links == ("https://grafana.company.com/d/postgres",)
    assert runbook.communication == "Status: Investigating"
    assert runbook.escalation is not None and runbook.escalation.after_seconds == 1200
