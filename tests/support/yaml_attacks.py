"""YAML files built to exhaust a loader, for the config tests (and ``bench/hostile_input.py``).

Each is small to write and huge (or endless) to read without limits: aliases and ``<<`` merge
keys that expand exponentially, nesting deep enough to exhaust the stack, a file far over any
config's size, a NUL byte, bytes that are not UTF-8.
"""

from __future__ import annotations


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """Each level a list of ``width`` aliases of the one before: ``width ** levels`` strings once expanded."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 15, width: int = 9) -> str:
    """Each level a mapping merging the one before ``width`` times (``<<``): under a kilobyte, endless to read."""
    lines = ["m0: &m0 {k: v}"]
    lines += [f"m{n}: &m{n} {{<<: [{', '.join([f'*m{n - 1}'] * width)}]}}" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def deep_nesting(depth: int = 10_000) -> str:
    """A flow sequence nested ``depth`` deep under a key."""
    return "key: " + "[" * depth + "]" * depth + "\n"


def deep_blocks(depth: int = 200) -> str:
    """Block mappings nested ``depth`` deep, one more indent a line."""
    return "".join(f"{' ' * n}k{n}:\n" for n in range(depth)) + " " * depth + "leaf\n"


def oversized(size: int) -> str:
    """A valid list of at least ``size`` bytes."""
    item = "- just another item\n"
    return "items:\n" + item * (size // len(item) + 1)


def with_nul(line: int = 3) -> str:
    """A lifecycle-looking file with a NUL byte on ``line``."""
    lines = ["version: 1", "stages:", "  - name: New Lead", "    phase: acquisition"]
    lines[line - 1] = lines[line - 1] + "\x00"
    return "\n".join(lines) + "\n"


NOT_UTF8 = b"version: 1\nstages:\n  - name: Caf\xe9\n"  # Latin-1, on line 3
