"""HubSpot sandbox against HubSpot's own SDK (hubspot-api-client): its models deserialise every answer.

The SDK is driven over loopback (``SandboxServer``) with its own client pointed at the sandbox
(``host``) and the sandbox's token, through the calls lifesync makes: objects list/get, search,
batch read/create/update/upsert, properties, associations (v4 batch read), the OAuth token
refresh and the error bodies.
The SDK's paths are the legacy ``/crm/v3``/``/crm/v4`` ones; the dated paths answer the same
shapes, checked by deserialising their bodies with the SDK's ``ApiClient``.

``STRICT`` turns on the SDK's client-side validation (off by default), so a required field the
sandbox leaves out is refused, not ignored. The one exception is a per-input error inside a
207 (``StandardError``): the SDK's spec requires ``links`` and ``errors`` there, but HubSpot
itself answers without them (``{"status", "category", "message", "context"}``:
https://community.hubspot.com/t5/APIs-Integrations/Question-about-batch-read-API/td-p/1098283),
so those answers are read with the SDK's default configuration and their fields checked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest as AssocBatch
from hubspot.crm.associations.v4 import PublicFetchAssociationsBatchRequest as AssocInput
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.oauth import ApiException as OAuthApiException

from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer


class _Body:
    """What the SDK's ``ApiClient.deserialize`` reads from a response: its ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data


@pytest.fixture(scope="module")
def portal():
    sandbox = HubSpotSandbox.seeded(40, 15, rate_per_10s=None, search_per_second=None)
    with SandboxServer(hubspot=sandbox) as server:
        yield sandbox, f"{server.url}/hubspot"


def sdk(base: str, token: str = HubSpotSandbox.TOKEN, *, strict: bool = True) -> HubSpot:
    return HubSpot(access_token=token, host=base, client_side_validation=strict)


def seeded_fields(sandbox: HubSpotSandbox, kind: str, record_id: str, names: list[str]) -> dict[str, str | None]:
    record = sandbox.get(kind, record_id)
    return {name: record["properties"].get(name) for name in names}


def test_list_pages_deserialise_with_properties_as_seeded(portal):
    sandbox, base = portal
    api = sdk(base)
    page = api.crm.contacts.basic_api.get_page(limit=7, properties=["email", "firstname", "city"])
    assert len(page.results) == 7 and page.paging.next.after
    for record in page.results:
        assert {k: record.properties.get(k) for k in ("email", "firstname", "city")} == \
            seeded_fields(sandbox, "contacts", record.id, ["email", "firstname", "city"])
        assert isinstance(record.created_at, datetime) and record.archived is False
    nxt = api.crm.contacts.basic_api.get_page(limit=7, after=page.paging.next.after)
    assert int(nxt.results[0].id) > int(page.results[-1].id)


def test_every_contact_walked_through_the_sdk_once(portal):
    sandbox, base = portal
    api = sdk(base)
    seen, after = [], None
    while True:
        page = api.crm.contacts.basic_api.get_page(limit=100, after=after, properties=["email"])
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    live = [r["id"] for r in sandbox.records("contacts")]
    assert seen[:len(live)] == live[:len(seen)] and len(set(seen)) == len(seen)


def test_get_by_id_and_deal_associations_deserialise(portal):
    sandbox, base = portal
    api = sdk(base)
    deals = api.crm.deals.basic_api.get_page(limit=15, properties=["dealname", "amount", "dealstage"],
                                             associations=["contacts"])
    linked = [d for d in deals.results if d.associations]
    assert linked, "the seed associates deals with contacts"
    deal = linked[0]
    contact_id = deal.associations["contacts"].results[0].id
    assert deal.properties["dealname"] == sandbox.get("deals", deal.id)["properties"]["dealname"]
    contact = api.crm.contacts.basic_api.get_by_id(contact_id, properties=["email", "lastname"])
    assert contact.id == contact_id
    assert contact.properties["email"] == sandbox.get("contacts", contact_id)["properties"]["email"]


def test_search_deserialises_with_total_and_paging(portal):
    sandbox, base = portal
    api = sdk(base)
    email = sandbox.records("contacts")[3]["properties"]["email"]
    found = api.crm.contacts.search_api.do_search(PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
        properties=["email", "firstname"], limit=10))
    assert found.total == 1 and found.results[0].properties["email"] == email
    since = api.crm.contacts.search_api.do_search(PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
        sorts=["lastmodifieddate"], properties=["email"], limit=5))
    assert since.total == len(sandbox.records("contacts")) and len(since.results) == 5
    assert since.paging.next.after


def test_batch_read_by_id_and_by_email(portal):
    sandbox, base = portal
    api = sdk(base)
    first, second = (r["id"] for r in sandbox.records("contacts")[:2])
    read = api.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=first), SimplePublicObjectId(id=second)], properties=["email"],
        properties_with_history=[]))
    assert read.status == "COMPLETE" and sorted(r.id for r in read.results) == sorted([first, second])
    email = sandbox.get("contacts", first)["properties"]["email"]
    by_email = api.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=email)], id_property="email", properties=["email"],
        properties_with_history=[]))
    assert [r.id for r in by_email.results] == [first]


def test_batch_answers_with_per_input_errors_deserialise(portal):
    _, base = portal
    api = sdk(base, strict=False)  # HubSpot's per-input errors carry no links/errors (module docstring)
    missing = api.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id="nobody@example.com")], id_property="email", properties=["email"],
        properties_with_history=[]))
    assert missing.num_errors == 1 and missing.errors[0].category == "OBJECT_NOT_FOUND"
    assert missing.errors[0].context == {"ids": ["nobody@example.com"]}
    update = api.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id="999999", properties={"lastname": "X"})]))
    assert update.errors[0].category == "OBJECT_NOT_FOUND" and update.errors[0].context == {"ids": ["999999"]}
    assoc = api.crm.associations.v4.batch_api.get_page("deals", "contacts", AssocBatch(
        inputs=[AssocInput(id="999999")]))
    assert assoc.results == [] and assoc.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_writes_deserialise_and_land_in_the_portal(portal):
    sandbox, base = portal
    api = sdk(base)
    created = api.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "sdk.one@example.com", "firstname": "Sdk"}))
    assert sandbox.get("contacts", created.id)["properties"]["firstname"] == "Sdk"
    updated = api.crm.contacts.basic_api.update(created.id, SimplePublicObjectInput(properties={"city": "Lyon"}))
    assert updated.properties["city"] == "Lyon" and updated.updated_at >= updated.created_at
    batch = api.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        SimplePublicObjectBatchInputForCreate(properties={"email": f"sdk.batch{i}@example.com"}) for i in range(3)]))
    assert batch.status == "COMPLETE" and len(batch.results) == 3
    changed = api.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=[
        SimplePublicObjectBatchInput(id=r.id, properties={"lastname": "Batch"}) for r in batch.results]))
    assert {r.properties["lastname"] for r in changed.results} == {"Batch"}
    upsert = api.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        SimplePublicObjectBatchInputUpsert(id="sdk.batch0@example.com", id_property="email",
                                           properties={"firstname": "Again"}),
        SimplePublicObjectBatchInputUpsert(id="sdk.new@example.com", id_property="email",
                                           properties={"firstname": "Fresh"})]))
    assert sorted((r.properties["firstname"], r.new) for r in upsert.results) == [("Again", False), ("Fresh", True)]


def test_properties_deserialise_into_the_sdks_property_model(portal):
    sandbox, base = portal
    api = sdk(base)
    every = api.crm.properties.core_api.get_all("contacts")
    assert {p.name for p in every.results} == set(sandbox.schema["contacts"])
    stage = api.crm.properties.core_api.get_by_name("contacts", "lifecyclestage")
    assert stage.type == "enumeration" and [o.value for o in stage.options][:2] == ["subscriber", "lead"]
    assert stage.modification_metadata.read_only_definition is True
    sandbox.add_property("contacts", "sdk_custom_score", type="number")
    custom = api.crm.properties.core_api.get_by_name("contacts", "sdk_custom_score")
    assert custom.modification_metadata.read_only_definition is False and custom.hubspot_defined is None


def test_association_batch_read_deserialises(portal):
    sandbox, base = portal
    api = sdk(base)
    deal = next(d for d in sandbox.records("deals") if sandbox.associations.of("deals", int(d["id"]), "contacts"))
    answer = api.crm.associations.v4.batch_api.get_page("deals", "contacts", AssocBatch(
        inputs=[AssocInput(id=deal["id"])]))
    assert answer.results[0]._from.id == deal["id"]
    linked = [str(t.to_object_id) for t in answer.results[0].to]
    assert linked == [str(i) for i in sandbox.associations.of("deals", int(deal["id"]), "contacts")]
    assert answer.results[0].to[0].association_types[0].category == "HUBSPOT_DEFINED"


@pytest.mark.parametrize(("call", "status", "category"), [
    (lambda api: api.crm.contacts.basic_api.get_by_id("999999"), 404, "OBJECT_NOT_FOUND"),
    (lambda api: api.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"nosuch": "x"})),
     400, "VALIDATION_ERROR"),
])
def test_error_bodies_deserialise_into_the_sdks_error_model(portal, call, status, category):
    _, base = portal
    api = sdk(base)
    with pytest.raises(ApiException) as raised:
        call(api)
    assert raised.value.status == status
    error = api.crm.contacts.basic_api.api_client.deserialize(_Body(raised.value.body), "Error")
    assert error.category == category and error.correlation_id and error.message


def test_a_wrong_token_is_the_sdks_401_error(portal):
    _, base = portal
    api = sdk(base, "pat-wrong")
    with pytest.raises(ApiException) as raised:
        api.crm.contacts.basic_api.get_page()
    assert raised.value.status == 401
    error = api.crm.contacts.basic_api.api_client.deserialize(_Body(raised.value.body), "Error")
    assert error.category == "INVALID_AUTHENTICATION"


@pytest.mark.parametrize(("method", "path", "body", "model"), [
    ("GET", "/crm/objects/2026-09/contacts?limit=3&properties=email",
     None, "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"),
    ("POST", "/crm/objects/2026-09/contacts/search", {"limit": 3, "properties": ["email"]},
     "CollectionResponseWithTotalSimplePublicObjectForwardPaging"),
    ("POST", "/crm/objects/2026-09/contacts/batch/upsert",
     {"inputs": [{"id": "dated@example.com", "idProperty": "email", "properties": {"firstname": "Dated"}}]},
     "BatchResponseSimplePublicUpsertObject"),
])
def test_dated_paths_answer_what_the_sdks_models_read(portal, method, path, body, model):
    _, base = portal
    response = requests.request(method, base + path, json=body, timeout=10,
                                headers={"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"})
    assert response.status_code in (200, 201)
    client = sdk(base).crm.contacts.basic_api.api_client
    parsed = client.deserialize(_Body(response.content), model)
    assert parsed.results and json.loads(response.content)["results"][0]["id"] == parsed.results[0].id


def test_dated_properties_and_associations_answer_what_the_sdks_models_read(portal):
    sandbox, base = portal
    auth = {"Authorization": f"Bearer {HubSpotSandbox.TOKEN}"}
    api = sdk(base)
    prop = requests.get(f"{base}/crm/properties/2026-09/contacts/email", headers=auth, timeout=10)
    parsed = api.crm.properties.core_api.api_client.deserialize(_Body(prop.content), "ModelProperty")
    assert parsed.name == "email" and parsed.has_unique_value is True
    deal = next(d for d in sandbox.records("deals") if sandbox.associations.of("deals", int(d["id"]), "contacts"))
    assoc = requests.post(f"{base}/crm/associations/2026-09/deals/contacts/batch/read", headers=auth, timeout=10,
                          json={"inputs": [{"id": deal["id"]}]})
    answer = api.crm.associations.v4.batch_api.api_client.deserialize(
        _Body(assoc.content), "BatchResponsePublicAssociationMultiWithLabel")
    assert answer.results[0]._from.id == deal["id"]
    assert answer.completed_at.tzinfo is not None and answer.completed_at <= datetime.now(UTC)


def test_oauth_refresh_and_its_error_deserialise(portal):
    sandbox, base = portal
    api = HubSpot(host=base, client_side_validation=True)
    token = api.oauth.tokens_api.create(grant_type="refresh_token", client_id=sandbox.CLIENT_ID,
                                        client_secret=sandbox.CLIENT_SECRET, refresh_token=sandbox.REFRESH_TOKEN)
    assert token.token_type == "bearer" and token.expires_in > 0
    assert sdk(base, token.access_token).crm.contacts.basic_api.get_page(limit=1).results
    with pytest.raises(OAuthApiException) as refused:
        api.oauth.tokens_api.create(grant_type="refresh_token", client_id=sandbox.CLIENT_ID, client_secret="wrong",
                                    refresh_token=sandbox.REFRESH_TOKEN)
    assert refused.value.status == 400
    # The SDK's oauth Error model (category required, no status) describes the v3 token endpoint; /oauth/v1/token
    # answers {"status": "BAD_CLIENT_SECRET"|"BAD_REFRESH_TOKEN", "message"} without a category
    # (https://www.nango.dev/blog/hubspot-oauth-bad-refresh-token), so it is read with the SDK's default config
    lenient = HubSpot(host=base).oauth.tokens_api.api_client
    error = lenient.deserialize(_Body(refused.value.body), "Error")
    assert error.message == "missing or invalid client secret" and error.correlation_id
    assert json.loads(refused.value.body)["status"] == "BAD_CLIENT_SECRET"
