"""Correlation: messages into dialogs and calls, clock offsets between hosts, the timeline,
and the state machine each dialog runs through."""
