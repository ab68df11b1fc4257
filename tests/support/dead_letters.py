"""Dead letters of two causes, made by the real pipeline: fixable reconcile refusals and unreadable times."""

from __future__ import annotations

from support.payloads import whatsapp_value
from sync.config import BUNDLED_CONFIG_DIR, Config, load_config
from sync.ingest.deadletter import list_open
from sync.ingest.pipeline import ingest


def message(n: int) -> dict:
    """A WhatsApp message from a distinct sender (its own wa_id, message id)."""
    value = whatsapp_value("message_text.json")
    wa_id = f"4479111{n:05d}"
    value["messages"][0].update(id=f"wamid.N{n}", **{"from": wa_id})
    value["contacts"][0]["wa_id"] = wa_id
    return value


def bad_time(n: int) -> dict:
    """A message whose timestamp cannot be read: a mapping dead letter naming its own id and value."""
    value = message(n)
    value["messages"][0]["timestamp"] = f"day {n} of never"
    return value


def junk_config(tmp_path) -> Config:
    """junk_values that wrongly include real wa_ids: those senders' messages fail to reconcile (fixable)."""
    text = (BUNDLED_CONFIG_DIR / "lifecycle.yaml").read_text()
    junk = ", ".join(f'"{plus}4479111{n:05d}"' for n in range(20) for plus in ("", "+"))
    (tmp_path / "lifecycle.yaml").write_text(text.replace('junk_values: ["null",', f'junk_values: [{junk}, "null",'))
    return load_config(tmp_path)


def seed(store, junk_config, reconcile: int = 3, mapping: int = 2) -> dict[str, list[int]]:
    """``reconcile`` fixable letters (one cause, different ids) and ``mapping`` unfixable ones; ids by stage."""
    ingest("whatsapp", "message", [message(n) for n in range(reconcile)], store=store, config=junk_config)
    ingest("whatsapp", "message", [bad_time(n) for n in range(10, 10 + mapping)], store=store, config=junk_config)
    found: dict[str, list[int]] = {}
    for row in list_open(store):
        found.setdefault(row["stage"], []).append(row["id"])
    return found
