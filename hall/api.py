"""API v1: JSON in and out; errors are {"error": "..."} with a 4xx status."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from . import issuing, stats
from .app import current_hall
from .auth import require
from .errors import Forbidden, Invalid, NotFound
from .snapshots import public_window
from .validate import choice_arg, date_arg, field, json_body, string_list, text_arg
from .vocabulary import MANAGER_ROLES, STAFF_ROLES, TICKET_STATUSES

bp = Blueprint("api", __name__, url_prefix="/api")


def client_address() -> str:
    return request.remote_addr or "unknown"


def _db():
    return current_hall().store.db()


def _read():
    return current_hall().engine.read


# --- the description of this API -----------------------------------------------------
@bp.get("/openapi.json")
def openapi_json():
    """OpenAPI 3 description of every /api endpoint (hall/openapi.py)."""
    from .openapi import spec

    return jsonify(spec())


# --- services and tickets -----------------------------------------------------------
@bp.get("/services")
def services():
    db, read = _db(), _read()
    counts = read.waiting_counts(db)
    return jsonify([read.service_json(db, s, counts) for s in read.services(db)])


@bp.post("/tickets")
def issue_ticket():
    hall = current_hall()
    data = json_body()
    journey = field(data, "journey", str, max_len=32)
    service = field(data, "service", str, required=journey is None, max_len=32)
    if journey is not None and service is not None:
        raise Invalid("请只指定业务或一件事之一 (give either service or journey)")
    priority = field(data, "priority", bool, default=False)
    reason = field(data, "priority_reason", str, default="", max_len=200).strip()
    kiosk = field(data, "kiosk", str, default=None, max_len=32)
    options = issuing.options_from(hall, data)  # read by the faces' issue hooks
    actor = hall.auth.actor()
    if actor is not None:
        hall.auth.check_csrf()
    if priority:
        if actor is None:
            raise Forbidden(
                "绿色通道请到导办台由工作人员取号 (priority tickets are issued by staff)"
            )
        if not reason:
            raise Invalid("请填写优先原因 (priority_reason is required)")
    _, body = issuing.issue(
        hall,
        service,
        actor=actor,
        address=client_address(),
        kiosk=kiosk,
        options=options,
        priority=priority,
        priority_reason=reason,
        journey=journey,
    )
    return jsonify(body), 201


@bp.get("/journeys")
def journeys():
    """一件事: the journeys a number can be taken for (POST /api/tickets {"journey"})."""
    return jsonify(_read().journeys())


@bp.get("/tickets/<token>")
def ticket_by_token(token: str):
    db, read = _db(), _read()
    t = read.ticket_by_token(db, token) if len(token) <= 64 else None
    if t is None:
        raise NotFound("没有这张票 (no such ticket)")
    return jsonify(read.ticket_json(db, t, with_token=True))


@bp.get("/tickets")
@require(*STAFF_ROLES)
def list_tickets():
    """Staff look-up: by number today (导办台), or the day's tickets. No tokens."""
    db, read = _db(), _read()
    day = date_arg("date", None)
    day_key = day.isoformat() if day else read.today()
    number = (text_arg("number", 8) or "").upper()
    status = choice_arg("status", TICKET_STATUSES)
    sql = "SELECT * FROM tickets WHERE day = ?"
    params: list = [day_key]
    if number:
        sql += " AND number = ?"
        params.append(number)
    if status:
        sql += " AND status = ?"
        params.append(status)
    sql += " ORDER BY id DESC LIMIT 500"
    return jsonify([read.ticket_json(db, t, staff=True) for t in db.query(sql, params)])


def _any(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


# The actions are named in the rule, so another route under the same prefix (a face's
# /api/tickets/<token>/qr.png) answers 405 with its own Allow header, not 401 or 404.
TICKET_ACTIONS = (
    "recall",
    "start",
    "no-show",
    "requeue",
    "finish",
    "cancel",
    "transfer",
    "park",
    "resume",
)
WINDOW_ACTIONS = ("open", "pause", "close", "call-next", "call")


@bp.post(f"/tickets/<int:ticket_id>/<any({_any(TICKET_ACTIONS)}):action>")
@require(*STAFF_ROLES)
def ticket_action(ticket_id: int, action: str):
    engine, actor = current_hall().engine, g.actor
    data = json_body()
    if action == "recall":
        t = engine.recall(ticket_id, actor)
    elif action == "start":
        t = engine.start(ticket_id, actor)
    elif action == "no-show":
        t = engine.no_show(ticket_id, actor)
    elif action == "requeue":
        t = engine.requeue(ticket_id, actor)
    elif action == "finish":
        # 办件编号 (typed or scanned) and 事项编码, both optional (the county network and
        # the provincial 好差评 carry them).
        case_no = field(data, "case_no", str, default=None, max_len=64)
        matter = field(data, "matter", str, default=None, max_len=64)
        t = engine.finish(
            ticket_id,
            actor,
            case_no=(case_no or "").strip() or None,
            matter=(matter or "").strip() or None,
        )
    elif action == "park":
        t = engine.park(ticket_id, actor, field(data, "reason", str, default="", max_len=200))
    elif action == "resume":
        t = engine.resume(ticket_id, actor)
    elif action == "cancel":
        t = engine.cancel(ticket_id, actor, field(data, "reason", str, default="", max_len=200))
    elif action == "transfer":
        service = field(data, "service", str, max_len=32)
        window = field(data, "window", int)
        note = field(data, "note", str, default="", max_len=500)
        t = engine.transfer(ticket_id, actor, service=service, window=window, note=note)
    else:
        raise NotFound(f"未知操作{action} (unknown action)")
    return jsonify(_read().ticket_json(_db(), t, staff=True))


# --- ratings ------------------------------------------------------------------------
@bp.post("/tickets/<token>/rating")
def rate_by_token(token: str):
    hall = current_hall()
    data = json_body()
    score = field(data, "score", int, required=True)
    reasons = string_list(data, "reasons")
    comment = field(data, "comment", str, default="", max_len=500).strip()
    t = hall.engine.read.ticket_by_token(hall.store.db(), token) if len(token) <= 64 else None
    if t is None:
        raise NotFound("没有这张票 (no such ticket)")
    rating = hall.engine.rate(t["id"], score, reasons, comment, channel="qr")
    # The citizen's answer names no member of staff.
    return jsonify({k: v for k, v in rating.items() if k != "clerk"}), 201


# --- auth ---------------------------------------------------------------------------
@bp.post("/login")
def login():
    data = json_body()
    username = field(data, "username", str, required=True, max_len=64)
    password = field(data, "password", str, required=True, max_len=256)
    return jsonify(current_hall().auth.login(username, password, client_address()))


@bp.post("/logout")
def logout():
    hall = current_hall()
    if hall.auth.actor() is not None:
        hall.auth.check_csrf()
    hall.auth.logout()
    return jsonify(ok=True)


@bp.get("/me")
def me():
    cur = current_hall().auth.current()
    if cur is None:
        return jsonify(error="未登录 (not logged in)"), 401
    user, sess = cur
    return jsonify(
        username=user["username"],
        role=user["role"],
        display_name=user["display_name"],
        staff_no=user["staff_no"],
        csrf_token=sess["csrf_token"],
    )


# --- windows ------------------------------------------------------------------------
@bp.get("/windows")
def windows():
    """Windows and their state; the clerk signed in is shown to staff only (a login name
    on a public answer helps a stranger lock that account out)."""
    db, read = _db(), _read()
    rows = [read.window_json(db, w) for w in read.windows(db)]
    if current_hall().auth.actor() is None:
        rows = [public_window(w) for w in rows]
    return jsonify(rows)


@bp.post(f"/windows/<int:number>/<any({_any(WINDOW_ACTIONS)}):action>")
@require(*STAFF_ROLES)
def window_action(number: int, action: str):
    engine, actor = current_hall().engine, g.actor
    data = json_body()
    if action == "call-next":
        t = engine.call_next(number, actor)
        return jsonify(ticket=_read().ticket_json(_db(), t, staff=True) if t else None)
    if action == "call":
        ticket_id = field(data, "ticket", int, required=True)
        reason = field(data, "reason", str, required=True, max_len=200)
        t = engine.call_ticket(number, ticket_id, actor, reason)
        return jsonify(ticket=_read().ticket_json(_db(), t, staff=True))
    if action == "open":
        w = engine.open_window(number, actor)
    elif action == "pause":
        w = engine.pause_window(number, actor, field(data, "reason", str, default="", max_len=50))
    elif action == "close":
        w = engine.close_window(number, actor, force=field(data, "force", bool, default=False))
    else:
        raise NotFound(f"未知操作{action} (unknown action)")
    return jsonify(_read().window_json(_db(), w))


# --- figures ------------------------------------------------------------------------
@bp.get("/stats")
@require(*MANAGER_ROLES)
def get_stats():
    hall = current_hall()
    today = hall.hours.local(hall.clock.now()).date()
    start, end = date_arg("from", None), date_arg("to", None)
    start = start or end or today  # only `to`: that one day
    end = end or start
    if end < start:
        raise Invalid("to 不能早于 from (to is before from)")
    if (end - start).days > 366:
        raise Invalid("时间范围最多一年 (at most one year)")
    return jsonify(stats.compute(hall, start, end))
