"""Configuration: typed config objects, the YAML files they load from, and validation.

``load_config(project_dir)`` is the entry point; ``check_config(project_dir)`` lists every
problem (for ``lifesync config check``). See ``sync.config.loader`` for how a project
directory overrides the bundled files.

The files are the baseline: edits stored in the database as revisions overlay them
(``sync.config.revisions``, the service the ops API, console and CLI share), and running
processes take the configuration from ``sync.config.active``, which follows new revisions
within seconds.
"""

from sync.config.loader import (
    BUNDLED_CONFIG_DIR,
    Config,
    ConfigFiles,
    check_config,
    load_config,
    load_lifecycle,
    resolve_files,
)
from sync.config.types import (
    PHASES,
    SURVIVORSHIP_RULES,
    FieldRule,
    IdentityKind,
    LifecycleConfig,
    LostStageDef,
    StageDef,
    TransitionRule,
)
from sync.config.yamlload import issues_from_messages, load_yaml

__all__ = [
    "BUNDLED_CONFIG_DIR",
    "PHASES",
    "SURVIVORSHIP_RULES",
    "Config",
    "ConfigFiles",
    "FieldRule",
    "IdentityKind",
    "LifecycleConfig",
    "LostStageDef",
    "StageDef",
    "TransitionRule",
    "check_config",
    "issues_from_messages",
    "load_config",
    "load_lifecycle",
    "load_yaml",
    "resolve_files",
]
