"""Periodic work in the serving process (the printer monitor, the daily jobs).

A thread does not survive gunicorn's fork, and `serve` builds the app before it forks
its worker: so a Periodic starts at the first request the process answers
(`start_with(app)`), and again after a fork. Never under app.testing unless the app's
config switch says so, so tests decide when background work happens.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Calls `work()` every `interval` seconds in a daemon thread, until stop() or until
    `work()` returns False (e.g. its hall is gone). `work()` may return a number of
    seconds to wait instead (0: at once, e.g. more is waiting; a backoff); `wake()` ends
    the current wait early (new work arrived)."""

    def __init__(self, name: str, interval: float, work: Callable[[], bool | None]):
        self.name = name
        self.interval = interval
        self.work = work
        self.rounds = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def ensure_running(self) -> None:
        """Start once per process (after a fork it starts anew)."""
        if self.running or self.interval <= 0:
            return
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the next round now (or as soon as the current one is done)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """End promptly (the current round finishes)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def start_with(self, app, switch: str) -> bool:
        """Start at the first request of the serving process; under app.testing only
        when app.config[switch] is true. Returns whether it will start."""
        enabled = app.config.get(switch)
        if enabled is None:
            enabled = not app.testing
        if enabled and self.interval > 0:
            app.before_request(self.ensure_running)
        return bool(enabled)

    def _run(self) -> None:
        stop = self._stop
        while not stop.is_set():
            try:
                keep_going = self.work()
            except Exception:
                log.exception("%s: a round failed", self.name)
                keep_going = True
            self.rounds += 1
            if keep_going is False or stop.is_set():
                return
            wait = self.interval
            if isinstance(keep_going, (int, float)) and not isinstance(keep_going, bool):
                wait = max(0.0, float(keep_going))
            if wait and self._wake.wait(wait):
                self._wake.clear()
