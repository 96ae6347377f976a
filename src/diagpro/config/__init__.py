"""Configuration from the environment. With nothing set, everything runs on the embedded
defaults in a data folder (``./var``).

- ``declarations.py``: every setting, declared once (variable, kind, default, meaning).
- ``load_settings(env)``: reads and validates them into ``Settings``; only reads.
- ``with_local_secrets(settings)``: the explicit step that makes and keeps the secrets the
  embedded defaults need when the environment gives none.
- ``python -m diagpro.config`` / ``diagpro settings``: the README's configuration table.
"""

from diagpro.config.loading import ConfigError, load_settings
from diagpro.config.local_secrets import LocalSecrets, with_local_secrets
from diagpro.config.settings import (
    CloudSettings,
    FirestoreSettings,
    PubSubSettings,
    Settings,
    StorageSettings,
    StripeSettings,
    VertexSettings,
)
from diagpro.config.table import settings_table

__all__ = [
    "CloudSettings",
    "ConfigError",
    "FirestoreSettings",
    "LocalSecrets",
    "PubSubSettings",
    "Settings",
    "StorageSettings",
    "StripeSettings",
    "VertexSettings",
    "load_settings",
    "settings_table",
    "with_local_secrets",
]
