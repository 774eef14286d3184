"""Stateful PSA twins on loopback, built from each vendor's documentation.

A twin is an ASGI app served by uvicorn in a background thread on 127.0.0.1 (``server``),
wrapped by a journal of every request and applied write (``journal``) and by fault
injection (``faults``). Vendor twins live in sub-packages (``zendesk``); each modelled
behaviour cites its source. ``soak`` drives the real daemon against a twin. See
docs/testing.md.
"""
