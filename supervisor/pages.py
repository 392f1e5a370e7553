"""Supervisor pages: everything rendered on the server; board.js only keeps the board live.

This module holds the blueprint and what every page shares: access (`page`), the template
filters and context, date ranges, the login page. The pages themselves, by concern:
figure_pages.py (live board, figures, windows and staff, daily report), ranking_pages.py
(督查考评 ranking), admin_pages.py (好差评 follow-up, audit search, admin).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for

from hall.app import current_hall
from hall.validate import parse_day

from . import charts

bp = Blueprint(
    "supervisor",
    __name__,
    url_prefix="/supervisor",
    template_folder="templates",
    static_folder="static",
)

MANAGERS = ("supervisor", "admin")
NAV = [
    ("supervisor.index", "实时看板", MANAGERS),
    ("supervisor.figures", "统计分析", MANAGERS),
    ("supervisor.figures_windows", "窗口与人员", MANAGERS),
    ("supervisor.ranking", "督查排名", MANAGERS),
    ("supervisor.ratings", "好差评跟进", MANAGERS),
    ("supervisor.report", "日报", MANAGERS),
    ("supervisor.planner_page", "排班预测", MANAGERS),
    ("supervisor.audit_page", "审计日志", MANAGERS),
    ("supervisor.admin_services", "业务管理", ("admin",)),
    ("supervisor.admin_windows", "窗口管理", ("admin",)),
    ("supervisor.admin_users", "用户管理", ("admin",)),
]


def page(*roles):
    """Pages: anonymous -> the login page; a logged-in user without the role -> 403."""
    roles = roles or MANAGERS

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            hall = current_hall()
            cur = hall.auth.current()
            if cur is None:
                return redirect(url_for("supervisor.login", next=request.full_path.rstrip("?")))
            user, sess = cur
            if user["role"] not in roles:
                return (
                    render_template("supervisor/forbidden.html", user=user, need=roles),
                    403,
                )
            g.actor = hall.auth.actor()
            g.user, g.csrf = user, sess["csrf_token"]
            return fn(*args, **kwargs)

        return wrapper

    return deco


@bp.app_template_filter("sv_dur")  # app-wide: prefixed
def _dur(seconds):
    return charts.fmt_duration(seconds)


@bp.app_template_filter("sv_pct")  # app-wide: prefixed
def _pct(value, digits=1):
    return charts.fmt_pct(value, digits)


@bp.app_template_filter("sv_minutes")  # app-wide: prefixed
def _minutes(seconds):
    return charts.fmt_minutes(seconds)


@bp.app_template_filter("sv_score")  # app-wide: prefixed
def _score(value):
    return "—" if value is None else f"{value:.2f}"


@bp.context_processor
def _context():
    hall = current_hall()
    user = getattr(g, "user", None)
    nav = [(ep, label) for ep, label, roles in NAV if user and user["role"] in roles]
    return {
        "hall_name": hall.cfg.hall["name"],
        "nav": nav,
        "user": user,
        "csrf": getattr(g, "csrf", ""),
        "goals": hall.cfg.supervisor,
        "gauge": _gauge,
    }


def _gauge(fraction, text, sub, kind):
    goals = current_hall().cfg.supervisor
    if fraction is None:
        color = charts.GREY
    elif kind == "sl":
        color = charts.BLUE if fraction >= goals["service_level_goal"] else charts.RED
    elif kind == "good":
        color = charts.GREEN if fraction >= goals["good_rate_goal"] else charts.RED
    else:
        color = charts.GREEN if fraction >= 0.8 else charts.AMBER
    return charts.gauge(fraction, text=text, sub=sub, color=color, label=sub)


# --- date ranges --------------------------------------------------------------------
def hall_today() -> date:
    hall = current_hall()
    return hall.hours.local(hall.clock.now()).date()


def page_range(default_days: int | None = None) -> tuple[date, date, str]:
    """?from&to for a page; a bad value falls back to the default with a message."""
    hall = current_hall()
    today = hall_today()
    days = default_days or max(1, int(hall.cfg.supervisor["default_days"]))
    start, end = today - timedelta(days=days - 1), today
    error = ""
    try:
        if request.args.get("from"):
            start = parse_day(request.args["from"])
            end = start
        if request.args.get("to"):
            end = parse_day(request.args["to"])
        if end < start:
            raise ValueError("to before from")
        if (end - start).days > 366:
            raise ValueError("over a year")
    except ValueError:
        start, end = today - timedelta(days=days - 1), today
        error = "日期格式应为YYYY-MM-DD，结束不早于开始，最长一年；已显示默认范围。"
    return start, end, error


def quick_ranges() -> list[tuple[str, date, date]]:
    today = hall_today()
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    return [
        ("今天", today, today),
        ("昨天", today - timedelta(days=1), today - timedelta(days=1)),
        ("近7天", today - timedelta(days=6), today),
        ("近30天", today - timedelta(days=29), today),
        ("本月", first, today),
        ("上月", last_month_end.replace(day=1), last_month_end),
    ]


def range_ctx(start, end, error):
    return {
        "start": start,
        "end": end,
        "range_error": error,
        "quick": quick_ranges(),
        "days": (end - start).days + 1,
    }


# --- login --------------------------------------------------------------------------
def _safe_next(raw: str | None) -> str:
    default = url_for("supervisor.index")
    if not raw:
        return default
    # Only a path of this site: browsers read a backslash as "/" (so "/\\evil.example" is
    # another host), and control characters can hide one.
    if "\\" in raw or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith("/") or raw.startswith("//"):
        return default
    return raw


@bp.get("/login")
def login():
    hall = current_hall()
    nxt = _safe_next(request.args.get("next"))
    cur = hall.auth.current()
    if cur and cur[0]["role"] in MANAGERS:
        return redirect(nxt)
    return render_template("supervisor/login.html", next=nxt, logged_in=cur[0] if cur else None)


# The pages, by concern: importing them adds their routes to bp.
from . import admin_pages, figure_pages, planner_views, ranking_pages  # noqa: E402, F401
