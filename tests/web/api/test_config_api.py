"""/api/config and /api/mappings/preview: edits validated and stored as revisions, previews that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.test_preview import dump
from web.api.conftest import BOOTSTRAP, bearer

from sync.ingest.pipeline import ingest

ADMIN = bearer(BOOTSTRAP)
DOC = "mappings/hubspot_contacts.yaml"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
RECORD = json.loads((FIXTURES / "hubspot" / "contact.json").read_text())


def text_of(api) -> tuple[str, int | None]:
    doc = api.get(f"/api/config/documents/{DOC}", headers=ADMIN).json
    return doc["text"], doc["revision_id"]


def test_edit_history_diff_rollback_and_audit(api):
    text, base = text_of(api)
    assert base is None and DOC in [d["name"] for d in api.get("/api/config/documents", headers=ADMIN).json["items"]]
    edited = text.replace("first_name: {path: properties.firstname", "first_name: {path: properties.company")
    saved = api.put(f"/api/config/documents/{DOC}", json={"text": edited, "base_revision": None,
                                                          "comment": "first name from company"}, headers=ADMIN)
    assert saved.status_code == 200
    rev = saved.json["revision"]["id"]
    assert text_of(api) == (edited, rev)
    history = api.get(f"/api/config/documents/{DOC}/revisions", headers=ADMIN).json["items"]
    assert [(h["id"], h["author"], h["comment"]) for h in history] == [(rev, "LIFESYNC_OPS_TOKEN",
                                                                         "first name from company")]
    diff = api.get("/api/config/diff", query_string={"to": rev}, headers=ADMIN).json["diff"]
    assert "-  first_name: {path: properties.firstname" in diff and "+  first_name: {path: properties.company" in diff
    back = api.post(f"/api/config/documents/{DOC}/rollback", json={"revision": None, "base_revision": rev},
                    headers=ADMIN)
    assert back.status_code == 200 and text_of(api)[0] == text
    assert api.get(f"/api/config/revisions/{rev}", headers=ADMIN).json["text"] == edited
    actions = [(e["action"], e["target_id"]) for e in api.get("/api/audit", headers=ADMIN).json["items"]]
    assert actions == [("config.edit", DOC), ("config.edit", DOC)]


def test_an_invalid_edit_is_422_with_file_line_and_key_and_stores_nothing(api):
    text, _ = text_of(api)
    bad = text.replace("transforms: [email], direction: both}", "transforms: [no_such_transform], direction: both}",
                       1)
    res = api.put(f"/api/config/documents/{DOC}", json={"text": bad, "base_revision": None}, headers=ADMIN)
    assert res.status_code == 422
    [issue] = res.json["errors"]["issues"]
    assert issue["file"] == f"{DOC} (proposed)" and issue["line"] and "no_such_transform" in issue["message"]
    assert text_of(api) == (text, None) and api.get("/api/audit", headers=ADMIN).json["items"] == []
    checked = api.post("/api/config/validate", json={"documents": {DOC: bad}}, headers=ADMIN).json
    assert checked["valid"] is False and checked["issues"] == res.json["errors"]["issues"]
    assert api.post("/api/config/validate", json={"documents": {DOC: text}}, headers=ADMIN).json["valid"] is True


def test_an_edit_of_a_stale_revision_is_409(api):
    text, _ = text_of(api)
    first = api.put(f"/api/config/documents/{DOC}", json={"text": text + "\n# one\n", "base_revision": None},
                    headers=ADMIN)
    assert first.status_code == 200
    second = api.put(f"/api/config/documents/{DOC}", json={"text": text + "\n# two\n", "base_revision": None},
                     headers=ADMIN)
    assert second.status_code == 409 and "read it again" in second.json["message"]


def test_unknown_documents_and_revisions_are_404(api):
    assert api.get("/api/config/documents/mappings/nope.yaml", headers=ADMIN).status_code == 404
    assert api.get("/api/config/documents/../../etc/passwd", headers=ADMIN).status_code == 404
    assert api.get("/api/config/revisions/4242", headers=ADMIN).status_code == 404


def test_a_preview_of_an_unsaved_mapping_writes_nothing(api, store):
    ingest("hubspot", "contacts", [RECORD], store=store)
    text, _ = text_of(api)
    edited = text.replace("first_name: {path: properties.firstname", "first_name: {path: properties.company")
    before = dump(store)
    later = {**RECORD, "updatedAt": "2026-03-09T00:00:00Z"}
    res = api.post("/api/mappings/preview", json={"document": DOC, "text": edited, "record": later}, headers=ADMIN)
    assert res.status_code == 200 and dump(store) == before
    [contact] = res.json["contacts"]
    change = next(f for f in contact["fields"] if f["field"] == "first_name")
    assert change["after"]["value"] == "Acme Logistics" and change["before"]["value"] == "Ana María"
    saved = api.post("/api/mappings/preview", json={"source": "hubspot", "object": "contacts", "record": RECORD},
                     headers=ADMIN).json
    assert saved["outcome"]["changed"] is False and saved["contacts"][0]["fields"] == []


def test_a_lifecycle_or_conversions_edit_is_previewed_through_a_named_mapping(api, store):
    ingest("hubspot", "contacts", [RECORD], store=store)
    body = {"document": "lifecycle.yaml", "record": RECORD}  # its active text (these tests cap bodies at 4 kB)
    unnamed = api.post("/api/mappings/preview", json=body, headers=ADMIN)
    assert unnamed.status_code == 422 and "name the mapping to preview it through" in unnamed.json["message"]
    res = api.post("/api/mappings/preview", json={**body, "source": "hubspot", "object": "contacts"}, headers=ADMIN)
    assert res.status_code == 200 and res.json["mapping"]["name"] == "hubspot_contacts"
    broken = api.post("/api/mappings/preview", json={**body, "text": "stages: [", "source": "hubspot",
                                                      "object": "contacts"}, headers=ADMIN)
    assert broken.status_code == 422 and broken.json["errors"]["issues"][0]["file"] == "lifecycle.yaml (proposed)"


def test_a_preview_of_an_invalid_mapping_text_names_the_issue(api):
    res = api.post("/api/mappings/preview", json={"document": DOC, "text": "source: [", "record": RECORD},
                   headers=ADMIN)
    assert res.status_code == 422 and res.json["errors"]["issues"][0]["file"] == f"{DOC} (proposed)"


def test_a_preview_needs_a_mapping_and_a_record(api):
    assert api.post("/api/mappings/preview", json={"record": RECORD}, headers=ADMIN).status_code == 422
    assert api.post("/api/mappings/preview", json={"source": "hubspot", "object": "contacts"},
                    headers=ADMIN).status_code == 422
    res = api.post("/api/mappings/preview", json={"source": "hubspot", "object": "contacts", "contact_id": 5},
                   headers=ADMIN)
    assert res.status_code == 404 and "no contact with id 5" in res.json["message"]


def test_a_preview_refuses_a_stage_the_lifecycle_lacks_as_config_check_does(api, tmp_path):
    from sync.config import BUNDLED_CONFIG_DIR
    from sync.config.loader import check_mapping, load_lifecycle

    text, _ = text_of(api)
    edited = text.replace("customer: Customer", "customer: Platinum Customer")
    res = api.post("/api/mappings/preview", json={"document": DOC, "text": edited, "record": RECORD}, headers=ADMIN)
    assert res.status_code == 422
    (tmp_path / "hubspot_contacts.yaml").write_text(edited)
    _, issues = check_mapping(tmp_path / "hubspot_contacts.yaml", load_lifecycle(BUNDLED_CONFIG_DIR / "lifecycle.yaml"))
    assert [(i["path"], i["line"], i["message"]) for i in res.json["errors"]["issues"]] == [
        (i.path, i.line, i.message) for i in issues]
    assert "can produce stage 'Platinum Customer'" in issues[0].message
