"""Privacy: what lifesync holds about one person, and how long it keeps personal data it no longer needs.

- ``access`` — everything held about one person, with sources and times (access requests:
  ``lifesync contacts export --identity``, ``GET /api/contacts/<id>/access-request``).
- ``retention`` — the retention settings and the purge that redacts what is past them
  (nightly job ``purge_personal_data``, ``lifesync privacy purge``).
- ``policy`` — ``decide``: the policy (send, restricted, strip, drop) one exit applies to one contact,
  from privacy.yaml (``sync.config.privacy``); conversion dispatch and audience sync both ask it.

Erasure comes later (issue 22).
"""
