"""What the fault benchmarks share (``recovery.py``, ``chaos.py``): private servers, lifesync processes, waits.

- ``Redis``: a private ``redis-server`` on a free loopback port that keeps nothing, so a
  restart loses every queue. The shared Redis is never touched.
- ``Postgres``: a private PostgreSQL cluster (``initdb`` in a temporary directory, a free
  loopback port), so it can be stopped and restarted; run as the ``postgres`` user when the
  bench runs as root (``initdb`` refuses root).
- ``Processes``: ``lifesync`` subprocesses (``serve``, ``worker``, ``scheduler``) logging to
  files, killed with ``kill -9`` or stopped with SIGTERM.
- ``until``, ``counts``, ``worker_running``: polling the inbox and rq's workers.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhooks import event_body, free_port


class Redis:
    """A private redis-server that keeps nothing: a restart loses every queue."""

    def __init__(self, tmp: str):
        self.port, self.tmp, self.proc = free_port(), tmp, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from redis import Redis as Client

        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.tmp], stdout=subprocess.DEVNULL)
        for _ in range(300):
            try:
                Client.from_url(self.url).ping()
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def client(self):
        from redis import Redis as Client

        return Client.from_url(self.url)


class Postgres:
    """A private PostgreSQL cluster in ``tmp`` on a free loopback port: started, stopped, restarted at will."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        bindir = os.environ.get("BENCH_PG_BIN") or (str(Path(found[-1]).parent) if found else "")
        if not bindir or not shutil.which("pg_ctl", path=bindir):
            raise SystemExit("no PostgreSQL server binaries: set BENCH_PG_BIN to the directory of initdb and pg_ctl")
        self.bindir, self.port = bindir, free_port()
        self.dir = tempfile.mkdtemp(prefix="lifesync-bench-pg-")  # its own: the postgres user must reach it
        self.data, self.log = os.path.join(self.dir, "data"), os.path.join(self.dir, "server.log")
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self.admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.as_user, os.path.join(self.bindir, tool), *args], check=False,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-500:]} (log: {self.log})")

    def init(self) -> Postgres:
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (clients disconnected, a checkpoint) or ``immediate`` (as a crash)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def create(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def running(self) -> bool:
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def remove(self) -> None:
        """Stop the server if it runs, and delete the cluster."""
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def whatsapp_events(first: int, count: int, timestamp: int | None = None) -> list:
    """The inbox events of ``count`` WhatsApp deliveries (``webhooks.event_body``), as a receiver stores them."""
    from sync.connectors.meta.whatsapp import split

    return [e for n in range(first, first + count) for e in split(json.loads(event_body(n, timestamp)))]


def counts(store) -> tuple[int, int]:
    """(processed, still received) webhook events."""
    from sqlalchemy import func, select

    from sync.store import model

    with store.transaction() as s:
        rows = dict(s.execute(select(model.RawEvent.status, func.count()).group_by(model.RawEvent.status)).all())
    return rows.get("processed", 0), rows.get("received", 0)


def until(check, limit: float, poll: float = 0.2) -> float | None:
    """Seconds until ``check()`` is true, or None past ``limit``."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if check():
            return time.monotonic() - started
        time.sleep(poll)
    return None


class Processes:
    """``lifesync`` subprocesses of one run, each logging to ``<tmp>/<command>-<n>.log``."""

    def __init__(self, env: dict[str, str], tmp: str):
        self.env, self.tmp, self.procs = env, tmp, []

    def start(self, *args: str) -> subprocess.Popen:
        log = open(f"{self.tmp}/{args[0]}-{len(self.procs)}.log", "w")  # noqa: SIM115 - kept for the process's life
        proc = subprocess.Popen([sys.executable, "-m", "sync.cli.main", *args], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        proc.command = args[0]
        self.procs.append(proc)
        return proc

    def kill9(self, pid: int) -> None:
        """``kill -9`` of the process ``pid`` started here and of its children (rq's scheduler of a worker):
        systemd's restart of a unit leaves none of the dead main process's children behind."""
        os.killpg(pid, signal.SIGKILL)

    def alive(self, command: str) -> int:
        """How many ``command`` processes started here are running."""
        return sum(1 for p in self.procs if p.command == command and p.poll() is None)

    def logs(self, command: str) -> str:
        """Everything the ``command`` processes logged."""
        return "".join(Path(f"{self.tmp}/{p.command}-{n}.log").read_text(errors="replace")
                       for n, p in enumerate(self.procs) if p.command == command)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def running_jobs(redis, func_name: str = "jobs.tasks.drain_inbox") -> list[tuple]:
    """(started at, worker pid) of every ``func_name`` job running, oldest first."""
    from rq import Worker

    running = []
    for worker in Worker.all(connection=redis):
        job = worker.get_current_job()
        if job is not None and job.func_name == func_name and job.started_at is not None:
            running.append((job.started_at, worker.pid))
    return sorted(running)


def worker_running(redis, func_name: str = "jobs.tasks.drain_inbox") -> int | None:
    """The pid of the worker whose ``func_name`` job started first (for the drain: the one holding its turn)."""
    running = running_jobs(redis, func_name)
    return running[0][1] if running else None
