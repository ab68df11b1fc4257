"""Messenger, Instagram and TikTok webhook bodies built from the vendor-shaped fixtures.

Their signatures are computed in ``support.signatures``, independently of lifesync's verifiers.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FB_PAGE, FB_PSID = "104872651234567", "7385629104826351"
IG_ACCOUNT, IG_SID = "17841405822304914", "1254459154682919"
META = {"messenger": ("webhook_message_referral.json", FB_PAGE, FB_PSID),
        "instagram": ("webhook_message_text.json", IG_ACCOUNT, IG_SID)}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def meta_delivery(platform: str) -> dict:
    """The platform's recorded delivery: one entry, one messaging event."""
    return fixture(f"{platform}/{META[platform][0]}")


def meta_event(platform: str) -> dict:
    """A copy of the delivery's single messaging event."""
    return copy.deepcopy(meta_delivery(platform)["entry"][0]["messaging"][0])


def wrap(platform: str, *events: dict, page: str | None = None) -> dict:
    """A delivery holding ``events`` for one page (default: the fixture's page)."""
    entry = {"id": page or META[platform][1], "time": 1772360100999, "messaging": [copy.deepcopy(e) for e in events]}
    return {"object": "page" if platform == "messenger" else "instagram", "entry": [entry]}


def body_of(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
