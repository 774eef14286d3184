"""The daemon: polling, timers, verified exactly-once write-back, leadership.

The runtime is the only layer that knows time passes. It wires the pure core, the store
and the connectors, and runs on a ``Timeline``: APScheduler on a (possibly accelerated)
wall clock in production, or a discrete-event loop in virtual time for tests and the demo.
"""
