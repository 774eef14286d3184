"""Pure SLA domain: durations, calendars, policy, classification, clocks, escalation, adherence.

Nothing here performs I/O or reads the wall clock; every function that needs the present
takes it as an argument, so the same code serves the audit, the daemon and virtual time.
"""
