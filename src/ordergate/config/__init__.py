"""Engine configuration: frozen, typed, loaded from TOML and validated on load.

Every setting is documented with its default on the class that holds it;
`config/paper.toml` shows them in use. A bad file stops the start with an error naming
the offending key, never a guess.

Split by concern; every name is imported from here, `ordergate.config`:

- `base`: `Settings`, what every section is (frozen, no unknown key, nothing non-finite);
- `pipeline`: the chain (`[pipeline]`) and its handlers' sections (`[validator]`,
  `[risk]`, `[executor]`, `[reconciler]`), protective exits (`[brackets]`) and emulated
  stops (`[stops]`);
- `venues`: a venue entry (`[venues.NAME]`) and its adapter's settings model;
- `server`: `ordergate serve`, its tokens and scopes, the live event stream;
- `journal`: the order journal and the audit log;
- `reconciliation`: restart recovery and reconciliation with the venue;
- `supervision`: what an unexpected exception does;
- `engine`: `EngineConfig`, every section together (accounts, groups and allocation are
  in `allocation/settings.py`) and the checks across sections;
- `loading`: a TOML file and the environment into an `EngineConfig`, or a `ConfigError`.
"""

from ordergate.config.base import Settings
from ordergate.config.engine import EngineConfig
from ordergate.config.journal import AuditSettings, JournalSettings
from ordergate.config.loading import ENV_PREFIX, ConfigError, config_from_mapping, load_config
from ordergate.config.pipeline import (
    HANDLER_FOLLOWERS,
    HANDLER_NAMES,
    HANDLER_NEEDS,
    MAX_ATTEMPTS,
    MAX_SCORE,
    MAX_SIGNAL_AGE_S,
    BracketSettings,
    ExecutorSettings,
    PipelineSettings,
    ReconcilerSettings,
    RiskSettings,
    StopSettings,
    ValidatorSettings,
)
from ordergate.config.reconciliation import ReconciliationSettings, RecoverySettings
from ordergate.config.server import (
    SCOPES,
    EventStreamSettings,
    Scope,
    ServerSettings,
    TokenSettings,
)
from ordergate.config.supervision import SupervisionSettings
from ordergate.config.venues import VenueSettings, adapter_settings_class

__all__ = [
    "EngineConfig", "ConfigError", "load_config", "config_from_mapping",
    "Settings", "ENV_PREFIX",
    "HANDLER_NAMES", "HANDLER_NEEDS", "HANDLER_FOLLOWERS",
    "MAX_ATTEMPTS", "MAX_SCORE", "MAX_SIGNAL_AGE_S",
    "PipelineSettings", "ValidatorSettings", "RiskSettings", "ExecutorSettings",
    "ReconcilerSettings", "BracketSettings", "StopSettings",
    "VenueSettings", "adapter_settings_class",
    "Scope", "SCOPES", "TokenSettings", "EventStreamSettings", "ServerSettings",
    "JournalSettings", "AuditSettings",
    "RecoverySettings", "ReconciliationSettings",
    "SupervisionSettings",
]
