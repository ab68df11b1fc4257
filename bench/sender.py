"""Meta's side of the WhatsApp webhook, for the fault benchmarks: signed deliveries at a steady rate, retried until 200.

``Sender`` posts ``webhooks.event_body`` deliveries (one inbound message each, a unique wamid
and sender, the message time now) over ``threads`` loopback connections at ``rate`` per
second (``count`` of them, or until stopped). A delivery answered anything but 200 (or not
answered) is sent again after the answer's ``Retry-After`` (at most ``retry_cap`` seconds;
0.5 s without one) until it is acknowledged or ``give_up`` seconds passed, as Meta retries. A share ``redeliver`` of the
acknowledged deliveries is sent once more at once (Meta redelivers what it was not sure of):
the receiver must store those once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import threading
import time
from collections import Counter

from webhooks import event_body


class Sender:
    """Post signed WhatsApp deliveries numbered from ``first`` until ``stop()``; what was answered."""

    def __init__(self, port: int, secret: str, *, rate: float, threads: int = 6, first: int = 0,
                 count: int | None = None, redeliver: float = 0.1, retry_cap: float = 2.0, give_up: float = 120.0,
                 seed: int = 7):
        self.port, self.secret, self.rate, self.threads = port, secret, rate, threads
        self.redeliver, self.retry_cap, self.give_up = redeliver, retry_cap, give_up
        self.first = self.next = first  # the next delivery's number
        self.count = count  # deliveries to send (None: until stopped)
        self.sent = 0  # distinct deliveries started
        self.acked: set[int] = set()  # numbers of deliveries answered 200
        self.ok_times: list[float] = []  # monotonic time of every 200
        self.statuses: Counter[int] = Counter()  # every answer (0: no answer: refused, reset, timed out)
        self.retry_after_503 = 0  # 503 answers that carried Retry-After
        self.redelivered = 0  # acknowledged deliveries sent again (answered 200 again)
        self.gave_up = 0  # deliveries never acknowledged within give_up
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool: list[threading.Thread] = []
        self._started = 0.0

    def start(self) -> Sender:
        self._started = time.monotonic()
        self._pool = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for t in self._pool:
            t.start()
        return self

    def stop(self, wait_for_all: bool = False) -> None:
        """Start no new delivery (unless ``wait_for_all`` of ``count``); wait for those in flight."""
        if not wait_for_all:
            self._stop.set()
        for t in self._pool:
            t.join()

    def first_ok_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` (monotonic) to the first 200 after it, if any yet."""
        with self._lock:
            later = [t for t in self.ok_times if t > moment]
        return min(later) - moment if later else None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                n = self.next
                if self.count is not None and n - self.first >= self.count:
                    return
                self.next += 1
                redeliver = self._random.random() < self.redeliver
            due = self._started + (n - self.first) / self.rate
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return  # stopped before its time: never sent
            with self._lock:
                self.sent += 1
            body = event_body(n, int(time.time()))
            sig = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if not self._deliver(body, sig):
                with self._lock:
                    self.gave_up += 1
                continue
            with self._lock:
                self.acked.add(n)
            if redeliver and self._deliver(body, sig):
                with self._lock:
                    self.redelivered += 1

    def _deliver(self, body: bytes, sig: str) -> bool:
        """Post until 200; False after ``give_up`` seconds."""
        deadline = time.monotonic() + self.give_up
        while time.monotonic() < deadline:
            status, retry_after = self._post(body, sig)
            with self._lock:
                self.statuses[status] += 1
                if status == 200:
                    self.ok_times.append(time.monotonic())
                    return True
                if status == 503 and retry_after is not None:
                    self.retry_after_503 += 1
            time.sleep(min(retry_after if retry_after is not None else 0.5, self.retry_cap))
        return False

    def _post(self, body: bytes, sig: str) -> tuple[int, float | None]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/webhooks/whatsapp", body=body,
                         headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
            res = conn.getresponse()
            res.read()
            header = res.getheader("Retry-After")
            try:
                retry_after = float(header) if header is not None else None
            except ValueError:
                retry_after = None
            return res.status, retry_after
        except OSError:
            return 0, None
        finally:
            conn.close()
