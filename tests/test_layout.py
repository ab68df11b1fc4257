"""The layout's rules (issue 15), checked on the code itself rather than kept by convention.

Imports are read with ``ast`` at every depth (an import inside a function counts), except
those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPLITTERS = [  # what a webhook receiver parses with: must load without HTTP client or database driver
    "sync.connectors.events",
    "sync.connectors.jsonread",
    "sync.connectors.signatures",
    "sync.connectors.meta.whatsapp",
    "sync.connectors.meta.messenger",
    "sync.connectors.meta.signature",
    "sync.connectors.tiktok",
    "sync.connectors.twilio",
    "sync.connectors.generic",
    "sync.connectors.hubspot.webhooks",
    "sync.connectors.salesforce.outbound",
    "sync.connectors.respondio.webhooks",
]


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        if "versions" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(path: Path) -> set[str]:
    """Top-level names of everything ``path`` imports (absolute imports only: the project uses no others)."""
    tree = ast.parse(path.read_text(), str(path))
    guarded = [n for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)]
    skipped = {id(n) for node in guarded for child in node.body for n in ast.walk(child)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


SYNC = _modules("sync")


def _importers(prefixes: tuple[str, ...]) -> set[str]:
    return {name for name, path in SYNC.items()
            if any(i == p or i.startswith(p + ".") for i in _imported(path) for p in prefixes)}


def test_only_settings_errors_and_utc_are_loose_in_sync():
    loose = sorted(p.name for p in (ROOT / "sync").glob("*.py"))
    assert loose == ["__init__.py", "errors.py", "settings.py", "utc.py"]


def test_nothing_in_sync_imports_jobs_but_the_cli_that_starts_processes():
    assert {m for m in _importers(("jobs",)) if not m.startswith("sync.cli.")} == set()


def test_the_core_imports_neither_flask_nor_rq():
    shells = ("sync.web", "sync.sandbox")
    flask = {m for m in _importers(("flask", "werkzeug")) if not m.startswith(shells)}
    rq = {m for m in _importers(("rq", "rq_dashboard")) if m != "sync.web.ops_auth"}  # mounts rq-dashboard
    assert (flask, rq) == (set(), set())


@pytest.mark.parametrize("module", SPLITTERS)
def test_a_webhook_parser_loads_no_database_driver_and_no_http_client(module):
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'requests', 'flask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"



def test_no_import_cycles_between_modules():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "imports.py"), "--json", "--no-entry-points"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["modules"] > 150  # the graph was read at all
    assert report["cycles"] == []
