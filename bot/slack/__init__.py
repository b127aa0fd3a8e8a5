"""Slack adapters: the Bolt app and its listeners, and the outbound Web API steps."""
