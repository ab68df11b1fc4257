"""The demo's privacy story: the consent its sources carried, what the policies did at each exit, one person forgotten.

Consent arrives with the traffic (``sync.demo.messaging``): the shop's checkout sends its offers
checkbox and the visitor's cookie-banner answer, and some WhatsApp users stop marketing messages
(``user_preferences`` webhooks). ``privacy.yaml``'s policies then decide, per contact and exit,
whether a conversion or an audience member is sent, restricted, stripped or withheld
(``deliveries.policy``).

``forget_someone`` then forgets one lapsed customer (in the Google list, and in a CRM) as a
data-protection request would (``contacts forget --upstream``), and checks what it promises, each
against the thing itself rather than lifesync's own counts: the Google sandbox's list no longer
holds their identifiers, the CRM sandboxes no longer hold their records, their e-mail ordering
again from the shop recreates no one, and a dump of every table holds neither their e-mail nor
their phone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from sync.access.roles import Principal
from sync.ingest.inbox import process_events
from sync.privacy.erasure import forget
from sync.privacy.verify import found_in
from sync.store import model

if TYPE_CHECKING:
    from collections.abc import Callable

    from sync.config import Config
    from sync.demo.story import World
    from sync.store.engine import Store

DPO = Principal(name="demo:dpo", role="admin", via="cli")  # the demo's data-protection officer
# (destination, kind, segment) the forgotten person is taken from: a lapsed customer, in the CRMs too
AUDIENCE = ("google-lapsed", "google_customer_match", "lapsed-customers")


@dataclass
class Forgotten:
    """What forgetting one person did, and what the checks found afterwards."""

    contact_id: int
    erasure: dict[str, Any]
    audience_rows_left: int  # of the identifiers sent for the person, those the Google sandbox's list still holds
    crm_records_left: int  # of the person's HubSpot / Salesforce records, those the sandboxes still hold
    recreated: bool  # their e-mail ordering again made a contact
    suppressed: int  # records dropped as a forgotten person's when they ordered again
    found_in: list[str]  # tables whose dump still holds their e-mail or phone


@dataclass
class PrivacyOutcome:
    """Consent per purpose, deliveries per policy, and the forgotten person (None: no one to forget)."""

    consent: dict[str, Counter[bool]] = field(default_factory=dict)
    policies: dict[str, Counter[str]] = field(default_factory=dict)  # destination -> policy -> deliveries
    forgotten: Forgotten | None = None


def consent_and_policies(store: Store) -> PrivacyOutcome:
    """How many contacts granted or withdrew each purpose; each destination's deliveries by policy."""
    out = PrivacyOutcome()
    with store.transaction() as session:
        for consent in session.scalars(select(model.Contact.consent)):
            for purpose, value in (consent or {}).items():
                if isinstance(value, bool):
                    out.consent.setdefault(purpose, Counter())[value] += 1
        d = model.Delivery
        for destination, policy, n in session.execute(
                select(d.destination, d.policy, func.count()).where(d.policy.is_not(None))
                .group_by(d.destination, d.policy)):
            out.policies.setdefault(destination, Counter())[policy] += n
    return out


def _person(store: Store) -> tuple[int, dict[str, str], Any] | None:
    """A member of the lapsed customers' Google list with an e-mail, one in a CRM if any: (id, identities, keys)."""
    m, i = model.AudienceMemberState, model.Identity
    destination, _, segment = AUDIENCE
    with store.transaction() as session:
        members = session.execute(select(m.contact_id, m.keys).where(
            m.destination == destination, m.segment == segment, m.state == "added").order_by(m.contact_id)).all()
        fallback = None
        for contact_id, keys in members:
            ids = dict(session.execute(select(i.kind, i.value).where(i.contact_id == contact_id)).all())
            if "email" not in ids:
                continue
            if ids.keys() & {"hubspot", "salesforce", "salesforce_lead"}:  # deleted upstream too
                return contact_id, ids, keys
            fallback = fallback or (contact_id, ids, keys)
    return fallback


def _tables_holding(store: Store, values: list[str]) -> list[str]:
    """The tables whose rows, written out as text, still contain one of ``values``."""
    return sorted({line.split(":", 1)[0] for lines in found_in(store, values).values() for line in lines})


def _crm_records_left(world: World, ids: dict[str, str]) -> int:
    """Of the person's HubSpot and Salesforce records, how many the sandboxes still hold."""
    left = 0
    if "hubspot" in ids:
        try:
            world.hubspot.get("contacts", ids["hubspot"])
            left += 1
        except KeyError:  # a GDPR delete removes the record for good
            pass
    for kind, sobject in (("salesforce", "Contact"), ("salesforce_lead", "Lead")):
        if kind in ids:  # a deleted record goes to the recycle bin: no longer live
            left += world.salesforce.store.row(sobject, ids[kind]) is not None
    return left


def _write_again(world: World, store: Store, config: Config, email: str) -> tuple[int, int]:
    """The person orders again from the shop (signed webhook, inbox, drain); (contacts with the e-mail, suppressed)."""
    from sync.demo.story import _shop_signed
    from sync.web.app import create_app

    stored: list[int] = []
    client = create_app(world.settings, store=store, config=config, enqueue=stored.extend).test_client()
    now = model.utcnow().isoformat()
    body = json.dumps({"id": "demo-forgotten-again", "status": "cart", "total": "49.00", "currency": "usd",
                       "created_at": now, "updated_at": now, "customer": {"email": email}}).encode()
    client.post("/webhooks/generic/shop", data=body, headers=_shop_signed(body, str(int(time.time()))))
    result = process_events(store, config, stored)
    with store.transaction() as session:
        recreated = session.scalar(select(func.count()).select_from(model.Identity).where(
            model.Identity.kind == "email", model.Identity.value == email))
    return recreated or 0, result.suppressed


def forget_someone(world: World, store: Store, config: Config) -> Forgotten | None:
    """Forget one lapsed customer everywhere (with ``--upstream``), then check each promise."""
    from sync.demo.audiences import _units, sandbox_units

    found = _person(store)
    if found is None:
        return None
    contact_id, ids, keys = found
    erasure = forget(store, config, world.settings, contact_id, DPO, upstream=True)
    destination, kind, segment = AUDIENCE
    with store.transaction() as session:
        remote = session.get(model.Audience, (destination, segment))
    held, _ = sandbox_units(world, kind, remote.remote_id, {}) if remote and remote.remote_id else (set(), "")
    recreated, suppressed = _write_again(world, store, config, ids["email"])
    return Forgotten(contact_id, erasure, len(_units(kind, keys or {}) & held), _crm_records_left(world, ids),
                     bool(recreated), suppressed, _tables_holding(store, [ids["email"], ids.get("phone", "")]))


def privacy_story(world: World, store: Store, config: Config) -> PrivacyOutcome:
    """Count consent and policies (before anyone is forgotten), then forget one person and check."""
    out = consent_and_policies(store)
    out.forgotten = forget_someone(world, store, config)
    return out


def print_privacy(out: PrivacyOutcome, echo: Callable[[str], None]) -> None:
    """Consent per purpose, each destination's deliveries by policy, and the erasure with its checks."""
    echo("")
    echo("Privacy (consent from the sources, policies from privacy.yaml)")
    for purpose, n in sorted(out.consent.items()):
        echo(f"  consent {purpose:<20} granted {n[True]:>6,}   withdrawn {n[False]:>6,}")
    for destination, n in sorted(out.policies.items()):
        echo(f"  {destination:<12} " + ", ".join(f"{policy} {count:,}" for policy, count in sorted(n.items())))
    f = out.forgotten
    if f is None:
        echo("  no lapsed customer in the Google list to forget")
        return
    counts = f.erasure["counts"]
    rows = sum(v for k, v in counts.items() if isinstance(v, int) and k not in ("raw_events", "suppressions"))
    upstream = ", ".join(f"{system} {r['status']}" for system, r in sorted(f.erasure["upstream"].items())) or "none"
    echo(f"  forgot contact {f.contact_id} (erasure {f.erasure['id']}, by {f.erasure['actor']}): {rows:,} rows "
         f"deleted, {counts.get('raw_events', 0):,} inbox bodies emptied, {counts.get('suppressions', 0):,} "
         f"suppression digests kept; audiences: "
         + (", ".join(f"{k} {v}" for k, v in sorted(counts.get("audiences", {}).items())) or "none")
         + f"; upstream: {upstream}")
    checks = [("the Google sandbox's list holds none of their identifiers", f.audience_rows_left == 0),
              ("the CRM sandboxes hold none of their records", f.crm_records_left == 0),
              (f"their e-mail ordering again from the shop recreated no one ({f.suppressed} record suppressed)",
               not f.recreated and f.suppressed > 0),
              ("no table holds their e-mail or phone" if not f.found_in
               else "still held in " + ", ".join(f.found_in), not f.found_in)]
    for text, ok in checks:
        echo(f"    {'ok' if ok else 'MISMATCH'}: {text}")
