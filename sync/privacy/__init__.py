"""Privacy: who may be sent what (policies), forgetting a person, access requests, and retention of personal data.

- ``access`` — everything held about one person, with sources and times (access requests:
  ``lifesync contacts export --identity``, ``GET /api/contacts/<id>/access-request``).
- ``retention`` — the retention settings and the purge that redacts what is past them
  (nightly job ``purge_personal_data``, ``lifesync privacy purge``, ``POST /api/privacy/purge``).
- ``erasure`` — forgetting a person everywhere lifesync keeps them (``lifesync contacts forget``,
  ``POST /api/contacts/<id>/forget``, the console's contact page), with ``suppression`` (salted
  digests so a re-sent record recreates no one) and ``upstream`` (deletion in the CRMs).
- ``verify`` — every table's rows as text, searched for a person's values (the demo's and the tests' check
  after an erasure).
- ``policy`` — ``decide``: the policy (send, restricted, strip, drop) one exit applies to one contact,
  from privacy.yaml (``sync.config.privacy``); conversion dispatch and audience sync both ask it.
"""
