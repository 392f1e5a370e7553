"""Appointment figures for the supervisor (joined into /api/stats)."""

from __future__ import annotations

from datetime import date

from .booking import Bookings


def _figures(counts: dict) -> dict:
    checked_in = counts["checked_in_on_time"] + counts["checked_in_late"]
    decided = checked_in + counts["missed"]
    return {
        "booked": sum(counts.values()),
        "checked_in": checked_in,
        "late": counts["checked_in_late"],
        "missed": counts["missed"],
        "cancelled": counts["cancelled"],
        "pending": counts["booked"],
        "on_time_rate": round(counts["checked_in_on_time"] / decided, 3) if decided else None,
    }


def appointment_stats(hall, start: date, end: date) -> dict:
    """Bookings whose slot date is in [start, end] (hall-local dates, both included).

    booked: all bookings made for those dates (whatever became of them); checked_in:
    checked in at the kiosk (late ones included, also counted in late); missed: not
    checked in by the end of the check-in window; cancelled; pending: still booked
    (window not over yet); on_time_rate: on-time check-ins / (checked_in + missed),
    0..1, None when nothing is decided yet. by_service: the same per service code.
    """
    Bookings.of(hall).sweep()
    empty = {
        "booked": 0,
        "checked_in_on_time": 0,
        "checked_in_late": 0,
        "missed": 0,
        "cancelled": 0,
    }
    total = dict(empty)
    per: dict[str, dict] = {}
    rows = hall.store.db().query(
        "SELECT service, status, late, COUNT(*) AS n FROM appointments "
        "WHERE date >= ? AND date <= ? GROUP BY service, status, late",
        [start.isoformat(), end.isoformat()],
    )
    for r in rows:
        key = r["status"]
        if key == "checked_in":
            key = "checked_in_late" if r["late"] else "checked_in_on_time"
        if key not in total:
            continue
        total[key] += r["n"]
        per.setdefault(r["service"], dict(empty))[key] += r["n"]
    return {
        **_figures(total),
        "by_service": {code: _figures(c) for code, c in sorted(per.items())},
    }
