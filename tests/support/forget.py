"""A database dump to grep for a forgotten person's values, and the values of Ana (``support.contacts.build_ana``)."""

from __future__ import annotations

import json

from sqlalchemy import inspect, select, table, text

from sync.store.engine import Store

# Ana's values as her records carry them (build_ana): e-mail, WhatsApp number, names, CRM ids, message id
ANA_VALUES = ("ana.lopez@example.com", "447911123456", "Ana María", "López", "00Q5g00000A1b2CEAR",
              "wamid.HBgMNDQ3OTExMTIzNDU2")


def dump(store: Store) -> str:
    """Every row of every table (SQLite and PostgreSQL alike), as lowercased text."""
    out = []
    with store.engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            if name == "alembic_version":
                continue
            columns = [c["name"] for c in inspect(conn).get_columns(name)]
            rows = conn.execute(select(*(text(f'"{c}"') for c in columns)).select_from(table(name))).all()
            for row in rows:
                cells = [bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, memoryview)) else v
                         for v in row]
                out.append(f"{name}: " + json.dumps(cells, default=str, ensure_ascii=False))
    return "\n".join(out).lower()


def found_in(store: Store, values) -> dict[str, list[str]]:
    """For each value found in the dump, the lines holding it."""
    lines = dump(store).splitlines()
    return {v: [line[:200] for line in lines if v.lower() in line][:3] for v in values
            if any(v.lower() in line for line in lines)}
