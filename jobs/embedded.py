"""``lifesync serve`` without REDIS_URL: web app, worker and schedule in one process.

The web server and a housekeeping loop (due retries, schedule.yaml's jobs) run on threads;
the rq worker (SimpleWorker, on the embedded store) runs on the main thread, where rq can
install its signal handlers, so Ctrl-C stops everything. Webhook events a previous run stored
but did not process (it was killed or stopped) are drained as soon as it starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rq.scheduler import RQScheduler
from sqlalchemy import make_url
from werkzeug.serving import make_server

from jobs.connection import redis_connection
from jobs.queues import QUEUES, queue
from jobs.schedule import EmbeddedCron
from jobs.web import create_web_app
from jobs.worker import make_worker, resume_inbox
from sync.config.schedule import load_schedule
from sync.settings import Settings


def serve_embedded(settings: Settings, host: str, port: int, echo: Callable[[str], None] = print) -> None:
    """Serve until interrupted."""
    app = create_web_app(settings)
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="lifesync-web", daemon=True).start()
    connection = redis_connection(settings)
    cron = EmbeddedCron(connection, load_schedule(settings.config_dir))
    stop = threading.Event()

    def housekeeping() -> None:
        # rq's own schedulers run loops (and fork) of their own, which cannot see an in-process
        # store: move due scheduled jobs (retries waiting out their interval) and enqueue due
        # schedule.yaml entries here instead, once a second.
        scheduler = RQScheduler([queue(q, connection) for q in QUEUES], connection=connection,
                                logging_level="WARNING")
        while not stop.wait(1):
            scheduler.acquire_locks()
            scheduler.enqueue_scheduled_jobs()
            cron.tick()

    threading.Thread(target=housekeeping, name="lifesync-housekeeping", daemon=True).start()
    database = make_url(settings.database_url).render_as_string(hide_password=True)  # never print a password
    echo(f"lifesync serving on http://{host}:{server.server_port} (embedded queue; database {database})")
    resume_inbox(settings)  # events stored before a kill or a stop: drained first, not when the sweeper looks
    try:
        make_worker(settings).work(with_scheduler=False)
    finally:
        stop.set()
        server.shutdown()
