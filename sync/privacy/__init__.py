"""Privacy: how long lifesync keeps personal data it no longer needs.

- ``retention`` — the retention settings and the purge that redacts what is past them
  (nightly job ``purge_personal_data``, ``lifesync privacy purge``).
"""
