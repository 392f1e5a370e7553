"""The appointments face's part of the staffing planner (hall.interfaces.Bookings): the
bookings of a date by service and hour, and slot capacities set from the forecast to
move load off the peak (supervisor/planner.py decides them; this face keeps them)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from hall.errors import Invalid

MAX_CAPACITY = 100
SLOT_RE = re.compile(r"[0-2]\d:[0-5]\d")


def for_app(app, hall) -> Capacities:
    return Capacities(hall)


def capacities_of(db, service: str, day: date) -> dict[str, int]:
    """{slot: capacity} set for a service and date (others keep slot_capacity)."""
    return {
        r["slot"]: r["capacity"]
        for r in db.query(
            "SELECT slot, capacity FROM appointment_capacities WHERE service = ? AND date = ?",
            [service, day.isoformat()],
        )
    }


class Capacities:
    def __init__(self, hall):
        self.hall = hall

    @property
    def slot_minutes(self) -> int:
        return self.hall.cfg.appointments["slot_minutes"]

    @property
    def default_capacity(self) -> int:
        return self.hall.cfg.appointments["slot_capacity"]

    def booked(self, day: date) -> dict:
        out: dict = defaultdict(int)
        for r in self.hall.store.db().query(
            "SELECT service, slot, COUNT(*) AS n FROM appointments WHERE date = ? "
            "AND status != 'cancelled' GROUP BY service, slot",
            [day.isoformat()],
        ):
            out[(r["service"], int(r["slot"][:2]))] += r["n"]
        return dict(out)

    def capacities(self, day: date) -> dict:
        out: dict = defaultdict(dict)
        for r in self.hall.store.db().query(
            "SELECT service, slot, capacity FROM appointment_capacities WHERE date = ? "
            "ORDER BY service, slot",
            [day.isoformat()],
        ):
            out[r["service"]][r["slot"]] = r["capacity"]
        return dict(out)

    def set_capacities(self, day: date, capacities: dict, actor) -> dict:
        hall = self.hall
        now = hall.clock.now()
        with hall.store.write() as db:
            known = {r["code"] for r in db.query("SELECT code FROM services")}
            for service, slots in capacities.items():
                if service not in known:
                    raise Invalid(f"没有这项业务 (unknown service {service!r})")
                for slot, cap in slots.items():
                    if not isinstance(slot, str) or not SLOT_RE.fullmatch(slot):
                        raise Invalid("时段须为HH:MM (slot must be HH:MM)")
                    if not isinstance(cap, int) or not 0 <= cap <= MAX_CAPACITY:
                        raise Invalid(f"号源须为0-{MAX_CAPACITY} (capacity 0-{MAX_CAPACITY})")
                db.execute(
                    "DELETE FROM appointment_capacities WHERE service = ? AND date = ?",
                    [service, day.isoformat()],
                )
                for slot, cap in slots.items():
                    db["appointment_capacities"].insert(
                        {"service": service, "date": day.isoformat(), "slot": slot, "capacity": cap}
                    )
            hall.engine.audit(
                db,
                actor,
                "appointment_capacity",
                f"date:{day.isoformat()}",
                now,
                services=sorted(capacities),
            )
        return self.capacities(day)
