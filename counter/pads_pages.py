"""Pairing pages (blueprint "counter_pads"): the pad's pairing form, and /counter/pads
where a supervisor makes one-time codes and sees and revokes paired pads.

Plain HTML forms, no script: the code is shown once, in the answer to the form that
made it (only its hash is stored). Staff forms carry the session's CSRF token as a field.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, redirect, render_template, request, url_for

from hall.app import current_hall
from hall.errors import Forbidden, HallError
from hall.vocabulary import MANAGER_ROLES

from . import pairing
from .state import user_info

bp = Blueprint("counter_pads", __name__, url_prefix="/counter", template_folder="templates")


def pair_form(hall, state: dict, device: dict | None, error: str = "", status: int = 200):
    """The pad page of a device that is not this window's paired pad."""
    return (
        render_template(
            "counter/pad_pair.html",
            title=f"{state['window_name']} · 评价器配对",
            hall_name=hall.cfg.hall["name"],
            s=state,
            other_window=device["window"] if device else None,
            error=error,
        ),
        status,
    )


@bp.post("/pad/<int:number>/pair")
def pad_pair_form(number: int):
    hall = current_hall()
    from . import pad

    state = pad.pad_state(hall, number) if 0 < number < 100_000 else None
    if state is None:
        abort(404)
    try:
        _device, token = pairing.pair(hall, number, request.form.get("code", "")[:32])
    except HallError as e:
        return pair_form(hall, state, pairing.device_of(hall), e.message.split(" (")[0], e.status)
    resp = redirect(url_for("counter.pad_page", number=number), code=303)
    pairing.set_cookie(hall, resp, token)
    return resp


# --- supervisors ----------------------------------------------------------------------
def _manager():
    """(user, csrf) of a signed-in supervisor/admin; None when not signed in."""
    hall = current_hall()
    cur = hall.auth.current()
    if cur is None:
        return None
    if cur[0]["role"] not in MANAGER_ROLES:
        raise Forbidden("无权限 (supervisors only)")
    return user_info(hall.store.db(), cur[0]["username"]), cur[1]["csrf_token"]


def _check_form_csrf(csrf: str) -> None:
    if not secrets.compare_digest(request.form.get("csrf_token", ""), csrf):
        raise Forbidden("缺少或错误的CSRF令牌 (missing or wrong csrf_token)")


def _page(new_code: dict | None = None, error: str = "", status: int = 200):
    hall = current_hall()
    who = _manager()
    common = {"hall_name": hall.cfg.hall["name"], "title": "评价器配对"}
    if who is None:
        return render_template("counter/login.html", user=None, csrf=None, **common), 401
    user, csrf = who
    db = hall.store.db()
    return (
        render_template(
            "counter/pads.html",
            user=user,
            csrf=csrf,
            windows=[
                {"number": w["number"], "name": w["name"]} for w in hall.engine.read.windows(db)
            ],
            devices=pairing.devices(hall),
            codes=pairing.open_codes(hall),
            new_code=new_code,
            minutes=hall.cfg.counter["pad_pairing_minutes"],
            error=error,
            **common,
        ),
        status,
    )


@bp.get("/pads")
def pads_page():
    return _page()


@bp.post("/pads/code")
def pads_code():
    hall = current_hall()
    who = _manager()
    if who is None:
        return _page()
    _check_form_csrf(who[1])
    try:
        window = int(request.form.get("window", ""))
    except ValueError:
        return _page(error="请选择窗口", status=400)
    try:
        code = pairing.new_code(hall, window, hall.auth.actor())
    except HallError as e:
        return _page(error=e.message.split(" (")[0], status=e.status)
    return _page(new_code=code)


@bp.post("/pads/<int:device_id>/revoke")
def pads_revoke(device_id: int):
    hall = current_hall()
    who = _manager()
    if who is None:
        return _page()
    _check_form_csrf(who[1])
    try:
        pairing.revoke(hall, device_id, hall.auth.actor())
    except HallError as e:
        return _page(error=e.message.split(" (")[0], status=e.status)
    return redirect(url_for("counter_pads.pads_page"), code=303)
