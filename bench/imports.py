"""The import graph of lifesync's own modules: layers, cycles, what the WhatsApp splitter loads.

    .venv/bin/python bench/imports.py [--json]

Reads every module under ``sync/`` and ``jobs/`` with ``ast`` (imports at any depth, including
those inside functions, count as edges; ``if TYPE_CHECKING:`` blocks do not), folds each import
cycle into one node, and prints:

- modules, edges, and the cycles (strongly connected components of more than one module);
- the layer count: the longest chain of imports in the folded graph (a module importing
  nothing of ours is layer 1);
- for a few entry points, how many lifesync modules a fresh interpreter loads and whether
  SQLAlchemy or psycopg come with them (measured with ``python -X importtime``).
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sync", "jobs")
ENTRY_POINTS = ("sync.connectors.whatsapp", "sync.connectors.meta.whatsapp", "sync.connectors.events")  # old, new, new


def module_name(path: Path) -> str:
    """``sync/a/b.py`` → ``sync.a.b``; ``sync/a/__init__.py`` → ``sync.a``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for sub in ast.walk(child):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The lifesync modules ``path`` imports (the deepest known module each import names)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    """Module → the lifesync modules it imports."""
    paths = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
             if "migrations/versions" not in p.as_posix()}
    known = set(paths)
    return {name: imports_of(path, name, known) for name, path in sorted(paths.items())}


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def layers(edges: dict[str, set[str]], components: list[list[str]]) -> int:
    """Length of the longest import chain once each cycle is folded into one node."""
    owner = {member: i for i, comp in enumerate(components) for member in comp}
    folded: dict[int, set[int]] = {i: set() for i in range(len(components))}
    for name, targets in edges.items():
        for target in targets:
            if owner[target] != owner[name]:
                folded[owner[name]].add(owner[target])
    depth: dict[int, int] = {}
    # Tarjan emits components in reverse topological order: dependencies first.
    for i in range(len(components)):
        depth[i] = 1 + max((depth[j] for j in folded[i]), default=0)
    return max(depth.values())


def loaded_by(module: str) -> dict[str, object] | None:
    """Modules a fresh interpreter loads to import ``module``, from ``-X importtime``."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    names = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    ours = sorted({n for n in names if n.split(".")[0] in PACKAGES})
    return {"lifesync_modules": len(ours),
            "sqlalchemy": any(n == "sqlalchemy" for n in names),
            "psycopg": any(n == "psycopg" for n in names)}


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-entry-points", action="store_true", help="skip the fresh-interpreter imports")
    args = parser.parse_args()
    edges = graph()
    components = strongly_connected(edges)
    cycles = [c for c in components if len(c) > 1]
    report = {
        "modules": len(edges),
        "edges": sum(len(t) for t in edges.values()),
        "layers": layers(edges, components),
        "cycles": cycles,
        "loose_modules_in_sync": sorted(n for n in edges if n.count(".") == 1 and n.startswith("sync.")
                                        and not (ROOT / n.replace(".", "/")).is_dir()),
        "entry_points": {} if args.no_entry_points else {m: loaded_by(m) for m in ENTRY_POINTS},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"modules {report['modules']}, edges {report['edges']}, layers {report['layers']}")
    print(f"cycles: {len(cycles)}")
    for cycle in cycles:
        print("  " + " <-> ".join(cycle))
    print(f"loose modules in sync/: {len(report['loose_modules_in_sync'])}")
    for module, loaded in report["entry_points"].items():
        print(f"import {module}: {loaded if loaded is not None else 'not importable'}")


if __name__ == "__main__":
    main()
