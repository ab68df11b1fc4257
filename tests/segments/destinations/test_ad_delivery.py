"""ad_delivery.upload: requests of at most ``limit`` rows, session parts, and what a refusal does to each member."""

from __future__ import annotations

import pytest

from sync.errors import AuthError, PermanentError, RateLimited, ValidationError
from sync.segments.destinations.ad_delivery import Part, upload
from sync.segments.destinations.base import Entry, MemberResult


def entries(count: int) -> list[Entry]:
    return [Entry(i, {"rows": i % 3 + 1}) for i in range(count)]


class Vendor:
    """Records each request; refuses those holding a bad member (bisect) or raises ``error`` once."""

    def __init__(self, bad=(), error=None):
        self.bad, self.error, self.calls = set(bad), error, []

    def __call__(self, batch, part: Part) -> list[MemberResult]:
        ids = [e.contact_id for e in batch]
        self.calls.append((ids, part))
        if self.error is not None:
            raise self.error
        if self.bad & set(ids):
            raise ValidationError("refused", vendor_code="100", vendor_message="row is bad", bisect=True)
        return [MemberResult(i, "done") for i in ids]


def test_requests_hold_at_most_limit_rows_and_count_their_session_parts():
    vendor = Vendor()
    results = upload(entries(7), vendor, vendor="V", limit=4, weight=lambda e: e.keys["rows"])
    assert [r.status for r in results] == ["done"] * 7
    assert [ids for ids, _ in vendor.calls] == [[0, 1], [2, 3], [4], [5, 6]]  # weights 1,2 | 3,1 | 2 | 3,1
    assert [(p.seq, p.last, p.total) for _, p in vendor.calls] == [(1, False, 13), (2, False, 13), (3, False, 13),
                                                                  (4, True, 13)]


def test_bisection_isolates_the_bad_members_and_a_right_half_known_bad_is_split_unsent():
    vendor = Vendor(bad={5})
    results = upload(entries(8), vendor, vendor="V", limit=100)
    assert [r.status for r in results] == ["done"] * 5 + ["failed"] + ["done"] * 2
    assert "row is bad" in results[5].reason
    sent = [ids for ids, _ in vendor.calls]
    assert [4, 5, 6, 7] not in sent  # the left half went through: the right half was split without being sent
    accepted = [p.seq for ids, p in vendor.calls if 5 not in ids]
    assert accepted == list(range(1, len(accepted) + 1))


def test_members_not_isolated_within_the_budget_are_retried():
    results = upload(entries(16), Vendor(bad={3, 12}), vendor="V", limit=100, budget=2)
    assert {r.status for r in results} >= {"retry"} and all(r.status != "failed" for r in results)


def test_located_members_fail_and_the_rest_are_sent_again():
    class Locating(Vendor):
        def __call__(self, batch, part):
            if len(self.calls) == 0:
                self.calls.append(([e.contact_id for e in batch], part))
                raise ValidationError("refused", located={1: "bad hash"})
            return super().__call__(batch, part)
    vendor = Locating()
    results = upload(entries(3), vendor, vendor="V", limit=100)
    assert [r.status for r in results] == ["done", "failed", "done"] and "bad hash" in results[1].reason
    assert vendor.calls[1][0] == [0, 2]


@pytest.mark.parametrize(("error", "status"), [
    (RateLimited("slow down"), "retry"), (AuthError("token refused"), "retry"),
    (PermanentError("audience blocked"), "failed"),
])
def test_a_refusal_about_the_request_ends_the_call_for_every_member_left(error, status):
    vendor = Vendor(error=error)
    results = upload(entries(6), vendor, vendor="V", limit=2)
    assert {r.status for r in results} == {status} and len(vendor.calls) == 1
