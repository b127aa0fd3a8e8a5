"""Jinja2 rendering: view-models in, Slack mrkdwn, Block Kit JSON and plain text out."""
