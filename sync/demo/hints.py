"""The commands the demo's closing lines suggest, spelled so that each one works as printed.

The demo writes its own SQLite file (``DEMO_DB``) unless given a database; every command that
reads one takes ``--demo`` for that file (``sync.cli.context.demo_option``). A demo given a
database of its own is read back by naming it in ``DATABASE_URL``, like every other command.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import make_url

from sync.settings import Settings


def program() -> str:
    """How to call ``lifesync`` from the working directory.

    The script installed beside this Python: relative when it lies under the working directory
    (``.venv/bin/lifesync``, as the README runs it), ``lifesync`` when that is the one on PATH.
    """
    script = Path(sys.executable).parent / "lifesync"
    if not script.exists():
        return "lifesync"
    try:
        relative = str(script.relative_to(Path.cwd()))
    except ValueError:
        found = shutil.which("lifesync")
        return "lifesync" if found and Path(found).resolve() == script.resolve() else shlex.quote(str(script))
    return shlex.quote(relative if "/" in relative else f"./{relative}")


def shown(url: str) -> str:
    """A database URL as the demo prints it: never its password."""
    return make_url(url).render_as_string(hide_password=True)


def reading(database_url: str | None, settings: Settings) -> Callable[[str], str]:
    """``hint(ARGS)``: the shell command running ``lifesync ARGS`` on the database the demo filled.

    ``database_url`` is the one the demo was given (None: its own file, read with ``--demo``);
    one that is not the environment's is named in front of the command (its password, if any,
    as ``***``: never printed).
    """
    command = program()
    if database_url is None:
        return lambda args: f"{command} {args} --demo"
    same = Settings.from_env({"DATABASE_URL": database_url}).database_url == settings.database_url
    prefix = "" if same else f"DATABASE_URL={shlex.quote(shown(database_url))} "
    return lambda args: f"{prefix}{command} {args}"
