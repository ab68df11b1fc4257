"""Bodies and query strings of every /api route: bounded JSON, no NUL — a 400 or 422, never a 5xx."""

from __future__ import annotations

import pytest
from web.api.conftest import BOOTSTRAP, bearer

ADMIN = bearer(BOOTSTRAP)


@pytest.mark.parametrize("body", [b"[" * 1000, b'{"a":' * 100 + b"1" + b"}" * 100, b'{"name": "x"',
                                  b"1" * 1000, b'"\xff"'])
def test_bodies_past_the_reader_limits_are_400(api, body):
    res = api.post("/api/tokens", data=body, content_type="application/json", headers=ADMIN)
    assert res.status_code == 400 and res.json["errors"]["json"]


def test_nul_in_a_body_is_422_naming_where(api):
    res = api.post("/api/mappings/preview", json={"source": "hubspot", "object": "contacts",
                                                  "record": {"properties": {"email": "a\x00b"}}}, headers=ADMIN)
    assert res.status_code == 422 and "record.properties.email" in res.json["errors"]["json"]


@pytest.mark.parametrize("path", ["/api/dead-letters/groups?source=a%00b", "/api/audit?actor=%00",
                                  "/api/contacts?q=x%00", "/api/alerts?open=%00"])
def test_nul_in_a_query_is_422(api, path):
    res = api.get(path, headers=ADMIN)
    assert res.status_code == 422 and res.json["errors"]["query"]
