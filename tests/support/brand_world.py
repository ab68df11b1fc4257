"""Letters, pairs and merges of Glow (the default brand) and of Lumen, for the tests of brand-scoped surfaces."""

from __future__ import annotations

from sync.store import model


def _contact(session, *, lumen: bool, glow: bool, email: str) -> int:
    row = model.Contact(stage="New Lead" if glow else None)
    session.add(row)
    session.flush()
    session.add(model.Identity(contact_id=row.id, kind="email", value=email, source="shop"))
    if lumen:
        session.add(model.ContactStage(contact_id=row.id, brand="lumen", stage="New Lead"))
    return row.id


def seed_brand_world(store) -> dict[str, int]:
    """A dead letter, a suspected pair and a merge (without snapshot) of each brand; their ids by
    ``letter-glow``, ``pair-lumen``, ``merge-glow``, ``kept-lumen`` (a merge's surviving contact), …
    (Glow's letter has a null brand, as old letters do).
    """
    ids: dict[str, int] = {}
    with store.transaction() as s:
        for brand, column in (("glow", None), ("lumen", "lumen")):
            letter = model.DeadLetter(stage="mapping", source="shop", object="order", record_id=f"{brand}-1",
                                      reason="order has no customer", payload={"id": f"{brand}-1"}, brand=column)
            s.add(letter)
            s.flush()
            ids[f"letter-{brand}"] = letter.id
            a = _contact(s, lumen=brand == "lumen", glow=brand == "glow", email=f"a@{brand}.example")
            b = _contact(s, lumen=brand == "lumen", glow=brand == "glow", email=f"b@{brand}.example")
            pair = model.DuplicatePair(contact_a=a, contact_b=b, evidence=[{"kind": "name_city"}])
            merge = model.MergeLog(kept_contact_id=a, merged_contact_id=b + 1000, via="email", source="shop",
                                   record_id="r")  # no snapshot: cannot be undone (409), once found
            s.add_all([pair, merge])
            s.flush()
            ids[f"pair-{brand}"], ids[f"merge-{brand}"], ids[f"kept-{brand}"] = pair.id, merge.id, a
    return ids
