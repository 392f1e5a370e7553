"""Pages: /book (mobile booking), /book/<code>, and the kiosk check-in screen.

Rendered on the server; book.js only refreshes the slot list when the service or date
changes, checkin.js keeps the scanner's input focused and returns to the start.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for

from hall import idnumber, issuing
from hall.app import current_hall
from hall.errors import HallError, Invalid, NotFound, TooMany

from .api import TOO_MANY, check_in_response
from .booking import CODE_LENGTH, STATUS_CN, Bookings, normalize_code
from .schedule import day_label, moment_label

bp = Blueprint(
    "appointments",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/appointments/static",
)


def _hall():
    return current_hall()


def _services(db):
    return _hall().engine.read.services(db)


def _book_page(
    service: str | None, day_text: str | None, *, error: str = "", form=None, status: int = 200
):
    hall = _hall()
    bookings = Bookings.of(hall)
    db = hall.store.db()
    services = _services(db)
    codes = [s["code"] for s in services]
    if service not in codes:
        service = codes[0] if codes else None
    dates = bookings.bookable_dates()
    chosen = None
    if day_text:
        try:
            chosen = date.fromisoformat(day_text)
        except ValueError:
            chosen = None
    if chosen not in dates:
        chosen = dates[0] if dates else None
    slots = bookings.slots(service, chosen) if service and chosen else []
    s = bookings.s
    html = render_template(
        "appointments/book.html",
        hall_name=hall.cfg.hall["name"],
        services=services,
        service=service,
        dates=[{"iso": d.isoformat(), "label": day_label(d)} for d in dates],
        day=chosen.isoformat() if chosen else "",
        slots=slots,
        form=form or {},
        error=error,
        settings=s,
        code_length=CODE_LENGTH,
    )
    return html, status


@bp.get("/book")
def book_page():
    return _book_page(request.args.get("service"), request.args.get("date"))


@bp.post("/book")
def book_submit():
    hall = _hall()
    form = {
        k: (request.form.get(k) or "")[:64] for k in ("service", "date", "slot", "name", "phone")
    }
    # The checkbox comes after a hidden 0: ticked gives ["0", "1"]; a form without it, [].
    ticks = request.form.getlist("notify")
    form["notify"] = "1" if not ticks or "1" in ticks else "0"
    try:
        row = Bookings.of(hall).book(
            service=form["service"],
            date_text=form["date"],
            slot=form["slot"],
            name=form["name"],
            phone=form["phone"],
            # never put back into the page (form): the number is not kept anywhere
            id_number=(request.form.get("id_number") or "")[:32],
            notify=form["notify"] == "1",
            actor=None,
            address=request.remote_addr or "unknown",
        )
    except HallError as e:
        return _book_page(
            form["service"],
            form["date"],
            error=e.message.split(" (")[0],
            form=form,
            status=e.status,
        )
    return redirect(url_for("appointments.booking_page", code=row["code"], new=1), 303)


@bp.get("/book/find")
def book_find():
    code = normalize_code(request.args.get("code", ""))
    if not code:
        return redirect(url_for("appointments.book_page"), 303)
    return redirect(url_for("appointments.booking_page", code=code), 303)


def _booking_page(code: str, *, error: str = "", notice: str = "", status: int = 200):
    hall = _hall()
    bookings = Bookings.of(hall)
    try:
        bookings.check_lookup(hall.auth.actor(), request.remote_addr)
        row = bookings.get(code)
    except (NotFound, TooMany) as e:
        return render_template(
            "appointments/booking.html",
            hall_name=hall.cfg.hall["name"],
            b=None,
            error=e.message.split(" (")[0],
        ), e.status
    db = hall.store.db()
    b = bookings.to_json(db, row)
    now = bookings.now()
    start = bookings.start_of(row)
    opens, closes = bookings.checkin_window(start)
    return render_template(
        "appointments/booking.html",
        hall_name=hall.cfg.hall["name"],
        b=b,
        date_label=day_label(start.date()),
        opens=moment_label(opens),
        closes=moment_label(closes, opens.date()),
        can_cancel=row["status"] == "booked" and now < start,
        status_cn=STATUS_CN,
        new=request.args.get("new") == "1",
        error=error,
        notice=notice,
    ), status


@bp.get("/book/<code>")
def booking_page(code: str):
    notice = "预约已取消" if request.args.get("cancelled") == "1" else ""
    return _booking_page(code, notice=notice)


@bp.post("/book/<code>/cancel")
def booking_cancel(code: str):
    hall = _hall()
    try:
        Bookings.of(hall).check_lookup(hall.auth.actor(), request.remote_addr)
        row = Bookings.of(hall).cancel(code)
    except (NotFound, TooMany):
        return _booking_page(code)
    except HallError as e:
        return _booking_page(code, error=e.message.split(" (")[0], status=e.status)
    return redirect(url_for("appointments.booking_page", code=row["code"], cancelled=1), 303)


# --- kiosk check-in -------------------------------------------------------------------
def _kiosk_arg(raw: str | None) -> str | None:
    if raw and _hall().cfg.kiosk(raw[:32]) is not None:
        return raw[:32]
    return None


def _checkin_page(kiosk: str | None, *, result=None, error: str = "", status: int = 200):
    hall = _hall()
    return render_template(
        "appointments/checkin.html",
        hall_name=hall.cfg.hall["name"],
        kiosk=kiosk,
        back=f"/kiosk/{kiosk}" if kiosk else "/kiosk",
        result=result,
        error=error,
        alphabet="23456789ABCDEFGHJKLMNPQRSTUVWXYZ",
        code_length=CODE_LENGTH,
        settings=Bookings.of(hall).s,
        book_url=hall.cfg.hall["public_url"].rstrip("/") + "/book",
    ), status


@bp.get("/kiosk/checkin")
def checkin_page():
    return _checkin_page(_kiosk_arg(request.args.get("kiosk")))


@bp.post("/kiosk/checkin")
def checkin_submit():
    hall = _hall()
    kiosk = _kiosk_arg(request.form.get("kiosk"))
    raw = (request.form.get("code") or "")[:80]
    code = normalize_code(raw)
    try:
        if not code:
            raise Invalid("请扫描预约二维码或输入预约码 (enter the booking code)")
        issuing.check_rate(hall, None, request.remote_addr or "", TOO_MANY)
        number = idnumber.normalize(raw)
        if idnumber.SHAPE.fullmatch(number):
            # a keyboard-mode ID-card reader typed into the code field: the ID number
            # given at booking stands for the code (it goes no further than its hash)
            code = Bookings.of(hall).code_of_id(number)
        body = check_in_response(code, kiosk, None)
    except HallError as e:
        return _checkin_page(kiosk, error=e.message.split(" (")[0], status=e.status)
    return _checkin_page(kiosk, result=body)
