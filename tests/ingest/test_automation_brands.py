"""Automation per brand: each brand's funnel goes stale on its own (its stage, its inbound messages, its
lifecycle's rules), and a conversation belongs to the brand whose connection its messages came through."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.automation_data import T0, hubspot, message, sent
from support.brands import BRANDS, brand_config_dir

from sync.config import BUNDLED_CONFIG_DIR, load_config
from sync.ingest.automation import apply_stale_leads, compute_first_responses
from sync.ingest.pipeline import ingest
from sync.outbox.effects import Effects
from sync.reports import response
from sync.store import model

OWN_RULES = BRANDS + "    lifecycle: lifecycles/lumen.yaml\n"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(brand_config_dir(tmp_path_factory.mktemp("brands")))


@pytest.fixture(scope="module")
def own_rules(tmp_path_factory):
    """Lumen with its own lifecycle file whose went-cold rule waits 2 days instead of the shared 7."""
    directory = brand_config_dir(tmp_path_factory.mktemp("own"), OWN_RULES)
    (directory / "lifecycles").mkdir()
    shared = (BUNDLED_CONFIG_DIR / "lifecycle.yaml").read_text(encoding="utf-8")
    assert "after_days: 7" in shared
    (directory / "lifecycles" / "lumen.yaml").write_text(shared.replace("after_days: 7", "after_days: 2"),
                                                          encoding="utf-8")
    return load_config(directory)


def stages(store) -> dict[str, tuple[str | None, str | None]]:
    with store.transaction() as s:
        [c] = s.scalars(select(model.Contact)).all()
        found = {"default": (c.stage, c.lost_stage)}
        for row in s.scalars(select(model.ContactStage)):
            found[row.brand] = (row.stage, row.lost_stage)
    return found


def send(store, config, value: dict, brand: str = "default", obj: str = "message") -> None:
    result = ingest("hubspot" if obj == "contacts" else "whatsapp", obj, [value], store=store, config=config,
                    brand=brand, effects=Effects.rules_only(config))
    assert result.dead_lettered == 0, result


def stale(store, config, days: float):
    return apply_stale_leads(store, config.lifecycle, now=T0 + timedelta(days=days),
                             effects=Effects.rules_only(config))


def test_each_brand_goes_stale_on_its_own_stage_and_its_own_messages(store, config):
    send(store, config, hubspot("salesqualifiedlead", T0), obj="contacts")  # Glow: a Hot Lead since T0
    send(store, config, message(T0 + timedelta(days=5), "wamid.L1"), brand="lumen")  # Lumen: New Lead on day 5
    assert stages(store) == {"default": ("Hot Lead", None), "lumen": ("New Lead", None)}
    # day 8: Glow's lead has been idle 8 days (Lumen's message is no message to Glow); Lumen's only 3
    assert stale(store, config, 8).updated == 1
    assert stages(store) == {"default": ("Hot Lead", "Cold Lead"), "lumen": ("New Lead", None)}
    with store.transaction() as s:
        moves = sorted((t.brand, t.to_stage, t.at) for t in s.scalars(select(model.StageTransition).where(
            model.StageTransition.source == "lifesync-automation")))
    assert moves == [("default", "Cold Lead", T0 + timedelta(days=7))]
    assert stale(store, config, 11).updated == 0  # a second run the same days: nothing more
    assert stale(store, config, 12).updated == 1  # Lumen's lead went cold on day 12, Glow's state unchanged
    assert stages(store) == {"default": ("Hot Lead", "Cold Lead"), "lumen": ("New Lead", "Cold Lead")}
    send(store, config, message(T0 + timedelta(days=13), "wamid.L2"), brand="lumen")  # Lumen's lead writes again
    assert stages(store)["lumen"] == ("New Lead", None) and stages(store)["default"][1] == "Cold Lead"


def test_a_brand_with_its_own_lifecycle_file_uses_its_own_automation(store, own_rules):
    send(store, own_rules, message(T0, "wamid.G"))
    send(store, own_rules, message(T0, "wamid.L"), brand="lumen")
    stale(store, own_rules, 3)  # Lumen's own rule: 2 days; the shared one: 7
    assert stages(store) == {"default": ("New Lead", None), "lumen": ("New Lead", "Cold Lead")}


@pytest.mark.parametrize("cold_brand", ["default", "lumen"])
def test_one_brands_automation_never_changes_the_other_brands_stage(store, config, cold_brand):
    """Whatever brand goes stale, the other's stage and history stay what they were (before and after)."""
    other = "lumen" if cold_brand == "default" else "default"
    send(store, config, message(T0, "wamid.C"), brand=cold_brand)
    send(store, config, message(T0 + timedelta(days=6), "wamid.W"), brand=other)  # keeps writing

    def history(brand):
        with store.transaction() as s:
            return [(t.to_stage, t.at) for t in s.scalars(select(model.StageTransition).where(
                model.StageTransition.brand == brand).order_by(model.StageTransition.seq))]

    before = (stages(store)[other], history(other))
    stale(store, config, 8)
    assert stages(store)[cold_brand] == ("New Lead", "Cold Lead")
    assert (stages(store)[other], history(other)) == before


def test_a_conversation_belongs_to_the_brand_its_messages_came_through(store, config):
    send(store, config, message(T0, "wamid.G1"))
    send(store, config, sent(T0 + timedelta(minutes=3), "wamid.G2"), obj="status")  # Glow answers in 3 minutes
    send(store, config, message(T0 + timedelta(hours=1), "wamid.L1"), brand="lumen")
    send(store, config, sent(T0 + timedelta(hours=3), "wamid.L2"), brand="lumen", obj="status")  # Lumen in 2 hours
    compute_first_responses(store)
    with store.transaction() as s:
        found = sorted((c.brand, c.first_response_seconds) for c in s.scalars(select(model.ConversationStat)))
        kinds = sorted((a.brand, a.direction) for a in s.scalars(select(model.Activity)))
    assert found == [("default", 180), ("lumen", 7200)]
    assert kinds == [("default", "inbound"), ("default", "outbound"), ("lumen", "inbound"), ("lumen", "outbound")]
    glow, lumen = response(store, config), response(store, config, brand="lumen")
    assert [(b.label, b.contacts) for b in glow.buckets if b.contacts] == [("< 5 min", 1)]
    assert [(b.label, b.contacts) for b in lumen.buckets if b.contacts] == [("1–24 h", 1)]


def test_an_installation_without_brands_keeps_one_funnel(store):
    config = load_config(None)
    send(store, config, message(T0, "wamid.A"))
    assert stale(store, config, 8).updated == 1 and stages(store) == {"default": ("New Lead", "Cold Lead")}
