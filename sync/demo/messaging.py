"""The demo's other traffic: agents' WhatsApp replies, Messenger conversations from ads, and shop orders,
bookings and carts.

Everything here is built as the vendor would send it, so ``lifesync demo`` posts it, signed,
to its own webhook endpoints: a Messenger delivery (``object: page``) whose message carries
the click-to-Messenger ad referral, WhatsApp ``sent`` statuses of the agents' replies (the
outbound messages the first-response report times), and JSON orders for the generic webhook (the bundled
``shop/order`` mapping: ``paid`` → purchase, ``cart`` → add to cart, ``booked`` → booking), and
later some refunds and cancellations of paid orders (adjustments of their purchases).
Deterministic for a seed, like the rest of the business.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sync.demo.people import Person, seeded

MESSENGER_ADS = (  # (campaign, ad id, title)
    ("msg-spring", "120211000000000101", "Book your spring facial"),
    ("msg-spring", "120211000000000102", "Spring offer: 20% off"),
    ("msg-retarget", "120211000000000201", "Still thinking about it?"),
)
# What Ads Manager calls them: (ad name, ad set id, ad set name, campaign id, campaign name). The
# retargeting ad was deleted since it ran: the Marketing API no longer knows it (attribution shows it unresolved).
MESSENGER_AD_NAMES = {
    "120211000000000101": ("Spring facial | Image", "120211000000000011", "Spring | Women 25-45 | Messenger inbox",
                           "120211000000000001", "Spring Facials | Click to Messenger | Leads"),
    "120211000000000102": ("Spring 20% off | Video 15s", "120211000000000012", "Spring | Interests: skincare",
                           "120211000000000001", "Spring Facials | Click to Messenger | Leads"),
}
MESSENGER_DELETED_ADS = frozenset({"120211000000000201"})
SERVICES = (("FACIAL-60", 149.0), ("MASSAGE-90", 119.0), ("NAILS-45", 49.0), ("PEEL-30", 89.0))
CURRENCY = {"US": "USD", "GB": "GBP", "ES": "EUR", "MX": "MXN", "AE": "AED", "PT": "EUR"}


def messenger_deliveries(seed: int, people: Sequence[Person], page_id: str, share: float = 0.06
                         ) -> Iterator[dict[str, Any]]:
    """One webhook delivery per person who opened a Messenger conversation from an ad."""
    for p in people:
        rng = seeded(seed, "messenger", p.key)
        if rng.random() >= share:
            continue
        campaign, ad_id, title = rng.choice(MESSENGER_ADS)
        psid = str(7_000_000_000_000_000 + p.key * 7919 % 10**15)
        at = int((p.created_at + timedelta(minutes=rng.randint(1, 90))).timestamp() * 1000)
        yield {"object": "page", "entry": [{"id": page_id, "time": at, "messaging": [{
            "sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": at,
            "message": {"mid": f"m_demo{seed}_{p.key}", "text": "Hi! Is this offer still on?",
                        "referral": {"ref": campaign, "ad_id": ad_id, "source": "ADS", "type": "OPEN_THREAD",
                                     "ads_context_data": {"ad_title": title}}}}]}]}


# How long agents take to answer a person's first message, in minutes: (lo, hi) ranges, None for never,
# with weights for people the business went on to lose and for the others (slow answers lose people)
REPLY_DELAYS: tuple[tuple[tuple[int, int] | None, int, int], ...] = (
    ((1, 4), 10, 45), ((5, 59), 20, 30), ((60, 1439), 25, 15), ((1440, 4320), 20, 5), (None, 25, 5))


def agent_replies(seed: int, people: Sequence[Person], messages: Sequence[dict[str, Any]], now: datetime
                  ) -> Iterator[dict[str, Any]]:
    """One agent's reply to each person who wrote on WhatsApp, as the ``sent`` status webhook Meta posts for it.

    ``messages``: the inbound ``change.value`` objects; the reply comes after the person's first
    message by a drawn delay (``REPLY_DELAYS``: slower for people who end up lost), never after
    ``now``; some are never answered. Statuses name Meta's billing conversation, as real ones do.
    """
    from sync.demo.business import WA_METADATA, _wamid

    first: dict[str, int] = {}
    for value in messages:
        for message in value.get("messages", ()):
            first[message["from"]] = min(first.get(message["from"], int(message["timestamp"])),
                                         int(message["timestamp"]))
    lost = {p.phone_e164[1:] for p in people if p.lost_stage}
    for wa_id, written in sorted(first.items()):
        rng = seeded(seed, "reply", wa_id)
        weights = [w_lost if wa_id in lost else w_kept for _, w_lost, w_kept in REPLY_DELAYS]
        delay = rng.choices([d for d, _, _ in REPLY_DELAYS], weights)[0]
        if delay is None:
            continue
        at = written + rng.randint(*delay) * 60 + rng.randint(0, 59)
        if at > now.timestamp():
            continue
        yield {"messaging_product": "whatsapp", "metadata": dict(WA_METADATA), "statuses": [{
            "id": _wamid(rng, wa_id), "status": "sent", "timestamp": str(at), "recipient_id": wa_id,
            "conversation": {"id": "".join(rng.choices("0123456789abcdef", k=32)), "origin": {"type": "service"}},
            "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}}]}


def shop_orders(seed: int, people: Sequence[Person]) -> Iterator[dict[str, Any]]:
    """Orders of the people who bought (paid), are paying (cart) or booked a visit (booked)."""
    for p in people:
        rng = seeded(seed, "shop", p.key)
        if p.reached("Customer"):
            status = "paid"
        elif p.reached("Payment"):
            status = "cart"
        elif p.reached("Hot Lead") and rng.random() < 0.4:
            status = "booked"
        else:
            continue
        sku, price = rng.choice(SERVICES)
        quantity = rng.choice((1, 1, 1, 2))
        at = p.created_at + timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
        yield {"id": 90_000 + p.key, "status": status, "total": f"{price * quantity:.2f}",
               "currency": CURRENCY.get(p.country, "EUR").lower(), "created_at": at.isoformat(),
               "updated_at": (at + timedelta(minutes=3)).isoformat(),
               **({"paid_at": (at + timedelta(minutes=2)).isoformat()} if status == "paid" else {}),
               "customer": {"id": 50_000 + p.key, "email": p.email, "phone": p.phone_e164,
                            "first_name": p.first_name, "last_name": p.last_name,
                            "accepts_marketing": rng.random() < 0.7},  # the checkout's offers checkbox
               # the visitor's answer to the shop's cookie banner (Google Consent Mode v2), sent with the order
               "consent": {"ad_user_data": (ads := "granted" if rng.random() < 0.8 else "denied"),
                           "ad_personalization": ads},
               "items": [{"sku": sku, "quantity": quantity, "price": f"{price:.2f}"}]}


OPT_OUT_SHARE = 0.04  # of the people who wrote on WhatsApp: later stop the business's marketing messages


def whatsapp_opt_outs(seed: int, messages: Sequence[dict[str, Any]], now: datetime) -> Iterator[dict[str, Any]]:
    """``user_preferences`` webhook values: some of the people who wrote stop marketing messages in WhatsApp.

    One per person (their first message's sender), a few hours to days after that message and
    never in the future; sent with ``field: user_preferences`` as the Cloud API does.
    """
    seen: set[str] = set()
    for value in messages:
        wa_id = value["contacts"][0]["wa_id"]
        if wa_id in seen:
            continue
        seen.add(wa_id)
        rng = seeded(seed, "opt-out", wa_id)
        if rng.random() >= OPT_OUT_SHARE:
            continue
        at = min(int(value["messages"][0]["timestamp"]) + rng.randint(3_600, 5 * 86_400), int(now.timestamp()))
        yield {"messaging_product": "whatsapp", "metadata": dict(value["metadata"]),
               "contacts": [dict(value["contacts"][0])],
               "user_preferences": [{"wa_id": wa_id, "detail": "User requested to stop marketing messages",
                                     "category": "marketing_messages", "value": "stop", "timestamp": at}]}


REFUND_SHARE = 0.12  # of paid orders: refunded, cancelled or partly refunded after they were paid


def shop_refunds(seed: int, people: Sequence[Person], now: datetime) -> Iterator[dict[str, Any]]:
    """Later webhooks of some paid orders: ``refunded``, ``cancelled`` or ``partially_refunded`` (a lower total).

    Each is its own shop event (``event_id``), dated after the payment and not in the future.
    """
    for order in shop_orders(seed, people):
        rng = seeded(seed, "refund", order["id"])
        if order["status"] != "paid" or rng.random() >= REFUND_SHARE:
            continue
        status = rng.choice(("refunded", "cancelled", "partially_refunded", "partially_refunded"))
        paid = datetime.fromisoformat(order["paid_at"])
        at = min(paid + timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600)), now)
        total = float(order["total"]) * (rng.choice((0.5, 0.7, 0.8)) if status == "partially_refunded" else 1)
        stamp = "cancelled_at" if status == "cancelled" else "refunded_at"
        yield {**order, "event_id": f"{order['id']}-{status}", "status": status, "total": f"{total:.2f}",
               "updated_at": at.isoformat(), stamp: at.isoformat()}


def this_weeks_whatsapp_leads(seed: int, business_people: Sequence[Person], now: datetime, count: int
                              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New people who clicked a click-to-WhatsApp ad in the last three days, and the visits half of them booked.

    The business's own history reaches back eighteen months, far past the seven days Meta
    accepts conversions for; this week's leads are what a live deployment sends every day.
    Returns (WhatsApp ``change.value`` objects, shop orders with status ``booked``).
    """
    from sync.demo.business import WA_METADATA, _referral, _wamid
    from sync.demo.people import AdClick
    from sync.sandbox.people import people as fresh_people

    ads = sorted({p.ad.ad for p in business_people if p.ad is not None}, key=lambda a: a.ad_id)
    values, bookings = [], []
    for n, person in enumerate(fresh_people(count, seed + 101)):
        rng = seeded(seed, "this-week", n)
        at = now - timedelta(minutes=rng.randint(30, 3 * 24 * 60))
        wa_id = person.phone.removeprefix("+")
        clid = f"ARAkLk{seed}W{n:05d}" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ", k=12))
        click = AdClick(rng.choice(ads), clid, at) if ads else None
        message: dict[str, Any] = {"from": wa_id, "id": _wamid(rng, wa_id), "timestamp": str(int(at.timestamp())),
                                   "type": "text", "text": {"body": "Hi! I saw your ad, do you have time this week?"}}
        if click is not None:
            message["referral"] = _referral(click)
        values.append({"messaging_product": "whatsapp", "metadata": dict(WA_METADATA),
                       "contacts": [{"profile": {"name": f"{person.first_name} {person.last_name}"}, "wa_id": wa_id}],
                       "messages": [message]})
        if rng.random() < 0.5:
            sku, price = rng.choice(SERVICES)
            booked = at + timedelta(minutes=rng.randint(5, 240))
            bookings.append({"id": f"bk-{seed}-{n}", "status": "booked", "total": f"{price:.2f}",
                             "currency": CURRENCY.get(person.country_code, "EUR").lower(),
                             "created_at": min(booked, now).isoformat(), "updated_at": min(booked, now).isoformat(),
                             "customer": {"id": f"w{n}", "phone": person.phone, "first_name": person.first_name,
                                          "last_name": person.last_name},
                             "items": [{"sku": sku, "quantity": 1, "price": f"{price:.2f}"}]})
    return values, bookings
