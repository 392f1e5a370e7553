"""预约办 calendar: which days can be booked, the slots of a day, their check-in window
(the rules are in booking.py's docstring). Read-only; Bookings (booking.py) builds on it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hall.errors import Invalid, NotFound
from hall.hours import WEEKDAY_CN

from .capacity import capacities_of


def hhmm(dt: datetime | time) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}"


def end_label(start: datetime, end: datetime) -> str:
    """HH:MM of a slot's end; a slot ending at midnight ends at 24:00, not 00:00."""
    if end.date() > start.date() and (end.hour, end.minute) == (0, 0):
        return "24:00"
    return hhmm(end)


def day_label(day: date) -> str:
    return f"{day.isoformat()} {WEEKDAY_CN[day.weekday()]}"


def moment_label(dt: datetime, today: date | None = None) -> str:
    if today is not None and dt.date() == today:
        return hhmm(dt)
    return f"{day_label(dt.date())} {hhmm(dt)}"


class Schedule:
    """Days and slots of one hall's appointments (mixed into Bookings)."""

    # --- settings and time ----------------------------------------------------------
    @property
    def s(self) -> dict:
        return self.hall.cfg.appointments

    @property
    def hours(self):
        return self.hall.hours

    def now(self) -> datetime:
        return self.hours.local(self.hall.clock.now())

    def today(self) -> date:
        return self.now().date()

    # --- days -----------------------------------------------------------------------
    def is_bookable_day(self, day: date) -> bool:
        return self.hours.always_open or self.hours.is_working_day(day)

    def _nth_day(self, today: date, n: int) -> date:
        day, left = today, n
        while left > 0:
            day += timedelta(days=1)
            if self.is_bookable_day(day):
                left -= 1
        return day

    def window(self, today: date | None = None) -> tuple[date, date]:
        """First and last bookable dates (working days counted from today)."""
        today = today or self.today()
        return (
            self._nth_day(today, self.s["days_ahead_min"]),
            self._nth_day(today, self.s["days_ahead_max"]),
        )

    def bookable_dates(self) -> list[date]:
        first, last = self.window()
        days, day = [], first
        while day <= last:
            if self.is_bookable_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def _check_day(self, day: date) -> None:
        if not self.is_bookable_day(day):
            raise Invalid(f"{day_label(day)}不办公（周末或节假日），请选择其他日期 (closed day)")
        first, last = self.window()
        if not first <= day <= last:
            raise Invalid(
                f"只能预约{day_label(first)}至{day_label(last)}的工作日 "
                f"(bookable dates: {first.isoformat()} to {last.isoformat()})"
            )

    # --- slots ----------------------------------------------------------------------
    def _day_span(self, day: date) -> tuple[datetime, datetime]:
        tz = self.hours.tz
        if self.hours.always_open:
            start = datetime.combine(day, time(0), tzinfo=tz)
            return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        return (
            datetime.combine(day, self.hours.open, tzinfo=tz),
            datetime.combine(day, self.hours.close, tzinfo=tz),
        )

    def slot_starts(self, day: date) -> list[datetime]:
        """The day's slot starts; the last slot ends by closing time. [] on closed days."""
        if not self.is_bookable_day(day):
            return []
        opening, closing = self._day_span(day)
        step = timedelta(minutes=self.s["slot_minutes"])
        out, t = [], opening
        while t + step <= closing:
            out.append(t)
            t += step
        return out

    def start_of(self, row: dict) -> datetime:
        """A booking's slot start (from its stored date and HH:MM)."""
        day = date.fromisoformat(row["date"])
        h, m = (int(x) for x in row["slot"].split(":"))
        return datetime.combine(day, time(h, m), tzinfo=self.hours.tz)

    def checkin_window(self, start: datetime) -> tuple[datetime, datetime]:
        """[opens, closes] of on-time check-in; it never opens before the slot's day."""
        day_start = datetime.combine(start.date(), time(0), tzinfo=self.hours.tz)
        return (
            max(start - timedelta(minutes=self.s["checkin_early_minutes"]), day_start),
            start + timedelta(minutes=self.s["checkin_late_minutes"]),
        )

    def book_deadline(self, start: datetime) -> datetime:
        return start + timedelta(
            minutes=min(self.s["slot_minutes"], self.s["checkin_late_minutes"])
        )

    def _service(self, db, code) -> dict:
        svc = self.hall.engine.read.service(db, code) if isinstance(code, str) else None
        if svc is None:
            raise NotFound(f"没有这项业务 (unknown service {code!r})")
        return svc

    def slots(self, service: str, day: date) -> list[dict]:
        """[{slot, end, left, over}] for one service and day; [] on closed days.

        over: the slot can no longer be booked (its booking time has passed), left is 0.
        """
        db = self.hall.store.db()
        svc = self._service(db, service)
        if not self.is_bookable_day(day) or not svc["active"]:
            return []
        self._check_day(day)
        taken = {
            r["slot"]: r["n"]
            for r in db.query(
                "SELECT slot, COUNT(*) AS n FROM appointments WHERE service = ? AND date = ? "
                "AND status != 'cancelled' GROUP BY slot",
                [service, day.isoformat()],
            )
        }
        now = self.now()
        cap = self.s["slot_capacity"]
        caps = capacities_of(db, service, day)  # set from the staffing planner
        step = timedelta(minutes=self.s["slot_minutes"])
        out = []
        for start in self.slot_starts(day):
            key = hhmm(start)
            over = now >= self.book_deadline(start)
            left = 0 if over else max(caps.get(key, cap) - taken.get(key, 0), 0)
            out.append(
                {"slot": key, "end": end_label(start, start + step), "left": left, "over": over}
            )
        return out
