"""respondio_tag: a segment as a respond.io tag or custom field (unit tests with ``responses``, then the sandbox)."""

from __future__ import annotations

import json

import pytest
import responses

from sync.errors import SettingsError
from sync.sandbox.respondio import RespondioSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.segments.destinations.respondio import RespondioTag
from sync.settings import Settings

API = "https://api.respond.io/v2"
AUDIENCE = Audience(key="lapsed-customers", label="Lapsed customers")


def _dest(env: dict[str, str] | None = None, sleep=lambda s: None, **options: str) -> RespondioTag:
    settings = Settings.from_env(env if env is not None else {"LIFESYNC_RESPONDIO_API_TOKEN": "tok"})
    config = RespondioTag.from_settings("rio-lapsed", options, settings)
    dest = build(config)
    dest.client.sleep = sleep
    return dest


def test_the_kind_is_registered_with_the_vendor_limits():
    assert kind("respondio_tag") is RespondioTag
    assert RespondioTag.max_batch == 1 and RespondioTag.purpose == "marketing_messages"


def test_settings_errors_name_the_variable_and_the_option():
    with pytest.raises(SettingsError, match="LIFESYNC_RESPONDIO_API_TOKEN__SALON2"):
        RespondioTag.from_settings("rio", {"connection": "salon2"}, Settings.from_env({}))
    with pytest.raises(SettingsError, match=r"unknown option.*colour"):
        RespondioTag.from_settings("rio", {"colour": "red"}, Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN": "t"}))
    with pytest.raises(SettingsError, match="at most 255"):
        RespondioTag.from_settings("rio", {"tag": "x" * 256}, Settings.from_env({"LIFESYNC_RESPONDIO_API_TOKEN": "t"}))


def test_a_named_connection_uses_its_own_token_and_url():
    env = {"LIFESYNC_RESPONDIO_API_TOKEN": "default-tok", "LIFESYNC_RESPONDIO_API_TOKEN__SALON2": "salon-tok",
           "LIFESYNC_RESPONDIO_API_URL__SALON2": "https://rio.example/v2"}
    config = RespondioTag.from_settings("rio", {"connection": "salon2"}, Settings.from_env(env))
    assert "default-tok" not in config.credentials.values() and "default-tok" not in repr(config)
    dest = build(config)
    with responses.RequestsMock() as mock:
        mock.post("https://rio.example/v2/contact/id:5/tag", json={"contactId": 5})
        assert dest.add("vip", [Entry(1, {"identifier": "id:5"})])[0].status == "done"
        assert mock.calls[0].request.headers["Authorization"] == "Bearer salon-tok"


def test_keys_prefer_the_respondio_id_then_email_then_phone():
    dest = _dest()
    member = AudienceMember(1, emails=("A@B.co",), identities=(("respondio", "88"),))
    assert dest.keys(member) == {"identifier": "id:88"}
    assert dest.keys(AudienceMember(1, emails=("A@B.co",), phones=("+60121233112",))) == {"identifier": "email:a@b.co"}
    assert dest.keys(AudienceMember(1, emails=("not an email",), phones=("+60121233112",))) == {
        "identifier": "phone:+60121233112"}
    with pytest.raises(Unmatchable, match=r"respond\.io needs"):
        dest.keys(AudienceMember(1, identities=(("hubspot", "501"),)))


def test_ensure_is_the_tag_option_or_the_segment_key():
    assert _dest().ensure(AUDIENCE) == "lapsed-customers"
    assert _dest(tag="Lapsed (60d)").ensure(AUDIENCE) == "Lapsed (60d)"
    assert _dest(field="segment").ensure(AUDIENCE) == "segment"


@responses.activate
def test_add_posts_the_tag_array_for_the_encoded_identifier_and_remove_deletes_it():
    responses.post(f"{API}/contact/phone:%2B60121233112/tag", json={"contactId": 9})
    responses.delete(f"{API}/contact/phone:%2B60121233112/tag", json={"contactId": 9})
    dest = _dest()
    entry = Entry(7, {"identifier": "phone:+60121233112"})
    assert [r.status for r in dest.add("lapsed", [entry])] == ["done"]
    assert [r.status for r in dest.remove("lapsed", [entry])] == ["done"]
    add, remove = responses.calls
    assert add.request.method == "POST" and json.loads(add.request.body) == ["lapsed"]
    assert remove.request.method == "DELETE" and json.loads(remove.request.body) == ["lapsed"]


@responses.activate
def test_field_mode_sets_and_clears_the_custom_field():
    responses.put(f"{API}/contact/id:5", json={"contactId": 5})
    dest = _dest(field="segment", value="lapsed")
    dest.add("segment", [Entry(1, {"identifier": "id:5"})])
    dest.remove("segment", [Entry(1, {"identifier": "id:5"})])
    bodies = [json.loads(c.request.body) for c in responses.calls]
    assert bodies == [{"custom_fields": [{"name": "segment", "value": "lapsed"}]},
                      {"custom_fields": [{"name": "segment", "value": None}]}]


@responses.activate
def test_statuses_unknown_contact_fails_refusal_fails_rate_limit_and_outage_retry():
    responses.post(f"{API}/contact/id:1/tag", status=404, json={"message": "Contact not found."})
    responses.post(f"{API}/contact/id:2/tag", status=400, json={"message": "Validation error."})
    responses.post(f"{API}/contact/id:3/tag", status=429, headers={"Retry-After": "60"}, json={})
    responses.post(f"{API}/contact/id:4/tag", status=503, json={})
    responses.post(f"{API}/contact/id:5/tag", status=401, json={"message": "UN_AUTHORIZED"})
    responses.delete(f"{API}/contact/id:1/tag", status=404, json={"message": "Contact not found."})
    dest = _dest()
    results = [dest.add("t", [Entry(n, {"identifier": f"id:{n}"})])[0] for n in range(1, 6)]
    assert [r.status for r in results] == ["failed", "failed", "retry", "retry", "retry"]
    assert "404" in results[0].reason and "400" in results[1].reason
    assert "LIFESYNC_RESPONDIO_API_TOKEN" in results[4].reason
    assert dest.remove("t", [Entry(1, {"identifier": "id:1"})])[0].status == "done"  # no contact, no tag


# ---- against the sandbox -------------------------------------------------------------------------------------


@pytest.fixture
def rio():
    sandbox = RespondioSandbox()
    with SandboxServer(respondio=sandbox) as server:
        yield sandbox, server


def _sandbox_dest(server: SandboxServer, **options: str) -> RespondioTag:
    return build(RespondioTag.from_settings("rio", options, Settings.from_env(server.env())))


def test_sandbox_add_then_remove_by_every_identifier_and_an_unknown_contact_fails_alone(rio):
    sandbox, server = rio
    by_id = sandbox.add_contact(email="x@example.com")
    by_email = sandbox.add_contact(email="ana@example.com")
    by_phone = sandbox.add_contact(phone="+34600111222")
    dest = _sandbox_dest(server)
    members = [AudienceMember(1, identities=(("respondio", str(by_id)),)),
               AudienceMember(2, emails=("Ana@Example.com",)),
               AudienceMember(3, phones=("+34600111222",)), AudienceMember(4, emails=("nobody@example.com",))]
    tag = dest.ensure(AUDIENCE)
    results = [dest.add(tag, [Entry(m.contact_id, dest.keys(m))])[0] for m in members]
    assert [r.status for r in results] == ["done", "done", "done", "failed"]
    assert all(sandbox.contact(c).tags == ["lapsed-customers"] for c in (by_id, by_email, by_phone))
    for m in members[:3]:
        assert dest.remove(tag, [Entry(m.contact_id, dest.keys(m))])[0].status == "done"
    assert all(sandbox.contact(c).tags == [] for c in (by_id, by_email, by_phone))


def test_sandbox_refuses_a_bad_token_more_than_ten_tags_and_a_bad_identifier(rio):
    sandbox, server = rio
    contact = sandbox.add_contact(email="a@example.com")
    env = {**server.env(), "LIFESYNC_RESPONDIO_API_TOKEN": "wrong"}
    bad = build(RespondioTag.from_settings("rio", {}, Settings.from_env(env)))
    assert bad.add("t", [Entry(1, {"identifier": f"id:{contact}"})])[0].status == "retry"
    dest = _sandbox_dest(server)
    http = dest.client.session
    url = f"{server.url}/respondio/contact/id:{contact}/tag"
    assert http.post(url, json=[f"t{n}" for n in range(11)]).status_code == 400
    assert http.post(url, json=["dup", "dup"]).status_code == 400
    assert http.post(f"{server.url}/respondio/contact/name:ana/tag", json=["t"]).status_code == 400
    assert sandbox.contact(contact).tags == []


def test_sandbox_rate_limit_is_waited_out_not_failed(rio):
    sandbox, server = rio
    sandbox.rate_per_second = 2
    contact = sandbox.add_contact(email="a@example.com")
    dest = _sandbox_dest(server)
    results = [dest.add(f"t{n}", [Entry(1, {"identifier": f"id:{contact}"})])[0] for n in range(4)]
    assert [r.status for r in results] == ["done"] * 4
    assert sandbox.contact(contact).tags == ["t0", "t1", "t2", "t3"]
    assert sandbox.calls["POST /contact/<identifier>/tag"] == 4 + sandbox.rate_limited


def test_sandbox_field_mode_needs_a_defined_field(rio):
    sandbox, server = rio
    contact = sandbox.add_contact(email="a@example.com")
    good = _sandbox_dest(server, field="segment", value="lapsed")
    assert good.add("segment", [Entry(1, {"identifier": f"id:{contact}"})])[0].status == "done"
    assert sandbox.contact(contact).custom_fields == {"segment": "lapsed"}
    good.remove("segment", [Entry(1, {"identifier": f"id:{contact}"})])
    assert sandbox.contact(contact).custom_fields == {}
    unknown = _sandbox_dest(server, field="no_such_field")
    result = unknown.add("no_such_field", [Entry(1, {"identifier": f"id:{contact}"})])[0]
    assert result.status == "failed" and "400" in result.reason


def test_a_seeded_workspace_is_tagged_by_the_seeded_e_mail_and_phone():
    sandbox = RespondioSandbox.seeded(3, seed=7)
    first, second = list(sandbox.contacts.values())[:2]
    with SandboxServer(respondio=sandbox) as server:
        dest = _sandbox_dest(server)
        by_email = dest.keys(AudienceMember(1, emails=(first.email.upper(),)))
        by_phone = dest.keys(AudienceMember(2, phones=(second.phone,)))
        assert [dest.add("vip", [Entry(n, k)])[0].status for n, k in ((1, by_email), (2, by_phone))] == ["done"] * 2
    assert first.tags == ["vip"] and second.tags == ["vip"]
