"""The Salesforce sandbox behind the real loopback server, mounted under /salesforce."""

from __future__ import annotations

import requests

from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer


def test_instance_url_and_next_records_url_work_through_the_mount():
    sandbox = SalesforceSandbox.seeded(leads=30, query_batch_size=12)
    with SandboxServer(salesforce=sandbox) as server, requests.Session() as http:
        token = http.post(f"{server.url}/salesforce/services/oauth2/token", timeout=5, data={
            "grant_type": "refresh_token", "client_id": sandbox.CLIENT_ID, "client_secret": sandbox.CLIENT_SECRET,
            "refresh_token": sandbox.REFRESH_TOKEN}).json()
        instance = token["instance_url"]
        assert instance == f"{server.url}/salesforce"
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        page = http.get(f"{instance}/services/data/v60.0/query", params={"q": "SELECT Id FROM Lead ORDER BY Id"},
                        timeout=5).json()
        ids = [r["Id"] for r in page["records"]]
        while not page["done"]:
            response = http.get(instance + page["nextRecordsUrl"], timeout=5)
            assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
            page = response.json()
            ids += [r["Id"] for r in page["records"]]
        assert ids == sorted(r["Id"] for r in sandbox.records("Lead"))
        assert sandbox.api_calls == 3
