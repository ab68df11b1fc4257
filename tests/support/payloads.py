"""Vendor-shaped webhook payloads and signatures computed independently of lifesync's code."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def whatsapp_value(name: str = "message_referral.json") -> dict:
    return json.loads((FIXTURES / "whatsapp" / name).read_text())


def whatsapp_delivery(*values: dict, waba: str = "102290129340398") -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba, "changes": [{"field": "messages", "value": copy.deepcopy(v)} for v in values]}]}


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload) -> bytes:
    return json.dumps(payload).encode()
