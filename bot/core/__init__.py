"""The pure incident core: events in, state and decisions out. No I/O, no clock, no Slack."""
