"""Serve the sandboxes on loopback: each vendor under its own path prefix of one werkzeug server.

``SandboxServer`` runs in a background thread (tests, ``lifesync demo``) or in the foreground
(``lifesync sandbox``). HubSpot answers under ``/hubspot``, Salesforce under ``/salesforce``
(both its login host and the ``instance_url`` it hands out), Meta under ``/meta``, TikTok
under ``/tiktok``, Google Ads under ``/google`` and respond.io under ``/respondio``, so pointing
lifesync at the sandbox is a matter of settings: ``env()`` returns them, with each sandbox's seeded credentials.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, jsonify
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sync.sandbox import recording


class _QuietHandler(WSGIRequestHandler):
    """No access log: a sync makes thousands of requests and tests read their own output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _root() -> Flask:
    app = Flask("lifesync-sandbox")

    @app.get("/")
    def index() -> Any:
        return jsonify({"sandboxes": ["/hubspot", "/salesforce", "/meta", "/tiktok", "/google", "/respondio"]})

    return app


class SandboxServer:
    """One loopback server for the HubSpot and Salesforce sandboxes (either may be left out)."""

    def __init__(self, *, hubspot: Any = None, salesforce: Any = None, meta: Any = None, tiktok: Any = None,
                 google: Any = None, respondio: Any = None, host: str = "127.0.0.1", port: int = 0):
        self.hubspot, self.salesforce, self.host, self.port = hubspot, salesforce, host, port
        self.meta, self.tiktok, self.google, self.respondio = meta, tiktok, google, respondio
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
            from sync.sandbox.hubspot.sandbox import create_app as hubspot_app

            mounts["/hubspot"] = hubspot_app(self.hubspot)
        if self.salesforce is not None:
            from sync.sandbox.salesforce.sandbox import create_app as salesforce_app

            mounts["/salesforce"] = salesforce_app(self.salesforce)
        if self.meta is not None:
            from sync.sandbox.ads.meta import create_app as meta_app

            mounts["/meta"] = meta_app(self.meta)
        if self.tiktok is not None:
            from sync.sandbox.ads.tiktok import create_app as tiktok_app

            mounts["/tiktok"] = tiktok_app(self.tiktok)
        if self.google is not None:
            from sync.sandbox.ads.google_ads import create_app as google_app

            mounts["/google"] = google_app(self.google)
        if self.respondio is not None:
            from sync.sandbox.respondio import create_app as respondio_app

            mounts["/respondio"] = respondio_app(self.respondio)
        return recording.wrap(DispatcherMiddleware(_root(), mounts))  # unchanged unless a tool records

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
        if self.meta is not None:
            out.update({f"LIFESYNC_META_BASE_URL{suffix}": f"{self.url}/meta",
                        f"LIFESYNC_META_ACCESS_TOKEN{suffix}": self.meta.ACCESS_TOKEN,
                        f"LIFESYNC_META_MARKETING_ACCESS_TOKEN{suffix}": self.meta.MARKETING_TOKEN,
                        f"LIFESYNC_META_DATASET_ID{suffix}": self.meta.DATASET_ID,
                        f"LIFESYNC_META_AD_ACCOUNT_ID{suffix}": self.meta.AD_ACCOUNT_ID,
                        f"LIFESYNC_META_APP_SECRET{suffix}": self.meta.APP_SECRET,
                        f"LIFESYNC_META_WABA_ID{suffix}": self.meta.WABA_ID,
                        f"LIFESYNC_META_PAGE_ID{suffix}": self.meta.PAGE_ID})
        if self.tiktok is not None:
            out.update({f"LIFESYNC_TIKTOK_EVENTS_BASE_URL{suffix}": f"{self.url}/tiktok",
                        f"LIFESYNC_TIKTOK_EVENTS_ACCESS_TOKEN{suffix}": self.tiktok.ACCESS_TOKEN,
                        f"LIFESYNC_TIKTOK_EVENTS_SOURCE_ID{suffix}": self.tiktok.EVENT_SOURCE_ID})
        if self.google is not None:
            actions = ",".join(f"{k}={v}" for k, v in sorted(self.google.CONVERSION_ACTIONS.items()))
            out.update({f"LIFESYNC_GOOGLE_ADS_BASE_URL{suffix}": f"{self.url}/google",
                        f"LIFESYNC_GOOGLE_ADS_DEVELOPER_TOKEN{suffix}": self.google.DEVELOPER_TOKEN,
                        f"LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN{suffix}": self.google.ACCESS_TOKEN,
                        f"LIFESYNC_GOOGLE_ADS_CUSTOMER_ID{suffix}": self.google.CUSTOMER_ID,
                        f"LIFESYNC_GOOGLE_ADS_CONVERSION_ACTIONS{suffix}": actions})
        if self.respondio is not None:
            out.update({f"LIFESYNC_RESPONDIO_API_URL{suffix}": f"{self.url}/respondio",
                        f"LIFESYNC_RESPONDIO_API_TOKEN{suffix}": self.respondio.TOKEN})
        return out
