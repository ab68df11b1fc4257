"""``RespondioSandbox``: one respond.io workspace in memory, enforcing API v2's rules as lifesync meets them.

Rules (respond.io Developer API v2, https://docs.respond.io/developer-api; payload shapes as the
official ``@respond-io/typescript-sdk``'s users, respond-io/mcp-server and respond-io/n8n-integration,
send them):

* auth: ``Authorization: Bearer <token>``; anything else is 401 ``{code: 401, message: "UN_AUTHORIZED"}``;
* contact identifier in the path: ``id:<digits>``, ``email:<address>`` or ``phone:+<E.164 digits>``
  (URL-encoded); another shape is 400 "Validation error."; no such contact is 404;
* tags: ``POST|DELETE /contact/{identifier}/tag`` with a JSON array of 1-10 distinct strings of
  at most 255 characters (else 400); answers ``{contactId}``;
* custom fields: ``PUT /contact/{identifier}`` ``{custom_fields: [{name, value}]}`` on a field the
  workspace defines (else 400); ``value`` null clears it;
* rate limit: ``rate_per_second`` requests per second per API method (respond.io's documented
  headers, ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` on every answer; the figure 5 is a
  third-party summary of respond.io's page — a knob here); over it, 429 with ``Retry-After``.

Test hooks (``add_contact``, ``contact``) change or read state directly and are not API calls.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.sandbox.faults import Faults
from sync.sandbox.people import people
from sync.sandbox.respondio.app import create_app

__all__ = ["Contact", "RespondioSandbox", "create_app"]

WINDOW = 1.0  # seconds of the per-method rate window


@dataclass
class Contact:
    """One respond.io contact."""

    id: int
    email: str | None = None
    phone: str | None = None
    first_name: str = ""
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)


class RespondioSandbox:
    """An in-memory respond.io workspace (thread-safe: one lock around all state)."""

    TOKEN = "rio-sandbox-token"  # noqa: S105 - the sandbox's public, seeded credential

    def __init__(self, *, rate_per_second: int | None = 5, custom_fields: tuple[str, ...] = ("segment",),
                 faults: Faults | None = None, clock: Callable[[], float] = time.monotonic):
        self.lock = threading.RLock()
        self.clock = clock
        self.rate_per_second = rate_per_second
        self.faults = faults if faults is not None else Faults()
        self.custom_field_names = set(custom_fields)
        self.contacts: dict[int, Contact] = {}
        self.calls: Counter[str] = Counter()
        self.rate_limited = 0
        self._window: dict[str, deque[float]] = {}
        self._next_id = 1001

    @property
    def api_calls(self) -> int:
        """Every API request received, whatever the answer."""
        return sum(self.calls.values())

    @classmethod
    def seeded(cls, contacts: int = 0, *, seed: int = 42, **kwargs: Any) -> RespondioSandbox:
        """A workspace with ``contacts`` synthetic contacts (e-mail and phone of ``sync.sandbox.people``)."""
        sandbox = cls(**kwargs)
        for person in people(contacts, seed):
            sandbox.add_contact(email=person.email, phone=person.phone, first_name=person.first_name)
        return sandbox

    # ---- test hooks ----------------------------------------------------------------------------------------

    def add_contact(self, *, email: str | None = None, phone: str | None = None, first_name: str = "") -> int:
        """A new contact; returns its id."""
        with self.lock:
            contact = Contact(self._next_id, email.lower() if email else None, phone, first_name)
            self.contacts[contact.id] = contact
            self._next_id += 1
            return contact.id

    def contact(self, contact_id: int) -> Contact:
        """The contact ``contact_id`` (KeyError when there is none)."""
        with self.lock:
            return self.contacts[contact_id]

    # ---- used by the app (callers hold the lock) -----------------------------------------------------------

    def find(self, kind: str, value: str) -> Contact | None:
        """The contact an identifier names, or None."""
        if kind == "id":
            return self.contacts.get(int(value))
        key = "email" if kind == "email" else "phone"
        wanted = value.lower() if kind == "email" else value
        return next((c for c in self.contacts.values() if getattr(c, key) == wanted), None)

    def admit(self, method_key: str) -> tuple[bool, dict[str, str]]:
        """Whether a request to ``method_key`` fits the per-method rate, and the rate headers to answer with."""
        if self.rate_per_second is None:
            return True, {}
        now = self.clock()
        window = self._window.setdefault(method_key, deque())
        while window and now - window[0] >= WINDOW:
            window.popleft()
        if len(window) >= self.rate_per_second:
            self.rate_limited += 1
            retry = max(0.0, WINDOW - (now - window[0]))
            return False, {"Retry-After": str(max(1, int(retry + 0.999))),
                           "X-RateLimit-Limit": str(self.rate_per_second), "X-RateLimit-Remaining": "0"}
        window.append(now)
        return True, {"X-RateLimit-Limit": str(self.rate_per_second),
                      "X-RateLimit-Remaining": str(self.rate_per_second - len(window))}
