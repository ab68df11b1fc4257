"""Mappings and rules in the console: documents listed, edits checked at their line, saved as revisions, previewed,
rolled back — through the services the ops API calls (server side)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ingest.test_preview import dump
from ingest.test_samples import contact_of, message
from support.console import SECRET_KEY, csrf_of
from support.webhook_app import ENV

from sync.access.audit import AuditFilter, entries
from sync.config.revisions import Revisions
from sync.connectors.events import InboundEvent
from sync.ingest.inbox import process_events, store_events
from sync.ingest.pipeline import ingest
from sync.settings import Settings

DOC = "mappings/hubspot_contacts.yaml"
EDIT = f"/console/mappings/edit/{DOC}"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
RECORD = json.loads((FIXTURES / "hubspot" / "contact.json").read_text())
FIRST_NAME = "first_name: {path: properties.firstname"
FROM_COMPANY = "first_name: {path: properties.company"


@pytest.fixture
def console_settings(database_url):
    """The console's settings with the default request size (the receivers' tests cap it at 4 kB)."""
    return Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_WEBHOOK_MAX_BYTES": "1048576",
                              "LIFESYNC_SECRET_KEY": SECRET_KEY})


def services(app) -> tuple[Revisions, object]:
    found = app.extensions["lifesync"]
    return Revisions(found["store"], found["settings"].config_dir), found["store"]


def original(app) -> str:
    return services(app)[0].read(DOC).text


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def save(client, text: str, comment: str = "", base: str = ""):
    return client.post(EDIT, data={"text": text, "comment": comment, "base_revision": base,
                                   "csrf_token": csrf_of(client, EDIT)})


def check(client, text: str, *, fragment: bool = True):
    return client.post(f"/console/mappings/check/{DOC}", data={"text": text, "csrf_token": csrf_of(client, EDIT)},
                       headers={"HX-Request": "true"} if fragment else {})


def test_the_documents_and_the_editor_render_for_every_role(signed_in, console_app):
    for role, client in signed_in.items():
        listed = client.get("/console/mappings")
        assert listed.status_code == 200, role
        page = listed.get_data(as_text=True)
        for name in (DOC, "lifecycle.yaml", "conversions.yaml"):
            assert f'href="/console/mappings/edit/{name}"' in page, (role, name)
        assert 'aria-current="page">Mappings and rules' in page
        editor = client.get(EDIT).get_data(as_text=True)
        assert FIRST_NAME in editor and 'id="text"' in editor and 'aria-live="polite"' in editor
        assert "vendor/codemirror/lib/codemirror.js" in editor and "mappings.js" in editor
        assert ('id="save-button"' in editor) is (role != "viewer"), role
        lifecycle = client.get("/console/mappings/edit/lifecycle.yaml").get_data(as_text=True)
        assert "Lifecycle stages" in lifecycle and '<option value="whatsapp/message"' in lifecycle
        assert client.get(f"/console/mappings/history/{DOC}").status_code == 200
    assert signed_in["viewer"].get("/console/mappings/edit/mappings/nope.yaml").status_code == 404


def test_a_viewer_sees_no_save_or_rollback_and_gets_403_posting(signed_in, console_app):
    text = original(console_app)
    assert save(signed_in["operator"], text.replace(FIRST_NAME, FROM_COMPANY), "one").status_code == 302
    rev = services(console_app)[0].read(DOC).revision_id
    assert save(signed_in["operator"], text, "two", str(rev)).status_code == 302
    viewer = signed_in["viewer"]
    history = viewer.get(f"/console/mappings/history/{DOC}").get_data(as_text=True)
    assert "Revision" in history and "Roll back" not in history and "/console/mappings/rollback/" not in history
    assert "Roll back to revision" in signed_in["operator"].get(f"/console/mappings/history/{DOC}").get_data(
        as_text=True)
    csrf = csrf_of(viewer, EDIT)
    before = services(console_app)[0].history(DOC)
    assert viewer.post(EDIT, data={"text": text + "\n# sneaky\n", "base_revision": "", "csrf_token": csrf}
                       ).status_code == 403
    assert viewer.get(f"/console/mappings/rollback/{DOC}?to={rev}").status_code == 403
    assert viewer.post(f"/console/mappings/rollback/{DOC}", data={"to": str(rev), "base_revision": "",
                                                                "csrf_token": csrf}).status_code == 403
    assert services(console_app)[0].history(DOC) == before
    # checking and previewing are a viewer's, as in the API
    assert check(viewer, text).status_code == 200


def test_an_invalid_edit_returns_its_issue_at_its_line_and_changes_nothing(signed_in, console_app):
    text = original(console_app)
    bad = text.replace("transforms: [email], direction: both}", "transforms: [no_such_transform], direction: both}", 1)
    line = line_of(bad, "no_such_transform")
    operator = signed_in["operator"]
    checked = check(operator, bad)
    assert checked.status_code == 200
    fragment = checked.get_data(as_text=True)
    assert "<html" not in fragment and 'data-valid="false"' in fragment
    assert f'data-line="{line}"' in fragment and f"Line {line}" in fragment and "no_such_transform" in fragment
    refused = save(operator, bad, "broken")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f'data-line="{line}"' in page and "no_such_transform" in page
    assert "[no_such_transform]" in page  # the text typed is kept in the editor
    revisions, store = services(console_app)
    assert revisions.history(DOC) == [] and revisions.read(DOC).text == text
    assert entries(store, AuditFilter(action="config.edit")) == []
    # a syntax error is placed at its line too, and without JavaScript the page itself answers
    broken = text.replace(FIRST_NAME, "first_name: [unclosed", 1)
    plain = check(operator, broken, fragment=False)
    assert plain.status_code == 200 and "<html" in plain.get_data(as_text=True)
    assert re.search(r'data-line="\d+"', plain.get_data(as_text=True))


def test_a_valid_save_creates_an_audited_revision_that_becomes_active(signed_in, console_app):
    text = original(console_app)
    edited = text.replace(FIRST_NAME, FROM_COMPANY)
    operator = signed_in["operator"]
    clean = check(operator, edited).get_data(as_text=True)
    assert 'data-valid="true"' in clean and "No issues" in clean
    answer = save(operator, edited, "first name from company")
    assert answer.status_code == 302
    revisions, store = services(console_app)
    document = revisions.read(DOC)
    assert document.text == edited and document.origin == "revision"
    assert answer.headers["Location"] == f"{EDIT}?saved={document.revision_id}"
    shown = operator.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"Saved as revision {document.revision_id}" in shown and FROM_COMPANY in shown
    [entry] = entries(store, AuditFilter(action="config.edit"))
    assert (entry.actor, entry.via, entry.target_id) == ("operator-token", "console", DOC)
    assert revisions.active_config().mappings[("hubspot", "contacts")].name == "hubspot_contacts"
    again = save(operator, edited.replace("\n", "\r\n"), "", str(document.revision_id))  # as a browser sends it
    assert again.headers["Location"].endswith("saved=same")


def test_a_save_based_on_a_stale_revision_is_refused_and_keeps_the_text(signed_in, console_app):
    text = original(console_app)
    operator = signed_in["operator"]
    assert save(operator, text + "\n# one\n").status_code == 302
    stale = save(operator, text + "\n# two\n", base="")
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "read it again" in page and "# two" in page
    assert services(console_app)[0].read(DOC).text == text + "\n# one\n"


def test_history_shows_each_diff_and_rollback_restores(signed_in, console_app):
    text = original(console_app)
    operator = signed_in["operator"]
    assert save(operator, text.replace(FIRST_NAME, FROM_COMPANY), "first name from company").status_code == 302
    revisions, store = services(console_app)
    rev = revisions.read(DOC).revision_id
    history = operator.get(f"/console/mappings/history/{DOC}").get_data(as_text=True)
    assert "first name from company" in history
    assert f'<span class="diff-del">-  {FIRST_NAME}' in history
    assert f'<span class="diff-add">+  {FROM_COMPANY}' in history
    confirm = operator.get(f"/console/mappings/rollback/{DOC}?to=baseline")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "back to the baseline file?" in page and 'id="confirm-rollback"' in page and FROM_COMPANY in page
    answer = operator.post(f"/console/mappings/rollback/{DOC}", data={
        "to": "baseline", "base_revision": str(rev), "comment": "undo",
        "csrf_token": csrf_of(operator, f"/console/mappings/history/{DOC}")})
    assert answer.status_code == 302
    document = revisions.read(DOC)
    assert document.text == text and document.revision_id != rev
    assert answer.headers["Location"] == f"/console/mappings/history/{DOC}?rolled={document.revision_id}"
    assert f"revision {document.revision_id} is active now" in operator.get(answer.headers["Location"]).get_data(
        as_text=True)
    assert [r.comment for r in revisions.history(DOC)] == ["undo", "first name from company"]
    # and back to the edit, by its revision id
    back = operator.post(f"/console/mappings/rollback/{DOC}", data={
        "to": str(rev), "base_revision": str(document.revision_id), "comment": "",
        "csrf_token": csrf_of(operator, EDIT)})
    assert back.status_code == 302 and revisions.read(DOC).text == text.replace(FIRST_NAME, FROM_COMPANY)
    assert len(entries(store, AuditFilter(action="config.edit"))) == 3


def test_preview_of_an_unsaved_text_shows_the_field_change_and_writes_nothing(signed_in, console_app):
    revisions, store = services(console_app)
    ingest("hubspot", "contacts", [RECORD], store=store)
    edited = original(console_app).replace(FIRST_NAME, FROM_COMPANY)
    before = dump(store)
    viewer = signed_in["viewer"]
    later = {**RECORD, "updatedAt": "2026-03-09T00:00:00Z"}
    answer = viewer.post(f"/console/mappings/preview/{DOC}", headers={"HX-Request": "true"}, data={
        "text": edited, "record": json.dumps(later), "csrf_token": csrf_of(viewer, EDIT)})
    assert answer.status_code == 200
    fragment = answer.get_data(as_text=True)
    assert dump(store) == before and revisions.history(DOC) == []
    row = re.search(r'<th scope="row" dir="ltr">first_name</th>(.*?)</tr>', fragment, re.S).group(1)
    assert "Ana María" in row and "Acme Logistics" in row
    assert "Preview through hubspot/contacts" in fragment and "nothing was written" in fragment


def test_preview_against_a_contacts_last_record(signed_in, console_app):
    revisions, store = services(console_app)
    delivery = message("wamid.A1", "15550001111", "hello")
    ids = store_events(store, [InboundEvent("whatsapp", "message", "wamid.A1", delivery)])
    process_events(store, revisions.active_config(), ids)
    contact = contact_of(store, "15550001111")
    doc = "mappings/whatsapp_message.yaml"
    edited = revisions.read(doc).text.replace("whatsapp_username: {paths:", "nickname: {paths:")
    operator = signed_in["operator"]
    before = dump(store)
    answer = operator.post(f"/console/mappings/preview/{doc}", headers={"HX-Request": "true"}, data={
        "text": edited, "contact_id": str(contact), "csrf_token": csrf_of(operator, EDIT)})
    assert answer.status_code == 200 and dump(store) == before
    fragment = answer.get_data(as_text=True)
    assert f"the last one whatsapp delivered for contact {contact}" in fragment
    assert f"Contact {contact}" in fragment
    # a lifecycle edit is previewed through the mapping chosen, with the same contact's record
    lifecycle = operator.post("/console/mappings/preview/lifecycle.yaml", headers={"HX-Request": "true"}, data={
        "text": revisions.read("lifecycle.yaml").text, "mapping": "whatsapp/message", "contact_id": str(contact),
        "csrf_token": csrf_of(operator, EDIT)})
    assert lifecycle.status_code == 200 and "Preview through whatsapp/message" in lifecycle.get_data(as_text=True)


def test_preview_refusals_are_shown_in_place(signed_in, console_app):
    viewer = signed_in["viewer"]
    csrf = csrf_of(viewer, EDIT)
    text = original(console_app)
    cases = [({"record": "{not json"}, 422, "This is not JSON"),
             ({}, 422, "Paste a record, or give a contact"),
             ({"contact_id": "424242"}, 404, "no contact with id 424242"),
             ({"contact_id": "abc"}, 422, "Contact id: Not a valid integer"),
             ({"record": "[1, 2]"}, 422, "Pasted record: Not a valid mapping type")]
    for extra, status, said in cases:
        answer = viewer.post(f"/console/mappings/preview/{DOC}", headers={"HX-Request": "true"},
                             data={"text": text, "csrf_token": csrf, **extra})
        assert answer.status_code == status, extra
        assert said in answer.get_data(as_text=True), extra
    invalid = viewer.post(f"/console/mappings/preview/{DOC}", headers={"HX-Request": "true"},
                          data={"text": "source: [", "record": "{}", "csrf_token": csrf})
    assert invalid.status_code == 422 and "data-line=" in invalid.get_data(as_text=True)


def test_without_javascript_a_preview_answers_with_the_whole_page(signed_in, console_app):
    store = services(console_app)[1]
    ingest("hubspot", "contacts", [RECORD], store=store)
    viewer = signed_in["viewer"]
    edited = original(console_app).replace(FIRST_NAME, FROM_COMPANY)
    later = {**RECORD, "updatedAt": "2026-03-09T00:00:00Z"}
    answer = viewer.post(f"/console/mappings/preview/{DOC}", data={
        "text": edited, "record": json.dumps(later), "csrf_token": csrf_of(viewer, EDIT)})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "<html" in page and FROM_COMPANY in page and "Acme Logistics" in page  # the text kept, the effect shown


def test_posting_without_the_csrf_token_is_refused(signed_in, console_app):
    operator = signed_in["operator"]
    text = original(console_app)
    assert operator.post(EDIT, data={"text": text + "\n# x\n", "base_revision": ""}).status_code == 400
    assert operator.post(f"/console/mappings/rollback/{DOC}", data={"to": "baseline"}).status_code == 400
    assert services(console_app)[0].history(DOC) == []


def test_a_rollback_based_on_a_stale_revision_is_refused_on_its_confirmation_page(signed_in, console_app):
    text = original(console_app)
    operator = signed_in["operator"]
    assert save(operator, text + "\n# one\n").status_code == 302
    revisions = services(console_app)[0]
    first = revisions.read(DOC).revision_id
    assert save(operator, text + "\n# two\n", base=str(first)).status_code == 302
    stale = operator.post(f"/console/mappings/rollback/{DOC}", data={
        "to": "baseline", "base_revision": str(first), "csrf_token": csrf_of(operator, EDIT)})
    assert stale.status_code == 409 and "read it again" in stale.get_data(as_text=True)
    assert revisions.read(DOC).text == text + "\n# two\n"
    assert operator.get(f"/console/mappings/rollback/{DOC}?to=nonsense").status_code == 302  # back to the history
    assert operator.get(f"/console/mappings/rollback/{DOC}?to=999999").status_code == 404
    shown = operator.get(f"{EDIT}?saved=<b>x</b>").get_data(as_text=True)
    assert "Saved as revision" not in shown
