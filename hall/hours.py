"""Opening hours, holidays and working days, in the hall's timezone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .config import DAY_NAMES, HallConfig, parse_hhmm

WEEKDAY_CN = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


class Hours:
    def __init__(self, cfg: HallConfig):
        h = cfg.hours
        self.tz = cfg.tz
        self.days = {DAY_NAMES.index(d) for d in h["days"]}
        self.open = parse_hhmm(h["open"], "hours.open")
        self.close = parse_hhmm(h["close"], "hours.close")
        self.holidays = set(h["holidays"])
        self.workdays = set(h["workdays"])
        self.always_open = h["always_open"]

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz)

    def day_key(self, when: datetime) -> str:
        """The hall day a moment belongs to: numbers restart each local day."""
        return self.local(when).date().isoformat()

    def is_working_day(self, day: date) -> bool:
        iso = day.isoformat()
        if iso in self.workdays:
            return True
        if iso in self.holidays:
            return False
        return day.weekday() in self.days

    def is_open(self, when: datetime) -> bool:
        if self.always_open:
            return True
        local = self.local(when)
        return self.is_working_day(local.date()) and self.open <= local.time() < self.close

    def next_opening(self, when: datetime) -> datetime | None:
        """The next moment the hall opens (hall-local), or None within a year."""
        local = self.local(when)
        day = local.date()
        for _ in range(370):
            if self.is_working_day(day):
                start = datetime.combine(day, self.open, tzinfo=self.tz)
                if start > local:
                    return start
            day += timedelta(days=1)
        return None

    def closing_time(self, when: datetime) -> datetime:
        local = self.local(when)
        return datetime.combine(local.date(), self.close, tzinfo=self.tz)

    def closed_message(self, when: datetime) -> str:
        nxt = self.next_opening(when)
        if nxt is None:
            return "大厅暂停服务 (the hall is closed)"
        label = f"{nxt:%Y-%m-%d} {WEEKDAY_CN[nxt.weekday()]} {nxt:%H:%M}"
        return (
            f"现在不在办理时间，下次开放时间：{label} (the hall is closed; opens {nxt.isoformat()})"
        )

    def add_working_days(self, start: date, days: int) -> date:
        """Deadline counting working days only (weekends and holidays skipped)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day
