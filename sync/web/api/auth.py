"""Authentication and roles for every ``/api`` route.

- A request presents a token as ``Authorization: Bearer <token>`` (an API token, or the
  bootstrap ``LIFESYNC_OPS_TOKEN``); without a valid one it is 401.
- Each route declares the role it needs with :func:`requires`; a lower role is 403, and a route
  that declares none is 403 for everyone (fail closed).
- A token limited to brands (``sync.access.brands``) may use only the routes that declare they
  read within its brands (``requires(role, brand_scoped=True)``); every other route is
  installation-wide and 403 to it (deny by default: a new route is refused until it says so).
- Failed attempts are counted per client (``sync.access.attempts``): past the limit the client
  gets 429 with Retry-After, whatever it presents, until its window ends.
- The OpenAPI document and its reference page are public: they describe, they hold no data.
- ``/metrics`` (Prometheus' conventional path, outside ``/api``) is guarded the same way: a
  scraper gets a viewer token (``bearer_token`` in Prometheus' scrape config).

A Bearer header is never sent by a browser on its own, so a page of another origin cannot make
a browser call the API with someone's token (no CORS is ever allowed): no CSRF check is needed
here. Tokens never reach a log: the header is read here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, request
from werkzeug.datastructures import WWWAuthenticate

from sync.access.attempts import FailedAttempts
from sync.access.brands import installation_wide
from sync.access.roles import ROLES
from sync.access.tokens import authenticate
from sync.web.api.blueprint import Blueprint

PUBLIC = frozenset({"/api/openapi.json", "/api/docs"})
GUARDED_OUTSIDE = frozenset({"/metrics"})  # ops routes outside /api that take API tokens too
PUBLIC_PREFIXES = ("/api/docs/",)
ROLE_ATTRIBUTE = "_lifesync_role"
BRAND_SCOPED_ATTRIBUTE = "_lifesync_brand_scoped"  # True: a token limited to brands may use the route
F = TypeVar("F", bound=Callable[..., Any])
_docs = Blueprint("api-docs-helper", __name__)  # only for its documentation decorators


def requires(role: str, *, brand_scoped: bool = False) -> Callable[[F], F]:
    """Declare the role a route needs, and whether it reads only within a token's brands; documents its
    401 and 403 answers too.

    ``brand_scoped=True`` only for a route that keeps a token limited to brands to those brands
    (``sync.web.api.brand_access``); any other route is refused to such a token.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    scope_note = (" A token limited to brands reads only its brands here." if brand_scoped
                  else " Installation-wide: a token limited to brands is refused (403).")

    def decorate(func: F) -> F:
        for status, reason in (("401", "UNAUTHORIZED"), ("403", "FORBIDDEN"), ("429", "TOO_MANY_REQUESTS")):
            func = _docs.alt_response(status, response=reason)(func)
        func = Blueprint.doc(description=f"Role: **{role}** or above.{scope_note}")(func)
        declare(func, role, brand_scoped=brand_scoped)
        return func

    return decorate


def declare(func: Callable[..., Any], role: str, *, brand_scoped: bool) -> None:
    """Set the role and brand-scope attributes the API's and the console's guards read."""
    setattr(func, ROLE_ATTRIBUTE, role)
    setattr(func, BRAND_SCOPED_ATTRIBUTE, brand_scoped)


def _view(app: Flask, endpoint: str | None, method: str) -> Any:
    view = app.view_functions.get(endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        name = "get" if method == "HEAD" else method.lower()
        view = getattr(view_class, name, None)
    return view


def required_role(app: Flask, endpoint: str | None, method: str) -> str | None:
    """The role the route at ``endpoint`` declares for ``method`` (None: it declares none)."""
    return getattr(_view(app, endpoint, method), ROLE_ATTRIBUTE, None)


def is_brand_scoped(app: Flask, endpoint: str | None, method: str) -> bool:
    """Whether the route at ``endpoint`` declares it reads only within a token's brands (default: no)."""
    return getattr(_view(app, endpoint, method), BRAND_SCOPED_ATTRIBUTE, False) is True


def area_of(path: str) -> str:
    """The part of the installation a path belongs to, for messages: ``/api/dead-letters/7`` → ``/api/dead-letters``."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:2])


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def install(app: Flask) -> None:
    """Guard every ``/api`` request: token (401), attempts (429), the route's role and brand scope (403)."""
    ext = app.extensions["lifesync"]
    attempts = FailedAttempts(ext.get("queue"))
    ext["auth_attempts"] = attempts

    @app.before_request
    def _authenticate() -> Any:
        path = request.path
        if not (path == "/api" or path.startswith("/api/") or path in GUARDED_OUTSIDE) or _is_public(path):
            return None
        client = request.remote_addr or "unknown"
        wait = attempts.blocked(client)
        if wait:
            abort(429, description="too many failed attempts from this client; try again later",
                  retry_after=wait)
        principal = authenticate(ext["store"], _bearer(), ext["settings"].connection_setting("ops", "token"))
        if principal is None:
            attempts.failed(client)
            current_app.logger.info("api: refused a request without a valid token from %s", client)
            abort(401, www_authenticate=WWWAuthenticate("bearer", {"realm": "lifesync"}),
                  description="a valid API token is needed: `Authorization: Bearer <token>` "
                              "(`lifesync tokens create`)")
        g.principal = principal
        if request.url_rule is None or request.method == "OPTIONS":
            return None  # 404 / 405 / the allowed methods: nothing to authorise
        needed = required_role(app, request.endpoint, request.method)
        if needed is None:
            abort(403, description="this route declares no role, so no one may use it")
        if not principal.may(needed):
            abort(403, description=f"this needs the {needed} role; this token's role is {principal.role}")
        if principal.brands is not None and not is_brand_scoped(app, request.endpoint, request.method):
            abort(403, description=installation_wide(principal.brands, area_of(path)))
        return None
