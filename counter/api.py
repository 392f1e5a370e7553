"""Counter API (blueprint "counter_api", /api): what the clerk console, the guide desk and
the rating pad need beyond API v1. Every state change still goes through hall.engine."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from hall.app import current_hall
from hall.auth import require
from hall.errors import Invalid, NotFound
from hall.validate import field, json_body, string_list
from hall.vocabulary import MANAGER_ROLES, STAFF_ROLES

from . import pad, pairing
from .state import callable_tickets, signed_in_window, user_info, window_state, windows_for

bp = Blueprint("counter_api", __name__, url_prefix="/api")

MAX_WINDOW = 100_000


def _window_number(number: int) -> int:
    if not 0 < number < MAX_WINDOW:
        raise NotFound(f"没有{number}号窗口 (no window {number})")
    return number


# --- clerk console ----------------------------------------------------------------
@bp.get("/windows/<int:number>/state")
@require(*STAFF_ROLES)
def get_window_state(number: int):
    hall = current_hall()
    state = window_state(hall, hall.store.db(), _window_number(number), g.actor)
    if state is None:
        raise NotFound(f"没有{number}号窗口 (no window {number})")
    return jsonify(state)


@bp.get("/windows/<int:number>/callable")
@require(*STAFF_ROLES)
def get_callable(number: int):
    """选号叫号: the waiting tickets this window may call by choice, in calling order."""
    hall = current_hall()
    db = hall.store.db()
    if hall.engine.read.window(db, _window_number(number)) is None:
        raise NotFound(f"没有{number}号窗口 (no window {number})")
    return jsonify(callable_tickets(hall, db, number))


@bp.get("/counter/me")
@require(*STAFF_ROLES)
def counter_me():
    """Who is signed in, where, and which windows they may use."""
    hall = current_hall()
    db = hall.store.db()
    return jsonify(
        user=user_info(db, g.actor.username),
        window=signed_in_window(db, g.actor.username),
        windows=windows_for(hall, db, g.actor),
    )


# --- rating pad (paired devices only: counter/pairing.py) ---------------------------
def _pad_guard(number: int) -> None:
    """A known window (404), then a device paired with it (403), then JSON for writes."""
    hall = current_hall()
    pairing.check_address(hall)
    _pad_state(number)
    pairing.require_pad(hall, number)
    if request.method == "POST" and not request.is_json:
        # A cross-site form cannot send application/json without a CORS preflight.
        raise Invalid("请求须为JSON (Content-Type must be application/json)")


def _pad_state(number: int) -> dict:
    state = pad.pad_state(current_hall(), _window_number(number))
    if state is None:
        raise NotFound(f"没有{number}号窗口 (no window {number})")
    return state


@bp.get("/pad/<int:number>")
def pad_get(number: int):
    _pad_guard(number)
    hall = current_hall()
    pad.sweep(hall)
    return jsonify(_pad_state(number))


@bp.post("/pad/<int:number>/rating")
def pad_rate(number: int):
    """Rate the window's most recently finished ticket: {score, reasons, comment, ticket?}."""
    _pad_guard(number)
    hall = current_hall()
    data = json_body()
    score = field(data, "score", int, required=True)
    if score not in pad.SCORES:
        raise Invalid("评分须为1-5 (score must be 1-5)")
    reasons = string_list(data, "reasons", max_items=10, max_len=20)
    # which reasons are allowed, and for which scores: one rule in engine.rate
    comment = field(data, "comment", str, default="", max_len=200).strip()
    ticket_id = field(data, "ticket", int)
    rating = pad.rate_at_pad(hall, number, score, reasons, comment, ticket_id)
    return jsonify(
        score=rating["score"],
        label=pad.SCORES[rating["score"]],
        reasons=rating["reasons"],
        bad=rating["score"] in pad.BAD,
        state=_pad_state(number),
    ), 201


@bp.post("/pad/<int:number>/timeout")
def pad_timeout(number: int):
    """The pad's countdown ran out: record unrated whatever is due (the server decides)."""
    _pad_guard(number)
    json_body()  # nothing to read, but a body must be JSON (an empty one is fine)
    hall = current_hall()
    recorded = pad.sweep(hall)
    return jsonify(recorded=len(recorded), state=_pad_state(number))


@bp.post("/pad/<int:number>/pair")
def pad_pair(number: int):
    """Pair this device as the window's pad with a one-time code: {code}. Sets the
    device cookie hall_pad."""
    hall = current_hall()
    _pad_state(number)
    if not request.is_json:
        raise Invalid("请求须为JSON (Content-Type must be application/json)")
    code = field(json_body(), "code", str, required=True, max_len=16)
    device, token = pairing.pair(hall, number, code)
    resp = jsonify(
        window=number, window_name=_pad_state(number)["window_name"], device=device["id"]
    )
    resp.status_code = 201
    pairing.set_cookie(hall, resp, token)
    return resp


# --- paired pads (supervisors) -------------------------------------------------------
@bp.get("/pads")
@require(*MANAGER_ROLES)
def pads_list():
    hall = current_hall()
    return jsonify(devices=pairing.devices(hall), codes=pairing.open_codes(hall))


@bp.post("/pads/pairing-codes")
@require(*MANAGER_ROLES)
def pads_new_code():
    window = field(json_body(), "window", int, required=True)
    return jsonify(pairing.new_code(current_hall(), _window_number(window), g.actor)), 201


@bp.post("/pads/<int:device_id>/revoke")
@require(*MANAGER_ROLES)
def pads_revoke(device_id: int):
    return jsonify(pairing.revoke(current_hall(), device_id, g.actor))


# 补打 (reprint) for the guide desk is POST /api/tickets/<id>/reprint of the kiosk face
# (kiosk/api.py), which owns the printers (HallContext.printers).
