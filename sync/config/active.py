"""The active configuration of a running process, picked up within seconds of an edit, without a restart.

Every web and worker process asks its ``ActiveConfig`` for the configuration each time it
starts a piece of work (a request, a job). The loaded Config is cached; at most every
``REFRESH_SECONDS`` one cheap query reads the newest revision id (``Revisions.latest_id``)
and only a new id rebuilds it. An edit is validated before it is stored, so a stored revision
is always loadable; should the active configuration still fail to load (a baseline file
changed on disk and now contradicts a revision) or the database not answer, the process keeps
the configuration it has and logs why — it never swaps in a broken one.

``FixedConfig`` serves one given Config (tests, callers that load their own).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from sync.config.bundled import BUNDLED_CONFIG_DIR
from sync.config.loader import Config
from sync.config.revisions import Revisions
from sync.errors import ConfigError
from sync.store.engine import Store

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
_UNREAD = object()


class ConfigSource(Protocol):
    """Anything that hands out the configuration to use now."""

    def get(self) -> Config:
        """The configuration to use for the work starting now."""
        ...


class FixedConfig:
    """Always the same Config."""

    def __init__(self, config: Config):
        self.config = config

    def get(self) -> Config:
        """The one Config."""
        return self.config


class ActiveConfig:
    """The cached active configuration of ``store`` over ``project_dir``, refreshed when a revision appears."""

    def __init__(self, store: Store, project_dir: Path | None, *, bundled_dir: Path = BUNDLED_CONFIG_DIR,
                 refresh: float = REFRESH_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.revisions = Revisions(store, project_dir, bundled_dir)
        self.refresh, self._clock = refresh, clock
        self._lock = threading.Lock()
        self._config: Config | None = None
        self._marker: object = _UNREAD
        self._checked = float("-inf")

    def get(self) -> Config:
        """The active configuration, rebuilt first when a revision was stored since it was loaded.

        Raises ConfigError (or the database's error) only when no configuration was loaded yet.
        """
        if self._config is not None and self._clock() - self._checked < self.refresh:
            return self._config
        with self._lock:  # one rebuild per process, not one per thread
            if self._config is not None and self._clock() - self._checked < self.refresh:
                return self._config
            self._check()
            assert self._config is not None
            return self._config

    def _check(self) -> None:
        try:
            marker = self.revisions.latest_id()
        except SQLAlchemyError as exc:
            if self._config is None:
                raise
            log.warning("cannot read the newest configuration revision (%s); keeping the configuration loaded",
                        type(exc).__name__)
            self._checked = self._clock()
            return
        if self._config is None or marker != self._marker:
            try:
                self._config = self.revisions.active_config()
            except ConfigError as err:
                if self._config is None:
                    raise
                log.error("the active configuration (revision %s) does not load, keeping the one loaded before; "
                          "run lifesync config check:\n%s", marker, err)
            self._marker = marker
        self._checked = self._clock()
