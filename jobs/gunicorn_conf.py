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

forwarder_headers = ""
