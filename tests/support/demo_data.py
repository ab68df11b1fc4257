"""A database the demo filled: what the API contract test and the console's browser tests run against."""

from __future__ import annotations

from pathlib import Path

from sync.demo.run import run_demo
from sync.settings import Settings

PEOPLE, SEED = 60, 5  # small enough to fill in seconds, with every kind of record the demo makes


def fill_with_demo(database_url: str, workdir: Path) -> None:
    """Run ``lifesync demo`` (``PEOPLE`` people, seed ``SEED``) into ``database_url``; its report to ``workdir``."""
    run_demo(Settings.from_env({}), people=PEOPLE, seed=SEED, database_url=database_url, echo=lambda line: None,
             report_path=workdir / "report.html")
