"""Declarative mappings: one YAML file per (connector, object) turns a vendor record into a Patch.

    mapping = load_mapping("config/mappings/hubspot_contacts.yaml")
    patch = apply(mapping, record)            # vendor record -> canonical Patch
    vendor = reverse(mapping, {"first_name": "Ana"}, stage="Hot Lead")   # and back

The file format is described in ``sync.mappings.schema`` and loads into the specs of
``sync.mappings.specs``; ``sync.mappings.registry`` declares and binds transforms, and
``sync.mappings.transforms`` holds the built-in ones (all listed in ``REGISTRY``).
"""

from sync.mappings.engine import apply, preview, reverse
from sync.mappings.loader import load_mapping, load_mappings
from sync.mappings.paths import Path, PathSyntaxError, compile_path, get_path, path_exists, set_path
from sync.mappings.registry import REGISTRY, TransformError, transform
from sync.mappings.specs import (
    ActivitySpec,
    Condition,
    ConversionSpec,
    FieldSpec,
    IdentitySpec,
    Mapping,
    TouchpointSpec,
)

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
