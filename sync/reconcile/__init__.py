"""Reconciliation, pure: what a batch of patches does to the contacts it touches.

- ``patch`` — ``Patch`` and ``IdentityRef``: what a mapping makes of one vendor record;
- ``identity`` — identity cleaning and resolution (which contacts a patch names, merges);
- ``survivorship`` — per-field rules choosing the winning value among candidates;
- ``lifecycle`` — the stage engine: a contact's stage derived by replaying stage signals;
- ``state`` / ``workspace`` — contacts loaded for a batch, and the changes applied to them.

No I/O: no database session, no HTTP. May import: ``sync.config`` (types), ``sync.errors``,
the conversion-rules engine (``sync.attribution.rules``, pure) for stage-moving conversions.
"""
