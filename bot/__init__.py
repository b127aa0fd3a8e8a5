"""A self-hosted, Slack-native incident response bot built on an append-only event log."""

__version__ = "0.1.0"
