"""Segments: conditions over the canonical model, membership kept incrementally, audiences synced out."""
