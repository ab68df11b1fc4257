"""Data quality: issues, the quality report, duplicate review."""
