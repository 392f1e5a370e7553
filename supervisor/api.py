"""Supervisor API (url_prefix /api): exports, 好差评 follow-up, audit search, admin, board."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, g, jsonify, request

from hall.app import current_hall
from hall.auth import require
from hall.errors import Invalid
from hall.validate import date_arg, field, flag_arg, int_arg, json_body, text_arg

from . import admin, audit, board, export, followup

bp = Blueprint("supervisor_api", __name__, url_prefix="/api")

MANAGERS = ("supervisor", "admin")
MAX_DAYS = 366


def date_range(default_days: int = 1) -> tuple[date, date]:
    """?from&to as hall-local days (default: today, or the last default_days days)."""
    hall = current_hall()
    today = hall.hours.local(hall.clock.now()).date()
    from datetime import timedelta

    start, end = date_arg("from", None), date_arg("to", None)
    if start is None:  # the last default_days days up to `to` (default today)
        end = end or today
        start = end - timedelta(days=default_days - 1)
    end = end or start
    if end < start:
        raise Invalid("to 不能早于 from (to is before from)")
    if (end - start).days > MAX_DAYS:
        raise Invalid("时间范围最多一年 (at most one year)")
    return start, end


def optional_range() -> tuple[date | None, date | None]:
    start = date_arg("from", None)
    end = date_arg("to", None)
    if start and end and end < start:
        raise Invalid("to 不能早于 from (to is before from)")
    return start, end


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- exports ------------------------------------------------------------------------
@bp.get("/export/tickets.csv")
@require(*MANAGERS)
def export_tickets_csv():
    start, end = date_range()
    data = export.tickets_csv(current_hall(), start, end)
    return _download(data, "text/csv; charset=utf-8", f"tickets_{start}_{end}.csv")


@bp.get("/export/report.xlsx")
@require(*MANAGERS)
def export_report_xlsx():
    start, end = date_range()
    data = export.report_xlsx(current_hall(), start, end)
    return _download(
        data,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"report_{start}_{end}.xlsx",
    )


# --- 好差评 follow-up ----------------------------------------------------------------
@bp.get("/ratings")
@require(*MANAGERS)
def ratings():
    raw_status = request.args.get("status") or ""
    statuses = tuple(s for s in raw_status.split(",") if s)
    for s in statuses:
        if s not in followup.STATUSES:
            raise Invalid(
                f"status须为{'/'.join(followup.STATUSES)} (status must be one of "
                f"{followup.STATUSES})"
            )
    service = text_arg("service", 32)
    start, end = optional_range()
    items = followup.list_ratings(
        current_hall(),
        bad=flag_arg("bad"),
        statuses=statuses,
        start=start,
        end=end,
        overdue_only=flag_arg("overdue"),
        service=service,
        limit=int_arg("limit", 500, 1, 5000),
    )
    return jsonify(items)


@bp.get("/ratings/<int:rating_id>")
@require(*MANAGERS)
def rating(rating_id: int):
    return jsonify(followup.get_rating(current_hall(), rating_id))


@bp.post("/ratings/<int:rating_id>/follow-up")
@require(*MANAGERS)
def rating_follow_up(rating_id: int):
    data = json_body()
    action = field(data, "action", str, required=True, max_len=20)
    note = field(data, "note", str, default="", max_len=followup.NOTE_MAX + 100)
    return jsonify(followup.follow_up(current_hall(), rating_id, action, note, g.actor))


# --- audit --------------------------------------------------------------------------
@bp.get("/audit")
@require(*MANAGERS)
def audit_search():
    start, end = optional_range()
    ticket = (request.args.get("ticket") or "").strip()
    user = (request.args.get("user") or "").strip()
    action = (request.args.get("action") or "").strip()
    if len(ticket) > 20 or len(user) > 64 or len(action) > 32:
        raise Invalid("查询条件过长 (search term too long)")
    return jsonify(
        audit.search(
            current_hall(),
            ticket=ticket or None,
            user=user or None,
            action=action or None,
            start=start,
            end=end,
            limit=int_arg("limit", 200, 1, 2000),
        )
    )


# --- live board ---------------------------------------------------------------------
@bp.get("/supervisor/board")
@require(*MANAGERS)
def board_json():
    return jsonify(board.board(current_hall()))


# --- admin --------------------------------------------------------------------------
@bp.get("/admin/services")
@require("admin")
def admin_services():
    return jsonify(admin.list_services(current_hall()))


@bp.post("/admin/services")
@require("admin")
def admin_service_create():
    return jsonify(admin.create_service(current_hall(), json_body(), g.actor)), 201


@bp.route("/admin/services/<code>", methods=["PATCH", "POST"])
@require("admin")
def admin_service_update(code: str):
    return jsonify(admin.update_service(current_hall(), code[:32], json_body(), g.actor))


@bp.get("/admin/windows")
@require("admin")
def admin_windows():
    return jsonify(admin.list_windows(current_hall()))


@bp.post("/admin/windows")
@require("admin")
def admin_window_create():
    return jsonify(admin.create_window(current_hall(), json_body(), g.actor)), 201


@bp.route("/admin/windows/<int:number>", methods=["PATCH", "POST"])
@require("admin")
def admin_window_update(number: int):
    return jsonify(admin.update_window(current_hall(), number, json_body(), g.actor))


@bp.get("/admin/users")
@require("admin")
def admin_users():
    return jsonify(admin.list_users(current_hall()))


@bp.post("/admin/users")
@require("admin")
def admin_user_create():
    return jsonify(admin.create_user(current_hall(), json_body(), g.actor)), 201


@bp.route("/admin/users/<username>", methods=["PATCH", "POST"])
@require("admin")
def admin_user_update(username: str):
    return jsonify(admin.update_user(current_hall(), username[:64], json_body(), g.actor))
