"""Wait estimates: people ahead and minutes, from recent handling times and open windows.

Before there is data the service's configured `service_minutes` is used. Capacity is
counted per window: a window that serves the service as a primary counts fully, shared
among the primary services that have people waiting there; a secondary window counts
for a fraction, since it only takes the service when its own queues are empty.
"""

from __future__ import annotations

import math
from datetime import timedelta

from .clock import from_iso, to_iso

SECONDARY_SHARE = 0.25
HISTORY_DAYS = 14


def handling_minutes(db, service: dict, now, sample: int) -> float:
    """Mean handling time (finish - last call) of the service's recent tickets."""
    since = to_iso(now - timedelta(days=HISTORY_DAYS))
    rows = list(
        db.query(
            "SELECT last_called_at, finished_at FROM tickets WHERE service = ? AND "
            "status = 'done' AND finished_at >= ? ORDER BY finished_at DESC LIMIT ?",
            [service["code"], since, sample],
        )
    )
    durations = [
        (from_iso(r["finished_at"]) - from_iso(r["last_called_at"])).total_seconds() / 60
        for r in rows
        if r["last_called_at"]
    ]
    default = float(service.get("service_minutes") or 8)
    if not durations:
        return default
    # Blend with the default while the sample is small, so one odd ticket does not
    # swing every estimate in the hall.
    weight = len(durations) / max(sample, 1)
    return weight * (sum(durations) / len(durations)) + (1 - weight) * default


def capacity(db, service_code: str, day: str) -> float:
    """Effective number of windows working on this service."""
    windows = list(
        db.query(
            "SELECT w.number, w.state, ws.tier FROM window_services ws "
            "JOIN windows w ON w.number = ws.window WHERE ws.service = ? AND w.active = 1",
            [service_code],
        )
    )
    open_windows = [w for w in windows if w["state"] in ("open", "paused")]
    # When nothing is open yet (before opening), assume the configured windows will open.
    pool = open_windows or windows
    if not pool:
        return 0.0
    busy = {
        r["window"]: r["n"]
        for r in db.query(
            "SELECT ws.window, COUNT(DISTINCT t.service) AS n FROM window_services ws "
            "JOIN tickets t ON t.service = ws.service AND t.status = 'waiting' AND t.day = ? "
            "WHERE ws.tier = 1 GROUP BY ws.window",
            [day],
        )
    }
    total = 0.0
    for w in pool:
        share = 1.0 / max(busy.get(w["number"], 1), 1)
        total += share if w["tier"] == 1 else SECONDARY_SHARE * share
    return max(total, 0.25)


def eta_minutes(ahead: int, minutes_each: float, windows: float) -> int:
    if ahead <= 0:
        return 0
    if windows <= 0:
        windows = 1.0
    return int(math.ceil(ahead * minutes_each / windows))
