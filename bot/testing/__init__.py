"""Test and demo helpers shipped with the package (e.g. the strict fake Slack Web API)."""
