"""Kiosk-side pages of the citizen face (blueprint "citizen").

GET  /kiosk/elder?kiosk=ID        长者模式: large type, the most used services, 更多
POST /kiosk/elder                 take a number there (form: service, kiosk, card)
POST /kiosk/card                  a card was read: its holder's booking due now is
                                  checked in (its ticket); else the services screen
                                  (elder mode when the card shows [elder] auto_age)
POST /kiosk/notify                短信提醒: numpad for a ticket's phone number
GET|POST /kiosk/arrive            线上取号签到 at the kiosk (number + phone digits)
POST /kiosk/help                  呼叫帮办
GET  /audio/prompt/<key>.wav      a kiosk prompt in the hall's voice
GET  /audio/ticket/<token>.wav    您已取号A005，前面还有3人等候 for that ticket
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request, send_file

from hall import issuing
from hall.app import current_hall
from hall.errors import HallError, TooMany

from . import cards, help, remote
from .notify import mask_phone, normalize_phone
from .state import of

bp = Blueprint(
    "citizen",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/citizen/static",
)

PROMPTS = {
    "choose": "请选择您要办理的业务",
    "card": "请刷身份证或点击业务",
    "help": "已通知工作人员，请稍候",
}
RETURN_SECONDS = 30


def _short(message: str) -> str:
    return (message or "").split(" (")[0]


def _kiosk():
    hall = current_hall()
    kid = (request.values.get("kiosk") or "")[:32] or None
    if kid is not None and hall.cfg.kiosk(kid) is None:
        abort(404)
    return hall, kid


def _home(kid):
    return f"/kiosk/{kid}" if kid else "/kiosk"


def most_used(hall, db, services: list[dict], top: int) -> tuple[list[dict], list[dict]]:
    """(the `top` services with the most tickets in the last 30 days, the rest)."""
    since = (hall.hours.local(hall.clock.now()).date() - timedelta(days=30)).isoformat()
    counts = {
        r["service"]: r["n"]
        for r in db.query(
            "SELECT service, COUNT(*) AS n FROM tickets WHERE day >= ? GROUP BY service", [since]
        )
    }
    order = sorted(range(len(services)), key=lambda i: (-counts.get(services[i]["code"], 0), i))
    first = [services[i] for i in order[:top]]
    return first, [s for s in services if s not in first]


def render(mode="start", status=200, **extra):
    hall, kid = _kiosk()
    db = hall.store.db()
    read = hall.engine.read
    counts = read.waiting_counts(db)
    services = [read.service_json(db, s, counts) for s in read.services(db)]
    top, more = most_used(hall, db, services, hall.cfg.elder["top_services"])
    ctx = dict(
        hall_name=hall.cfg.hall["name"],
        kiosk_id=kid,
        kiosk_name=(hall.cfg.kiosk(kid) or {}).get("name") if kid else "",
        home=_home(kid),
        elder_url=f"/kiosk/elder?kiosk={kid}" if kid else "/kiosk/elder",
        top=top,
        more=more,
        show_more=request.values.get("more") == "1",
        mode=mode,
        elder=True,
        card=None,
        ticket=None,
        error="",
        notice="",
        speak=hall.cfg.elder["speak"] and hall.voice is not None,
        prompt="choose",
        sms=of(hall).notifier.enabled,
        reader=next(
            (r["kind"] for r in hall.cfg.arrays.get("card_readers", []) if r["kiosk"] == kid), ""
        ),
        return_seconds=RETURN_SECONDS,
    )
    ctx.update(extra)
    html = render_template("citizen/elder.html", **ctx)
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/kiosk/elder")
def elder():
    return render()


def booking_notice(booking: dict | None) -> str:
    """What the card's screen says of a booking today it did not check in."""
    if not booking or booking["state"] == "due":
        return ""
    what = f"今天{booking['slot']}的{booking['service_name']}"
    if booking["state"] == "early":
        return f"您预约了{what}，请于{booking['checkin_opens']}后刷卡签到；现在取的是普通号"
    return f"您预约的{what}已过签到时间，可取普通号排队"


@bp.post("/kiosk/card")
def card_screen():
    """A card was read. Its holder's booking due now is checked in at once (the
    booking's ticket, instead of a choice of services); otherwise the services."""
    hall, kid = _kiosk()
    try:
        row = cards.card_row(hall, request.form.get("card", "")[:64])
    except HallError as e:
        return render(error=_short(e.message), status=e.status)
    card = {
        "token": row["token"],
        "masked": row["id_masked"],
        "priority": bool(row["priority"]),
        "elder": bool(row["elder"]),
    }
    booking = cards.booking_of(hall, row)
    if booking and booking["state"] == "due":
        try:
            issuing.check_rate(hall, None, request.remote_addr or "")
            body = cards.booking_check_in(hall, row, kid)
        except HallError as e:
            return render(card=card, elder=card["elder"], error=_short(e.message), status=e.status)
        if body is not None:
            return render(
                mode="ticket",
                ticket=body,
                elder=card["elder"],
                notice=f"预约签到成功（{booking['slot']} {booking['service_name']}）",
            )
    return render(card=card, elder=card["elder"], prompt="choose", notice=booking_notice(booking))


@bp.post("/kiosk/elder")
def elder_take():
    hall, kid = _kiosk()
    service = (request.form.get("service") or "")[:32]
    token = (request.form.get("card") or "")[:64]
    elder_mode = request.form.get("elder", "1") == "1"
    options = {"print": True} if kid is None else {}
    try:
        if token:
            _, body = cards.take(
                hall, token, service, address=request.remote_addr or "", kiosk=kid, options=options
            )
        else:
            _, body = issuing.issue(
                hall,
                service,
                address=request.remote_addr or "",
                kiosk=kid,
                options=options,
                source="kiosk",
            )
    except HallError as e:
        card = None
        if token:
            try:
                row = cards.card_row(hall, token)
                card = {
                    "token": token,
                    "masked": row["id_masked"],
                    "priority": bool(row["priority"]),
                    "elder": bool(row["elder"]),
                }
            except HallError:
                card = None
        return render(error=_short(e.message), card=card, elder=elder_mode, status=e.status)
    return render(mode="ticket", ticket=body, elder=elder_mode)


@bp.post("/kiosk/notify")
def notify():
    hall, kid = _kiosk()
    token = (request.form.get("ticket") or "")[:64]
    t = hall.engine.read.ticket_by_token(hall.store.db(), token) if token else None
    if t is None:
        abort(404)
    raw = request.form.get("phone")
    ticket = {"number": t["number"], "token": token}
    if raw is None:
        return render(mode="notify", ticket=ticket, elder=request.form.get("elder") == "1")
    phone = normalize_phone(raw[:20])
    if phone is None:
        return render(mode="notify", ticket=ticket, error="请输入正确的11位手机号码", status=400)
    try:
        issuing.check_rate(hall, None, request.remote_addr or "")
        of(hall).notifier.subscribe_ticket(t["id"], phone, "kiosk")
    except HallError as e:
        return render(mode="notify", ticket=ticket, error=_short(e.message), status=e.status)
    return render(
        mode="message",
        notice=f"即将到号时将短信通知{mask_phone(phone)}，请留意手机",
        ticket=ticket,
    )


@bp.route("/kiosk/arrive", methods=["GET", "POST"])
def arrive():
    hall, kid = _kiosk()
    if request.method == "GET":
        return render(mode="arrive")
    try:
        t = remote.arrive_at_kiosk(
            hall,
            request.form.get("number", ""),
            request.form.get("last4", ""),
            request.remote_addr or "",
        )
    except HallError as e:
        return render(mode="arrive", error=_short(e.message), status=e.status)
    return render(mode="message", notice=f"{t['number']}签到成功，请留意叫号")


@bp.post("/kiosk/help")
def help_page():
    hall, kid = _kiosk()
    if kid is None:
        return render(error="本机未登记，请到导办台咨询", status=400)
    try:
        if not of(hall).help_limiter.allow(request.remote_addr or ""):
            raise TooMany("呼叫过于频繁")
        help.raise_alert(hall, kid)
    except HallError as e:
        return render(error=_short(e.message), status=e.status)
    return render(notice="已通知工作人员，请稍候", prompt="help")


# --- spoken prompts -------------------------------------------------------------------
def _wav(name):
    hall = current_hall()
    path = hall.voice.path_for(name) if (hall.voice and name) else None
    if path is None:
        abort(404)
    resp = send_file(path, mimetype="audio/wav", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/audio/prompt/<key>.wav")
def prompt_audio(key: str):
    hall = current_hall()
    if key not in PROMPTS or hall.voice is None:
        abort(404)
    return _wav(hall.voice.wav_for_text(PROMPTS[key]))


@bp.get("/audio/ticket/<token>.wav")
def ticket_audio(token: str):
    """The result, for a ticket that exists and still waits (a bounded set: the voice
    cache keeps at most voice.cache_files files)."""
    hall = current_hall()
    db = hall.store.db()
    t = hall.engine.read.ticket_by_token(db, token) if 0 < len(token) <= 64 else None
    if t is None or t["status"] != "waiting" or hall.voice is None:
        abort(404)
    ahead = hall.engine.read.ahead_of(db, t)
    return _wav(hall.voice.wav_for_text(f"您已取号{t['number']}，前面还有{ahead}人等候"))
