"""Benchmark: server time of the console's pages on PostgreSQL at 1,000,000 contacts.

    python bench/console.py [--database lifesync_api_bench] [--contacts 1000000] [--runs 100] [--page NAME ...]

The database is ``bench/api.py``'s (its ``load``: a database already holding ``--contacts`` contacts
is reused as it is, an empty one is filled the same way; a partly filled one is refused). The
console is signed in through its own form (CSRF token included) with the bootstrap admin token,
then each page (:data:`PAGES`) is fetched ``--runs`` times through the Flask test client — routing,
the session and role guard, the service calls and the template — and p50 / p99 are printed in
milliseconds (target p99 ≤ 300 ms). The overview's report parts, which htmx loads after the page,
are measured on their own. A page whose route this app does not have yet is reported
``not built`` instead of measured.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import TOKEN, Bench, database_url, ensure_database, load, measure

TARGET_MS = 300
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
HTMX = {"HX-Request": "true"}


class Console:
    """A test client signed in to the console, and samples of real values (``bench/api.py``'s)."""

    def __init__(self, store: Any, config: Any, rng: random.Random) -> None:
        from cryptography.fernet import Fernet

        from sync.settings import Settings
        from sync.web import create_app

        self.samples = Bench(store, config, rng)
        settings = Settings.from_env({"DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
                                      "LIFESYNC_OPS_TOKEN": TOKEN,
                                      "LIFESYNC_SECRET_KEY": Fernet.generate_key().decode()})
        self.app = create_app(settings, store=store, config=config, enqueue=lambda ids: None, queue=None)
        self.client, self.rng = self.app.test_client(), rng
        form = self.client.get("/console/sign-in").get_data(as_text=True)
        signed = self.client.post("/console/sign-in", data={"token": TOKEN,
                                                            "csrf_token": CSRF_INPUT.search(form).group(1)})
        if signed.status_code != 302:
            raise SystemExit(f"console sign-in: {signed.status_code} {signed.get_data(as_text=True)[:300]}")

    def built(self, path: str) -> bool:
        """Whether this app has a route for ``path`` (a page another branch adds may not be here yet)."""
        from werkzeug.exceptions import NotFound

        try:
            self.app.url_map.bind("localhost").match(path.split("?", 1)[0])
        except NotFound:
            return False
        return True

    def get(self, path: str, query: dict[str, Any] | None = None, headers: dict[str, str] | None = None
            ) -> Callable[[], None]:
        def call() -> None:
            res = self.client.get(path, query_string=query or {}, headers=headers or {})
            if res.status_code != 200:
                raise SystemExit(f"{path} {query}: {res.status_code} {res.get_data(as_text=True)[:300]}")
        return call


def overview(c: Console) -> Callable[[], None]:
    return c.get("/console/overview")


def overview_part(name: str) -> Callable[[Console], Callable[[], None]]:
    def make(c: Console) -> Callable[[], None]:
        return c.get(f"/console/overview/{name}", headers=HTMX)
    make.__doc__ = f"the overview's {name} part, as htmx loads it"
    return make


def contact_search(c: Console) -> Callable[[], None]:
    name = c.rng.choice(c.samples.names)
    return c.get("/console/contacts", {"q": name[: c.rng.randint(3, max(3, len(name)))]})


def contact_page(c: Console) -> Callable[[], None]:
    return c.get(f"/console/contacts/{c.rng.choice(c.samples.contact_ids)}")


# name → (a path to test whether the page is built, how to make one measured call)
PAGES: dict[str, tuple[str, Callable[[Console], Callable[[], None]]]] = {
    "overview": ("/console/overview", overview),
    "overview part: connections": ("/console/overview/connections", overview_part("connections")),
    "overview part: funnel": ("/console/overview/funnel", overview_part("funnel")),
    "overview part: lost": ("/console/overview/lost", overview_part("lost")),
    "overview part: conversions": ("/console/overview/conversions", overview_part("conversions")),
    "contact search (q name prefix)": ("/console/contacts", contact_search),
    "contact page": ("/console/contacts/1", contact_page),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20_000, help="contacts ingested through the pipeline")
    parser.add_argument("--letters", type=int, default=1_000_000, help="dead letters added to a database with none")
    parser.add_argument("--database", default="lifesync_api_bench", help="bench/api.py's, kept between runs")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--page", action="append", choices=list(PAGES), help="only these (repeatable)")
    args = parser.parse_args()

    from alembic.util.exc import CommandError

    from sync.config import load_config
    from sync.store.engine import open_store

    ensure_database(args.database)
    try:
        store = open_store(database_url(args.database))
    except CommandError as exc:  # migrated by a newer checkout: read it as it is (the pages only read)
        print(f"not migrating the database ({exc}): using its schema as it is", flush=True)
        store = open_store(database_url(args.database), migrate=False)
    load(store, args.contacts, args.seed, args.letters)
    console = Console(store, load_config(None), random.Random(7))
    for name in args.page or PAGES:
        probe, make = PAGES[name]
        if not console.built(probe):
            print(f"{name:<34} not built", flush=True)
            continue
        p50, p99 = measure(lambda make=make: make(console), args.runs)
        print(f"{name:<34} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms   (target p99 ≤ {TARGET_MS} ms)", flush=True)
    store.dispose()


if __name__ == "__main__":
    main()
