"""The console's contacts: search as you type, filters and pages (``GET /api/contacts``'s page), and a
contact's page (``GET /api/contacts/<id>``'s document as one timeline and a field table)."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select
from support.contacts import FIXTURES, WA_NUMBER, add_ad_click_and_reply, add_contacts, build_ana

from sync.access.roles import ROLES
from sync.ingest.pipeline import ingest
from sync.store import model
from sync.web.api.contacts import contact_document

LINK = re.compile(r'href="/console/contacts/(\d+)"')
NEXT = re.compile(r'href="(/console/contacts\?[^"]*cursor=[^"]+)" rel="next"')
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/console/contacts"}


def found(client, **query) -> list[int]:
    """The contact ids the list links to, for ``query`` as the GET form would send it."""
    answer = client.get("/console/contacts", query_string=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)[-2000:]
    return [int(i) for i in LINK.findall(answer.get_data(as_text=True))]


def all_pages(client, **query) -> list[int]:
    """Every id over the pages, following each page's "next page" link."""
    answer = client.get("/console/contacts", query_string=query)
    ids: list[int] = []
    while True:
        body = answer.get_data(as_text=True)
        assert answer.status_code == 200
        ids += [int(i) for i in LINK.findall(body)]
        link = NEXT.search(body)
        if link is None:
            return ids
        answer = client.get(html.unescape(link.group(1)))


@pytest.fixture
def viewer(signed_in):
    return signed_in["viewer"]


@pytest.fixture
def people(store, config):
    """Ana (the pipeline's), two staged contacts named Zoë O'Brien and one lost contact."""
    stage, lost = config.lifecycle.active_names[0], config.lifecycle.lost_names[0]
    named = {"first_name": {"value": "Zoë", "source": "x"}, "last_name": {"value": "O'Brien", "source": "x"}}
    return {"ana": build_ana(store, config), "zoe": add_contacts(store, 2, stage=stage, attributes=named),
            "gone": add_contacts(store, 1, lost_stage=lost), "stage": stage, "lost": lost}


def test_search_by_identity_and_by_name_prefix(viewer, people):
    ana = people["ana"]
    assert found(viewer, q="ana.lopez@") == [ana]  # an email
    assert found(viewer, q=WA_NUMBER[:6]) == [ana]  # a phone
    assert found(viewer, q="hubspot") == []  # identity values, not kinds
    assert found(viewer, q="lóp") == [ana] == found(viewer, q="ANA L")  # last name, full name
    assert sorted(found(viewer, q="zoë o'b")) == sorted(people["zoe"])
    assert found(viewer, q="nobody") == []


def test_an_empty_form_lists_everyone_newest_first(viewer, people):
    empty = {name: "" for name in ("q", "stage", "lost_stage", "phase", "source", "has_conversions")}
    ids = found(viewer, **empty)  # what the GET form sends when nothing is chosen
    assert ids == sorted([people["ana"], *people["zoe"], *people["gone"]], reverse=True)


def test_filters_narrow(console_app, viewer, people, config):
    ana, zoe, gone = people["ana"], people["zoe"], people["gone"]
    with console_app.app_context():
        ana_stage = contact_document(ana)["stage"]
    assert sorted(found(viewer, stage=people["stage"], q="")) == sorted(zoe + ([ana] if ana_stage == people["stage"]
                                                                                else []))
    assert found(viewer, stage=ana_stage) == [ana]
    assert found(viewer, lost_stage=people["lost"]) == gone
    phase = next(s.phase for s in config.lifecycle.stages if s.name == people["stage"])
    assert set(zoe) <= set(found(viewer, phase=phase)) and not set(gone) & set(found(viewer, phase=phase))
    assert found(viewer, source="salesforce") == [ana]
    assert found(viewer, has_conversions="true") == [ana]
    assert sorted(found(viewer, has_conversions="false")) == sorted(zoe + gone)
    assert found(viewer, q="zoë", has_conversions="true") == []  # together (AND)


def test_stage_options_are_the_configured_names(viewer, config):
    body = viewer.get("/console/contacts").get_data(as_text=True)
    for name in (*config.lifecycle.active_names, *config.lifecycle.lost_names):
        assert f'<option value="{html.escape(name)}"' in body


def test_a_search_as_you_type_gets_the_results_region_only(viewer, people):
    answer = viewer.get("/console/contacts", query_string={"q": "zo"}, headers=HTMX)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in body and 'id="q"' not in body
    assert sorted(int(i) for i in LINK.findall(body)) == sorted(people["zoe"])
    full = viewer.get("/console/contacts?q=zo").get_data(as_text=True)  # the pushed URL, opened anew
    assert "<html" in full and 'value="zo"' in full and 'aria-live="polite"' in full
    assert 'hx-trigger="input changed delay:300ms, search"' in full
    restore = viewer.get("/console/contacts?q=zo", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)  # back button after htmx's history cache is gone


def test_pages_follow_the_next_link(viewer, store):
    made = add_contacts(store, 23)
    ids = all_pages(viewer, limit=5)
    assert ids == sorted(made, reverse=True)  # every contact once, newest first
    first = viewer.get("/console/contacts?limit=5").get_data(as_text=True)
    assert len(LINK.findall(first)) == 5 and "First page" not in first
    later = viewer.get(html.unescape(NEXT.search(first).group(1))).get_data(as_text=True)
    assert "First page" in later


@pytest.mark.parametrize(("query", "words"), [
    ({"stage": "No Such Stage"}, "configured stages"), ({"phase": "orbit"}, "Phase"),
    ({"cursor": "!!"}, "previous page"), ({"q": "x" * 201}, "Name, email"),
    ({"has_conversions": "maybe"}, "Conversions"),
    ({"limit": "0"}, "Page size"), ({"source": "\x00"}, "NUL"), ({"surprise": "1"}, "Unknown field"),
])
def test_filters_that_cannot_be_used_say_why(viewer, query, words):
    for headers in ({}, HTMX):
        answer = viewer.get("/console/contacts", query_string=query, headers=headers)
        body = answer.get_data(as_text=True)
        assert answer.status_code == 422 and words in body and 'role="alert"' in body


@pytest.fixture
def ana_in_full(store, config, people):
    """Ana with an ad click (its ad and campaign named by the network) and a reply."""
    add_ad_click_and_reply(store, config, people["ana"])
    with store.transaction() as s:
        touch = s.scalars(select(model.Touchpoint).where(model.Touchpoint.contact_id == people["ana"])).one()
        s.add(model.AdName(network=touch.network, ad_id=touch.ad_id, ad_name="Envíos express",
                           campaign_id="c-77", campaign_name="Spring shipping"))
    return people["ana"]


def field_rows(body: str) -> dict[str, list[tuple[str, str, bool]]]:
    """{field: [(source, value, wins)]} as the field table shows them."""
    table = body[body.index('<table class="fields">'):]
    table = table[:table.index("</table>")]
    out = {}
    for block in table.split('<tbody class="field">')[1:]:
        name = re.search(r'<span class="field-name">(.*?)</span>', block).group(1)
        rows = []
        for attrs, row in re.findall(r"<tr( class=\"wins\")?>(.*?)</tr>", block, re.S):
            cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                     for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            assert bool(attrs) == (cells[4] == "Winner"), row  # marked in words, not by colour alone
            rows.append((cells[0], cells[1], bool(attrs)))
        out[html.unescape(name)] = rows
    return out


def test_the_field_table_shows_every_candidate_the_winner_and_the_rule(console_app, viewer, ana_in_full):
    with console_app.app_context():
        doc = contact_document(ana_in_full)
    body = viewer.get(f"/console/contacts/{ana_in_full}").get_data(as_text=True)
    shown = field_rows(body)
    assert set(shown) == set(doc["fields"])
    for name, field in doc["fields"].items():
        if field["candidates"]:
            assert shown[name] == [(c["source"], "—" if c["value"] is None else str(c["value"]), c["wins"])
                                   for c in field["candidates"]], name
    first = body[body.index('<span class="field-name">first_name</span>'):]
    first = first[:first.index("</th>")]
    assert "Rule: prefer (salesforce)" in first and "Decided by: prefer" in first
    assert shown["first_name"] == [("hubspot", "Ana María", False), ("salesforce", "Ana", True),
                                   ("whatsapp", "Oliver", False)]


def test_the_timeline_has_every_kind_newest_first(viewer, ana_in_full, console_app):
    with console_app.app_context():
        doc = contact_document(ana_in_full)
    body = viewer.get(f"/console/contacts/{ana_in_full}").get_data(as_text=True)
    timeline = body[body.index('<ol class="timeline">'):body.index("</ol>")]
    kinds = re.findall(r'<li class="timeline-(\w+)">', timeline)
    assert {"stage", "message", "touchpoint", "conversion", "merge"} <= set(kinds)
    assert kinds.count("message") == len(doc["activities"]) and kinds.count("stage") == len(doc["stage_history"])
    assert "Message received" in timeline and "Message sent" in timeline
    [touch] = doc["touchpoints"]
    shown = timeline[timeline.index('<li class="timeline-touchpoint">'):]
    shown = shown[:shown.index("</li>")]
    assert "Ad touch" in shown and f"({touch['ad_id']})" in shown
    assert "Campaign: <span dir=\"auto\">Spring shipping</span>" in shown and "Envíos express" in shown
    sent = next(d for c in doc["conversions"] for d in c["deliveries"] if d["delivery"])
    conversion = timeline[timeline.index('<li class="timeline-conversion">'):]
    assert f"<th scope=\"row\">{sent['destination']}</th>" in conversion and "state-sent" in conversion
    times = re.findall(r'<time datetime="([^"]+)">', timeline)
    assert times == sorted(times, reverse=True) and len(times) == len(kinds)
    listed = body[body.index('id="identities-h"'):]
    listed = listed[:listed.index("</section>")]
    for identity in doc["identity_details"]:
        assert f'<bdi dir="ltr">{html.escape(identity["value"])}</bdi>' in listed
    assert re.search(r"<title>\s*Ana López · lifesync</title>", body)


def test_every_role_sees_both_pages(signed_in, people):
    for role in ROLES:
        client = signed_in[role]
        listed = client.get("/console/contacts")
        assert listed.status_code == 200 and 'aria-current="page"' in listed.get_data(as_text=True)
        page = client.get(f"/console/contacts/{people['ana']}")
        assert page.status_code == 200 and "Ana López" in page.get_data(as_text=True)
        assert "<form method=\"post\"" not in page.get_data(as_text=True).split('<main', 1)[1]  # nothing to change


@pytest.mark.parametrize("cid", [987654321, 0])
def test_an_unknown_contact_is_the_consoles_404_page(viewer, cid):
    answer = viewer.get(f"/console/contacts/{cid}")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 404 and "<html" in body and "Not found" in body
    if cid:  # 0 is no row id: the route itself does not match, and the page is shown before sign-in is read
        assert '<nav class="sections"' in body and "987654321" in body  # the console's page with the service's why


def test_the_arabic_page_keeps_configured_names(console_app, viewer, people):
    viewer.post("/console/language", data={"lang": "ar", "csrf_token": _csrf(viewer)})
    body = viewer.get(f"/console/contacts/{people['ana']}").get_data(as_text=True)
    assert 'dir="rtl"' in body and "first_name" in body and "Ana López" in body
    assert "الجدول الزمني" in body  # "Timeline"


def test_the_consent_table_shows_each_purpose_its_winner_and_record_in_both_languages(viewer, store, config, people):
    order = json.loads((FIXTURES / "shop" / "order.json").read_text())
    order["customer"].update(email="ana.lopez@example.com", accepts_marketing=False)
    assert ingest("shop", "order", [order], store=store, config=config, map_in_process=False).dead_lettered == 0
    body = viewer.get(f"/console/contacts/{people['ana']}").get_data(as_text=True)
    table = body[body.index('<table class="consent">'):]
    table = table[:table.index("</table>")]
    cell = r"<t[hd][^>]*>(.*?)</t[hd]>"
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(cell, r, re.S)]
            for r in re.findall(r'<tr class="wins">(.*?)</tr>', table, re.S)]
    assert rows == [["marketing_email", "shop", "Withdrawn", rows[0][3], "5523", "Winner"],
                    ["marketing_messages", "shop", "Withdrawn", rows[1][3], "5523", "Winner"]]
    viewer.post("/console/language", data={"lang": "ar", "csrf_token": _csrf(viewer)})
    arabic = viewer.get(f"/console/contacts/{people['ana']}").get_data(as_text=True)
    assert "الموافقة" in arabic and "مسحوبة" in arabic


def _csrf(client) -> str:
    from support.console import csrf_of

    return csrf_of(client, "/console/contacts")


def test_the_timeline_puts_undated_entries_last_and_reads_offsets():
    from sync.web.console.contacts import timeline

    doc = {"stage_history": [{"at": "2026-03-01T10:00:00+00:00", "to": "A"}, {"at": None, "to": "B"}],
           "activities": [{"occurred_at": "2026-03-01T11:30:00+02:00"}],  # 09:30 UTC: before the stage change
           "touchpoints": [], "conversions": [{"occurred_at": "2026-03-02T00:00:00+00:00"}], "merges": [],
           "stages": [{"brand": "default"}]}
    assert [entry["kind"] for entry in timeline(doc)] == ["conversion", "stage", "message", "stage"]
    assert timeline(doc)[-1]["entry"]["to"] == "B" and timeline(doc)[-1]["at"] is None
