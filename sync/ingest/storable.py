"""What a record may keep: every value a patch brings checked against the columns it will fill.

One check, before the database sees anything (``unstorable``): a string longer than its column
(lengths read from ``sync.store.model``), a NUL character in any kept string (PostgreSQL's text
refuses it, and its ``json ->>`` cannot read one back), or a time that cannot be stored as UTC.
A record that breaks one becomes a dead letter naming the record and the field — never the
value, which may be personal data — rather than a dropped field: a contact kept without its
e-mail, or with an id cut short, would silently disagree with its source (and could merge with
the wrong person), while the dead letter keeps the whole record for a replay once the mapping
(or the source) is fixed.

SQLite enforces no VARCHAR length, PostgreSQL does: checking here makes both databases agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column

from sync.reconcile.patch import IdentityRef, Patch
from sync.reconcile.survivorship import consent_slot
from sync.store import model


def _limit(column: Any) -> int | None:
    return getattr(column.type, "length", None)


def _c(entity: Any, name: str) -> Column[Any]:
    return entity.__table__.c[name]


_I, _F, _S = model.Identity, model.FieldValue, model.StageSignal
_T, _A, _C = model.Touchpoint, model.Activity, model.ConversionEvent


_BAD = re.compile("[\x00\ud800-\udfff]")  # neither PostgreSQL's text nor UTF-8 holds these


class Unstorable(Exception):
    """One value of a record no column can hold as it is; ``str`` names where and why (no value)."""


def unstorable(patch: Patch, refs: Iterable[IdentityRef] = ()) -> str | None:
    """Why ``patch`` (with its cleaned identities ``refs``) cannot be stored as it is; None when it can."""
    refs = tuple(refs)
    if _plainly_fine(patch, refs):  # most records: one length test a value, one search of them all
        return None
    try:
        _check_patch(patch, refs)
    except Unstorable as exc:
        return f"{record_label(patch)}: {exc}"
    return None


def record_label(patch: Patch) -> str:
    """``<source> <object> record <id>`` for a reason or a log line: the id storable, cut to a readable length."""
    text = fit(str(patch.record_id), 80)
    return f"{patch.source} {patch.object} record {text}{'…' if len(str(patch.record_id)) > 80 else ''}"


def fit(text: str, limit: int) -> str:
    """``text`` as a column of ``limit`` characters can hold it: NULs and lone surrogates replaced, cut short."""
    text = _BAD.sub("\ufffd", text)
    return text[:limit]


_RECORD_ID, _KIND, _VALUE, _FIELD, _STAGE = (_c(_F, "record_id").type.length, _c(_I, "kind").type.length,
                                             _c(_I, "value").type.length, _c(_F, "field").type.length,
                                             _c(_S, "stage").type.length)
_SCALARS = (int, float, bool)


def _plainly_fine(patch: Patch, refs: tuple[IdentityRef, ...]) -> bool:
    """True when nothing of ``patch`` can be unstorable; False sends it through ``_check_patch`` (which says why).

    Contacts (no events, ordinary times) are checked here at a fraction of ``_check_patch``'s cost.
    """
    if patch.touchpoints or patch.activities or patch.conversions:
        return False
    if patch.source_time is not None and patch.source_time.year in (1, 9999):
        return False
    record_id = str(patch.record_id)
    if len(record_id) > _RECORD_ID or (patch.stage is not None and len(patch.stage) > _STAGE):
        return False
    texts = [record_id, patch.stage or ""]
    for ref in (*patch.identities, *refs):
        if len(ref.kind) > _KIND or len(ref.value) > _VALUE:
            return False
        texts += (ref.kind, ref.value)
    for name, value in patch.fields:
        if len(name) > _FIELD:
            return False
        texts.append(name)
        if isinstance(value, str):
            texts.append(value)
        elif value is not None and not isinstance(value, _SCALARS):
            texts.extend(_strings(value))
    if any(len(consent_slot(purpose)) > _FIELD for purpose, _ in patch.consent):
        return False
    text = "".join(texts)
    return "\x00" not in text and (text.isascii() or _BAD.search(text) is None)  # the regex walks each character


def _check_patch(patch: Patch, refs: Iterable[IdentityRef]) -> None:
    _text("record id", patch.record_id, _c(_F, "record_id"))
    _time("modified time", patch.source_time)
    for ref in (*patch.identities, *refs):
        _text(f"identity kind {ref.kind[:32]!r}", ref.kind, _c(_I, "kind"))
        _text(f"{ref.kind[:32]} identity", ref.value, _c(_I, "value"))
    for name, value in patch.fields:
        _text(f"field name {name[:64]!r}", name, _c(_F, "field"))
        _json(f"field {name[:64]}", value)
    for purpose, _ in patch.consent:
        _text(f"consent purpose {purpose[:64]!r}", consent_slot(purpose), _c(_F, "field"))
    if patch.stage is not None:
        _text("stage", patch.stage, _c(_S, "stage"))
    for t in patch.touchpoints:
        _time("touchpoint time", t.occurred_at)
        for label, value, column in (("touchpoint channel", t.channel, "channel"),
                                     ("touchpoint network", t.network, "network"),
                                     ("touchpoint campaign id", t.campaign_id, "campaign_id"),
                                     ("touchpoint ad set id", t.adset_id, "adset_id"),
                                     ("touchpoint ad id", t.ad_id, "ad_id"),
                                     ("touchpoint referral url", t.referral_url, "referral_url"),
                                     ("touchpoint headline", t.headline, "headline")):
            _text(label, value, _c(_T, column))
        _json("touchpoint click ids", t.click_ids)
        _json("touchpoint extra", t.extra)
    for a in patch.activities:
        _time("activity time", a.occurred_at)
        for label, value, column in (("activity channel", a.channel, "channel"),
                                     ("activity direction", a.direction, "direction"),
                                     ("activity external id", a.external_id, "external_id"),
                                     ("activity conversation id", a.conversation_id, "conversation_id")):
            _text(label, value, _c(_A, column))
    for c in patch.conversions:
        _time("conversion time", c.occurred_at)
        for label, value, column in (("conversion kind", c.kind, "kind"),
                                     ("conversion currency", c.currency, "currency"),
                                     ("conversion order id", c.order_id, "order_id")):
            _text(label, value, _c(_C, column))


def _text(label: str, value: Any, column: Column[Any]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        value = str(value)
    _characters(label, value)
    limit = _limit(column)
    if limit is not None and len(value) > limit:
        raise Unstorable(f"{label} is {len(value)} characters long; its column "
                         f"({column.table.name}.{column.name}) holds at most {limit}")


def _json(label: str, value: Any) -> None:
    for text in _strings(value):
        _characters(label, text)


def _characters(label: str, text: str) -> None:
    if (bad := _BAD.search(text)) is not None:
        what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate (no UTF-8 form)"
        raise Unstorable(f"{label} holds {what}, which the database cannot store")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value: keys and values, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for k, v in item.items():
                stack.append(k)
                stack.append(v)
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)


def _time(label: str, value: datetime | None) -> None:
    """A time must have a UTC form (year 1 to 9999 once its offset is applied)."""
    if value is None or not isinstance(value, datetime):
        return
    try:
        value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise Unstorable(f"{label} is out of the range a timestamp can hold (years 1 to 9999 in UTC)") from None
