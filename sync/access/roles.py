"""The three roles and the principal a request or command acts as.

- ``viewer`` reads everything the ops surfaces show;
- ``operator`` also acts: replays and dismisses dead letters, triggers syncs, edits mappings and rules;
- ``admin`` also manages tokens.

Each role includes the ones before it.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

ROLES = ("viewer", "operator", "admin")


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what needs ``needed`` (unknown roles may do nothing)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Principal:
    """Who acts: a token's name and role, and the surface it came through (``api``, ``console``, ``cli``)."""

    name: str
    role: str
    via: str = "api"
    token_id: int | None = None
    brands: tuple[str, ...] | None = None  # the brands it may see (sync.access.brands); None: every brand

    def may(self, needed: str) -> bool:
        """Whether this principal's role allows what needs ``needed``."""
        return allows(self.role, needed)

    def sees(self, brand: str) -> bool:
        """Whether this principal may see ``brand``'s data."""
        return self.brands is None or brand in self.brands


BOOTSTRAP_NAME = "LIFESYNC_OPS_TOKEN"  # the principal of the bootstrap admin token, as audited


def shell_user() -> Principal:
    """The person at the shell, as an admin: whoever can run ``lifesync`` can already read the database."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = "unknown"
    return Principal(name=f"cli:{user}"[:120], role="admin", via="cli")
