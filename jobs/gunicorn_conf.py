"""The gunicorn settings of every lifesync web process: ``gunicorn -c python:jobs.gunicorn_conf jobs.wsgi:app``.

``lifesync serve`` (with REDIS_URL) starts gunicorn with them. Command-line flags still win.

- ``forwarder_headers`` empty. gunicorn's default lets a client on a trusted address
  (``forwarded_allow_ips``: 127.0.0.1, so every request a local reverse proxy passes on) set
  the WSGI ``SCRIPT_NAME`` with a ``SCRIPT_NAME`` header; one the path does not start with
  makes gunicorn answer 500 ("Configuration problem", logged per request) before the app sees
  the request, and one it does start with moves the app under a prefix the client chose.
  lifesync is mounted at the root and learns its public URL from the
  ``LIFESYNC_*_PUBLIC_URL`` settings, so it takes neither ``SCRIPT_NAME`` nor ``PATH_INFO``
  from a header: with none listed, gunicorn drops such headers (``header_map = "drop"``).
"""

from __future__ import annotations

import gunicorn.glogging

from sync.cli.context import configure_logging
from sync.settings import Settings

forwarder_headers = ""


class RedactingLogger(gunicorn.glogging.Logger):
    """gunicorn's logger with its error and access logs (and the app's root logger) through lifesync's redaction.

    The access log carries request lines: the WhatsApp/Messenger/Instagram handshake's
    ``hub.verify_token`` and the Salesforce outbound secret in ``/webhooks/salesforce/<conn>/<secret>``
    are blanked there as everywhere (``sync.http.redact``).
    """

    def setup(self, cfg: object) -> None:
        """Set up gunicorn's handlers, then put the redaction filter on them and on the root logger's."""
        super().setup(cfg)
        configure_logging(Settings.from_env(), self.error_log, self.access_log)


logger_class = RedactingLogger
