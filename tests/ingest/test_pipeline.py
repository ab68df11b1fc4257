"""map_records never raises: every failure is a dead-letter row naming the record and the reason."""

from support.payloads import whatsapp_value

from sync.config import load_config
from sync.ingest.pipeline import map_records

CONFIG = load_config(None)


def test_a_record_that_cannot_be_mapped_is_dead_lettered_with_its_own_id():
    good, bad = whatsapp_value(), whatsapp_value()
    bad["messages"][0]["id"] = "wamid.BAD"
    bad["messages"][0]["timestamp"] = "yesterday"
    items, dead = map_records(CONFIG.mappings[("whatsapp", "message")], [good, bad, ["not", "an", "object"]])
    assert [p.record_id for p, _ in items] == [good["messages"][0]["id"]]
    assert [(d["stage"], d["record_id"]) for d in dead] == [("mapping", "wamid.BAD"), ("mapping", None)]
    assert "field modified_at" in dead[0]["reason"] and "ISO 8601" in dead[0]["reason"]
    assert dead[1]["reason"] == "expected a JSON object, got list"
