"""A check-in's answer (the kiosk's screen and POST .../check-in), and the
`booking_checkin` interface (hall/interfaces.py): the citizen face checks a booking in
when its booker taps the ID card at a kiosk, without importing this face.

The answer goes through hall.issuing.answer like every other number, so the faces'
issue hooks run: the kiosk prints, and the booking's phone (unless the booker said no)
is handed to them as the `phone` issue option, which subscribes the ticket to the
citizen face's 即将到号 and called messages exactly as a phone left at the kiosk does.
"""

from __future__ import annotations

from hall import issuing

from .booking import STATUS_CN, Bookings
from .schedule import hhmm


def answer(hall, ticket: dict, late: bool, row: dict, kiosk=None, *, with_code=True) -> dict:
    """The body POST /api/tickets would give for the ticket, plus late and appointment."""
    options = {"phone": row["phone"]} if row.get("notify", 1) and row.get("phone") else {}
    body = issuing.answer(hall, ticket, kiosk=kiosk, options=options, source="appointment")
    body["late"] = late
    body["appointment"] = {
        "service": row["service"],
        "date": row["date"],
        "slot": row["slot"],
        "status": row["status"],
    }
    if with_code:
        body["appointment"] = {"code": row["code"], **body["appointment"]}
    return body


class CheckIns:
    """hall.interfaces.BookingCheckIn, provided by this face."""

    def __init__(self, hall):
        self.hall = hall

    def _bookings(self) -> Bookings:
        return Bookings.of(self.hall)

    def today(self, id_key: str) -> dict | None:
        bookings = self._bookings()
        row = bookings.today_of(id_key)
        if row is None:
            return None
        now = bookings.now()
        opens, closes = bookings.checkin_window(bookings.start_of(row))
        state = "early" if now < opens else ("due" if now <= closes else "late")
        svc = self.hall.engine.read.service(self.hall.store.db(), row["service"])
        return {
            "service": row["service"],
            "service_name": svc["name"] if svc else row["service"],
            "date": row["date"],
            "slot": row["slot"],
            "status": row["status"],
            "status_text": STATUS_CN.get(row["status"], row["status"]),
            "state": state,
            "checkin_opens": hhmm(opens),
            "checkin_closes": hhmm(closes),
        }

    def check_in(self, id_key: str, *, kiosk=None, actor=None, within=None) -> dict | None:
        done = self._bookings().check_in_by_id(id_key, kiosk=kiosk, actor=actor, within=within)
        if done is None:
            return None
        ticket, late, row = done
        return answer(self.hall, ticket, late, row, kiosk, with_code=False)


def for_app(app, hall) -> CheckIns:
    return CheckIns(hall)
