"""GET /api/health: how the running hall is doing, for whoever watches it (a monitor on
the LAN, the supervisor). No login, so nothing personal and nothing secret in it: counts,
states and times only. The answer is built at most once per CACHE_SECONDS per process,
so nobody can turn it into load (its database check is a write transaction)."""

from __future__ import annotations

import sqlite3
import threading
import time

from flask import Blueprint, current_app, jsonify

from .app import current_hall

bp = Blueprint("health", __name__, url_prefix="/api")

CACHE_SECONDS = 2.0
DB_TIMEOUT = 2.0


def database_writable(path: str) -> dict:
    """A tiny write in a transaction that is rolled back: the file is there, writable,
    and its write lock can be had within DB_TIMEOUT seconds."""
    if path == ":memory:":
        return {"writable": True, "error": None}
    try:
        conn = sqlite3.connect(path, timeout=DB_TIMEOUT, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO daily_jobs (job, day, started_at) VALUES ('health-probe', '', '')"
            )
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as e:
        return {"writable": False, "error": type(e).__name__ + ": " + str(e)[:200]}
    return {"writable": True, "error": None}


def _printers(hall) -> list[dict] | None:
    from .interfaces import PRINTERS

    provider = hall.faces.interface(PRINTERS)
    if provider is None:
        return None
    keep = ("kiosk", "name", "status", "status_name", "paper_low", "checked_at")
    return [{k: s.get(k) for k in keep} for s in provider.statuses()]


def _sockets() -> dict | None:
    """Live connections by kind (public, the hall's own, staff), refusals and limits
    (hall/sockets.py), and WebSockets on the event loop."""
    from .compat import wsevent

    gate = current_app.extensions.get("hall_gate")
    if gate is None:
        return None
    return {**gate.report(), "on_event_loop": wsevent.open_sockets()}


def report(hall) -> dict:
    from . import backup, privacy
    from .compat import report as compat_report
    from .compat.socketio import connection_counts
    from .realtime import socketio

    db = hall.store.db()
    database = database_writable(hall.store.path)
    b = backup.status(hall, db)
    last = b["last"]
    scheduler = current_app.extensions.get("hall_scheduler")
    counts = connection_counts(socketio)
    return {
        "ok": database["writable"],
        "at": hall.engine.read.local_iso(hall.now_iso()),
        "database": database,
        "connections": counts,
        "connections_total": sum(counts.values()) if counts is not None else None,
        "sockets": _sockets(),
        "capacity": current_app.extensions.get("hall_capacity"),
        "pending_events": hall.broadcaster.pending() if hall.broadcaster else 0,
        "printers": _printers(hall),
        "backup": {
            "at": last["at"] if last else None,
            "ok": last["ok"] if last else None,
            "last_ok_at": b["last_ok_at"],
            "stale": b["stale"],
        },
        "privacy": {
            "retention_days": hall.cfg.privacy["retention_days"],
            "last_purge": privacy.last_purge(hall, db),
        },
        "scheduler": {"running": bool(scheduler and scheduler.running)},
        "compat": compat_report(),
    }


_cache_lock = threading.Lock()


@bp.get("/health")
def health():
    hall = current_hall()
    cache = current_app.extensions.setdefault("hall_health", {})
    with _cache_lock:
        if cache.get("until", 0) <= time.monotonic():
            cache["body"] = report(hall)
            cache["until"] = time.monotonic() + CACHE_SECONDS
        body = cache["body"]
    resp = jsonify(body)
    resp.status_code = 200 if body["ok"] else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp
