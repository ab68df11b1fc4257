"""The overview on an empty database: every part renders and says there is nothing yet (its own module:
the function-scoped ``store`` empties the database the demo-filled module shares)."""

from __future__ import annotations

HTMX = {"HX-Request": "true"}


def test_an_empty_database_shows_every_part_empty(signed_in):
    viewer = signed_in["viewer"]
    page = viewer.get("/console/overview").get_data(as_text=True)
    assert "No open dead letters." in page
    assert 'id="inbox-lag"><span class="figure">0s</span>' in page  # i18n.duration, narrow units
    said = {"funnel": '<td class="num">0</td>', "lost": "Nobody was lost in this period.",
            "conversions": "No conversions in this period.", "connections": "Connections failing: 0"}
    for part, text in said.items():
        answer = viewer.get(f"/console/overview/{part}", headers=HTMX)
        assert answer.status_code == 200 and text in answer.get_data(as_text=True), part
    assert "No conversion was sent to an ad network in this period." in viewer.get(
        "/console/overview/conversions", headers=HTMX).get_data(as_text=True)
