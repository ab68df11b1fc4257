"""Helpers for console tests: the CSRF token of a page, and signing a test client in."""

from __future__ import annotations

import re

from cryptography.fernet import Fernet

SECRET_KEY = Fernet.generate_key().decode()  # the console's session key derives from it (on PostgreSQL too)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path: str = "/console/sign-in") -> str:
    """The CSRF token a console page carries for this client's session."""
    found = CSRF_INPUT.search(client.get(path).get_data(as_text=True))
    assert found, f"{path} carries no CSRF token"
    return found.group(1)


def sign_in(client, token: str, **extra):
    """POST the sign-in form as a browser would (with the page's CSRF token)."""
    return client.post("/console/sign-in", data={"token": token, "csrf_token": csrf_of(client), **extra})
