"""The Segments pages: list with sizes, a segment with its members and size chart, preview before saving — in
English and Arabic (a token limited to brands: tests/web/api/test_segments_api.py, the same functions)."""

from __future__ import annotations

from datetime import UTC, datetime

from support.console import csrf_of
from support.segments import contact

from sync.segments.membership import evaluate


def test_list_detail_and_preview(console_app, signed_in, store, config):
    with store.transaction() as s:
        hot = contact(s, stage="Hot Lead", fields={"first_name": "Ana"}, touches=({"network": "meta"},),
                      messages=(("inbound", datetime.now(UTC)),))
    evaluate(store, config.segments)
    viewer = signed_in["viewer"]
    listed = viewer.get("/console/segments").get_data(as_text=True)
    assert "Hot leads from click-to-WhatsApp ads" in listed and "Lapsed customers" in listed
    page = viewer.get("/console/segments/hot-leads-ctwa").get_data(as_text=True)
    assert f"#{hot}" in page and "Ana" in page and '<svg class="chart days"' in page
    assert "/console/mappings/edit/segments/hot-leads-ctwa.yaml" in page  # edited as a configuration document
    token = csrf_of(viewer, "/console/segments")
    text = "label: H\nconditions: [{stage: Hot Lead}]\n"
    answer = viewer.post("/console/segments/preview", data={"key": "hot", "text": text, "csrf_token": token})
    assert answer.status_code == 200 and "1 contacts are in this segment now." in answer.get_data(as_text=True)
    wrong = viewer.post("/console/segments/preview", data={"key": "hot", "text": text.replace("Hot Lead", "X"),
                                                           "csrf_token": token})
    assert wrong.status_code == 422 and "Line 2" in wrong.get_data(as_text=True)
    assert viewer.get("/console/segments/nope").status_code == 404


def test_the_page_in_arabic_is_right_to_left(console_app, signed_in):
    viewer = signed_in["viewer"]
    viewer.post("/console/language", data={"lang": "ar", "csrf_token": csrf_of(viewer, "/console/segments")})
    body = viewer.get("/console/segments").get_data(as_text=True)
    assert 'dir="rtl"' in body and "الشرائح" in body and "Segments" not in body.split("<main", 1)[1]
