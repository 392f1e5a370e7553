"""线上取号: a number taken from a phone at /m, and its check-in on arrival.

Limits ([mobile]): opening hours (the engine's), one open remote ticket per phone
number, daily_cap_per_service remote tickets per service, an SMS code when a channel is
configured (verify_phone). With arrival_required the ticket waits in its place but
call-next skips it (tickets.arrived = 0) until it checks in: the door QR (a code of the
day, /m/door shows it) opened on the phone that took it, or the kiosk (number and the
last four digits of the phone).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from hall import issuing
from hall.clock import from_iso, to_iso
from hall.errors import Conflict, Forbidden, Invalid, NotFound, TooMany

from .notify import PHONE_INVALID, mask_phone, normalize_phone
from .state import of

OPEN = ("waiting", "called", "serving")
CODE_MINUTES = 5
CODE_GAP_SECONDS = 60


def _keyed(hall, *parts: str) -> str:
    secret = of(hall).secret.encode()
    return hmac.new(secret, "|".join(parts).encode(), hashlib.sha256).hexdigest()


def door_code(hall, day: str | None = None) -> str:
    """The door QR's code of the day: a photo of yesterday's QR checks nobody in."""
    return _keyed(hall, "door", day or hall.engine.read.today())[:12]


def needs_code(hall) -> bool:
    return of(hall).notifier.enabled and hall.cfg.mobile["verify_phone"]


def send_code(hall, raw_phone, address: str) -> dict:
    phone = normalize_phone(raw_phone)
    if phone is None:
        raise Invalid(PHONE_INVALID)
    if not needs_code(hall):
        raise Conflict("本大厅线上取号无需验证码 (no code needed)")
    state = of(hall)
    if not state.code_limiter.allow(address):
        raise TooMany("获取验证码过于频繁，请稍后再试 (too many codes from this address)")
    now = hall.clock.now()
    code = f"{secrets.randbelow(10**6):06d}"

    def run(db, out):
        rows = db.execute("SELECT sent_at FROM sms_codes WHERE phone = ?", [phone]).fetchall()
        if rows and now - from_iso(rows[0][0]) < timedelta(seconds=CODE_GAP_SECONDS):
            raise TooMany("验证码已发送，请60秒后再试 (a code was sent less than a minute ago)")
        db.execute(
            "INSERT INTO sms_codes (phone, code_hash, expires_at, attempts, sent_at, day) "
            "VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (phone) WHERE phone != '' DO UPDATE SET code_hash = "
            "excluded.code_hash, expires_at = excluded.expires_at, attempts = 0, "
            "sent_at = excluded.sent_at, day = excluded.day",
            [
                phone,
                _keyed(hall, "code", phone, code),
                to_iso(now + timedelta(minutes=CODE_MINUTES)),
                to_iso(now),
                hall.engine.read.today(),
            ],
        )

    hall.engine.write(run)
    state.notifier.queue_code(phone, code)
    return {"sent": True, "phone": mask_phone(phone), "minutes": CODE_MINUTES}


def _check_code(hall, db, phone: str, code) -> None:
    """Inside the issue's transaction: the code is right, fresh, and used up by it."""
    wrong = "验证码错误或已过期，请重新获取 (wrong or expired code)"
    rows = db.execute(
        "SELECT code_hash, expires_at, attempts FROM sms_codes WHERE phone = ?", [phone]
    ).fetchall()
    if not rows or not isinstance(code, str):
        raise Forbidden(wrong)
    code_hash, expires, attempts = rows[0]
    if attempts >= hall.cfg.mobile["code_attempts"] or from_iso(expires) < hall.clock.now():
        raise Forbidden(wrong)
    if not hmac.compare_digest(
        code_hash.encode(), _keyed(hall, "code", phone, code.strip()).encode()
    ):
        raise Forbidden(wrong)
    db.execute("DELETE FROM sms_codes WHERE phone = ?", [phone])


def _count_wrong_code(hall, phone: str) -> None:
    def run(db, out):
        db.execute("UPDATE sms_codes SET attempts = attempts + 1 WHERE phone = ?", [phone])

    hall.engine.write(run)


def take(hall, service: str, raw_phone, code, address: str) -> tuple[dict, dict]:
    """A number from a phone: (ticket row, answer with its token)."""
    m = hall.cfg.mobile
    if not m["enabled"]:
        raise NotFound("本大厅未开通线上取号 (phone ticketing is off)")
    phone = normalize_phone(raw_phone)
    if phone is None:
        raise Invalid(PHONE_INVALID)
    verify = needs_code(hall)
    notifier = of(hall).notifier
    cap = m["daily_cap_per_service"]

    def within(db, t):
        held = db.execute(
            "SELECT t.number FROM remote_tickets r JOIN tickets t ON t.id = r.ticket_id "
            "WHERE r.day = ? AND r.phone = ? AND t.status IN ('waiting', 'called', 'serving')",
            [t["day"], phone],
        ).fetchall()
        if held:
            raise Conflict(
                f"该手机号已有未办结的号{held[0][0]}，办结后才能再取 "
                "(this phone already holds an open ticket)"
            )
        if cap:
            taken = db.execute(
                "SELECT COUNT(*) FROM remote_tickets WHERE day = ? AND service = ?",
                [t["day"], t["service"]],
            ).fetchone()[0]
            if taken >= cap:
                raise Conflict(
                    "今日该业务线上取号已满，请到大厅现场取号 (today's phone numbers are used up)"
                )
        if verify:
            _check_code(hall, db, phone, code)
        db["remote_tickets"].insert(
            {
                "ticket_id": t["id"],
                "day": t["day"],
                "service": t["service"],
                "phone": phone,
                "created_at": t["issued_at"],
            }
        )
        if notifier.enabled:
            notifier.subscribe(db, t, phone, "mobile")

    try:
        ticket, body = issuing.issue(
            hall,
            service,
            address=address,
            source="mobile",
            within=within,
            arrived=not m["arrival_required"],
        )
    except Forbidden:
        if verify:
            _count_wrong_code(hall, phone)
        raise
    notifier.wake()
    body["arrival_required"] = bool(m["arrival_required"])
    return ticket, body


def arrive_by_token(hall, token: str, code: str | None, where: str) -> dict:
    """The door QR opened on the phone that holds the ticket."""
    if code is not None and not hmac.compare_digest(code.encode(), door_code(hall).encode()):
        raise Forbidden("签到码已过期，请扫描大厅门口今天的二维码 (not today's door code)")
    t = hall.engine.read.ticket_by_token(hall.store.db(), token) if token else None
    if t is None:
        raise NotFound("没有找到您的线上取号，请到取号机或导办台咨询 (no such ticket)")
    return hall.engine.arrive(t["id"], where=where)


def arrive_at_kiosk(hall, number, last4, address: str) -> dict:
    """At the kiosk: today's number and the last four digits of the phone it was taken with."""
    if not of(hall).arrive_limiter.allow(address):
        raise TooMany("操作过于频繁，请稍后再试 (too many tries from this address)")
    if not isinstance(number, str) or not isinstance(last4, str):
        raise Invalid("请输入号码和手机号后四位 (number and last four digits required)")
    number = number.strip().upper()[:8]
    last4 = last4.strip()[:4]
    rows = list(
        hall.store.db().query(
            "SELECT t.id, r.phone FROM tickets t JOIN remote_tickets r ON r.ticket_id = t.id "
            "WHERE t.day = ? AND t.number = ?",
            [hall.engine.read.today(), number],
        )
    )
    if not rows or not hmac.compare_digest(rows[0]["phone"][-4:].encode(), last4.encode()):
        raise NotFound("号码或手机号后四位不对，请核对 (number and phone do not match)")
    return hall.engine.arrive(rows[0]["id"], where="kiosk")
