"""The loaded form of a mapping file: frozen specs, each compiled into closures when built.

A ``FieldSpec`` says where a value comes from (paths or a constant), how it is transformed
and where it is written back. Building one also compiles it into two closures, so the
engine does no dispatching per record: ``evaluate(record)`` gives the final value (or
``SKIP`` when its ``when`` condition is false) and ``evaluate_field(record)`` the same for
the ``fields`` section, where a blank result is either the source clearing the field
(None) or nothing to report (``SKIP``). Both raise ``TransformError`` from a transform.
``sync.mappings.schema`` builds these objects from YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.mappings.paths import MISSING, Path
from sync.mappings.registry import BoundTransform
from sync.reconcile.survivorship import consent_slot

__all__ = [
    "ADJUSTMENTS", "SKIP", "ActivitySpec", "Condition", "ConversionSpec", "FieldSpec", "IdentitySpec", "Mapping",
    "TouchpointSpec", "empty",
]


ADJUSTMENTS = ("retract", "restate")  # a conversions: entry's ``adjust``


class _Skip:
    """Marker for 'this spec's ``when`` condition is false' (or, for a field, 'nothing to report')."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Any = _Skip()


def empty(value: Any) -> bool:
    """True for None, blank text, [] and {}: values that carry no information."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return value == [] or value == {}


def _norm(value: Any) -> Any:
    """How conditions compare: JSON spelling for booleans, no '.0' on whole numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return None if value is None else str(value)


@dataclass(frozen=True)
class Condition:
    """``when``: ``op`` is ``equals``, ``in`` or ``present``."""

    path: Path
    op: str
    operand: Any
    test: Callable[[Any], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup = self.path.lookup
        if self.op == "present":
            wanted = bool(self.operand)

            def present(record: Any) -> bool:
                """True when the record satisfies the condition."""
                value = lookup(record)
                return (value is not MISSING and not empty(value)) == wanted

            object.__setattr__(self, "test", present)
            return
        options = frozenset(_norm(o) for o in (self.operand if self.op == "in" else (self.operand,)))

        def matches(record: Any) -> bool:
            """True when the record satisfies the condition."""
            value = lookup(record)
            return _norm(None if value is MISSING else value) in options

        object.__setattr__(self, "test", matches)


def _compile_source(spec: FieldSpec) -> Callable[[Any], tuple[Any, bool]]:
    """``source(record)`` → (value before transforms, whether a source path exists)."""
    if spec.is_constant:
        constant = spec.constant
        return lambda record: (constant, False)
    lookups = tuple(path.lookup for path in spec.paths)
    if len(lookups) == 1:
        (lookup,) = lookups

        def one_path(record: Any) -> tuple[Any, bool]:
            value = lookup(record)
            return (None, False) if value is MISSING else (value, True)

        return one_path

    def first_non_empty_path(record: Any) -> tuple[Any, bool]:
        value, exists = None, False
        for lookup in lookups:
            value = lookup(record)
            if value is MISSING:
                value = None
            else:
                exists = True
            if not empty(value):
                break
        return value, exists

    return first_non_empty_path


def _compile(spec: FieldSpec) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The spec's ``evaluate`` and ``evaluate_field`` closures (see the module docstring)."""
    source = _compile_source(spec)
    when = spec.when.test if spec.when is not None else None
    calls = tuple(t.call for t in spec.transforms)
    default = spec.default

    def evaluate(record: Any) -> Any:
        if when is not None and not when(record):
            return SKIP
        value = source(record)[0]
        for call in calls:
            value = call(value, record)
        return default if default is not None and empty(value) else value

    def evaluate_field(record: Any) -> Any:
        if when is not None and not when(record):
            return SKIP
        raw, exists = source(record)
        value = raw
        for call in calls:
            value = call(value, record)
        if not empty(value):
            return value
        if default is not None and not empty(default):
            return default
        # a blank in the record is news (the source cleared it); a blank we made is not
        return None if exists and empty(raw) else SKIP

    return evaluate, evaluate_field


@dataclass(frozen=True)
class FieldSpec:
    """Where a value comes from (paths or a constant), how it is transformed, and where it goes."""

    paths: tuple[Path, ...] = ()
    constant: Any = None
    is_constant: bool = False
    transforms: tuple[BoundTransform, ...] = ()
    default: Any = None
    when: Condition | None = None
    direction: str = "in"
    out_path: Path | None = None
    evaluate: Callable[[Any], Any] = field(init=False, repr=False, compare=False)
    evaluate_field: Callable[[Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        evaluate, evaluate_field = _compile(self)
        object.__setattr__(self, "evaluate", evaluate)
        object.__setattr__(self, "evaluate_field", evaluate_field)

    @property
    def write_path(self) -> Path | None:
        """Where ``reverse`` writes: ``out_path``, else the (first) source path."""
        return self.out_path or (self.paths[0] if self.paths else None)

    @property
    def pii(self) -> bool:
        """True when a transform marks the value as personal data (phone, email, name)."""
        return any(t.spec.pii for t in self.transforms)

    def outputs(self) -> set[Any]:
        """Values this spec can produce that are written in the file (constants, map targets)."""
        found: set[Any] = {self.constant} if self.is_constant else set()
        for t in self.transforms:
            args = dict(t.args)
            if t.name == "map":
                found |= set(args["values"].values())
                found.add(args.get("default"))
            elif t.name in ("constant", "default"):
                found.add(args["value"])
        found.add(self.default)
        return {v for v in found if v is not None}


@dataclass(frozen=True)
class IdentitySpec:
    """An identity of kind ``kind`` read with ``value``."""

    kind: str
    value: FieldSpec


@dataclass(frozen=True)
class TouchpointSpec:
    """How to read one touchpoint (ad click, referral) from a record."""

    channel: FieldSpec
    when: Condition | None = None
    network: FieldSpec | None = None
    campaign_id: FieldSpec | None = None
    adset_id: FieldSpec | None = None
    ad_id: FieldSpec | None = None
    occurred_at: FieldSpec | None = None
    referral_url: FieldSpec | None = None
    headline: FieldSpec | None = None
    click_ids: tuple[tuple[str, FieldSpec], ...] = ()
    extra: tuple[tuple[str, FieldSpec], ...] = ()


@dataclass(frozen=True)
class ActivitySpec:
    """How to read one activity (a message, a call) from a record."""

    channel: FieldSpec
    direction: FieldSpec
    occurred_at: FieldSpec
    when: Condition | None = None
    external_id: FieldSpec | None = None
    conversation_id: FieldSpec | None = None


@dataclass(frozen=True)
class ConversionSpec:
    """How to read one conversion event (a purchase, a won deal) from a record.

    ``adjust`` makes the entry an adjustment of an earlier conversion of the same kind and
    order id rather than a new one: ``retract`` (it no longer counts: an order cancelled or
    fully refunded) or ``restate`` (its value becomes this entry's ``value``: a partial refund).
    """

    kind: FieldSpec
    when: Condition | None = None
    occurred_at: FieldSpec | None = None
    value: FieldSpec | None = None
    currency: FieldSpec | None = None
    order_id: FieldSpec | None = None
    adjust: str | None = None  # None: a conversion; ADJUSTMENTS: an adjustment of one


@dataclass(frozen=True)
class Mapping:
    """One loaded mapping file: how a (source, object) record becomes a Patch."""

    name: str
    file: str
    source: str
    object: str
    record_id: FieldSpec
    modified_at: FieldSpec | None = None
    deleted: FieldSpec | None = None
    creates_contacts: bool = True  # False: a record no known contact holds is refused, not a new contact
    identities: tuple[IdentitySpec, ...] = ()
    fields: tuple[tuple[str, FieldSpec], ...] = ()
    consent: tuple[tuple[str, FieldSpec], ...] = ()  # purpose → spec of a true (granted) / false (withdrawn)
    stage: FieldSpec | None = None
    touchpoints: tuple[TouchpointSpec, ...] = ()
    activities: tuple[ActivitySpec, ...] = ()
    conversions: tuple[ConversionSpec, ...] = ()

    def stage_values(self) -> set[str]:
        """Every stage name the stage spec can produce (map targets, defaults, constants)."""
        return {str(v) for v in self.stage.outputs()} if self.stage else set()

    def out_fields(self) -> set[str]:
        """Names of the fields written back to the vendor (direction out or both); consent as ``consent.<purpose>``."""
        return {name for name, spec in self.written()}

    def written(self) -> tuple[tuple[str, FieldSpec], ...]:
        """(name, spec) of every field and consent purpose (``consent.<purpose>``) a write-back may carry."""
        return tuple((name, spec) for name, spec in self.fields if spec.direction != "in") + tuple(
            (consent_slot(purpose), spec) for purpose, spec in self.consent if spec.direction != "in")
