"""``model.AwareDateTime`` on SQLite: SQLAlchemy's text form, written and read by the C datetime methods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.types import DateTime

from sync.store.model import AwareDateTime


@pytest.fixture
def tables(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'stamps.db'}")
    meta = MetaData()
    ours = Table("ours", meta, Column("id", Integer, primary_key=True), Column("at", AwareDateTime))
    plain = Table("plain", meta, Column("id", Integer, primary_key=True), Column("at", DateTime))
    meta.create_all(engine)
    yield engine, ours, plain
    engine.dispose()


def test_the_stored_text_is_sqlalchemys_own_for_every_kind_of_value(tables):
    engine, ours, plain = tables
    values = [datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
              datetime(2026, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2))),  # stored as UTC
              datetime(2026, 3, 4, 5, 6, 7),  # naive: UTC already
              datetime(987, 1, 2, tzinfo=UTC), None]
    with engine.begin() as conn:
        conn.execute(insert(ours), [{"id": i, "at": v} for i, v in enumerate(values)])
        conn.execute(insert(plain), [{"id": i, "at": None if v is None else v.astimezone(UTC).replace(tzinfo=None)
                                      if v.tzinfo else v} for i, v in enumerate(values)])
        stored = conn.execute(text("SELECT at FROM ours ORDER BY id")).scalars().all()
        reference = conn.execute(text("SELECT at FROM plain ORDER BY id")).scalars().all()
    assert stored == reference  # what SQLAlchemy's DateTime writes: comparisons in SQL stay text-exact
    assert stored[:3] == ["2026-03-04 05:06:07.891011", "2026-03-04 05:06:07.000000", "2026-03-04 05:06:07.000000"]


def test_values_read_back_as_aware_utc_including_text_written_elsewhere(tables):
    engine, ours, _ = tables
    at = datetime(2026, 3, 4, 5, 6, 7, 250, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(ours), [{"id": 1, "at": at}])
        conn.execute(text("INSERT INTO ours (id, at) VALUES (2, '2026-03-04 05:06:07'), (3, NULL)"))
        got = dict(conn.execute(select(ours.c.id, ours.c.at)).all())
        earlier = conn.execute(select(ours.c.id).where(ours.c.at < at).order_by(ours.c.id)).scalars().all()
    assert got == {1: at, 2: at.replace(microsecond=0), 3: None}
    assert got[1].tzinfo is UTC
    assert earlier == [2]
