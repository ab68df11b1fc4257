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
from werkzeug.routing import IntegerConverter

from sync.web.api.schemas import ErrorSchema

RESOURCES = (
    "sync.web.api.me",
    "sync.web.api.tokens",
    "sync.web.api.audit",
    "sync.web.api.config",
    "sync.web.api.preview",
    "sync.web.api.alerts",
    "sync.web.api.connections",
    "sync.web.api.reports",
    "sync.web.api.jobs",
    "sync.web.api.contacts",
    "sync.web.api.deadletters",
    "sync.web.api.duplicates",
    "sync.web.api.segments",
    "sync.web.api.audiences",
    "sync.web.api.privacy",
)
API_VERSION = "1"


class RowId(IntegerConverter):
    """``<id:name>`` in a route: a row id, 1 to 2⁶³-1 (a larger number is a 404, never a database overflow)."""

    MAX = 2**63 - 1

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=self.MAX)


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
    app.url_map.converters["id"] = RowId
    api = LifesyncApi(app, spec_kwargs=spec_kwargs)
    api.register_converter(RowId, lambda _: {"type": "integer", "minimum": 1, "maximum": RowId.MAX})
    from sync.web.api.auth import install

    install(app)
    for name in RESOURCES:
        api.register_blueprint(import_module(name).blp, url_prefix="/api")
    _mount_reference(app)
    return api


def _mount_reference(app: Flask) -> None:
    """The interactive reference (Swagger UI) at ``/api/docs/``, its assets served from the installed package.

    flask-swagger-ui ships Swagger UI's distribution (scripts, styles, icons, licence) in its wheel, so
    the page works on an installation without internet; "Authorize" takes a token for "Try it out".
    """
    from flask_swagger_ui import get_swaggerui_blueprint

    app.register_blueprint(get_swaggerui_blueprint(
        "/api/docs", "/api/openapi.json", blueprint_name="api_reference",
        config={"app_name": "lifesync ops API", "persistAuthorization": False, "tryItOutEnabled": True}))
