"""The requests Session every connector uses: default timeouts, a lifesync User-Agent, a base URL.

``make_session(base_url)`` returns an ``HttpSession``: relative paths are joined to the base
URL (so every vendor base URL can be a setting pointing at a sandbox, proxy or regional
host), absolute URLs (``nextRecordsUrl`` on another host, a token endpoint) pass through, and
every send without an explicit timeout gets the session's ``(connect, read)`` default.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import requests

DEFAULT_TIMEOUT = (5.0, 60.0)


def user_agent() -> str:
    """``lifesync/<installed version>``."""
    try:
        return f"lifesync/{version('lifesync')}"
    except PackageNotFoundError:
        return "lifesync/0"


def join_url(base_url: str, path: str) -> str:
    """``path`` under ``base_url`` (one slash between); absolute http(s) URLs are returned unchanged."""
    if path.startswith(("http://", "https://")) or not base_url:
        return path
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}" if path else base_url


class HttpSession(requests.Session):
    """A ``requests.Session`` with a base URL and a default timeout."""

    def __init__(self, base_url: str = "", timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers["User-Agent"] = user_agent()
        self.headers["Accept"] = "application/json"

    def __repr__(self) -> str:
        return f"HttpSession(base_url={self.base_url!r})"  # never the headers: they hold credentials

    def url(self, path: str) -> str:
        """The absolute URL for ``path``."""
        return join_url(self.base_url, path)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """``requests.Session.request`` with ``url`` joined to the base URL."""
        return super().request(method, self.url(url if isinstance(url, str) else url.decode()), *args, **kwargs)

    def prepare(self, method: str, path: str, **kwargs: Any) -> requests.PreparedRequest:
        """A prepared request for ``path`` carrying the session's headers, auth and cookies."""
        return self.prepare_request(requests.Request(method.upper(), self.url(path), **kwargs))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """``requests.Session.send`` with the default timeout when none is given."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_session(base_url: str = "", *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 headers: Mapping[str, str] | None = None) -> HttpSession:
    """A new ``HttpSession`` for ``base_url`` with extra default ``headers``."""
    session = HttpSession(base_url, timeout)
    session.headers.update(headers or {})
    return session
