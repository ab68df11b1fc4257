"""A config directory with two brands (Glow, the default one, and Lumen) for the brand tests."""

from __future__ import annotations

from pathlib import Path

from sync.config import BUNDLED_CONFIG_DIR

LUMEN_DESTINATIONS = """
  meta-lumen:
    network: meta
    kinds: [lead, qualified_lead, booking, add_to_cart, initiate_checkout, purchase]
  tiktok-lumen:
    network: tiktok
    kinds: [lead, qualified_lead, add_to_cart, initiate_checkout, purchase]
  google-lumen:
    network: google
    kinds: [qualified_lead, purchase]
"""

BRANDS = """\
brands:
  default:
    name: Glow Salons
  lumen:
    name: Lumen Spa
    connections: [shop:lumen, whatsapp:lumen, hubspot:lumen]
    destinations: [meta-lumen, tiktok-lumen, google-lumen]
"""


def brand_config_dir(tmp_path: Path, brands: str = BRANDS) -> Path:
    """``tmp_path/config``: the bundled conversions.yaml plus Lumen's destinations, and ``brands`` as brands.yaml."""
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    conversions = (BUNDLED_CONFIG_DIR / "conversions.yaml").read_text(encoding="utf-8")
    (directory / "conversions.yaml").write_text(conversions.rstrip("\n") + "\n" + LUMEN_DESTINATIONS, encoding="utf-8")
    (directory / "brands.yaml").write_text(brands, encoding="utf-8")
    return directory
