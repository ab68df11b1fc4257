"""The web console at ``/console``: the pages an ops team lives in, in English and Arabic.

Server-rendered (Jinja) with htmx for partial updates; every asset ships in this package
(``static/``, ``static/vendor/`` with licences), nothing is built at install time and nothing
comes from a CDN. Pages call the same service functions as the ops API and the CLI; who may see
and do what is the API's roles (``guard``), sign-in is an API token (``sessions``), messages go
through a gettext catalogue (``i18n``).

Each page module registers routes on the one blueprint (``blueprint.bp``) and is listed in
:data:`PAGES`.
"""

from __future__ import annotations

from importlib import import_module

from flask import Flask

PAGES = (
    "sync.web.console.account",
    "sync.web.console.tokens",
    "sync.web.console.audit",
    "sync.web.console.contacts",
    "sync.web.console.connections",
    "sync.web.console.deadletters",
    "sync.web.console.duplicates",
    "sync.web.console.overview",
    "sync.web.console.reports",
    "sync.web.console.mappings",
    "sync.web.console.segments",
)


def init_console(app: Flask) -> None:
    """Mount the console on ``app`` (after the API: sign-in shares its failed-attempts limiter)."""
    from sync.web.console import guard, i18n, sessions
    from sync.web.console.blueprint import bp
    from sync.web.console.chrome import install as install_chrome

    sessions.install(app)
    i18n.install(app)
    guard.install(app)
    install_chrome(app)
    for name in PAGES:
        import_module(name)
    app.register_blueprint(bp)
