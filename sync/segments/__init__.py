"""Segments: conditions over the canonical model, membership kept incrementally, audiences synced out.

``conditions`` (the typed segment and its condition tree), ``parse`` and ``files`` (segment files,
``segments/<key>.yaml``, validated with lines; ``Config.segments``), ``compile`` (the one compiler of
conditions into SQL over contacts), ``dirty`` (the queue of contacts changed since), ``membership``
(stays entered and left: incremental drain, full evaluation, ``current_members``), ``service`` (what
the CLI, API and console show and preview) and ``destinations`` (the audience destination contract).
Imports ``sync.config`` and ``sync.store``; never Flask or rq.
"""
