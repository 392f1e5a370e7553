"""The server's daily jobs: erase expired personal data ([privacy] at) and back up the
database ([backup] at), at a time of day in the hall's timezone.

One small daemon thread per serving process, started lazily at the first request (like
the kiosk's printer monitor): `serve` builds the app before gunicorn forks its worker,
and a thread does not survive the fork. Never under app.testing unless
app.config["HALL_SCHEDULER"] is true. A job that was due while the server was down runs
at the next start (catch-up). Each run first claims (job, day) in `daily_jobs`, so
several server processes on one database run it once.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from .background import Periodic
from .clock import to_iso
from .config import parse_hhmm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    at: str  # "HH:MM" hall-local; "" = never
    run: Callable  # fn(hall) -> JSON-able result


def _purge(hall):
    from . import privacy

    return privacy.purge(hall)["changed"]


def _backup(hall):
    from . import backup

    row = backup.take(hall, trigger="daily")
    return {"ok": bool(row["ok"]), "size": row.get("size"), "error": row.get("error")}


def default_jobs(cfg) -> list[Job]:
    return [
        Job("purge", cfg.privacy["at"], _purge),
        Job("backup", cfg.backup["at"], _backup),
    ]


class Scheduler(Periodic):
    TICK = 30.0  # seconds between looks at the clock (a daily job may start that late)

    def __init__(self, hall, jobs: list[Job]):
        self._hall = weakref.ref(hall)
        self.jobs = [j for j in jobs if j.at]
        self._done: set[tuple[str, str]] = set()  # (job, day) known done
        self._run_lock = threading.Lock()
        super().__init__("hall-scheduler", self.TICK if self.jobs else 0, self._round)

    def _round(self) -> bool:
        self.run_due()
        return self._hall() is not None  # the hall is gone: the thread ends

    # --- the work -------------------------------------------------------------------
    def due(self, hall) -> list[tuple[Job, str]]:
        local = hall.hours.local(hall.clock.now())
        day = local.date().isoformat()
        return [
            (j, day)
            for j in self.jobs
            if (j.name, day) not in self._done and local.time() >= parse_hhmm(j.at, j.name)
        ]

    def run_due(self) -> list[str]:
        """Run every job due and not yet run today (by any process). Returns the names
        of the jobs this call ran."""
        hall = self._hall()
        if hall is None:
            return []
        with self._run_lock:
            return self._run_due(hall)

    def _run_due(self, hall) -> list[str]:
        ran = []
        for job, day in self.due(hall):
            self._done.add((job.name, day))
            with hall.store.write() as db:
                claimed = db.execute(
                    "INSERT OR IGNORE INTO daily_jobs (job, day, started_at) VALUES (?, ?, ?)",
                    [job.name, day, to_iso(hall.clock.now())],
                ).rowcount
            if not claimed:
                continue
            try:
                result = job.run(hall)
            except Exception as e:
                log.exception("daily job %s failed", job.name)
                result = {"error": str(e)[:300]}
            with hall.store.write() as db:
                db.execute(
                    "UPDATE daily_jobs SET finished_at = ?, result = ? WHERE job = ? AND day = ?",
                    [
                        to_iso(hall.clock.now()),
                        json.dumps(result, ensure_ascii=False, default=str),
                        job.name,
                        day,
                    ],
                )
            ran.append(job.name)
        return ran


def install(app, hall) -> Scheduler:
    """The app's scheduler (app.extensions["hall_scheduler"]), started at the first
    request of the serving process when enabled."""
    scheduler = Scheduler(hall, default_jobs(hall.cfg))
    app.extensions["hall_scheduler"] = scheduler
    scheduler.start_with(app, "HALL_SCHEDULER")
    return scheduler
