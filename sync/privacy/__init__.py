"""Privacy: what lifesync holds about one person, and how long it keeps personal data it no longer needs.

- ``access`` — everything held about one person, with sources and times (access requests:
  ``lifesync contacts export --identity``, ``GET /api/contacts/<id>/access-request``).
- ``retention`` — the retention settings and the purge that redacts what is past them
  (nightly job ``purge_personal_data``, ``lifesync privacy purge``, ``POST /api/privacy/purge``).
- ``erasure`` — forgetting a person everywhere lifesync keeps them (``lifesync contacts forget``,
  ``POST /api/contacts/<id>/forget``, the console's contact page), with ``suppression`` (salted
  digests so a re-sent record recreates no one) and ``upstream`` (deletion in the CRMs).
"""
