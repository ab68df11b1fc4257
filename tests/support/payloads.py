"""Vendor-shaped WhatsApp webhook payloads (their signatures: ``support.signatures``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from support.signatures import meta_signature as meta_signature  # where the integration tests import it from

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# a paid order as a shop's generic webhook sends it (mapping shop/order)
SHOP_ORDER = {"id": "1001", "status": "paid", "total": "89.90", "currency": "eur", "created_at": "2026-11-20T10:00:00Z",
              "customer": {"id": "c-77", "email": "Ana@Example.com", "phone": "+34 600 111 222", "first_name": "Ana"}}


def whatsapp_value(name: str = "message_referral.json") -> dict:
    return json.loads((FIXTURES / "whatsapp" / name).read_text())


def whatsapp_delivery(*values: dict, waba: str = "102290129340398") -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba, "changes": [{"field": "messages", "value": copy.deepcopy(v)} for v in values]}]}


def body_of(payload) -> bytes:
    return json.dumps(payload).encode()
