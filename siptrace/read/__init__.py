"""Reading: opening inputs, detecting their format, framing records, every format's reader
(server traces, client logs, SIP text, captures), record parsing with its fast path and
salvage, filters and redaction of what was read."""
