"""The public surface of ``sla_connector.settings`` is pinned."""

from __future__ import annotations

import sla_connector.settings as settings


def test_public_names_are_exactly_these() -> None:
    assert sorted(settings.__all__) == [
        "AppConfig",
        "ConfigLoader",
        "build_policy",
        "config_error_from_validation",
        "config_from_mapping",
        "format_config_error",
        "load_config",
        "parse_yaml",
        "require_secret",
        "resolve_secret",
    ]
    for name in settings.__all__:
        assert getattr(settings, name) is not None
