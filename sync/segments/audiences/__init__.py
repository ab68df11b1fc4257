"""Audiences: each segment's members kept in sync with its destinations (tags, lists, campaigns, ad audiences).

- ``members`` — the ``AudienceMember``s of a batch of contacts, loaded in bulk from the canonical model;
- ``diff`` — the minimal change (a pure function of stored state and current members);
- ``engine`` — ``sync_audience``: ensure, diff, batches at the vendor's maximum, results recorded;
- ``bookkeeping`` — the ``audience_members`` / ``audiences`` rows and the ``audience`` dead letters;
- ``run`` — every destination of every segment (the job, ``lifesync segments sync``, the ops API);
- ``status`` — counts per destination of a segment.

Destinations themselves live in ``sync.segments.destinations`` (the contract is its ``base``).
"""
