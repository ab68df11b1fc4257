"""Local emulators of the vendor APIs lifesync talks to, for ``lifesync demo``, e2e tests and manual use.

Each sandbox keeps its records in memory, serves the vendor's own paths on loopback and
enforces the vendor's rules (auth, limits, error shapes) rather than accepting anything.
``sync.sandbox.faults`` holds the knobs every sandbox shares for injecting failures.
"""
