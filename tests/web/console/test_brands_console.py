"""Brands in the console: the reports page offers the brands a token sees, and refuses a brand it may not see."""

from __future__ import annotations

import pytest
from support.brands import brand_config_dir
from support.console import sign_in
from support.ops_app import ops_app

from sync.access import tokens
from sync.access.roles import Principal
from sync.config import load_config

ADMIN = Principal(name="test-setup", role="admin", via="cli")


@pytest.fixture
def brand_console(store, console_settings, tmp_path):
    app = ops_app(console_settings, store, load_config(brand_config_dir(tmp_path)))

    def client_of(brands: list[str] | None):
        name = f"viewer of {' '.join(brands or ['every brand'])}"
        token = tokens.create(store, ADMIN, name, "viewer", brands=brands)[1]
        client = app.test_client()
        assert sign_in(client, token).status_code == 302
        return client
    return client_of


def test_the_reports_page_offers_the_brands_a_token_sees_and_refuses_another(brand_console):
    every = brand_console(None).get("/console/reports?brand=lumen")
    page = every.get_data(as_text=True)
    assert every.status_code == 200 and 'name="brand"' in page
    assert '<option value="lumen" selected>Lumen Spa</option>' in page and "Glow Salons" in page
    lumen = brand_console(["lumen"])
    own = lumen.get("/console/reports").get_data(as_text=True)
    assert '<option value="lumen" selected>Lumen Spa</option>' in own and "Glow Salons" not in own
    assert 'id="reports-activity"' in page and 'id="reports-activity"' not in own  # every brand's: not for it
    assert lumen.get("/console/reports/activity").status_code == 403
    assert lumen.get("/console/reports?brand=default").status_code == 403
    assert lumen.get("/console/reports/funnel.csv?brand=default").status_code == 403
