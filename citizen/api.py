"""The citizen face's API (blueprint "citizen_api", /api). See docs/citizen.md.

POST /api/idcard/scan            a keyboard-mode reader's number, from the kiosk page
POST /api/idcard/agent           a kiosk machine's agent (X-Agent-Key) reports a card
POST /api/idcard/tickets         take a number with a card read {card, service, kiosk}
POST /api/idcard/check-in        check in the card holder's booking due now {card, kiosk}
POST /api/sms/subscribe          leave a phone number for a ticket {token, phone}
GET  /api/sms                    supervisors: messages of the day, failures
POST /api/help                   呼叫帮办 from a kiosk {kiosk}
GET  /api/help                   staff: open alerts
POST /api/help/<id>/ack          staff: a guide takes it
"""

from __future__ import annotations

import hmac

from flask import Blueprint, g, jsonify, request

from hall import issuing
from hall.app import current_hall
from hall.auth import require
from hall.errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from hall.validate import field, json_body, unknown_fields
from hall.vocabulary import MANAGER_ROLES, STAFF_ROLES

from . import cards, help
from .notify import PHONE_INVALID, normalize_phone
from .state import of

bp = Blueprint("citizen_api", __name__, url_prefix="/api")

SCAN_LIMIT = "刷卡过于频繁，请稍后再试 (too many card reads from this address)"


def address() -> str:
    return request.remote_addr or "unknown"


@bp.post("/idcard/scan")
def scan():
    hall = current_hall()
    data = json_body()
    kiosk = field(data, "kiosk", str, default=None, max_len=32, nullable=True)
    number = field(data, "number", str, required=True, max_len=32)
    unknown_fields(data, ("kiosk", "number"))
    state = of(hall)
    if not state.scan_limiter.allow(address()):
        raise TooMany(SCAN_LIMIT)
    out = cards.read(hall, kiosk, number, state.secret, via="keyboard")
    return jsonify({**out, "booking": booking_json(hall, out["card"])}), 201


def booking_json(hall, token: str) -> dict | None:
    """The card holder's booking today, as much as the kiosk needs to say (no code)."""
    b = cards.booking_of(hall, cards.card_row(hall, token))
    if b is None:
        return None
    keys = ("state", "service", "service_name", "slot", "checkin_opens", "checkin_closes")
    return {k: b[k] for k in keys}


@bp.post("/idcard/agent")
def agent():
    """A kiosk machine's reader agent: the card goes to that kiosk's page (/citizen)."""
    hall = current_hall()
    key = hall.cfg.idcard["agent_key"]
    sent = request.headers.get("X-Agent-Key", "")
    if not key or not hmac.compare_digest(sent.encode(), key.encode()):
        raise Forbidden("读卡代理密钥错误 (wrong or missing X-Agent-Key)")
    data = json_body()
    kiosk = field(data, "kiosk", str, required=True, max_len=32)
    number = field(data, "number", str, required=True, max_len=32)
    unknown_fields(data, ("kiosk", "number"))
    out = cards.read(hall, kiosk, number, of(hall).secret, via="agent")
    return jsonify(masked=out["masked"], elder=out["elder"], priority=out["priority"]), 201


@bp.post("/idcard/tickets")
def card_ticket():
    hall = current_hall()
    data = json_body()
    card = field(data, "card", str, required=True, max_len=64)
    service = field(data, "service", str, required=True, max_len=32)
    kiosk = field(data, "kiosk", str, default=None, max_len=32, nullable=True)
    phone = field(data, "phone", str, default=None, max_len=20)
    unknown_fields(data, ("card", "service", "kiosk", "phone"))
    options = {"phone": phone} if phone else {}
    _, body = cards.take(hall, card, service, address=address(), kiosk=kiosk, options=options)
    return jsonify(body), 201


@bp.post("/idcard/check-in")
def card_check_in():
    """预约签到 by ID card: the card holder's booking whose check-in window is open."""
    hall = current_hall()
    data = json_body()
    token = field(data, "card", str, required=True, max_len=64)
    kiosk = field(data, "kiosk", str, default=None, max_len=32, nullable=True)
    unknown_fields(data, ("card", "kiosk"))
    issuing.check_kiosk(hall, kiosk)
    issuing.check_rate(hall, None, address())
    card = cards.card_row(hall, token)
    booking = cards.booking_of(hall, card)
    if booking is None:
        raise NotFound("该身份证今天没有预约，请选择业务取号 (no booking today for this card)")
    if booking["state"] == "early":
        raise Conflict(
            f"签到尚未开始，请于{booking['checkin_opens']}后签到（预约时段{booking['slot']}） "
            "(check-in has not opened yet)"
        )
    body = cards.booking_check_in(hall, card, kiosk) if booking["state"] == "due" else None
    if body is None:
        raise Conflict(
            f"预约时段{booking['slot']}已过签到时间，请选择业务取普通号 "
            "(the booking's check-in window has closed)"
        )
    return jsonify(body), 201


@bp.post("/sms/subscribe")
def sms_subscribe():
    hall = current_hall()
    data = json_body()
    token = field(data, "token", str, required=True, max_len=64)
    phone = normalize_phone(field(data, "phone", str, required=True, max_len=20))
    unknown_fields(data, ("token", "phone"))
    if phone is None:
        raise Invalid(PHONE_INVALID)
    state = of(hall)
    if not state.notifier.enabled:
        raise Conflict("本大厅未开通短信提醒 (no SMS channel configured)")
    issuing.check_rate(hall, None, address())
    t = hall.engine.read.ticket_by_token(hall.store.db(), token)
    if t is None:
        raise NotFound("没有这张票 (no such ticket)")
    state.notifier.subscribe_ticket(t["id"], phone, "kiosk")
    return jsonify(ok=True, number=t["number"], phone=phone[:3] + "****" + phone[-4:])


@bp.get("/sms")
@require(*MANAGER_ROLES)
def sms_report():
    return jsonify(of(current_hall()).notifier.report())


@bp.post("/help")
def help_request():
    hall = current_hall()
    data = json_body()
    kiosk = field(data, "kiosk", str, required=True, max_len=32)
    unknown_fields(data, ("kiosk",))
    if not of(hall).help_limiter.allow(address()):
        raise TooMany("呼叫过于频繁 (too many help requests)")
    return jsonify(help.raise_alert(hall, kiosk)), 201


@bp.get("/help")
@require(*STAFF_ROLES)
def help_list():
    return jsonify(help.open_alerts(current_hall()))


@bp.post("/help/<int:alert_id>/ack")
@require(*STAFF_ROLES)
def help_ack(alert_id: int):
    return jsonify(help.acknowledge(current_hall(), alert_id, g.actor))
