"""The demo's second brand: Lumen Spa, a sister brand of the salon group with its own shop and ad accounts.

The group's salons (the default brand) are the business of the rest of the demo. Lumen Spa's
shop posts its bookings and orders to its own webhook connection (``/webhooks/generic/lumen``,
``shop:lumen``); its conversions go to its own Meta dataset, TikTok event set and Google Ads
account, served by a second set of ad-network sandboxes that know only Lumen's ids (and so
refuse anything meant for the salons). Some of Lumen's clients are salon clients too: each is
one person with a stage in each brand's funnel. Deterministic for a seed.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sync.config import BUNDLED_CONFIG_DIR
from sync.demo.messaging import CURRENCY, SERVICES
from sync.demo.people import Person, seeded
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer

BRAND, NAME, CONNECTION = "lumen", "Lumen Spa", "lumen"
SECRET = "demo-lumen-shop-secret"  # noqa: S105 - the demo's own webhook secret
DESTINATIONS = {"meta-lumen": "meta", "tiktok-lumen": "tiktok", "google-lumen": "google"}
KINDS = {"meta": "lead, qualified_lead, booking, add_to_cart, initiate_checkout, purchase",  # as the salons' own
         "tiktok": "lead, qualified_lead, add_to_cart, initiate_checkout, purchase",
         "google": "qualified_lead, purchase"}
SHARE = 0.15  # of the people reached as leads: Lumen clients too
RETURNING = 0.3  # of Lumen's paying clients: back for a second paid visit (Repeat Customers of Lumen)
BRANDS_YAML = f"""\
# The demo's group: the salons (the default brand) and a sister spa brand with its own shop and ad accounts.
brands:
  default:
    name: Glow Salons
  {BRAND}:
    name: {NAME}
    connections: [shop:{CONNECTION}]
    destinations: [{", ".join(DESTINATIONS)}]
"""


class LumenMeta(MetaSandbox):
    """Lumen's own Meta dataset."""

    DATASET_ID = "5550001111"


class LumenTikTok(TikTokSandbox):
    """Lumen's own TikTok event set."""

    EVENT_SOURCE_ID = "CRM0000777"


class LumenGoogle(GoogleAdsSandbox):
    """Lumen's own Google Ads account."""

    CUSTOMER_ID = "9998887777"


def config_dir(project_dir: Path | None, segments: bool = False, directory: Path | None = None) -> Path:
    """A config directory: the project's files (if any), plus brands.yaml and Lumen's destinations in conversions.yaml.

    With ``segments``, the demo's segments too, with destinations in the sandboxes
    (``sync.demo.audiences``; its CSV audience is a file name under LIFESYNC_AUDIENCE_CSV_DIR).
    Written to ``directory``, made afresh (the demo's
    ``lifesync-demo-config``, which ``--demo`` commands read), else to a private temporary directory
    removed when the process ends.
    """
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="lifesync-demo-config-"))
        atexit.register(shutil.rmtree, str(directory), True)
    else:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    if project_dir is not None:
        shutil.copytree(project_dir, directory, dirs_exist_ok=True)
    conversions = directory / "conversions.yaml"
    text = (conversions if conversions.is_file() else BUNDLED_CONFIG_DIR / "conversions.yaml").read_text("utf-8")
    extra = "".join(f"  {name}:\n    network: {net}\n    kinds: [{KINDS[net]}]\n" for name, net in DESTINATIONS.items())
    conversions.write_text(text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    (directory / "brands.yaml").write_text(BRANDS_YAML, encoding="utf-8")
    if segments:
        from sync.demo.audiences import segment_files

        segment_files(directory)
    return directory


def sandboxes() -> dict[str, Any]:
    """Lumen's ad-network sandboxes by network name."""
    return {"meta": LumenMeta(), "tiktok": LumenTikTok(), "google": LumenGoogle()}


def settings_env(server: SandboxServer) -> dict[str, str]:
    """The settings of Lumen's destinations (each pointing at its sandbox) and of its shop's webhook."""
    env: dict[str, str] = {f"LIFESYNC_GENERIC_SECRET__{CONNECTION.upper()}": SECRET,
                           f"LIFESYNC_GENERIC_MAPPING__{CONNECTION.upper()}": "shop/order"}
    prefixes = {"meta": "LIFESYNC_META_", "tiktok": "LIFESYNC_TIKTOK_", "google": "LIFESYNC_GOOGLE_"}
    for name, net in DESTINATIONS.items():
        env.update({k: v for k, v in server.env(name.replace("-", "_")).items() if k.startswith(prefixes[net])})
    return env


def orders(seed: int, people: Sequence[Person], now: datetime) -> Iterator[dict[str, Any]]:
    """Lumen's bookings and paid visits this week, of people the salons know too (by e-mail); some pay twice."""
    for p in people:
        rng = seeded(seed, BRAND, p.key)
        if not p.email or not p.reached("New Lead") or rng.random() >= SHARE:
            continue
        _sku, price = rng.choice(SERVICES)
        status = "paid" if rng.random() < 0.4 else "booked"
        at = now - timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600))
        yield _order(f"L{seed}-{p.key}", p, status, price, at)
        if status == "paid" and rng.random() < RETURNING:  # back for another treatment later that day
            _sku, again = rng.choice(SERVICES)
            yield _order(f"L{seed}-{p.key}-2", p, "paid", again, at + timedelta(hours=rng.randint(2, 20)))


def _order(order_id: str, p: Person, status: str, price: float, at: datetime) -> dict[str, Any]:
    return {"id": order_id, "status": status, "total": f"{price:.2f}",
            "currency": CURRENCY.get(p.country, "EUR").lower(), "created_at": at.isoformat(),
            "updated_at": (at + timedelta(minutes=3)).isoformat(),
            **({"paid_at": (at + timedelta(minutes=2)).isoformat()} if status == "paid" else {}),
            "customer": {"email": p.email, "first_name": p.first_name, "last_name": p.last_name}}
