"""Where a person's values still stand: every row of every table as text, searched (after an erasure).

``found_in`` is what the demo checks a forgotten person against and what the erasure tests grep;
it reads every table the database has (SQLite and PostgreSQL alike, through SQLAlchemy's
inspector), so a table the erasure does not know of is searched too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import inspect, select, table, text

from sync.store.engine import Store


def dump(store: Store) -> str:
    """Every row of every table, one line each (``table: [cells]``), lowercased."""
    out = []
    with store.engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            if name == "alembic_version":
                continue
            columns = [c["name"] for c in inspect(conn).get_columns(name)]
            for row in conn.execute(select(*(text(f'"{c}"') for c in columns)).select_from(table(name))):
                cells = [bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | memoryview) else v
                         for v in row]
                out.append(f"{name}: " + json.dumps(cells, default=str, ensure_ascii=False))
    return "\n".join(out).lower()


def found_in(store: Store, values: Iterable[str]) -> dict[str, list[str]]:
    """For each of ``values`` the dump holds (case-insensitive), up to three lines holding it."""
    lines = dump(store).splitlines()
    return {v: [line[:200] for line in lines if v.lower() in line][:3] for v in values
            if v and any(v.lower() in line for line in lines)}
