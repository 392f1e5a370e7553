"""预约签到 by ID card: the booker's resident ID number given at booking (only its keyed
hash and masked form are kept, hall.idnumber) finds the booking again at the kiosk.
Mixed into Bookings (booking.py), which makes every change."""

from __future__ import annotations

from hall import idnumber
from hall.errors import Invalid, NotFound


class ByIdNumber:
    """Bookings' look-ups by ID number (self is a Bookings)."""

    def person(self, raw) -> dict | None:
        """{key, masked} of a resident ID number given at booking (None when none was
        given); 400 when it is not shaped like one, 404 when its check digit or birth
        date is wrong (no one's number). The number goes no further."""
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise Invalid("字段id_number须为字符串 ('id_number' must be a string)")
        number = idnumber.normalize(raw)
        if not number:
            return None
        if not idnumber.SHAPE.fullmatch(number):
            raise Invalid(idnumber.INVALID)
        if not idnumber.valid(number):  # the right shape, but no one's (as at the kiosk)
            raise NotFound(idnumber.INVALID)
        return {"key": idnumber.key_of(self.secret, number), "masked": idnumber.mask(number)}

    def today_of(self, id_key: str, done: bool = False) -> dict | None:
        """The booking today (booked, or missed: its window closed; with done, checked
        in too) of the person with this ID key, open ones and early slots first; None
        when there is none."""
        if not id_key:
            return None
        self.sweep()
        statuses = ("booked", "missed", "checked_in") if done else ("booked", "missed")
        rows = list(
            self.hall.store.db().query(
                f"SELECT * FROM appointments WHERE id_key = ? AND date = ? "
                f"AND status IN ({', '.join('?' * len(statuses))}) "
                "ORDER BY status = 'checked_in', status = 'missed', slot, id",
                [id_key, self.now().date().isoformat(), *statuses],
            )
        )
        return rows[0] if rows else None

    def code_of_id(self, number: str) -> str:
        """The code of today's booking made with this ID number (for the check-in
        screen, where the number stands for the code); 404 when there is none."""
        person = self.person(number)
        row = self.today_of(person["key"], done=True) if person else None
        if row is None:
            raise NotFound("该身份证今天没有预约，请扫描预约码或到取号首页取号 (no booking today)")
        return row["code"]

    def check_in_by_id(self, id_key: str, kiosk=None, actor=None, within=None):
        """An ID card at the kiosk: (ticket, late, booking) when the person has a booking
        whose on-time check-in window is open now, else None (the card takes an ordinary
        number). within(db, ticket) runs in the check-in's transaction."""
        row = self.today_of(id_key)
        if row is None or row["status"] != "booked":
            return None
        now = self.now()
        opens, closes = self.checkin_window(self.start_of(row))
        if not opens <= now <= closes:
            return None
        return self._check_in(row, now, False, kiosk, actor, within=within, via="card")
