"""Record the requests a ``SandboxServer`` receives, for tools that check them against vendor references.

Off unless a tool turns it on: inside ``with recording() as log:``, every ``SandboxServer``
bound in the block wraps its WSGI app in ``RecordingMiddleware``, which appends one
``RecordedRequest`` per request to ``log`` (the sandbox it reached, method, path below the
sandbox's mount, query string, body and the status the sandbox answered). Outside such a
block nothing is wrapped and nothing is kept. Headers are not recorded: they carry tokens.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request a sandbox received, as lifesync sent it."""

    sandbox: str  # the mount it reached: "hubspot", "salesforce", "meta", "tiktok", "google", …
    method: str
    path: str  # below the mount, e.g. "/crm/v3/objects/contacts/search"
    query: str  # the raw query string
    content_type: str
    body: bytes
    status: int  # what the sandbox answered


class RequestLog:
    """The recorded requests in arrival order (thread-safe: the server answers each request in a thread)."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, item: RecordedRequest) -> None:
        """Keep one request."""
        with self._lock:
            self._items.append(item)

    def __iter__(self) -> Iterator[RecordedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return stream.read(int(length))
    return stream.read() if environ.get("wsgi.input_terminated") else b""


class RecordingMiddleware:
    """WSGI middleware: pass each request to ``app`` unchanged and add it, with the answer's status, to ``log``."""

    def __init__(self, app: WSGIApp, log: RequestLog) -> None:
        self.app, self.log = app, log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        status: list[int] = []

        def recording_start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(int(status_line.split(" ", 1)[0]))
            return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

        mount, _, rest = environ.get("PATH_INFO", "").lstrip("/").partition("/")  # before the app moves it
        method, query = environ.get("REQUEST_METHOD", ""), environ.get("QUERY_STRING", "")
        content_type = environ.get("CONTENT_TYPE", "")
        answer = self.app(environ, recording_start)
        self.log.add(RecordedRequest(sandbox=mount, method=method, path="/" + rest, query=query,
                                     content_type=content_type, body=body, status=status[-1] if status else 0))
        return answer


_active: list[RequestLog] = []
_active_lock = threading.Lock()


@contextmanager
def recording() -> Iterator[RequestLog]:
    """Record every request to the sandbox servers bound inside this block."""
    log = RequestLog()
    with _active_lock:
        _active.append(log)
    try:
        yield log
    finally:
        with _active_lock:
            _active.remove(log)


def wrap(app: WSGIApp) -> WSGIApp:
    """``app`` wrapped in a recorder while a ``recording()`` block is open, else ``app`` itself."""
    with _active_lock:
        log = _active[-1] if _active else None
    return app if log is None else RecordingMiddleware(app, log)
