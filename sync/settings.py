"""Environment → validated, immutable Settings (12-factor).

Every setting is listed in ``SETTINGS`` with its default and meaning; the README's table is
generated from the same list (``lifesync settings``), so the two never drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sync.errors import SettingsError

SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("DATABASE_URL", "sqlite:///lifesync.db",
     "SQLAlchemy URL of the database; the default is a SQLite file (WAL mode) in the working directory. "
     "PostgreSQL: postgresql+psycopg://user@host/db (postgresql:// is accepted too)."),
    ("LIFESYNC_CONFIG_DIR", "(unset)",
     "Project config directory; its lifecycle.yaml and mappings/*.yaml override the bundled defaults."),
    ("LIFESYNC_BATCH_SIZE", "500", "Records per ingest transaction (1-10000)."),
    ("LIFESYNC_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR."),
)


@dataclass(frozen=True)
class Settings:
    """Validated settings of one lifesync process."""

    database_url: str
    config_dir: Path | None
    batch_size: int
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate settings from the environment (or a given mapping)."""
        env = os.environ if env is None else env
        url = env.get("DATABASE_URL") or "sqlite:///lifesync.db"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        if not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise SettingsError(
                "DATABASE_URL must be a sqlite:/// or postgresql:// URL (got a URL with scheme "
                f"{url.split(':', 1)[0]!r})"
            )
        raw_batch = env.get("LIFESYNC_BATCH_SIZE") or "500"
        try:
            batch = int(raw_batch)
        except ValueError:
            raise SettingsError(f"LIFESYNC_BATCH_SIZE must be an integer, got {raw_batch!r}") from None
        if not 1 <= batch <= 10000:
            raise SettingsError(f"LIFESYNC_BATCH_SIZE must be between 1 and 10000, got {batch}")
        level = (env.get("LIFESYNC_LOG_LEVEL") or "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"LIFESYNC_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        cfg = env.get("LIFESYNC_CONFIG_DIR")
        config_dir = Path(cfg) if cfg else None
        if config_dir is not None and not config_dir.is_dir():
            raise SettingsError(f"LIFESYNC_CONFIG_DIR {cfg!r} is not a directory")
        return cls(
            database_url=url,
            config_dir=config_dir,
            batch_size=batch,
            log_level=level,
        )


def settings_table() -> str:
    """The settings as a Markdown table (for the README)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | `{default}` | {meaning} |" for name, default, meaning in SETTINGS]
    return "\n".join(rows)
