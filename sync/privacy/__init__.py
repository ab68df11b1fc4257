"""Privacy: what lifesync holds about one person (access requests); consent, erasure and retention later."""
