"""/api/appointments...: slots, booking, cancel, kiosk check-in, staff lists, QR codes."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, jsonify, request, send_file

from hall import issuing
from hall.app import current_hall
from hall.auth import require
from hall.errors import Invalid
from hall.validate import choice_arg, date_arg, field, json_body, text_arg
from hall.vocabulary import STAFF_ROLES

from .booking import STATUSES, Bookings, normalize_code
from .checkin import answer

bp = Blueprint("appointments_api", __name__, url_prefix="/api")
TOO_MANY = "操作过于频繁，请稍后再试 (too many requests from this address)"


def bookings() -> Bookings:
    return Bookings.of(current_hall())


def _address() -> str:
    return request.remote_addr or "unknown"


def _public_actor():
    """Anyone may book, cancel with the code or check in; a logged-in caller is recorded
    (and, like POST /api/tickets, must send its CSRF token)."""
    hall = current_hall()
    actor = hall.auth.actor()
    if actor is not None:
        hall.auth.check_csrf()
    return actor


def _required_date(name: str) -> date:
    if not request.args.get(name):
        raise Invalid(f"缺少参数{name} (missing {name!r}, YYYY-MM-DD)")
    return date_arg(name, None)


@bp.get("/appointments/slots")
def slots():
    service = text_arg("service", 32)
    if not service:
        raise Invalid("缺少参数service (missing 'service')")
    return jsonify(bookings().slots(service, _required_date("date")))


@bp.get("/appointments/days")
def days():
    """The bookable dates (working days in the booking window)."""
    return jsonify([d.isoformat() for d in bookings().bookable_dates()])


@bp.post("/appointments")
def book():
    data = json_body()
    actor = _public_actor()
    values = {
        key: field(data, key, str, required=True, max_len=64)
        for key in ("service", "date", "slot", "name", "phone")
    }
    row = bookings().book(
        service=values["service"],
        date_text=values["date"],
        slot=values["slot"],
        name=values["name"],
        phone=values["phone"],
        id_number=field(data, "id_number", str, default=None, max_len=32, nullable=True),
        notify=field(data, "notify", bool, default=True),
        actor=actor,
        address=_address(),
    )
    db = current_hall().store.db()
    return jsonify(bookings().to_json(db, row)), 201


@bp.get("/appointments")
@require(*STAFF_ROLES)
def staff_list():
    """Staff: one day's bookings (names shown, phone numbers masked)."""
    hall = current_hall()
    day = date_arg("date", hall.hours.local(hall.clock.now()).date())
    service = text_arg("service", 32)
    status = choice_arg("status", STATUSES)
    db = hall.store.db()
    rows = bookings().list(day, service, status)
    return jsonify([bookings().to_json(db, r, full_name=True) for r in rows])


@bp.get("/appointments/<code>")
def one(code: str):
    """The holder of the code sees the booking masked; staff see the name; an admin
    asking for this one record sees the full phone number (and it is audited)."""
    hall = current_hall()
    actor = hall.auth.actor()
    bookings().check_lookup(actor, _address())
    row = bookings().get(code)
    admin = actor is not None and actor.role == "admin"
    if admin:
        with hall.store.write() as w:
            hall.engine.audit(w, actor, "appointment_view_phone", f"appointment:{row['code']}")
    db = hall.store.db()
    return jsonify(bookings().to_json(db, row, full_phone=admin, full_name=actor is not None))


@bp.get("/appointments/<code>/qr.png")
def qr(code: str):
    import qrcode

    bookings().check_lookup(current_hall().auth.actor(), _address())
    row = bookings().get(code)
    img = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    img.add_data(row["code"])
    img.make(fit=True)
    buf = io.BytesIO()
    img.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    buf.seek(0)
    resp = send_file(buf, mimetype="image/png", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/appointments/<code>/cancel")
def cancel(code: str):
    json_body()
    actor = _public_actor()
    bookings().check_lookup(actor, _address())
    row = bookings().cancel(code, actor=actor)
    return jsonify(bookings().to_json(current_hall().store.db(), row))


def check_in_response(code: str, kiosk: str | None, actor) -> dict:
    """Check in and build the body POST /api/tickets would give, plus late and booking."""
    ticket, late, row = bookings().check_in(code, kiosk=kiosk, actor=actor)
    return answer(current_hall(), ticket, late, row, kiosk)


@bp.post("/appointments/<code>/check-in")
def check_in(code: str):
    hall = current_hall()
    data = json_body()
    kiosk = field(data, "kiosk", str, default=None, max_len=32)
    actor = _public_actor()
    issuing.check_kiosk(hall, kiosk)
    issuing.check_rate(hall, actor, _address(), TOO_MANY)
    return jsonify(check_in_response(normalize_code(code), kiosk, actor)), 201
