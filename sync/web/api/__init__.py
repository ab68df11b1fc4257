"""The ops REST API at ``/api``: flask-smorest resources, OpenAPI 3 at ``/api/openapi.json``.

Each resource is a module with a flask-smorest ``blp`` listed in :data:`RESOURCES`. Every route
declares the role it needs with :func:`sync.web.api.auth.requires`; a route that declares none
is refused to everyone (``auth``), so a forgotten declaration fails closed. Errors of every
route, and of the whole app, have one JSON shape (:class:`sync.web.api.schemas.ErrorSchema`).
The routes are thin: they call the same service functions as the console and the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Flask
from flask_smorest import Api

from sync.web.api.schemas import ErrorSchema

RESOURCES = (
    "sync.web.api.me",
    "sync.web.api.tokens",
    "sync.web.api.audit",
    "sync.web.api.deadletters",
)
API_VERSION = "1"


class LifesyncApi(Api):
    """flask-smorest's Api with lifesync's error shape: the app's one handler answers every error."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:  # the app registers its own (sync.web.app)
        return None


def init_api(app: Flask) -> Api:
    """Mount the API's resources and their OpenAPI document on ``app``."""
    app.config.update(
        API_TITLE="lifesync ops API",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    spec_kwargs: dict[str, Any] = {
        "info": {"description": "Contacts, configuration, connections, dead letters, reports and jobs of one "
                                "lifesync installation. Authenticate with `Authorization: Bearer <token>` "
                                "(`lifesync tokens create`)."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    }
    api = LifesyncApi(app, spec_kwargs=spec_kwargs)
    from sync.web.api.auth import install

    install(app)
    for name in RESOURCES:
        api.register_blueprint(import_module(name).blp, url_prefix="/api")
    return api
