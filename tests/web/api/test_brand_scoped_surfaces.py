"""Dead letters and the duplicate review queue for a token limited to brands: it reads and acts within its
brands only, and a letter, pair or merge of another brand is 404 (its existence does not leak).

The matrix: tokens of every brand, of Lumen only and of Glow (the default brand) only, as viewer and operator,
against letters, pairs and merges of each brand."""

from __future__ import annotations

import pytest
from support.brand_world import seed_brand_world
from support.brands import brand_config_dir
from support.ops_app import ops_app
from web.api.conftest import bearer

from sync.access import tokens
from sync.access.roles import Principal
from sync.config import load_config
from sync.store import model

ADMIN = Principal(name="test-setup", role="admin", via="cli")
SCOPES = {"every": None, "lumen": ["lumen"], "glow": ["default"]}


@pytest.fixture
def world(store, api_settings, tmp_path):
    """Letters, pairs and merges of Glow and of Lumen; a client and a token per (brands, role)."""
    config = load_config(brand_config_dir(tmp_path))
    ids = seed_brand_world(store)
    client = ops_app(api_settings, store, config).test_client()
    made = {(scope, role): tokens.create(store, ADMIN, f"{scope}-{role}", role, brands=brands)[1]
            for scope, brands in SCOPES.items() for role in ("viewer", "operator")}
    return client, made, ids


def _sees(scope: str, brand: str) -> bool:
    return scope == "every" or scope == brand


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_reading_dead_letters_and_pairs_keeps_to_the_tokens_brands(world, scope, role):
    client, made, ids = world
    headers = bearer(made[(scope, role)])
    listed = {row["record_id"] for row in client.get("/api/dead-letters", headers=headers).json["items"]}
    assert listed == {f"{b}-1" for b in ("glow", "lumen") if _sees(scope, b)}
    groups = client.get("/api/dead-letters/groups", headers=headers).json["items"]
    assert [g["count"] for g in groups] == [sum(_sees(scope, b) for b in ("glow", "lumen"))]
    pairs = {p["id"] for p in client.get("/api/duplicates", headers=headers).json["items"]}
    assert pairs == {ids[f"pair-{b}"] for b in ("glow", "lumen") if _sees(scope, b)}
    merges = {m["id"] for m in client.get("/api/merges", headers=headers).json["items"]}
    assert merges == {ids[f"merge-{b}"] for b in ("glow", "lumen") if _sees(scope, b)}
    for brand in ("glow", "lumen"):
        expected = 200 if _sees(scope, brand) else 404
        letter = client.get(f"/api/dead-letters/{ids[f'letter-{brand}']}", headers=headers)
        assert letter.status_code == expected, (scope, role, brand)
        assert client.get(f"/api/duplicates/{ids[f'pair-{brand}']}", headers=headers).status_code == expected
        if expected == 404:
            assert letter.json["message"] == f"no dead letter with id {ids[f'letter-{brand}']}"


@pytest.mark.parametrize("scope", SCOPES)
def test_acting_on_another_brands_letter_pair_or_merge_is_404_and_changes_nothing(world, store, scope):
    client, made, ids = world
    headers = bearer(made[(scope, "operator")])
    for brand in ("glow", "lumen"):
        letter, pair, merge = ids[f"letter-{brand}"], ids[f"pair-{brand}"], ids[f"merge-{brand}"]
        dismissed = client.post("/api/dead-letters/dismiss", json={"ids": [letter], "note": "spam"}, headers=headers)
        paired = client.post(f"/api/duplicates/{pair}/dismiss", headers=headers)
        undone = client.post(f"/api/merges/{merge}/unmerge", headers=headers)
        if _sees(scope, brand):
            assert dismissed.status_code == 200 and dismissed.json["dismissed"] == [letter]
            assert paired.status_code == 200 and paired.json["status"] == "dismissed"
            assert undone.status_code == 409 and "before lifesync recorded" in undone.json["message"]
        else:
            assert (dismissed.status_code, paired.status_code, undone.status_code) == (404, 404, 404), brand
    with store.transaction() as s:
        open_letters = {d.brand for d in s.query(model.DeadLetter).filter_by(status="open")}
        open_pairs = s.query(model.DuplicatePair).filter_by(status="open").count()
    assert open_letters == {c for b, c in (("glow", None), ("lumen", "lumen")) if not _sees(scope, b)}
    assert open_pairs == sum(not _sees(scope, b) for b in ("glow", "lumen"))


def test_a_group_or_ids_replayed_or_dismissed_by_a_limited_token_touch_only_its_brands_letters(world, store):
    client, made, ids = world
    group = client.get("/api/dead-letters/groups", headers=bearer(made[("every", "viewer")])).json["items"][0]
    assert group["count"] == 2
    lumen = bearer(made[("lumen", "operator")])
    replayed = client.post("/api/dead-letters/replay", json={"group": group["group"]}, headers=lumen)
    assert replayed.status_code == 200 and list(replayed.json["failed"]) == [str(ids["letter-lumen"])]
    assert replayed.json["remaining"] == 0  # Lumen's letter has its new reason: Glow's is not Lumen's to count
    again = client.post("/api/dead-letters/dismiss", json={"group": group["group"], "note": "x"}, headers=lumen)
    assert again.status_code == 404  # nothing of Lumen's is left in that group
    both = [ids["letter-glow"], ids["letter-lumen"]]
    done = client.post("/api/dead-letters/dismiss", json={"ids": both, "note": "test data"}, headers=lumen)
    assert done.status_code == 200 and done.json["dismissed"] == [ids["letter-lumen"]]
    assert done.json["not_open"] == [ids["letter-glow"]]  # "unknown or not open": nothing said of whose it is
    with store.transaction() as s:
        assert {d.brand: d.status for d in s.query(model.DeadLetter)} == {None: "open", "lumen": "dismissed"}


def test_a_limited_operator_merges_a_pair_of_its_brand_and_not_another(world, store):
    client, made, ids = world
    lumen = bearer(made[("lumen", "operator")])
    refused = client.post(f"/api/duplicates/{ids['pair-glow']}/merge", headers=lumen)
    assert refused.status_code == 404
    assert client.get(f"/api/duplicates/{ids['pair-glow']}/preview", headers=lumen).status_code == 404
    assert client.get(f"/api/duplicates/{ids['pair-lumen']}/preview", headers=lumen).status_code == 200
    merged = client.post(f"/api/duplicates/{ids['pair-lumen']}/merge", headers=lumen)
    assert merged.status_code == 200, merged.json
    with store.transaction() as s:
        assert s.query(model.DuplicatePair).filter_by(id=ids["pair-glow"]).one().status == "open"


def test_scanning_stays_installation_wide(world):
    client, made, _ids = world
    refused = client.post("/api/duplicates/scan", headers=bearer(made[("lumen", "operator")]))
    assert refused.status_code == 403 and "/api/duplicates is installation-wide" in refused.json["message"]
    assert client.post("/api/duplicates/scan", headers=bearer(made[("every", "operator")])).status_code == 200


def test_one_rule_decides_the_brands_a_principal_reads_on_a_surface_of_every_brand():
    from sync.access.brands import BrandDenied, visible
    from sync.config.brands import Brand, Brands

    brands = Brands((Brand("default", "Glow"), Brand("lumen", "Lumen")))
    assert visible(Principal("a", "viewer"), brands) is None  # every brand
    assert visible(Principal("b", "viewer", brands=("lumen", "default")), brands) == ("default", "lumen")
    assert visible(Principal("c", "viewer", brands=("lumen", "closed")), brands) == ("lumen",)
    with pytest.raises(BrandDenied, match=r"sees only closed, which brands\.yaml does not configure"):
        visible(Principal("d", "viewer", brands=("closed",)), brands)
