"""Figures computed from the append-only event log (the supervisor face extends these)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from .clock import from_iso, to_iso


def day_bounds(hall, start: date, end: date) -> tuple[str, str]:
    tz = hall.cfg.tz
    lo = datetime.combine(start, time(0), tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)
    return to_iso(lo), to_iso(hi)


def ticket_facts(hall, start: date, end: date) -> list[dict]:
    """One record per ticket issued in the range, rebuilt from ticket_events."""
    lo, hi = day_bounds(hall, start, end)
    db = hall.store.db()
    facts: dict[int, dict] = {}
    rows = db.query(
        "SELECT e.* FROM ticket_events e WHERE e.ticket_id IN (SELECT ticket_id FROM "
        "ticket_events WHERE kind = 'issued' AND at >= ? AND at < ?) ORDER BY e.id",
        [lo, hi],
    )
    for e in rows:
        f = facts.setdefault(e["ticket_id"], {"ticket_id": e["ticket_id"], "calls": 0})
        at = from_iso(e["at"])
        kind = e["kind"]
        if kind == "issued":
            f["issued_at"] = at
        elif kind == "called":
            f["calls"] += 1
            f.setdefault("first_call", at)
            f["last_call"] = at
            f["window"] = e["window"]
            f["clerk"] = e["actor"]
        elif kind == "finished":
            f["finished_at"] = at
        elif kind == "no_show":
            f["no_show"] = True
    return list(facts.values())


def compute(hall, start: date, end: date) -> dict:
    facts = ticket_facts(hall, start, end)
    waits = [
        (f["first_call"] - f["issued_at"]).total_seconds() for f in facts if "first_call" in f
    ]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "tickets": len(facts),
        "served": sum(1 for f in facts if "finished_at" in f),
        "avg_wait_s": round(sum(waits) / len(waits), 1) if waits else None,
    }
