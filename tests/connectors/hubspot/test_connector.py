"""The HubSpot connector against the HubSpot sandbox (sync.sandbox.hubspot.sandbox): HubSpot's rules, end to end.

Requests go through a strict ``responses`` mock whose callback hands them to the sandbox's Flask
app, so no server or thread runs and the sandbox shares the test's simulated clock.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import fakeredis
import pytest
from connectors.hubspot.hubspot_fakes import MemoryTokens

from sync.connectors.crm import PushItem
from sync.mappings import apply, load_mapping
from sync.sandbox.hubspot.sandbox import HubSpotSandbox, create_app

SANDBOX = "https://hubspot.sandbox.test"
TOKEN_ENV = {"LIFESYNC_HUBSPOT_TOKEN": HubSpotSandbox.TOKEN, "LIFESYNC_HUBSPOT_BASE_URL": SANDBOX}
OAUTH_ENV = {"LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID": HubSpotSandbox.CLIENT_ID,
             "LIFESYNC_HUBSPOT_CLIENT_SECRET": HubSpotSandbox.CLIENT_SECRET,
             "LIFESYNC_HUBSPOT_REFRESH_TOKEN": HubSpotSandbox.REFRESH_TOKEN, "LIFESYNC_HUBSPOT_BASE_URL": SANDBOX}


@pytest.fixture
def serve(mock):
    """``serve(sandbox, methods)``: route every request for SANDBOX to the sandbox's app."""

    def install(sandbox: HubSpotSandbox, methods: tuple[str, ...] = ("GET", "POST")) -> HubSpotSandbox:
        client = create_app(sandbox).test_client()

        def forward(request):
            url = urlsplit(request.url)
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            answer = client.open(url.path, method=request.method, query_string=url.query, headers=headers,
                                 data=request.body)
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-type")}
            return answer.status_code, kept, answer.get_data()

        for method in methods:
            mock.add_callback(method, re.compile(re.escape(SANDBOX) + "/.*"), callback=forward,
                              content_type="application/json")
        return sandbox

    return install


def run(connector, obj, cursor):
    pages = list(connector.pull(obj, cursor))
    return [r for p in pages for r in p.records], pages[-1].cursor


def test_full_then_incremental_pulls_read_every_change_once_the_index_catches_up(make, serve, clock):
    sandbox = serve(HubSpotSandbox.seeded(contacts=450, deals=150, clock=clock, rate_per_10s=None, index_lag=30))
    connector = make(TOKEN_ENV, properties=None)  # the properties the bundled mappings read

    contacts, contacts_cursor = run(connector, "contacts", {})
    assert [r["id"] for r in contacts] == [r["id"] for r in sandbox.records("contacts")]
    contacts_mapping = load_mapping("config/mappings/hubspot_contacts.yaml")
    assert all(apply(contacts_mapping, r).record_id == r["id"] for r in contacts)
    deals, _ = run(connector, "deals", {})
    deals_mapping = load_mapping("config/mappings/hubspot_deals.yaml")
    assert len(deals) == 150
    assert all(any(i.kind == "hubspot" for i in apply(deals_mapping, d).identities) for d in deals)

    first = contacts[0]["id"]
    clock.now += 600
    sandbox.put("contacts", {"firstname": "Renamed"}, id=contacts[1]["id"])
    sandbox.archive("contacts", first)
    clock.now += 40  # in the search index by now (30 s lag)
    new = sandbox.put("contacts", {"email": "late.arrival@example.com", "firstname": "Late"})
    clock.now += 10  # not yet: this run cannot see it
    changed, cursor2 = run(connector, "contacts", contacts_cursor)
    by_id = {r["id"]: r for r in changed}
    assert by_id[contacts[1]["id"]]["properties"]["firstname"] == "Renamed"
    assert by_id[first]["archived"] is True and new not in by_id

    clock.now += 60  # the index caught up: the lookback window re-reads what the last run could not see
    changed, _ = run(connector, "contacts", cursor2)
    assert new in {r["id"] for r in changed}


def test_pushes_land_in_the_sandbox_under_oauth_with_rotation(make, serve, clock):
    sandbox = serve(HubSpotSandbox(clock=clock, rate_per_10s=None, access_token_ttl=900,
                                   rotate_refresh_tokens=True))
    known = sandbox.put("contacts", {"email": "ana.lopez@example.com", "lifecyclestage": "customer"})
    tokens = MemoryTokens()
    connector = make(OAUTH_ENV, tokens=tokens)
    results = connector.push("contacts", [
        PushItem(1, "contacts", known, {"lifecyclestage": "lead", "firstname": "Ana"},
                 known={"lifecyclestage": "customer"}),
        PushItem(2, "contacts", None, {"email": "zoe.new@example.com", "firstname": "Zoe"}),
        PushItem(3, "contacts", None, {"email": "bad@@example", "firstname": "Eve"}),
    ])
    assert [r.status for r in results] == ["ok", "ok", "failed"]
    assert sandbox.get("contacts", known)["properties"]["lifecyclestage"] == "lead"  # moved back: cleared first
    assert sandbox.get("contacts", results[1].vendor_id)["properties"]["email"] == "zoe.new@example.com"
    assert "bad@@" not in (results[2].error or "")

    clock.now += 900 - 200  # inside the refresh margin: a new token (and a rotated refresh token) first
    rotated_from = tokens.data[("hubspot", "default")]["refresh_token"]
    later = connector.push("contacts", [PushItem(4, "contacts", known, {"firstname": "Ana María"})])
    assert later[0].status == "ok" and tokens.data[("hubspot", "default")]["refresh_token"] != rotated_from

    restarted = make(OAUTH_ENV, tokens=tokens)  # the setting's refresh token no longer works: the stored one does
    clock.now += 900
    assert restarted.push("contacts", [PushItem(5, "contacts", known, {"lastname": "López"})])[0].status == "ok"


def test_stage_options_come_in_funnel_order(make, serve, clock):
    serve(HubSpotSandbox(clock=clock, rate_per_10s=None), methods=("GET",))
    options = make(TOKEN_ENV).stage_options()
    assert options[:3] == ["subscriber", "lead", "marketingqualifiedlead"] and "customer" in options


def test_records_changed_during_a_run_do_not_shift_later_pages(make, serve, clock):
    """A record edited mid-run leaves the window; with offset paging the next record would be skipped."""
    sandbox = serve(HubSpotSandbox.seeded(contacts=0, clock=clock, rate_per_10s=None))
    start = datetime.fromtimestamp(clock.now, UTC)
    ids = [sandbox.put("contacts", {"email": f"p{i}@example.com"}, at=start - timedelta(minutes=5))
           for i in range(450)]
    connector = make(TOKEN_ENV)
    bookmark = (start - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    pages = connector.pull("contacts", {"v": 1, "bookmark": bookmark, "run": None})
    read = [r["id"] for r in next(pages).records]
    clock.now += 1
    for record_id in read[:50]:  # edited after the run started: now outside its upper bound
        sandbox.put("contacts", {"firstname": "Edited"}, id=record_id)
    read += [r["id"] for page in pages for r in page.records]
    assert sorted(read, key=int) == ids


@pytest.mark.parametrize("paced", [True, False])
def test_an_incremental_pull_keeps_to_or_waits_out_the_search_limit(make, serve, clock, paced):
    """Ten search pages in a row: paced by the shared bucket the sandbox refuses none; unpaced, its 429s are retried."""
    sandbox = serve(HubSpotSandbox.seeded(contacts=0, clock=clock, rate_per_10s=None))  # HubSpot's 4 searches/s
    start = datetime.fromtimestamp(clock.now, UTC)
    for i in range(2_000):
        sandbox.put("contacts", {"email": f"p{i}@example.com"}, at=start - timedelta(minutes=5))
    connector = make(TOKEN_ENV, redis=fakeredis.FakeRedis() if paced else None)
    random.seed(16)  # the retry layer's jittered backoff: the simulated clock must move past the search's second
    bookmark = (start - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    records, _ = run(connector, "contacts", {"v": 1, "bookmark": bookmark, "run": None})
    assert len({r["id"] for r in records}) == 2_000
    assert sandbox.calls["POST /crm/objects/2026-09/contacts/search"] == 10 + sandbox.access.search_refused
    if paced:
        assert sandbox.access.search_refused == 0 and clock.slept == [0.25] * 9  # one search every quarter second
    else:
        assert sandbox.access.search_refused >= 1 and connector.stats.rate_limit_waits == sandbox.access.search_refused
