"""What a screen needs to draw itself from nothing: the snapshots sent on every
(re)connect, and the public shapes of calls and windows (no person, no token).

Shared by the faces' namespaces and pages; built from hall.queries only.
"""

from __future__ import annotations


def snapshot(hall) -> dict:
    db = hall.store.db()
    read = hall.engine.read
    return {
        "hall": hall.cfg.hall["name"],
        "calls": [hall.with_audio(c) for c in read.recent_calls(db, 10)],
        "queue": read.waiting_counts(db),
        "windows": [read.window_json(db, w) for w in read.windows(db)],
        "at": read.local_iso(hall.now_iso()),
    }


# --- public screens (/display) -------------------------------------------------------
# Hall and window displays are public: their data names no person (no clerk, no actor)
# and carries no token. /counter and /supervisor keep the full shapes above.
PUBLIC_WINDOW_DROP = ("clerk",)
MAX_FILTER_SERVICES = 50


def public_window(window: dict) -> dict:
    """A window_json without the clerk signed in there (a person's name)."""
    return {k: v for k, v in window.items() if k not in PUBLIC_WINDOW_DROP}


def public_call(call: dict) -> dict:
    """A `called` payload as the displays get it (never an actor)."""
    return {k: v for k, v in call.items() if k != "actor"}


def services_filter(data) -> list[str] | None:
    """`{"services": ["BDC", "SB"]}` from a display's auth or snapshot request, checked;
    None (all services) for anything missing or malformed."""
    if not isinstance(data, dict):
        return None
    codes = data.get("services")
    if not isinstance(codes, list) or not codes or len(codes) > MAX_FILTER_SERVICES:
        return None
    if not all(isinstance(c, str) and 0 < len(c) <= 16 for c in codes):
        return None
    return codes


def public_snapshot(hall, services: list[str] | None = None, limit: int = 10) -> dict:
    """What a hall or window display needs to draw itself from nothing.

    The keys of `snapshot()` (hall, calls, queue, windows, at) with public windows, plus
    services (code, name, department, prefix), notice, day and last_event_id (the
    highest ticket_events id: a display that remembers a higher one is looking at a
    reset database). `services` limits `calls` to those services (zone displays).
    """
    db = hall.store.db()
    read = hall.engine.read
    calls = read.recent_calls(db, limit, services=services)
    last = db.execute("SELECT MAX(id) FROM ticket_events").fetchone()[0] or 0
    return {
        "hall": hall.cfg.hall["name"],
        "notice": hall.cfg.hall["notice"],
        "day": read.today(),
        "calls": [public_call(hall.with_audio(c)) for c in calls],
        "queue": read.waiting_counts(db),
        "windows": [public_window(read.window_json(db, w)) for w in read.windows(db)],
        "services": [
            {
                "code": s["code"],
                "name": s["name"],
                "department": s["department"],
                "prefix": s["prefix"],
            }
            for s in read.services(db)
        ],
        "last_event_id": last,
        "at": read.local_iso(hall.now_iso()),
    }


def public_window_event(hall, number: int, at: str | None = None) -> dict | None:
    """The `window` event for displays: the public window_json of one window, plus `at`."""
    db = hall.store.db()
    read = hall.engine.read
    w = read.window(db, number)
    if w is None:
        return None
    return {"at": at or read.local_iso(hall.now_iso()), **public_window(read.window_json(db, w))}
