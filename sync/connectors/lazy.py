"""Package exports imported on first use (PEP 562), for connector packages whose webhook parser must stay light.

``from sync.connectors.hubspot import HubSpotConnector`` keeps working, while importing
``sync.connectors.hubspot.webhooks`` (which runs the package's ``__init__``) does not load the
HTTP client, the credentials store and SQLAlchemy with it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``exports`` imported from its module when asked for."""
    def getattr_(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return getattr_
