"""Console dead letters: groups, a group's letters, one letter; replay and dismiss as ``/api/dead-letters*`` do."""

from __future__ import annotations

import re

import pytest
from support import dead_letters
from support.console import csrf_of

from sync.access.audit import AuditFilter, entries
from sync.ingest.deadletter import list_open
from sync.ingest.deadletter_groups import LetterFilter, groups

PAGE = "/console/dead-letters"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def junk_config(tmp_path):
    return dead_letters.junk_config(tmp_path)


@pytest.fixture
def seeded(store, junk_config):
    """3 fixable reconcile letters and 2 mapping ones that still fail: {stage: ids}."""
    return dead_letters.seed(store, junk_config, reconcile=3, mapping=2)


def group_of(store, stage: str) -> str:
    [group] = groups(store, LetterFilter(stage=stage))
    return group["group"]


def counts(page: str) -> dict[str, int]:
    """{group id: the count its row shows} of a groups page."""
    return {group: int(count) for group, count in
            re.findall(r'<tr data-group="([^"]+)">.*?<td class="num count">([\d,]+)</td>', page, re.S)}


def post(client, path: str, origin: str = PAGE, headers: dict | None = None, **data):
    return client.post(path, data={"csrf_token": csrf_of(client, origin), **data}, headers=headers or {})


def test_every_role_sees_the_groups_and_only_operators_the_actions(signed_in, seeded, store):
    reconcile = group_of(store, "reconcile")
    for role, client in signed_in.items():
        answer = client.get(PAGE)
        assert answer.status_code == 200, role
        page = answer.get_data(as_text=True)
        assert counts(page) == {reconcile: 3, group_of(store, "mapping"): 2}, role
        assert ("Replay group" in page) == (role != "viewer") and ("Dismiss group" in page) == (role != "viewer")
        letters = client.get(f"{PAGE}/letters?group={reconcile}")
        assert letters.status_code == 200, role
        text = letters.get_data(as_text=True)
        assert all(f"#{i}<" in text for i in seeded["reconcile"])
        assert not any(f"#{i}<" in text for i in seeded["mapping"])
        assert ('type="checkbox" name="ids"' in text) == (role != "viewer"), role
        one = client.get(f"{PAGE}/{seeded['reconcile'][0]}")
        assert one.status_code == 200 and "wamid.N" in one.get_data(as_text=True)  # the payload, to who may read


def test_filters_are_the_apis(signed_in, seeded, store):
    viewer = signed_in["viewer"]
    page = viewer.get(f"{PAGE}?stage=mapping&source=whatsapp&since=2000-01-01").get_data(as_text=True)
    assert counts(page) == {group_of(store, "mapping"): 2}
    every = re.search(r'href="(/console/dead-letters/letters\?[^"]+)">List every letter', page).group(1)
    listed = viewer.get(every.replace("&amp;", "&")).get_data(as_text=True)  # the same filters, letter by letter
    assert all(f"#{i}<" in listed for i in seeded["mapping"])
    assert not any(f"#{i}<" in listed for i in seeded["reconcile"])
    assert counts(viewer.get(f"{PAGE}?status=dismissed").get_data(as_text=True)) == {}
    for bad, field in (("status=lost", "status-error"), ("since=yesterday", "since-error")):
        answer = viewer.get(f"{PAGE}?{bad}")
        assert answer.status_code == 422 and f'id="{field}"' in answer.get_data(as_text=True), bad
    answer = viewer.get(f"{PAGE}/letters?group=not-a-group")
    assert answer.status_code == 422 and "the group is not one this API gave" in answer.get_data(as_text=True)
    assert viewer.get(f"{PAGE}/999999").status_code == 404


def test_a_whole_group_is_replayed_only_once_confirmed_and_its_count_changes(signed_in, seeded, store):
    operator = signed_in["operator"]
    reconcile, mapping = group_of(store, "reconcile"), group_of(store, "mapping")
    forged = operator.post(f"{PAGE}/replay", data={"group": reconcile, "confirm": "yes", "csrf_token": "forged"})
    assert forged.status_code == 400 and len(list_open(store)) == 5
    asked = post(operator, f"{PAGE}/replay", group=reconcile, view="groups", back="")
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Replay this whole group?" in text and 'name="confirm" value="yes"' in text
    assert len(list_open(store)) == 5  # nothing done yet
    done = post(operator, f"{PAGE}/replay", headers=HTMX, group=reconcile, view="groups", back="", confirm="yes")
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "<html" not in text
    assert "Replayed: 3." in text and "Open letters left in the group: 0." in text
    assert counts(text) == {mapping: 2}  # the list, refreshed out of band
    assert 'id="dl-list" hx-swap-oob="true"' in text
    assert {r["id"] for r in list_open(store)} == set(seeded["mapping"])
    assert counts(operator.get(PAGE).get_data(as_text=True)) == {mapping: 2}
    logged = entries(store, AuditFilter(action="dead_letter.replay"))
    assert logged and {(e.actor, e.via) for e in logged} == {("operator-token", "console")}


def test_a_selection_is_replayed_and_still_failing_letters_say_why(signed_in, seeded, store):
    operator = signed_in["operator"]
    mapping = group_of(store, "mapping")
    origin = f"{PAGE}/letters?group={mapping}"
    chosen = [seeded["mapping"][0], seeded["reconcile"][0]]
    answer = operator.post(f"{PAGE}/replay", data={"csrf_token": csrf_of(operator, origin), "ids": chosen,
                                                   "view": "letters", "back": f"group={mapping}"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" in text  # without htmx: the page it came from, result on top
    assert "Replayed: 1." in text and "Still failing (they stay open): 1." in text
    assert f"#{seeded['mapping'][0]}</a>: " in text  # its new reason is listed
    assert re.search(r'class="open-count">2<', text)  # the group's open letters, shown again
    assert {r["id"] for r in list_open(store)} == {*seeded["mapping"], *seeded["reconcile"][1:]}


def test_dismissing_needs_a_note_and_then_stops_counting_as_open_audited(signed_in, seeded, store):
    operator = signed_in["operator"]
    reconcile = group_of(store, "reconcile")
    asked = post(operator, f"{PAGE}/dismiss", group=reconcile, view="groups", back="")
    assert "Dismiss this whole group?" in asked.get_data(as_text=True) and 'id="dismiss-note"' in asked.get_data(
        as_text=True)
    empty = post(operator, f"{PAGE}/dismiss", group=reconcile, view="groups", back="", confirm="yes", note="")
    assert empty.status_code == 422 and 'id="note-error"' in empty.get_data(as_text=True)
    assert len(list_open(store)) == 5
    done = post(operator, f"{PAGE}/dismiss", group=reconcile, view="groups", back="", confirm="yes",
                note="test numbers")
    assert done.status_code == 200 and "Dismissed: 3." in done.get_data(as_text=True)
    assert {r["id"] for r in list_open(store)} == set(seeded["mapping"])
    assert reconcile not in counts(operator.get(PAGE).get_data(as_text=True))
    gone = operator.get(f"{PAGE}?status=dismissed").get_data(as_text=True)
    assert counts(gone) == {reconcile: 3} and "Replay group" not in gone
    listed = operator.get(f"{PAGE}/letters?group={reconcile}&status=dismissed").get_data(as_text=True)
    assert "test numbers" in listed and "operator-token" in listed
    [entry] = entries(store, AuditFilter(action="dead_letter.dismiss"))
    assert (entry.actor, entry.role, entry.via, entry.after["note"]) == ("operator-token", "operator", "console",
                                                                         "test numbers")
    audit = operator.get("/console/audit?action=dead_letter.dismiss").get_data(as_text=True)
    assert "dead_letter.dismiss" in audit and ">console<" in audit


def test_dismissing_a_selection_with_a_note(signed_in, seeded, store):
    operator = signed_in["operator"]
    target = seeded["mapping"][0]
    origin = f"{PAGE}/letters"
    refused = post(operator, f"{PAGE}/dismiss", origin, ids=[target], view="letters", back="")
    assert refused.status_code == 422 and "note" in refused.get_data(as_text=True)
    done = post(operator, f"{PAGE}/dismiss", origin, HTMX, ids=[target], note="duplicate", view="letters", back="")
    assert done.status_code == 200 and "Dismissed: 1." in done.get_data(as_text=True)
    assert target not in {r["id"] for r in list_open(store)} and len(list_open(store)) == 4


def test_acting_on_nothing_open_says_so(signed_in, seeded, store):
    operator = signed_in["operator"]
    reconcile = group_of(store, "reconcile")
    post(operator, f"{PAGE}/dismiss", group=reconcile, view="groups", back="", confirm="yes", note="x")
    again = post(operator, f"{PAGE}/replay", group=reconcile, view="groups", back="", confirm="yes")
    assert again.status_code == 404 and "the group has no open dead letters" in again.get_data(as_text=True)
    bad = post(operator, f"{PAGE}/replay", ids=["x"], view="groups", back="")
    assert bad.status_code == 422
    nothing = post(operator, f"{PAGE}/replay", view="groups", back="")
    assert nothing.status_code == 422 and "not both" in nothing.get_data(as_text=True)


def test_a_viewer_sees_no_controls_and_gets_403_posting_anyway(signed_in, seeded, store):
    viewer = signed_in["viewer"]
    reconcile = group_of(store, "reconcile")
    page = viewer.get(PAGE).get_data(as_text=True)
    assert "/console/dead-letters/replay" not in page and "/console/dead-letters/dismiss" not in page
    for action, extra in (("replay", {}), ("dismiss", {"note": "x"})):
        answer = post(viewer, f"{PAGE}/{action}", group=reconcile, confirm="yes", view="groups", back="", **extra)
        assert answer.status_code == 403, action
    assert len(list_open(store)) == 5
    assert entries(store, AuditFilter(target_type="dead_letters")) == []


def test_a_group_with_nothing_open_is_not_asked_to_confirm(signed_in, seeded, store):
    operator = signed_in["operator"]
    reconcile = group_of(store, "reconcile")
    post(operator, f"{PAGE}/dismiss", group=reconcile, view="groups", back="", confirm="yes", note="x")
    answer = post(operator, f"{PAGE}/replay", group=reconcile, view="groups", back="")
    assert answer.status_code == 404 and "Replay this whole group?" not in answer.get_data(as_text=True)
    foreign = post(operator, f"{PAGE}/replay", group="bm90IGpzb24", view="groups", back="")
    assert foreign.status_code == 422 and "the group is not one this API gave" in foreign.get_data(as_text=True)


def test_one_letter_is_replayed_from_its_page_and_the_group_shown_after(signed_in, seeded, store):
    operator, target = signed_in["operator"], seeded["reconcile"][0]
    page = operator.get(f"{PAGE}/{target}").get_data(as_text=True)
    assert "Replay this letter" in page and "Dismiss this letter" in page
    assert "Replay this letter" not in signed_in["viewer"].get(f"{PAGE}/{target}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/console/dead-letters/replay">(.*?)</form>', page, re.S).group(1)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert fields["ids"] == str(target) and fields["view"] == "letters"
    answer = operator.post(f"{PAGE}/replay", data=fields)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Replayed: 1." in text and re.search(r'class="open-count">2<', text)
    assert target not in {r["id"] for r in list_open(store)}
    assert "Replay this letter" not in operator.get(f"{PAGE}/{target}").get_data(as_text=True)  # no longer open
