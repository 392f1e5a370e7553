"""预约办: slots, bookings, cancellation, kiosk check-in and no-shows.

The one module that changes the ``appointments`` table. Every change is one BEGIN
IMMEDIATE transaction with an audit_log row (engine.audit); a check-in issues its
ticket and marks the booking checked in in the same transaction (engine.issue(within=)).

Rules (all times hall-local):
- Bookable days are working days (``[hours] days``, ``holidays``, ``workdays``; every
  day when ``always_open``), from ``days_ahead_min`` to ``days_ahead_max`` working days
  after today (0 = today).
- Slots run from opening time in steps of ``slot_minutes``; the last one ends by closing
  time (with ``always_open`` the day runs 00:00-24:00). ``slot_capacity`` bookings per
  service per slot (cancelled ones free their place).
- A slot can be booked until its start plus min(slot_minutes, checkin_late_minutes),
  i.e. while an on-time check-in is still possible; it can be cancelled until it starts.
- Check-in window: [start - checkin_early_minutes, start + checkin_late_minutes], both
  ends included. Inside: lane-1 ticket (after priority tickets, before walk-ins of the
  service), outside the daily quota. After: an ordinary lane-2 ticket (``late``), which
  is subject to the daily quota. Before: 409 saying when check-in opens.
- A booking still ``booked`` after its window closed is ``missed`` (marked lazily on
  reads). A phone with more than ``no_show_limit`` missed bookings dated in the last 30
  days (today included) may not book (403).
- The booker may give a resident ID number: only its keyed hash and masked form are
  kept (hall.idnumber), one booking per ID number per day as per phone. The ID card
  read at a kiosk inside the check-in window checks the booking in (person.py:
  check_in_by_id, published as the `booking_checkin` interface by checkin.py); on the
  check-in screen the number stands for the code (code_of_id).
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

from hall.clock import to_iso
from hall.config import ConfigError
from hall.errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from hall.hours import WEEKDAY_CN
from hall.ratelimit import RateLimiter

from .capacity import capacities_of
from .person import ByIdNumber
from .schedule import Schedule, day_label, end_label, hhmm, moment_label

# No 0/O or 1/I: a code read aloud or typed from paper cannot be mistaken.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # 32**8 = 2**40 codes
CODE_RE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
PHONE_RE = re.compile(r"1[3-9][0-9]{9}")  # ASCII digits only (\d matches ０-９)
SLOT_RE = re.compile(r"^\d{2}:\d{2}$")
STATUSES = ("booked", "checked_in", "cancelled", "missed")
STATUS_CN = {"booked": "已预约", "checked_in": "已签到", "cancelled": "已取消", "missed": "已失约"}
NO_SHOW_DAYS = 30
NAME_MAX = 20


def check_settings(cfg) -> None:
    """Refuse to start with appointment settings that make no sense."""
    s = cfg.appointments
    for key in (
        "days_ahead_min",
        "days_ahead_max",
        "checkin_early_minutes",
        "checkin_late_minutes",
        "no_show_limit",
        "book_rate_limit_per_hour",
    ):
        if s[key] < 0:
            raise ConfigError(f"appointments.{key}: must not be negative")
    if s["days_ahead_max"] < s["days_ahead_min"]:
        raise ConfigError("appointments.days_ahead_max: must not be below days_ahead_min")
    if s["days_ahead_max"] > 366:
        raise ConfigError("appointments.days_ahead_max: at most 366")
    if not 1 <= s["slot_minutes"] <= 1440:
        raise ConfigError("appointments.slot_minutes: must be 1-1440")
    if s["slot_capacity"] < 1:
        raise ConfigError("appointments.slot_capacity: must be at least 1")


def normalize_code(raw) -> str:
    """What a person types or a QR scanner sends: spaces, dashes, lower case, a URL."""
    if not isinstance(raw, str):
        return ""
    text = raw.strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[\s\-]", "", text).upper()[:64]


def mask_phone(phone: str) -> str:
    if not phone or len(phone) < 7:
        return "****"
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


class Bookings(Schedule, ByIdNumber):
    """The appointments face's state (hall.faces.state("appointments"))."""

    @classmethod
    def for_app(cls, app, hall) -> Bookings:
        return cls(hall, app.config["SECRET_KEY"])

    @staticmethod
    def of(hall) -> Bookings:
        return hall.faces.state("appointments")

    def __init__(self, hall, secret: str = ""):
        self.hall = hall
        self.secret = secret  # the key of ID numbers' hashes (the same as the citizen face's)
        s = hall.cfg.appointments
        self.limiter = RateLimiter(
            s["book_rate_limit_per_hour"], 3600.0, hall.cfg.security["rate_limit_exempt"]
        )
        # Look-ups by code: a booking code is the booking's only secret.
        self.lookup_limiter = RateLimiter(
            s["lookup_rate_limit_per_minute"], 60.0, hall.cfg.security["rate_limit_exempt"]
        )

    # --- reads ----------------------------------------------------------------------
    def _by_code(self, db, code: str) -> dict:
        row = None
        if CODE_RE.fullmatch(code):
            rows = list(db.query("SELECT * FROM appointments WHERE code = ?", [code]))
            row = rows[0] if rows else None
        if row is None:
            raise NotFound("没有这个预约码，请核对后重新输入 (no such booking code)")
        return row

    def check_lookup(self, actor, address: str | None) -> None:
        """Anonymous look-ups and cancellations by code are limited per address."""
        if actor is None and not self.lookup_limiter.allow(address or "unknown"):
            raise TooMany("查询过于频繁，请稍后再试 (too many look-ups from this address)")

    def get(self, raw_code) -> dict:
        self.sweep()
        return self._by_code(self.hall.store.db(), normalize_code(raw_code))

    def list(self, day: date, service: str | None = None, status: str | None = None) -> list[dict]:
        self.sweep()
        sql = "SELECT * FROM appointments WHERE date = ?"
        params: list = [day.isoformat()]
        if service:
            sql += " AND service = ?"
            params.append(service)
        if status:
            if status not in STATUSES:
                raise Invalid(f"status须为{'/'.join(STATUSES)} (unknown status)")
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY slot, service, id"
        return list(self.hall.store.db().query(sql, params))

    def missed_count(self, db, phone: str, today: date) -> int:
        since = (today - timedelta(days=NO_SHOW_DAYS)).isoformat()
        return db.execute(
            "SELECT COUNT(*) FROM appointments WHERE phone = ? AND status = 'missed' "
            "AND date >= ? AND date <= ?",
            [phone, since, today.isoformat()],
        ).fetchone()[0]

    # --- changes --------------------------------------------------------------------
    def sweep(self) -> int:
        """Mark bookings whose check-in window has closed without a check-in as missed."""
        now = self.now()
        db = self.hall.store.db()
        candidates = [
            r
            for r in db.query(
                "SELECT id, code, date, slot FROM appointments WHERE status = 'booked' "
                "AND date <= ?",
                [now.date().isoformat()],
            )
            if now > self.checkin_window(self.start_of(r))[1]
        ]
        if not candidates:
            return 0
        marked = 0
        with self.hall.store.write() as w:
            for r in candidates:
                changed = w.execute(
                    "UPDATE appointments SET status = 'missed', missed_at = ? "
                    "WHERE id = ? AND status = 'booked'",
                    [to_iso(now), r["id"]],
                ).rowcount
                if changed:
                    marked += 1
                    self.hall.engine.audit(
                        w,
                        None,
                        "appointment_missed",
                        f"appointment:{r['code']}",
                        now,
                        date=r["date"],
                        slot=r["slot"],
                    )
        return marked

    def book(
        self,
        *,
        service,
        date_text,
        slot,
        name,
        phone,
        id_number=None,
        notify: bool = True,
        actor=None,
        address=None,
    ) -> dict:
        for key, value in (
            ("service", service),
            ("date", date_text),
            ("slot", slot),
            ("name", name),
            ("phone", phone),
        ):
            if value is None or value == "":
                raise Invalid(f"缺少字段{key} (missing field {key!r})")
            if not isinstance(value, str):
                raise Invalid(f"字段{key}须为字符串 ({key!r} must be a string)")
        try:
            day = date.fromisoformat(date_text)
        except ValueError:
            raise Invalid("日期须为YYYY-MM-DD (date must be YYYY-MM-DD)") from None
        if not SLOT_RE.fullmatch(slot):
            raise Invalid("时段须为HH:MM (slot must be HH:MM)")
        name = name.strip()
        if not name or len(name) > NAME_MAX or any(not ch.isprintable() for ch in name):
            raise Invalid(f"请填写真实姓名（1-{NAME_MAX}字） (name: 1-{NAME_MAX} characters)")
        phone = phone.strip().replace(" ", "").replace("-", "")
        if not PHONE_RE.fullmatch(phone):
            raise Invalid("请填写正确的11位手机号码 (phone must be a mainland mobile number)")
        person = self.person(id_number)
        db = self.hall.store.db()
        svc = self._service(db, service)
        if not svc["active"]:
            raise Conflict(f"{svc['name']}暂停办理，不能预约 (service closed)")
        self._check_day(day)
        start = next((t for t in self.slot_starts(day) if hhmm(t) == slot), None)
        if start is None:
            raise Invalid(f"{day_label(day)}没有{slot}这个时段 (no such slot)")
        now = self.now()
        if now >= self.book_deadline(start):
            raise Conflict(f"{slot}时段已过，请选择其他时段 (the slot is over)")
        if actor is None and address is not None and not self.limiter.allow(address):
            raise TooMany("预约过于频繁，请稍后再试 (too many bookings from this address)")
        self.sweep()
        cap, limit = self.s["slot_capacity"], self.s["no_show_limit"]
        with self.hall.store.write() as w:
            missed = self.missed_count(w, phone, now.date())
            if missed > limit:
                raise Forbidden(
                    f"该手机号近{NO_SHOW_DAYS}天内失约{missed}次（超过{limit}次），暂停预约，"
                    f"请到大厅现场取号 (more than {limit} missed bookings in {NO_SHOW_DAYS} days)"
                )
            if w.execute(
                "SELECT COUNT(*) FROM appointments WHERE phone = ? AND date = ? "
                "AND status != 'cancelled'",
                [phone, day.isoformat()],
            ).fetchone()[0]:
                raise Conflict(
                    f"该手机号{day_label(day)}已有预约，每人每天限约一次 "
                    "(one booking per phone per day)"
                )
            if (
                person
                and w.execute(
                    "SELECT COUNT(*) FROM appointments WHERE id_key = ? AND date = ? "
                    "AND status != 'cancelled'",
                    [person["key"], day.isoformat()],
                ).fetchone()[0]
            ):
                raise Conflict(
                    f"该身份证{day_label(day)}已有预约，每人每天限约一次 "
                    "(one booking per ID number per day)"
                )
            taken = w.execute(
                "SELECT COUNT(*) FROM appointments WHERE service = ? AND date = ? AND slot = ? "
                "AND status != 'cancelled'",
                [service, day.isoformat(), slot],
            ).fetchone()[0]
            cap = capacities_of(w, service, day).get(slot, cap)  # set from the planner
            if taken >= cap:
                raise Conflict(f"{slot}时段已约满，请选择其他时段 (the slot is full)")
            code = new_code()
            while w.execute("SELECT 1 FROM appointments WHERE code = ?", [code]).fetchone():
                code = new_code()
            w["appointments"].insert(
                {
                    "code": code,
                    "service": service,
                    "date": day.isoformat(),
                    "slot": slot,
                    "name": name,
                    "phone": phone,
                    "status": "booked",
                    "late": 0,
                    "created_at": to_iso(now),
                    "id_key": person["key"] if person else None,
                    "id_masked": person["masked"] if person else None,
                    "notify": int(bool(notify)),
                }
            )
            self.hall.engine.audit(
                w,
                actor,
                "appointment_book",
                f"appointment:{code}",
                now,
                service=service,
                date=day.isoformat(),
                slot=slot,
                phone=mask_phone(phone),
                id_card=person is not None,
            )
            return self._by_code(w, code)

    def cancel(self, raw_code, actor=None) -> dict:
        code = normalize_code(raw_code)
        self.sweep()
        now = self.now()
        with self.hall.store.write() as w:
            row = self._by_code(w, code)
            if row["status"] != "booked":
                raise Conflict(
                    f"该预约{STATUS_CN[row['status']]}，不能取消 (booking is {row['status']})"
                )
            if now >= self.start_of(row):
                raise Conflict(f"预约时段{row['slot']}已开始，不能取消 (the slot has started)")
            w.execute(
                "UPDATE appointments SET status = 'cancelled', cancelled_at = ? WHERE id = ?",
                [to_iso(now), row["id"]],
            )
            self.hall.engine.audit(
                w,
                actor,
                "appointment_cancel",
                f"appointment:{code}",
                now,
                date=row["date"],
                slot=row["slot"],
            )
            return self._by_code(w, code)

    def check_in(self, raw_code, kiosk: str | None = None, actor=None) -> tuple[dict, bool, dict]:
        """At the kiosk: (ticket, late, booking). Raises 404/409 with a clear reason."""
        code = normalize_code(raw_code)
        self.sweep()
        db = self.hall.store.db()
        row = self._by_code(db, code)
        read = self.hall.engine.read
        if row["status"] == "cancelled":
            raise Conflict("该预约已取消，不能签到 (the booking was cancelled)")
        if row["status"] == "checked_in":
            t = read.ticket(db, row["ticket_id"]) if row["ticket_id"] else None
            number = f"，号码{t['number']}" if t else ""
            raise Conflict(f"该预约已签到{number}，请勿重复签到 (already checked in)")
        now = self.now()
        today = now.date()
        day = date.fromisoformat(row["date"])
        if day < today:
            raise Conflict(
                f"预约日期{day_label(day)}已过，不能签到，请重新预约或现场取号 "
                "(the booking date has passed)"
            )
        start = self.start_of(row)
        opens, closes = self.checkin_window(start)
        if now < opens:
            raise Conflict(
                f"签到尚未开始，请于{moment_label(opens, today)}后签到"
                f"（预约时段{day_label(day)} {row['slot']}） (check-in opens at {opens.isoformat()})"
            )
        late = now > closes
        return self._check_in(row, now, late, kiosk, actor)

    def _check_in(self, row, now, late, kiosk, actor, within=None, via="code"):
        """Issue the booking's ticket and mark it checked in, one transaction."""
        code = row["code"]

        def inside(w, t):
            changed = w.execute(
                "UPDATE appointments SET status = 'checked_in', late = ?, ticket_id = ?, "
                "checked_in_at = ?, kiosk = ? WHERE id = ? AND status IN ('booked', 'missed')",
                [int(late), t["id"], to_iso(now), kiosk, row["id"]],
            ).rowcount
            if changed != 1:
                raise Conflict("该预约已签到或已取消 (the booking was used meanwhile)")
            self.hall.engine.audit(
                w,
                actor,
                "appointment_checkin",
                f"appointment:{code}",
                now,
                ticket=t["number"],
                late=late,
                kiosk=kiosk,
                via=via,
            )
            if within is not None:
                within(w, t)

        ticket = self.hall.engine.issue(
            row["service"],
            actor=actor,
            source="appointment",
            kiosk=kiosk,
            lane=2 if late else 1,
            appointment_id=row["id"],
            ignore_quota=not late,
            within=inside,
        )
        return ticket, late, self._by_code(self.hall.store.db(), code)

    # --- JSON -----------------------------------------------------------------------
    def to_json(self, db, row: dict, *, full_phone: bool = False, full_name: bool = False) -> dict:
        read = self.hall.engine.read
        svc = read.service(db, row["service"])
        start = self.start_of(row)
        opens, closes = self.checkin_window(start)
        ticket = read.ticket(db, row["ticket_id"]) if row["ticket_id"] else None
        return {
            "code": row["code"],
            "service": row["service"],
            "service_name": svc["name"] if svc else row["service"],
            "date": row["date"],
            "weekday": WEEKDAY_CN[start.weekday()],
            "slot": row["slot"],
            "slot_end": end_label(start, start + timedelta(minutes=self.s["slot_minutes"])),
            "status": row["status"],
            "status_text": STATUS_CN.get(row["status"], row["status"]),
            "late": bool(row["late"]),
            "name": row["name"] if full_name else mask_name(row["name"]),
            "phone": row["phone"] if full_phone else mask_phone(row["phone"]),
            "id_masked": row.get("id_masked") or None,
            "notify": bool(row.get("notify", 1)),
            "checkin_opens": opens.isoformat(timespec="seconds"),
            "checkin_closes": closes.isoformat(timespec="seconds"),
            "created_at": read.local_iso(row["created_at"]),
            "checked_in_at": read.local_iso(row["checked_in_at"]),
            "ticket_number": ticket["number"] if ticket else None,
            "url": f"/book/{row['code']}",
            "qr": f"/api/appointments/{row['code']}/qr.png",
        }
