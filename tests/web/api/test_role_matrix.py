"""Every /api route × no token / viewer / operator / admin / a token limited to brands: 401, 403 or
allowed, as the route declares.

The routes are enumerated from the app itself, so a new route is in the matrix the moment it exists,
and one that declares no role fails here (and is refused to everyone at run time). A token limited to
brands reaches only the routes declared brand-scoped; every other route is 403 to it.
"""

from __future__ import annotations

import re

import pytest
from web.api.conftest import bearer

from sync.access.roles import ROLES, allows
from sync.web.api.auth import _is_public, is_brand_scoped, required_role

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


def test_a_token_limited_to_brands_reaches_only_the_brand_scoped_routes(api_app, brand_limited_token):
    client = api_app.test_client()
    reached, refused = set(), set()
    for rule, method in api_routes(api_app):
        path = concrete(rule)
        answer = client.open(path, method=method, headers=bearer(brand_limited_token), json={})
        if is_brand_scoped(api_app, rule.endpoint, method):
            assert answer.status_code not in (401, 403), f"{method} {path} (brand-scoped): {answer.status_code}"
            reached.add(f"{method} {rule.rule}")
        else:
            assert answer.status_code == 403, f"{method} {path} (installation-wide): {answer.status_code}"
            area = "/".join(path.split("/")[:3])
            assert answer.json["message"] == (f"this token is limited to brands default; {area} is "
                                              "installation-wide: use a token without brand limits"), path
            refused.add(f"{method} {rule.rule}")
    assert {"GET /api/audit", "GET /api/connections", "GET /api/jobs", "GET /api/alerts",
            "POST /api/duplicates/scan", "GET /api/config/documents", "GET /api/tokens"} <= refused
    assert {"GET /api/contacts", "GET /api/reports/funnel", "GET /api/dead-letters", "POST /api/dead-letters/replay",
            "GET /api/duplicates", "POST /api/merges/<id:merge_id>/unmerge"} <= reached
    metrics = client.get("/metrics", headers=bearer(brand_limited_token))  # guarded outside /api: the same rule
    assert metrics.status_code == 403 and "/metrics is installation-wide" in metrics.json["message"]


def test_the_brand_scoped_routes_are_only_those_that_keep_to_a_tokens_brands(api_app):
    """Opening a route to tokens limited to brands is a decision made here, not by accident."""
    scoped = {f"{method} {rule.rule}" for rule, method in api_routes(api_app)
              if is_brand_scoped(api_app, rule.endpoint, method)}
    reports = {f"GET {rule.rule}" for rule, _ in api_routes(api_app) if rule.rule.startswith("/api/reports/")}
    dead_letters = {f"{method} {rule.rule}" for rule, method in api_routes(api_app)
                    if rule.rule.startswith("/api/dead-letters")}
    duplicates = {f"{method} {rule.rule}" for rule, method in api_routes(api_app)
                  if rule.rule.startswith(("/api/duplicates", "/api/merges")) and rule.rule != "/api/duplicates/scan"}
    assert len(dead_letters) == 5 and len(duplicates) == 8
    segments = {"GET /api/segments", "POST /api/segments/preview", "GET /api/segments/<key>",
                "PUT /api/segments/<key>", "GET /api/segments/<key>/members", "GET /api/segments/<key>/sizes"}
    assert scoped == {"GET /api/contacts", "GET /api/contacts/<id:contact_id>",
                      "GET /api/me",
                      "POST /api/tokens", "GET /api/segments/<key>/sync", "POST /api/segments/<key>/sync", *reports,
                      *dead_letters, *duplicates, *segments}


def test_a_token_limited_to_brands_is_refused_a_new_route_that_does_not_declare_it_keeps_to_brands(
        api_app, role_tokens, brand_limited_token):
    from flask.views import MethodView

    from sync.web.api.auth import requires

    class Wide(MethodView):
        @requires("viewer")
        def get(self):
            return {"every": "brand"}

    api_app.add_url_rule("/api/wide", view_func=Wide.as_view("wide"))
    client = api_app.test_client()
    assert client.get("/api/wide", headers=bearer(role_tokens["viewer"])).status_code == 200
    refused = client.get("/api/wide", headers=bearer(brand_limited_token))
    assert refused.status_code == 403 and "/api/wide is installation-wide" in refused.json["message"]


@pytest.mark.parametrize("role", ROLES)
def test_a_route_without_a_declared_role_is_refused_to_everyone(api_app, role_tokens, role):
    from flask.views import MethodView

    class Undeclared(MethodView):
        def get(self):
            return {"leaked": True}

    api_app.add_url_rule("/api/undeclared", view_func=Undeclared.as_view("undeclared"))
    assert api_app.test_client().get("/api/undeclared", headers=bearer(role_tokens[role])).status_code == 403
