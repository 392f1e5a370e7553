"""刷身份证取号: a card read at a kiosk, and a number taken with it.

A read (keyboard reader through the page, serial reader on the server, or a kiosk
machine's agent) is checked (GB 11643) and turned at once into the keyed hash and the
masked form (hall.idnumber); the full number goes no further. The read is kept as a
short-lived row (citizen_cards: a random token, valid [idcard] card_seconds for one
number) that the kiosk page holds while the citizen picks a service.

Taking the number goes through hall.issuing.issue like every other number, with two
things of the card: a priority ticket (reason 老年人) at [idcard] priority_age, and the
per-person daily limit, counted inside the issue's transaction (a second number for the
same service is refused and nothing is kept).

A card whose holder booked (预约) with the ID number and is inside the booking's
check-in window checks the booking in instead (booking_check_in): the booking's own
ticket, as its code would give it, through the appointments face's `booking_checkin`
interface (hall/interfaces.py). The card's screen (POST /kiosk/card) does it at once;
taking a number with the card for the booked service does it too.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app

from hall import idnumber, issuing
from hall.clock import to_iso
from hall.errors import Conflict, Invalid, NotFound
from hall.interfaces import BOOKING_CHECKIN

from .events import CardRead

PRIORITY_REASON = "老年人"
EXPIRED = "身份证读取已超时，请重新刷卡 (the card read has expired, read the card again)"


def secret() -> str:
    return current_app.config["SECRET_KEY"]


def person_of(hall, raw_number, secret_key: str) -> dict:
    """{key, masked, age} of a number read from a card or typed by a reader; Invalid
    when it is not a valid resident ID number."""
    number = idnumber.normalize(raw_number)
    if not idnumber.SHAPE.fullmatch(number):
        raise Invalid(idnumber.INVALID)
    if not idnumber.valid(number):  # the right shape, but no one's number (check digit)
        raise NotFound(idnumber.INVALID)
    today = hall.hours.local(hall.clock.now()).date()
    return {
        "key": idnumber.key_of(secret_key, number),
        "masked": idnumber.mask(number),
        "age": idnumber.age_on(number, today),
    }


def read(hall, kiosk: str | None, raw_number, secret_key: str, via: str = "keyboard") -> dict:
    """A card read at `kiosk`: stores the read and returns what the kiosk page needs
    {card (token), masked, elder, priority, expires_in}. Publishes CardRead (the kiosk's
    page gets `card` on /citizen) for reads the page did not make itself."""
    if kiosk is not None and hall.cfg.kiosk(kiosk) is None:
        raise Invalid(f"未知的取号机{kiosk} (unknown kiosk)")
    person = person_of(hall, raw_number, secret_key)
    age = person["age"] or 0
    prio_age = hall.cfg.idcard["priority_age"]
    elder_age = hall.cfg.elder["auto_age"]
    out = {
        "card": secrets.token_urlsafe(18),
        "masked": person["masked"],
        "elder": bool(elder_age and age >= elder_age),
        "priority": bool(prio_age and age >= prio_age),
        "expires_in": hall.cfg.idcard["card_seconds"],
    }
    now = hall.clock.now()

    def run(db, events):
        db.execute("DELETE FROM citizen_cards WHERE expires_at < ?", [to_iso(now)])
        rowid = (
            db["citizen_cards"]
            .insert(
                {
                    "token": out["card"],
                    "kiosk": kiosk,
                    "id_key": person["key"],
                    "id_masked": person["masked"],
                    "elder": int(out["elder"]),
                    "priority": int(out["priority"]),
                    "created_at": to_iso(now),
                    "expires_at": to_iso(now + timedelta(seconds=out["expires_in"])),
                }
            )
            .last_rowid
        )
        if via != "keyboard" and kiosk:
            events.append(
                CardRead(
                    at=to_iso(now),
                    kiosk=kiosk,
                    read=rowid,
                    masked=out["masked"],
                    elder=out["elder"],
                    priority=out["priority"],
                )
            )

    hall.engine.write(run)
    return out


def card_message(hall, read_id: int) -> dict | None:
    """What the kiosk page gets for a read (None when it expired or was used)."""
    rows = list(
        hall.store.db().query(
            "SELECT token, id_masked, elder, priority, expires_at FROM citizen_cards "
            "WHERE rowid = ? AND expires_at >= ?",
            [read_id, hall.now_iso()],
        )
    )
    if not rows:
        return None
    r = rows[0]
    return {
        "card": r["token"],
        "masked": r["id_masked"],
        "elder": bool(r["elder"]),
        "priority": bool(r["priority"]),
        "expires_in": hall.cfg.idcard["card_seconds"],
    }


def card_row(hall, token) -> dict:
    if not isinstance(token, str) or not 10 <= len(token) <= 64:
        raise NotFound(EXPIRED)
    rows = list(
        hall.store.db().query(
            "SELECT * FROM citizen_cards WHERE token = ? AND expires_at >= ?",
            [token, hall.now_iso()],
        )
    )
    if not rows:
        raise NotFound(EXPIRED)
    return rows[0]


def _record(db, t, id_key: str, id_masked: str) -> None:
    """The person behind a ticket taken with a card (per-person limit, clerk's view)."""
    db["citizen_ids"].insert(
        {
            "ticket_id": t["id"],
            "day": t["day"],
            "service": t["service"],
            "id_key": id_key,
            "id_masked": id_masked,
            "created_at": t["issued_at"],
        }
    )


def _use(db, token: str) -> None:
    """A read gives one number: used up inside the transaction that issues it."""
    if db.execute("DELETE FROM citizen_cards WHERE token = ?", [token]).rowcount != 1:
        raise NotFound(EXPIRED)


def booking_of(hall, card: dict) -> dict | None:
    """The card holder's booking today (hall.interfaces.BookingCheckIn.today), or None
    (none, or no appointments face)."""
    checkins = hall.faces.interface(BOOKING_CHECKIN)
    return checkins.today(card["id_key"]) if checkins is not None else None


def booking_check_in(hall, card: dict, kiosk: str | None) -> dict | None:
    """Check the card holder's booking in when its check-in window is open: the answer
    (like POST /api/appointments/<code>/check-in's, without the code), or None. The read
    is used up and the ticket's person recorded in the same transaction. A booked
    check-in is not refused by the per-person limit (the booking was its own limit)."""
    checkins = hall.faces.interface(BOOKING_CHECKIN)
    if checkins is None:
        return None
    if kiosk is not None and card["kiosk"] not in (None, kiosk):
        raise NotFound(EXPIRED)

    def within(db, t):
        _record(db, t, card["id_key"], card["id_masked"])
        _use(db, card["token"])

    return checkins.check_in(card["id_key"], kiosk=kiosk, within=within)


def limit_check(hall, id_key: str, id_masked: str):
    """within(db, ticket) for issuing.issue: record the ticket's person and refuse a
    number over [idcard] daily_limit_per_service (the whole issue rolls back)."""
    limit = hall.cfg.idcard["daily_limit_per_service"]

    def within(db, t):
        _record(db, t, id_key, id_masked)
        if not limit:
            return
        held = db.execute(
            "SELECT c.ticket_id, t.number FROM citizen_ids c JOIN tickets t ON t.id = c.ticket_id "
            "WHERE c.day = ? AND c.id_key = ? AND c.service = ? AND c.ticket_id != ? "
            "ORDER BY c.ticket_id",
            [t["day"], id_key, t["service"], t["id"]],
        ).fetchall()
        if len(held) >= limit:
            svc = hall.engine.read.service(db, t["service"])
            numbers = "、".join(r[1] for r in held)
            raise Conflict(
                f"您今天已取过{svc['name']}的号（{numbers}），每人每天限取{limit}个，"
                f"请留意叫号 (this ID card has taken its {limit} number(s) for the service today)"
            )

    return within


def take(hall, token, service: str, *, address: str, kiosk: str | None, options=None):
    """A number for the card read `token`: (ticket row, answer). The read is used up.
    The card holder's booking of that service, due now, is checked in instead."""
    card = card_row(hall, token)
    if kiosk is not None and card["kiosk"] not in (None, kiosk):
        raise NotFound(EXPIRED)
    booking = booking_of(hall, card)
    if booking and booking["state"] == "due" and booking["service"] == service:
        body = booking_check_in(hall, card, kiosk)
        if body is not None:
            return hall.engine.read.ticket(hall.store.db(), body["id"]), body
    check = limit_check(hall, card["id_key"], card["id_masked"])

    def within(db, t):
        check(db, t)
        _use(db, token)

    return issuing.issue(
        hall,
        service,
        address=address,
        kiosk=kiosk,
        options=options,
        priority=bool(card["priority"]),
        priority_reason=PRIORITY_REASON if card["priority"] else "",
        source="kiosk",
        within=within,
    )


def masked_for_ticket(hall, db, ticket_id: int) -> str | None:
    rows = list(db.query("SELECT id_masked FROM citizen_ids WHERE ticket_id = ?", [ticket_id]))
    return rows[0]["id_masked"] if rows and rows[0]["id_masked"] else None
