"""Serve the sandboxes on loopback: each vendor under its own path prefix of one werkzeug server.

``SandboxServer`` runs in a background thread (tests, ``lifesync demo``) or in the foreground
(``lifesync sandbox``). HubSpot answers under ``/hubspot`` and Salesforce under
``/salesforce`` (which is both its login host and the ``instance_url`` it hands out), so
pointing lifesync at the sandbox is a matter of settings: ``env()`` returns them.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, jsonify
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log: a sync makes thousands of requests and tests read their own output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _root() -> Flask:
    app = Flask("lifesync-sandbox")

    @app.get("/")
    def index() -> Any:
        return jsonify({"sandboxes": ["/hubspot", "/salesforce"]})

    return app


class SandboxServer:
    """One loopback server for the HubSpot and Salesforce sandboxes (either may be left out)."""

    def __init__(self, *, hubspot: Any = None, salesforce: Any = None, host: str = "127.0.0.1", port: int = 0):
        self.hubspot, self.salesforce, self.host, self.port = hubspot, salesforce, host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL (with the port actually bound)."""
        port = self._server.server_port if self._server is not None else self.port
        return f"http://{self.host}:{port}"

    def _app(self) -> Any:
        mounts: dict[str, Any] = {}
        if self.hubspot is not None:
            from sync.sandbox.hubspot import create_app as hubspot_app

            mounts["/hubspot"] = hubspot_app(self.hubspot)
        if self.salesforce is not None:
            from sync.sandbox.salesforce import create_app as salesforce_app

            mounts["/salesforce"] = salesforce_app(self.salesforce)
        return DispatcherMiddleware(_root(), mounts)

    def bind(self) -> SandboxServer:
        """Open the listening socket (port 0 picks a free one) without serving yet."""
        self._server = make_server(self.host, self.port, self._app(), threaded=True,
                                   request_handler=_QuietHandler)
        if self.salesforce is not None:
            self.salesforce.base_url = f"{self.url}/salesforce"
        return self

    def start(self) -> SandboxServer:
        """Serve in a background daemon thread."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def env(self, connection: str = "default") -> dict[str, str]:
        """The settings that point lifesync's connectors at this server, with the seeded credentials."""
        suffix = "" if connection == "default" else f"__{connection.upper()}"
        out: dict[str, str] = {}
        if self.hubspot is not None:
            out[f"LIFESYNC_HUBSPOT_BASE_URL{suffix}"] = f"{self.url}/hubspot"
            out[f"LIFESYNC_HUBSPOT_TOKEN{suffix}"] = self.hubspot.TOKEN
        if self.salesforce is not None:
            out[f"LIFESYNC_SALESFORCE_LOGIN_URL{suffix}"] = f"{self.url}/salesforce"
            out[f"LIFESYNC_SALESFORCE_CLIENT_ID{suffix}"] = self.salesforce.CLIENT_ID
            out[f"LIFESYNC_SALESFORCE_CLIENT_SECRET{suffix}"] = self.salesforce.CLIENT_SECRET
            out[f"LIFESYNC_SALESFORCE_REFRESH_TOKEN{suffix}"] = self.salesforce.REFRESH_TOKEN
        return out
