"""/m: taking a number from a phone (blueprint "citizen_mobile"). Server-rendered, no
script needed.

    GET  /m                 services, phone number (and SMS code), take a number
    POST /m/code            send the SMS code (when a channel is configured)
    POST /m                 take the number -> 303 to the ticket's live page /t/<token>
    GET  /m/arrive/<code>   the door QR: checks in the ticket this phone took today
    GET  /m/door            staff: today's door QR to print or show at the entrance
    POST /api/m/code, /api/m/tickets, /api/m/arrive, /api/kiosk/arrive   the same as JSON
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, redirect, render_template, request

from hall import issuing
from hall.app import current_hall
from hall.auth import require
from hall.errors import HallError
from hall.validate import field, json_body, unknown_fields
from hall.vocabulary import STAFF_ROLES

from . import remote

bp = Blueprint("citizen_mobile", __name__, template_folder="templates")

COOKIE = "hall_m"


def _address() -> str:
    return request.remote_addr or "unknown"


def _short(message: str) -> str:
    return (message or "").split(" (")[0]


def _services(hall):
    db = hall.store.db()
    read = hall.engine.read
    counts = read.waiting_counts(db)
    return [read.service_json(db, s, counts) for s in read.services(db)]


def _page(error="", notice="", form=None, status=200):
    hall = current_hall()
    if not hall.cfg.mobile["enabled"]:
        return _closed()
    html = render_template(
        "citizen/mobile.html",
        hall_name=hall.cfg.hall["name"],
        services=_services(hall),
        needs_code=remote.needs_code(hall),
        arrival_required=hall.cfg.mobile["arrival_required"],
        error=error,
        notice=notice,
        form=form or {},
    )
    return html, status, {"Cache-Control": "no-store"}


def _closed():
    hall = current_hall()
    html = render_template(
        "citizen/message.html",
        hall_name=hall.cfg.hall["name"],
        title="本大厅未开通线上取号",
        detail="请到大厅取号机取号。",
    )
    return html, 404, {"Cache-Control": "no-store"}


@bp.get("/m")
def mobile():
    return _page()


@bp.post("/m/code")
def mobile_code():
    hall = current_hall()
    form = {"phone": request.form.get("phone", "")[:20], "service": request.form.get("service", "")}
    try:
        out = remote.send_code(hall, form["phone"], _address())
    except HallError as e:
        return _page(error=_short(e.message), form=form, status=e.status)
    return _page(notice=f"验证码已发送至{out['phone']}，{out['minutes']}分钟内有效", form=form)


@bp.post("/m")
def mobile_take():
    hall = current_hall()
    form = {
        "phone": request.form.get("phone", "")[:20],
        "service": request.form.get("service", "")[:32],
    }
    try:
        _, body = remote.take(
            hall, form["service"], form["phone"], request.form.get("code", "")[:10], _address()
        )
    except HallError as e:
        return _page(error=_short(e.message), form=form, status=e.status)
    resp = make_response(redirect(f"/t/{body['token']}", code=303))
    # The door QR finds the ticket this phone took (the cookie is only sent to /m).
    resp.set_cookie(
        COOKIE,
        body["token"],
        max_age=24 * 3600,
        path="/m",
        httponly=True,
        samesite="Lax",
        secure=hall.cfg.security["secure_cookies"],
    )
    return resp


@bp.post("/m/notify")
def mobile_notify():
    """The phone page's 即将到号短信提醒: a phone number for the ticket."""
    from .notify import mask_phone, normalize_phone
    from .state import of

    hall = current_hall()
    token = (request.form.get("ticket") or "")[:64]
    t = hall.engine.read.ticket_by_token(hall.store.db(), token) if token else None
    if t is None or not of(hall).notifier.enabled:
        return _closed()
    raw = request.form.get("phone")
    error = ""
    if raw is not None:
        phone = normalize_phone(raw[:20])
        if phone is None:
            error = "请填写正确的11位手机号码"
        else:
            try:
                issuing.check_rate(hall, None, _address())
                of(hall).notifier.subscribe_ticket(t["id"], phone, "mobile")
            except HallError as e:
                error = _short(e.message)
            else:
                html = render_template(
                    "citizen/message.html",
                    hall_name=hall.cfg.hall["name"],
                    title="已开通短信提醒",
                    detail=f"{t['number']}即将到号和叫号时，将短信通知{mask_phone(phone)}。",
                    link=f"/t/{token}",
                )
                return html, 200, {"Cache-Control": "no-store"}
    html = render_template(
        "citizen/notify.html",
        hall_name=hall.cfg.hall["name"],
        number=t["number"],
        token=token,
        error=error,
    )
    return html, 400 if error else 200, {"Cache-Control": "no-store"}


@bp.get("/m/arrive/<code>")
def arrive_door(code: str):
    hall = current_hall()
    token = request.cookies.get(COOKIE, "")[:64]
    title, detail, status, link = "签到成功", "", 200, None
    try:
        t = remote.arrive_by_token(hall, token, code[:32], "door")
        detail = f"您的号码{t['number']}已签到，请在大厅留意叫号。"
        link = f"/t/{token}"
    except HallError as e:
        title, detail, status = "未能签到", _short(e.message), e.status
        if not token:
            detail = "请用取号的手机扫码，或在取号机上点“线上取号签到”。"
    html = render_template(
        "citizen/message.html",
        hall_name=hall.cfg.hall["name"],
        title=title,
        detail=detail,
        link=link,
    )
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/m/door")
@require(*STAFF_ROLES)
def door():
    hall = current_hall()
    url = f"{hall.cfg.hall['public_url'].rstrip('/')}/m/arrive/{remote.door_code(hall)}"
    html = render_template(
        "citizen/door.html", hall_name=hall.cfg.hall["name"], url=url, day=hall.engine.read.today()
    )
    return html, 200, {"Cache-Control": "no-store"}


@bp.get("/api/m/door.png")
@require(*STAFF_ROLES)
def door_png():
    import io

    import qrcode
    from flask import send_file

    hall = current_hall()
    url = f"{hall.cfg.hall['public_url'].rstrip('/')}/m/arrive/{remote.door_code(hall)}"
    img = qrcode.make(url, box_size=12, border=4).get_image()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    resp = send_file(buf, mimetype="image/png")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --- JSON ----------------------------------------------------------------------------
@bp.post("/api/m/code")
def api_code():
    data = json_body()
    phone = field(data, "phone", str, required=True, max_len=20)
    unknown_fields(data, ("phone",))
    return jsonify(remote.send_code(current_hall(), phone, _address()))


@bp.post("/api/m/tickets")
def api_take():
    data = json_body()
    service = field(data, "service", str, required=True, max_len=32)
    phone = field(data, "phone", str, required=True, max_len=20)
    code = field(data, "code", str, default=None, max_len=10)
    unknown_fields(data, ("service", "phone", "code"))
    _, body = remote.take(current_hall(), service, phone, code, _address())
    return jsonify(body), 201


@bp.post("/api/m/arrive")
def api_arrive():
    hall = current_hall()
    data = json_body()
    token = field(data, "token", str, required=True, max_len=64)
    code = field(data, "door", str, required=True, max_len=32)
    unknown_fields(data, ("token", "door"))
    t = remote.arrive_by_token(hall, token, code, "door")
    return jsonify(hall.engine.read.ticket_json(hall.store.db(), t))


@bp.post("/api/kiosk/arrive")
def api_kiosk_arrive():
    hall = current_hall()
    data = json_body()
    number = field(data, "number", str, required=True, max_len=8)
    last4 = field(data, "last4", str, required=True, max_len=4)
    unknown_fields(data, ("number", "last4"))
    t = remote.arrive_at_kiosk(hall, number, last4, _address())
    return jsonify(hall.engine.read.ticket_json(hall.store.db(), t))
