"""Declarative mappings: one YAML file per (connector, object) turns a vendor record into a Patch.

    mapping = load_mapping("config/mappings/hubspot_contacts.yaml")
    patch = apply(mapping, record)            # vendor record -> canonical Patch
    vendor = reverse(mapping, {"first_name": "Ana"}, stage="Hot Lead")   # and back

The file format is described in ``sync.mappings.schema``; transforms are listed in
``sync.mappings.transforms.REGISTRY``.
"""

from sync.mappings.engine import apply, preview, reverse
from sync.mappings.loader import load_mapping, load_mappings
from sync.mappings.paths import Path, PathSyntaxError, compile_path, get_path, path_exists, set_path
from sync.mappings.schema import (
    ActivitySpec,
    Condition,
    ConversionSpec,
    FieldSpec,
    IdentitySpec,
    Mapping,
    TouchpointSpec,
)
from sync.mappings.transforms import REGISTRY, TransformError, transform

__all__ = [
    "REGISTRY",
    "ActivitySpec",
    "Condition",
    "ConversionSpec",
    "FieldSpec",
    "IdentitySpec",
    "Mapping",
    "Path",
    "PathSyntaxError",
    "TouchpointSpec",
    "TransformError",
    "apply",
    "compile_path",
    "get_path",
    "load_mapping",
    "load_mappings",
    "path_exists",
    "preview",
    "reverse",
    "set_path",
    "transform",
]
