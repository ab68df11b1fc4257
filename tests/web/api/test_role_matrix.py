"""Every /api route × no token / viewer / operator / admin: 401, 403 or allowed, as the route declares.

The routes are enumerated from the app itself, so a new route is in the matrix the moment it exists,
and one that declares no role fails here (and is refused to everyone at run time).
"""

from __future__ import annotations

import re

import pytest
from web.api.conftest import bearer

from sync.access.roles import ROLES, allows
from sync.web.api.auth import _is_public, required_role

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def api_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or _is_public(rule.rule):
            continue
        for method in sorted(set(rule.methods or ()) & set(METHODS)):
            yield rule, method


def concrete(rule) -> str:
    """The rule's path with each variable filled in (an id that exists nowhere)."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: "999999" if m.group(1) in ("int", "float", "id") else "none", rule.rule)


def test_every_route_declares_a_role(api_app):
    routes = list(api_routes(api_app))
    assert routes, "the API has no routes"
    undeclared = [f"{method} {rule.rule}" for rule, method in routes
                  if required_role(api_app, rule.endpoint, method) not in ROLES]
    assert undeclared == []


def test_the_matrix_covers_the_data_quality_routes(api_app):
    """The quality report and connection health (with its refused values) are checked by the matrix below."""
    routes = {(rule.rule, method) for rule, method in api_routes(api_app)}
    assert {("/api/reports/quality", "GET"), ("/api/connections", "GET")} <= routes
    assert required_role(api_app, "reports.report_quality", "GET") == "viewer"


def test_each_route_answers_each_role_as_it_declares(api_app, role_tokens):
    client = api_app.test_client()
    attempts = api_app.extensions["lifesync"]["auth_attempts"]
    checked = 0
    for rule, method in api_routes(api_app):
        needed = required_role(api_app, rule.endpoint, method)
        path = concrete(rule)
        attempts.clear()  # the unauthenticated calls below would otherwise trip the failed-attempt limit
        assert client.open(path, method=method).status_code == 401, f"{method} {path} without a token"
        for role, token in role_tokens.items():
            status = client.open(path, method=method, headers=bearer(token), json={}).status_code
            if allows(role, needed):
                assert status not in (401, 403), f"{method} {path} as {role} (needs {needed}): {status}"
            else:
                assert status == 403, f"{method} {path} as {role} (needs {needed}): {status}"
            checked += 1
    assert checked >= 3 * 4


@pytest.mark.parametrize("role", ROLES)
def test_a_route_without_a_declared_role_is_refused_to_everyone(api_app, role_tokens, role):
    from flask.views import MethodView

    class Undeclared(MethodView):
        def get(self):
            return {"leaked": True}

    api_app.add_url_rule("/api/undeclared", view_func=Undeclared.as_view("undeclared"))
    assert api_app.test_client().get("/api/undeclared", headers=bearer(role_tokens[role])).status_code == 403
