"""What ``bench/chaos.py`` counts after a scenario, and how it prints it.

Webhook scenarios: every delivery the sender saw acknowledged must be stored once and
processed; each one is a new person, so it makes exactly one contact, one activity and one
``lead`` conversion, and that conversion reaches Meta once. Dispatch scenarios: every
seeded purchase must reach each network once. "Re-sent" counts copies a network received
again and refused as known (Google) or deduplicated (Meta): the batch in flight at a kill,
never counted twice by the network; "duplicated" counts what was stored, or held by a
network, twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

SCENARIOS = ("drain-kill", "dispatch-kill", "pg-restart", "redis-restart", "storm")
TITLES = {
    "drain-kill": "kill -9 of the worker running the inbox drain, while signed WhatsApp webhooks flow",
    "dispatch-kill": "kill -9 of the worker dispatching conversions to Google and Meta, mid-pass",
    "pg-restart": "PostgreSQL crash (immediate stop) and restart while webhooks flow",
    "redis-restart": "Redis stop and restart (empty) while webhooks flow",
    "storm": "429 storms: Google and Meta answer the first requests of their pass with 429",
}
RESUME_TARGET = 30.0  # seconds (issue 17: processing resumed within 30 s of each kill)
WAMID_NUMBER = slice(11, 23)  # the delivery number inside webhooks.event_body's wamid


def _network_keys(w: Any) -> dict[str, tuple[Any, list[Any], int]]:
    """Per network: (sandbox, the key of every accepted item, re-sends)."""
    return {"google": (w.google, [c.get("orderId") for c in w.google.accepted], w.google.duplicates),
            "meta": (w.meta, [e.get("event_id") for e in w.meta.accepted], w.meta.duplicates)}


def _outbox(session: Any, destination: str) -> dict[str, int]:
    """Deliveries to ``destination`` by status; ``sent`` split into this run's sends and ``delivered before``."""
    from sqlalchemy import select

    from sync.store import model

    out: Counter[str] = Counter()
    for status, response in session.execute(select(model.Delivery.status, model.Delivery.response).where(
            model.Delivery.destination == destination)):
        out["delivered before" if status == "sent" and (response or {}).get("duplicate") else status] += 1
    return dict(sorted(out.items()))


def _delivered(keys: list[Any], wanted: set[Any], resent: int, outbox: dict[str, int]) -> dict[str, Any]:
    held = set(keys) & wanted
    return {"held": len(held), "lost": len(wanted - held), "duplicated": len(keys) - len(set(keys)),
            "re-sent": resent, "lifesync recorded": outbox}


def webhook_figures(w: Any, *senders: Any) -> dict[str, Any]:
    """Acknowledged / stored / processed / lost / duplicated, for events and what they made."""
    from sqlalchemy import func, select

    from sync.store import model

    with w.store.transaction() as s:
        events = s.execute(select(model.RawEvent.event_key, model.RawEvent.status).where(
            model.RawEvent.source == "whatsapp")).all()
        contacts = s.scalar(select(func.count()).select_from(model.Contact))
        activities = s.scalar(select(func.count()).select_from(model.Activity))
        conversions = set(s.scalars(select(model.ConversionEvent.event_id)))
        outbox = _outbox(s, "meta")
        dead = s.scalar(select(func.count()).select_from(model.DeadLetter))
    processed = {int(key[WAMID_NUMBER]) for key, status in events if status == "processed"}
    _, keys, resent = _network_keys(w)["meta"]
    acked = set().union(*(s.acked for s in senders))
    statuses = sum((s.statuses for s in senders), Counter())
    return {
        "webhooks": {"sent": sum(s.sent for s in senders), "acknowledged": len(acked),
                     "redelivered": sum(s.redelivered for s in senders),
                     "not acknowledged (gave up)": sum(s.gave_up for s in senders),
                     "answers": dict(sorted(statuses.items())),
                     "503 with Retry-After": sum(s.retry_after_503 for s in senders),
                     "stored": len(events), "processed": len(processed),
                     "lost": len(acked - processed), "duplicated": len(events) - len({k for k, _ in events}),
                     "dead letters": dead},
        "contacts": {"made": contacts, "duplicated": max(0, contacts - len(processed))},
        "activities": {"made": activities, "duplicated": max(0, activities - len(processed))},
        "conversions": {"made": len(conversions), "duplicated": max(0, len(conversions) - contacts)},
        "deliveries": {"meta": _delivered(keys, conversions, resent, outbox)},
    }


def conversion_figures(w: Any, n: int) -> dict[str, Any]:
    """Per network: seeded purchases held once, lost, held twice, re-sent; what lifesync recorded."""
    wanted = {"google": {f"order-{i}" for i in range(1, n + 1)}, "meta": {f"evt{i:07d}" for i in range(1, n + 1)}}
    with w.store.transaction() as s:
        outbox = {name: _outbox(s, name) for name in wanted}
    return {"conversions": {"waiting at the start": n},
            "deliveries": {name: _delivered(keys, wanted[name], resent, outbox[name])
                           for name, (_, keys, resent) in _network_keys(w).items()}}


def problems(result: dict[str, Any]) -> list[str]:
    """What misses the target in one scenario's figures (empty: met)."""
    out = []
    for fault in result.get("faults", []):
        if "error" in fault:
            out.append(fault["error"])
        elif fault.get("resumed") is None:
            out.append("processing did not resume")
        elif fault["resumed"] > RESUME_TARGET and "429s served" not in fault:
            out.append(f"resumed after {fault['resumed']} s (> {RESUME_TARGET:g})")
        if "workers alive 20 s after" in fault:
            alive, _, wanted = fault["workers alive 20 s after"].partition(" of ")
            if alive != wanted:
                out.append(f"workers alive 20 s after: {fault['workers alive 20 s after']}")
    holders = [f["killed the lease holder"] for f in result.get("faults", []) if "killed the lease holder" in f]
    if holders and not any(holders):
        out.append("no kill hit the lease holder (the scenario did not test a drain's death)")
    end = result.get("processes at the end", {})
    if end and (end["workers"] < end["workers wanted"] or end["scheduler"] < 1):
        out.append(f"processes at the end: {end['workers']} of {end['workers wanted']} workers, "
                   f"{end['scheduler']} scheduler")
    if result.get("settled") is None:
        out.append("did not settle (events or conversions still waiting)")
    for what, figures in result.items():
        if what in ("webhooks", "contacts", "activities", "conversions"):
            out += [f"{what}: {figures[k]} {k}" for k in ("lost", "duplicated") if figures.get(k)]
        if what == "deliveries":
            for network, f in figures.items():
                out += [f"{network}: {f[k]} {k}" for k in ("lost", "duplicated") if f[k]]
    return out


def _line(figures: dict[str, Any]) -> str:
    return "; ".join(f"{k} {_value(v)}" for k, v in figures.items())


def _value(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def render(name: str, result: dict[str, Any]) -> str:
    """One scenario's figures as indented lines."""
    lines = [f"{name}: {TITLES[name]}"]
    for n, fault in enumerate(result.get("faults", []), 1):
        lines.append(f"  fault {n}: {_line(fault)}")
    lines.append(f"  settled {result.get('settled')} s after the last fault's recovery"
                 if result.get("settled") is not None else "  not settled within the limit")
    for what in ("webhooks", "contacts", "activities", "conversions"):
        if what in result:
            lines.append(f"  {what}: {_line(result[what])}")
    for network, f in result.get("deliveries", {}).items():
        lines.append(f"  deliveries to {network}: {_line(f)}")
    lines.append(f"  processes at the end: {_line(result['processes at the end'])}")
    found = problems(result)
    lines.append("  target met" if not found else "  TARGET MISSED: " + "; ".join(found))
    return "\n".join(lines)


def verdict(results: dict[str, dict[str, Any]]) -> str:
    """The closing table: per scenario, lost, duplicated, slowest recovery, target."""
    rows = [f"{'scenario':<15}{'lost':>6}{'dup.':>6}{'slowest resume s':>18}  target"]
    for name, result in results.items():
        lost = dup = 0
        for what in ("webhooks", "contacts", "activities", "conversions"):
            lost += result.get(what, {}).get("lost", 0)
            dup += result.get(what, {}).get("duplicated", 0)
        for f in result.get("deliveries", {}).values():
            lost, dup = lost + f["lost"], dup + f["duplicated"]
        resumes = [f.get("resumed") for f in result.get("faults", [])]
        slowest = "-" if not resumes else ("never" if None in resumes else f"{max(resumes):.1f}")
        rows.append(f"{name:<15}{lost:>6}{dup:>6}{slowest:>18}  {'met' if not problems(result) else 'MISSED'}")
    return "\n".join(rows)
