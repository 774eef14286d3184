"""The HTTP face of the daemon: dashboard pages, the JSON API, /metrics, /healthz and /readyz.

``web.app.create_app(source, token=...)`` builds the Starlette app over a
``web.data.DashboardSource`` (the port the runtime implements); the web layer imports
neither the store nor the runtime.
"""
