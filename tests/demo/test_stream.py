import inspect
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

from sync.demo import generate_business, hubspot_contact_stream, people
from sync.demo.records import JUNK_VALUES

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_stream_is_a_lazy_generator():
    stream = hubspot_contact_stream(7, 100_000, NOW)
    assert inspect.isgenerator(stream) and isinstance(stream, Iterator)
    assert inspect.isgenerator(people(7, 100_000))


def test_stream_yields_count_contacts_with_unique_ids_and_emails():
    contacts = list(hubspot_contact_stream(7, 6000, NOW))
    assert len(contacts) == 6000
    assert len({c["id"] for c in contacts}) == 6000
    emails = [c["properties"]["email"] for c in contacts]
    assert all(e is not None and e not in JUNK_VALUES and "@" in e for e in emails)
    assert len({e.strip().lower() for e in emails}) == 6000


def test_stream_records_have_the_hubspot_contact_shape():
    shape = {frozenset(c) for c in generate_business(people_count=300).hubspot_contacts}
    props = {frozenset(c["properties"]) for c in generate_business(people_count=300).hubspot_contacts}
    for c in islice(hubspot_contact_stream(3, 500, NOW), 500):
        assert frozenset(c) in shape and frozenset(c["properties"]) in props
        assert all(v is None or isinstance(v, str) for v in c["properties"].values())


def test_stream_prefix_does_not_depend_on_count():
    assert list(hubspot_contact_stream(9, 200, NOW)) == list(islice(hubspot_contact_stream(9, 1000, NOW), 200))


def _peak_bytes(count: int, seed: int = 5) -> int:
    tracemalloc.start()
    try:
        for _ in hubspot_contact_stream(seed, count, NOW):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_stream_memory_does_not_grow_with_count():
    _peak_bytes(3_000, seed=99)  # warm bounded caches (name folding) so only real growth is left
    small, large = _peak_bytes(300), _peak_bytes(3_000)
    assert large < small + 128 * 1024, (small, large)  # a set of 2,700 e-mails alone would be ~300 KB
