"""Supervisor pages that act: 好差评 follow-up, the audit search and the admin pages
(services, windows, users); the forms post to the face's API with Hall.api."""

from __future__ import annotations

from flask import render_template, request

from hall.app import current_hall
from hall.validate import parse_day

from . import admin, audit, followup
from .pages import MANAGERS, bp, hall_today, page

# --- 好差评 follow-up -----------------------------------------------------------------
RATING_TABS = [
    ("todo", "待跟进", ("open", "called_back"), False),
    ("overdue", "已超期", ("open", "called_back"), True),
    ("rectified", "已整改", ("rectified",), False),
    ("appealed", "申诉撤销", ("appealed",), False),
    ("all", "全部差评", (), False),
]


@bp.get("/ratings")
@page(*MANAGERS)
def ratings():
    hall = current_hall()
    tab = request.args.get("tab", "todo")
    spec = next((t for t in RATING_TABS if t[0] == tab), RATING_TABS[0])
    items = followup.list_ratings(hall, bad=True, statuses=spec[2], overdue_only=spec[3])
    counts = {
        t[0]: len(followup.list_ratings(hall, bad=True, statuses=t[2], overdue_only=t[3]))
        for t in RATING_TABS
    }
    return render_template(
        "supervisor/ratings.html",
        items=items,
        tab=spec[0],
        tabs=RATING_TABS,
        counts=counts,
        cfg_ratings=hall.cfg.ratings,
    )


# --- audit --------------------------------------------------------------------------
@bp.get("/audit")
@page(*MANAGERS)
def audit_page():
    hall = current_hall()
    q = {k: (request.args.get(k) or "").strip()[:64] for k in ("ticket", "user", "action")}
    error, entries = "", []
    start = end = None
    try:
        if request.args.get("from"):
            start = parse_day(request.args["from"])
        if request.args.get("to"):
            end = parse_day(request.args["to"])
    except ValueError:
        error = "日期格式应为YYYY-MM-DD"
    if not any(q.values()) and not start and not end:
        start = end = hall_today()
    if not error:
        try:
            entries = audit.search(
                hall,
                ticket=q["ticket"] or None,
                user=q["user"] or None,
                action=q["action"] or None,
                start=start,
                end=end,
                limit=300,
            )
        except Exception as e:  # Invalid -> shown on the page
            from hall.errors import HallError

            if not isinstance(e, HallError):
                raise
            error = e.message
    return render_template(
        "supervisor/audit.html",
        q=q,
        start=start,
        end=end,
        entries=entries,
        error=error,
        actions=audit.ACTION_CN,
    )


# --- admin --------------------------------------------------------------------------
@bp.get("/admin/services")
@page("admin")
def admin_services():
    return render_template(
        "supervisor/admin_services.html", services=admin.list_services(current_hall())
    )


@bp.get("/admin/windows")
@page("admin")
def admin_windows():
    hall = current_hall()
    return render_template(
        "supervisor/admin_windows.html",
        windows=admin.list_windows(hall),
        services=admin.list_services(hall),
    )


@bp.get("/admin/users")
@page("admin")
def admin_users():
    hall = current_hall()
    return render_template(
        "supervisor/admin_users.html",
        users=admin.list_users(hall),
        windows=admin.list_windows(hall),
        services=admin.list_services(hall),
        roles=admin.ROLE_CN,
    )
