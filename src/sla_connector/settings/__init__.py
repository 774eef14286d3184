"""The configuration layer: one YAML file validated into immutable models and a ``Policy``.

``load_config(path)`` returns an ``AppConfig`` (pydantic-settings, frozen) whose
``policy`` is the pure domain ``sla_connector.core.policy.Policy``; ``build_policy`` does
the same for any ``AppConfig``. Every invalid input raises ``ConfigError`` with a one-line
message naming the key path (DESIGN section 9).
"""

from sla_connector.settings.app import AppConfig
from sla_connector.settings.build import build_policy
from sla_connector.settings.errors import config_error_from_validation, format_config_error
from sla_connector.settings.loader import config_from_mapping, load_config
from sla_connector.settings.secret_env import require_secret, resolve_secret
from sla_connector.settings.yaml_loader import ConfigLoader, parse_yaml

__all__ = [
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
