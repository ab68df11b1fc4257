"""Run a mapping: a vendor record in, a canonical ``Patch`` out (and the way back).

``apply`` reads every spec of the mapping against one record. A transform failure becomes
a ``MappingError`` naming the mapping, the field and the record id; the offending value is
shown only when the field does not hold personal data.

A value a transform drops rather than fails on (``registry.refuse``: an unreadable phone
with ``on_invalid: null``, a lifecycle value ``map`` has no stage for) becomes a ``Refusal``
on the patch, located at the field the mapping read it for, its value under the same
personal-data rule — the rest of the record goes on. One refused value read by several specs
(a phone that is both an identity and a field) is one refusal, named after the field.

A ``consent`` spec's value must be true (granted), false (withdrawn) or blank (unknown: nothing
recorded); any other value, or a transform failing on it, is a refusal (``invalid_value``) located
at ``consent.<purpose>``, never a failed record.

A record is dated by its ``modified_at``; a mapping without one, or a record whose
``modified_at`` is blank, is dated by its arrival (``arrived_at``, default now) — never by
the epoch — and a blank one is a refusal too (``no_modified_at``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sync.errors import ConfigError, MappingError
from sync.mappings.loader import load_mapping
from sync.mappings.paths import set_path
from sync.mappings.registry import refusals_collected
from sync.mappings.specs import SKIP, FieldSpec, Mapping, empty
from sync.mappings.transforms import TransformError, parse_instant, to_bool, to_float
from sync.reconcile.patch import ActivityData, ConversionData, IdentityRef, Patch, Refusal, TouchpointData
from sync.reconcile.survivorship import consent_slot

__all__ = ["PII_FIELDS", "apply", "personal", "preview", "reverse"]

# canonical fields whose values are never echoed in error messages
PII_FIELDS = frozenset({
    "email", "phone", "mobile", "mobile_phone", "first_name", "last_name", "name", "full_name",
    "address", "street", "birthday", "date_of_birth",
})
_PLAIN = frozenset({str, int, float, bool, type(None)})  # already JSON-ready
SHOWN_CHARS = 60  # of a value shown in an error or a refusal
NO_MODIFIED_AT = "no_modified_at"


def personal(spec: FieldSpec | None, field: str) -> bool:
    """True when values read for ``field`` through ``spec`` are personal data, never to be shown."""
    return (spec is not None and spec.pii) or field in PII_FIELDS or field.startswith("identities")


def _shown(value: Any) -> str:
    shown = value if isinstance(value, str) else repr(value)
    return shown[:SHOWN_CHARS] + "..." if len(shown) > SHOWN_CHARS else shown


def _jsonable(value: Any) -> Any:
    """Datetimes and dates as ISO strings, tuples as lists, recursively."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class _Reader:
    """Evaluates specs of one mapping against one record, turning failures into MappingError."""

    def __init__(self, mapping: Mapping, record: dict[str, Any], sink: list[tuple[str, str, Any]] | None = None):
        self.mapping, self.record, self.record_id = mapping, record, ""
        self.sink = sink if sink is not None else []  # refuse() reports of the spec being read
        self.refused: list[tuple[Refusal, Any]] = []  # each with the raw value (to find the same value twice)

    def collect(self, spec: FieldSpec | None, field: str) -> None:
        """Turn the refusals reported while reading ``field`` into Refusals located there."""
        for kind, message, value in self.sink:
            shown = None if value is None or personal(spec, field) else _shown(value)
            self.refused.append((Refusal(field, kind, message, shown), value))
        self.sink.clear()

    def refusals(self) -> tuple[Refusal, ...]:
        """Each refused value once: the same value refused for a field and an identity counts for the field."""
        found: dict[tuple[str, str, str], Refusal] = {}
        for refusal, raw in sorted(self.refused, key=lambda item: item[0].field.startswith("identities")):
            found.setdefault((refusal.kind, refusal.reason, repr(raw)), refusal)
        return tuple(found.values())

    def fail(self, message: str, field: str) -> MappingError:
        """A MappingError located at ``field`` of this record."""
        return MappingError(message, mapping=self.mapping.name, field=field, record_id=self.record_id)

    def transform_error(self, exc: TransformError, spec: FieldSpec, field: str) -> MappingError:
        """The MappingError for a failed transform; the value is shown only when it is not personal."""
        message = str(exc)
        if exc.value is not None and not personal(spec, field):
            message += f" (got {_shown(repr(exc.value))})"
        return self.fail(message, field)

    def value(self, spec: FieldSpec | None, field: str) -> Any:
        """The spec's final value: None when absent, ``SKIP`` when its condition is false."""
        if spec is None:
            return None
        try:
            found = spec.evaluate(self.record)
        except TransformError as exc:
            raise self.transform_error(exc, spec, field) from None
        if self.sink:
            self.collect(spec, field)
        return found

    def text(self, spec: FieldSpec | None, field: str, required: bool = False) -> str | None:
        """The value as text (None when blank); ``required`` makes a blank an error."""
        value = self.value(spec, field)
        if value is SKIP or empty(value):
            if required:
                raise self.fail("a value is required here but the record has none", field)
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, dict | list):
            raise self.fail(f"expected a single value, got a {type(value).__name__}", field)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value.isoformat() if isinstance(value, datetime | date) else str(value)

    def convert(self, spec: FieldSpec | None, field: str, fn: Any, required: bool = False) -> Any:
        """The value passed through a converter (datetime, float, bool), None when blank."""
        value = self.value(spec, field)
        if value is SKIP or empty(value):
            if required:
                raise self.fail("a value is required here but the record has none", field)
            return None
        try:
            return fn(value)
        except TransformError as exc:
            raise self.transform_error(exc, spec or FieldSpec(), field) from None


def _fields(reader: _Reader) -> tuple[tuple[str, Any], ...]:
    out: list[tuple[str, Any]] = []
    record = reader.record
    for name, spec in reader.mapping.fields:
        if spec.direction == "out":
            continue
        try:
            value = spec.evaluate_field(record)
        except TransformError as exc:
            raise reader.transform_error(exc, spec, name) from None
        if reader.sink:
            reader.collect(spec, name)
        if value is not SKIP:
            out.append((name, _jsonable(value)))
    return tuple(out)


CONSENT_EXPECTED = "expected true (granted) or false (withdrawn) after the transforms (e.g. add consent, bool or not)"


def _consent(reader: _Reader) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for purpose, spec in reader.mapping.consent:
        if spec.direction == "out":
            continue
        field = consent_slot(purpose)
        try:
            value = spec.evaluate(reader.record)
        except TransformError as exc:
            value = exc.value if exc.value is not None else str(exc)
            reader.sink.append(("invalid_value", f"{exc}; {CONSENT_EXPECTED}", value))
            reader.collect(spec, field)
            continue
        if reader.sink:
            reader.collect(spec, field)
        if value is SKIP or empty(value):
            continue
        if not isinstance(value, bool):
            reader.sink.append(("invalid_value", CONSENT_EXPECTED, value))
            reader.collect(spec, field)
            continue
        out.append((purpose, value))
    return tuple(out)


def _identities(reader: _Reader) -> tuple[IdentityRef, ...]:
    found: list[IdentityRef] = []
    for index, spec in enumerate(reader.mapping.identities):
        value = reader.value(spec.value, f"identities[{index}]")
        for item in value if isinstance(value, list) else [value]:
            if item is SKIP or empty(item) or isinstance(item, dict | list):
                continue
            ref = IdentityRef(spec.kind, str(item).strip())
            if ref not in found:
                found.append(ref)
    return tuple(found)


def _pairs(reader: _Reader, specs: tuple[tuple[str, FieldSpec], ...], where: str) -> tuple[tuple[str, str], ...]:
    found = ((name, reader.text(spec, f"{where}.{name}")) for name, spec in specs)
    return tuple((name, value) for name, value in found if value is not None)


def _touchpoints(reader: _Reader) -> tuple[TouchpointData, ...]:
    out = []
    for index, spec in enumerate(reader.mapping.touchpoints):
        if spec.when is not None and not spec.when.test(reader.record):
            continue
        at = f"touchpoints[{index}]"
        text = {key: reader.text(getattr(spec, key), f"{at}.{key}")
                for key in ("network", "campaign_id", "adset_id", "ad_id", "referral_url", "headline")}
        out.append(TouchpointData(
            channel=str(reader.text(spec.channel, f"{at}.channel", required=True)),
            occurred_at=reader.convert(spec.occurred_at, f"{at}.occurred_at", parse_instant),
            click_ids=_pairs(reader, spec.click_ids, f"{at}.click_ids"),
            extra=_pairs(reader, spec.extra, f"{at}.extra"), **text,
        ))
    return tuple(out)


def _activities(reader: _Reader) -> tuple[ActivityData, ...]:
    out = []
    for index, spec in enumerate(reader.mapping.activities):
        if spec.when is not None and not spec.when.test(reader.record):
            continue
        at = f"activities[{index}]"
        direction = str(reader.text(spec.direction, f"{at}.direction", required=True)).lower()
        if direction not in ("inbound", "outbound"):
            raise reader.fail(f"expected inbound or outbound (got {direction!r})", f"{at}.direction")
        out.append(ActivityData(
            channel=str(reader.text(spec.channel, f"{at}.channel", required=True)),
            direction=direction,
            occurred_at=reader.convert(spec.occurred_at, f"{at}.occurred_at", parse_instant, required=True),
            external_id=reader.text(spec.external_id, f"{at}.external_id"),
            conversation_id=reader.text(spec.conversation_id, f"{at}.conversation_id"),
        ))
    return tuple(out)


def _conversions(reader: _Reader) -> tuple[ConversionData, ...]:
    out = []
    for index, spec in enumerate(reader.mapping.conversions):
        if spec.when is not None and not spec.when.test(reader.record):
            continue
        at = f"conversions[{index}]"
        adjusting = spec.adjust is not None  # an adjustment finds its conversion by order id: both must be there
        out.append(ConversionData(
            kind=str(reader.text(spec.kind, f"{at}.kind", required=True)),
            occurred_at=reader.convert(spec.occurred_at, f"{at}.occurred_at", parse_instant),
            value=reader.convert(spec.value, f"{at}.value", to_float, required=spec.adjust == "restate"),
            currency=reader.text(spec.currency, f"{at}.currency"),
            order_id=reader.text(spec.order_id, f"{at}.order_id", required=adjusting),
            adjust=spec.adjust,
        ))
    return tuple(out)


def _source_time(reader: _Reader, arrived_at: datetime | None) -> datetime:
    """The record's ``modified_at``; else its arrival (a blank ``modified_at`` is refused: it says nothing)."""
    found = reader.convert(reader.mapping.modified_at, "modified_at", parse_instant)
    if found is not None:
        return found
    if reader.mapping.modified_at is not None:
        paths = ", ".join(str(p) for p in reader.mapping.modified_at.paths) or "its constant"
        reader.refused.append((Refusal("modified_at", NO_MODIFIED_AT, f"the record has no modified_at (at {paths}): "
                                       "it is dated by its arrival"), None))
    return arrived_at or datetime.now(UTC)


def apply(mapping: Mapping, record: dict[str, Any], arrived_at: datetime | None = None) -> Patch:
    """Turn one vendor record into a Patch; raise MappingError when a value cannot be read.

    ``arrived_at`` (default now): when the record reached lifesync, its time when it has no
    ``modified_at``. Values the mapping drops are the patch's ``refusals``.
    """
    with refusals_collected() as sink:
        reader = _Reader(mapping, record, sink)
        if not isinstance(record, dict):
            raise reader.fail(f"expected a record object, got {type(record).__name__}", "")
        paths = ", ".join(str(p) for p in mapping.record_id.paths) or "the constant"
        reader.record_id = str(reader.text(mapping.record_id, "record_id", required=False) or "")
        if not reader.record_id:
            raise reader.fail(f"the record has no id at {paths}", "record_id")
        stage = None
        if mapping.stage is not None and mapping.stage.direction != "out":
            stage = reader.text(mapping.stage, "stage")
        return Patch(
            source=mapping.source,
            object=mapping.object,
            record_id=reader.record_id,
            source_time=_source_time(reader, arrived_at),
            identities=_identities(reader),
            fields=_fields(reader),
            consent=_consent(reader),
            stage=stage,
            touchpoints=_touchpoints(reader),
            activities=_activities(reader),
            conversions=_conversions(reader),
            deleted=bool(reader.convert(mapping.deleted, "deleted", to_bool)),
            creates_contact=mapping.creates_contacts,
            refusals=reader.refusals(),
            meta=(("mapping", mapping.name),),
        )


def reverse(mapping: Mapping, values: dict[str, Any], stage: str | None = None) -> dict[str, Any]:
    """Build a vendor-shaped dict from canonical values of the out/both fields (and stage).

    A consent purpose's value is keyed ``consent.<purpose>`` in ``values``.
    """
    out: dict[str, Any] = {}
    items = [(name, spec, values[name]) for name, spec in mapping.written() if name in values]
    if stage is not None and mapping.stage is not None and mapping.stage.direction != "in":
        items.append(("stage", mapping.stage, stage))
    for name, spec, value in items:
        for bound in reversed(spec.transforms):
            try:
                value = bound.invert(value)
            except TransformError as exc:
                raise _Reader(mapping, {}).transform_error(exc, spec, name) from None
        path = spec.write_path
        if path is not None:  # the loader guarantees one for out/both specs
            set_path(out, path, value)
    return out


def preview(mapping_path: str | Path, record: dict[str, Any], lifecycle: Any = None) -> dict[str, Any]:
    """Load a mapping file and show, as JSON-ready data, the patch it makes of ``record``.

    With ``lifecycle`` the file is checked as ``config check`` checks it (``check_mapping``: a
    stage the lifecycle does not have is a ConfigError).
    """
    if lifecycle is None:
        return apply(load_mapping(mapping_path), record).to_json()
    from sync.config.loader import check_mapping  # lazy: sync.config imports the mapping package

    mapping, issues = check_mapping(Path(mapping_path), lifecycle)
    if mapping is None:
        raise ConfigError(issues)
    return apply(mapping, record).to_json()
