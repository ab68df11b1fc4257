"""The console's dead letters, duplicate review and overview for a token limited to brands: its brands' data
only, another brand's letter, pair or merge is "not found" (as on the API, which these pages call), and the
installation-wide parts (inbox, connections, scanning) are not offered to it."""

from __future__ import annotations

import pytest
from support.brand_world import seed_brand_world
from support.brands import brand_config_dir
from support.console import csrf_of, sign_in
from support.ops_app import ops_app

from sync.access import tokens
from sync.access.roles import Principal
from sync.config import load_config
from sync.store import model

ADMIN = Principal(name="test-setup", role="admin", via="cli")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(store, console_settings, tmp_path):
    app = ops_app(console_settings, store, load_config(brand_config_dir(tmp_path)))
    ids = seed_brand_world(store)

    def client_of(brands: list[str] | None, role: str = "operator"):
        token = tokens.create(store, ADMIN, f"{role} of {' '.join(brands or ['every brand'])}", role,
                              brands=brands)[1]
        client = app.test_client()
        assert sign_in(client, token).status_code == 302
        return client
    return client_of, ids


def text(client, path: str, **kwargs) -> str:
    answer = client.get(path, **kwargs)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.get_data(as_text=True)


def test_dead_letters_pages_show_and_act_on_the_tokens_brands_only(world, store):
    client_of, ids = world
    lumen, every = client_of(["lumen"]), client_of(None)
    letters = text(lumen, "/console/dead-letters/letters")
    assert "order lumen-1" in letters and "order glow-1" not in letters
    assert "order glow-1" in text(every, "/console/dead-letters/letters")
    groups = text(lumen, "/console/dead-letters")
    assert '<td class="num count">1</td>' in groups and f"#{ids['letter-lumen']}" in groups
    assert '<td class="num count">2</td>' in text(every, "/console/dead-letters")
    assert lumen.get(f"/console/dead-letters/{ids['letter-glow']}").status_code == 404
    assert "lumen-1" in text(lumen, f"/console/dead-letters/{ids['letter-lumen']}")
    refused = lumen.post("/console/dead-letters/dismiss", data={"csrf_token": csrf_of(lumen, "/console/dead-letters"),
                                                                "ids": str(ids["letter-glow"]), "note": "spam"})
    assert refused.status_code == 404
    done = lumen.post("/console/dead-letters/dismiss", data={"csrf_token": csrf_of(lumen, "/console/dead-letters"),
                                                             "ids": str(ids["letter-lumen"]), "note": "spam"})
    assert done.status_code == 200
    with store.transaction() as s:
        assert {d.brand: d.status for d in s.query(model.DeadLetter)} == {None: "open", "lumen": "dismissed"}


def test_duplicate_review_keeps_to_the_tokens_brands(world, store):
    client_of, ids = world
    glow = client_of(["default"])
    queue = text(glow, "/console/duplicates")
    assert f"/console/duplicates/{ids['pair-glow']}\"" in queue and f"/console/duplicates/{ids['pair-lumen']}\"" \
        not in queue
    assert "Scan again" not in queue and "Scan again" in text(client_of(None), "/console/duplicates")
    assert glow.get(f"/console/duplicates/{ids['pair-lumen']}").status_code == 404
    assert glow.get(f"/console/duplicates/{ids['pair-lumen']}/preview").status_code == 404
    token = csrf_of(glow, "/console/duplicates")
    assert glow.post(f"/console/duplicates/{ids['pair-lumen']}/dismiss", data={"csrf_token": token}).status_code \
        == 404
    assert glow.post(f"/console/duplicates/{ids['pair-glow']}/dismiss", data={"csrf_token": token}).status_code \
        == 200
    merges = text(glow, "/console/merges")
    assert f"/console/contacts/{ids['kept-glow']}\"" in merges
    assert f"/console/contacts/{ids['kept-lumen']}\"" not in merges
    assert glow.post(f"/console/merges/{ids['merge-lumen']}/unmerge", data={"csrf_token": token}).status_code == 404
    with store.transaction() as s:
        assert {p.id: p.status for p in s.query(model.DuplicatePair)} == {ids["pair-glow"]: "dismissed",
                                                                         ids["pair-lumen"]: "open"}


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_the_overview_of_a_limited_token_is_its_brands(world, role):
    client_of, _ids = world
    lumen, every = client_of(["lumen"], role), client_of(None, role)
    page = text(lumen, "/console/overview")
    assert 'id="inbox-lag"' not in page and 'id="inbox-lag"' in text(every, "/console/overview")
    assert 'hx-get="/console/overview/connections"' not in page
    assert 'hx-get="/console/overview/funnel"' in page
    assert lumen.get("/console/overview/connections", headers=HTMX).status_code == 403
    assert '<td class="num">1</td>' in page and '<td class="num">2</td>' in text(every, "/console/overview")
    funnel = text(lumen, "/console/overview/funnel", headers=HTMX)
    assert funnel.startswith('<div class="overview-report"')
    assert lumen.get("/console/overview/funnel?brand=default", headers=HTMX).status_code == 403
