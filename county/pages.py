"""County pages (blueprint "county", /county): rendered on the server; county.js keeps
the overview live (Socket.IO /county) and sends the few actions (重试, login).

    /county               every site at a glance (live)           supervisors, admins
    /county/ranking       sites within their level, departments    supervisors, admins
    /county/ratings       every 差评 in the county                  supervisors, admins
    /county/province      ratings to the province, 重试            supervisors, admins
    /county/point         a village point: walk-ins, 办结, rating   the person on duty
"""

from __future__ import annotations

import functools
from datetime import date

from flask import Blueprint, g, render_template, request

from hall.app import current_hall
from hall.ranking import RANK_KEYS
from hall.validate import parse_day
from hall.vocabulary import MANAGER_ROLES, SCORES_CN

from . import province
from .centre import LEVEL_CN
from .figures import dur, pct, rankings
from .ratings import county_bad_ratings
from .state import state_of

bp = Blueprint(
    "county",
    __name__,
    url_prefix="/county",
    template_folder="templates",
    static_folder="static",
)

NAV = [
    ("county.overview", "全县总览"),
    ("county.ranking", "督查排名"),
    ("county.ratings", "差评跟进"),
    ("county.province_page", "省平台报送"),
]
ROLE_CN = {"admin": "管理员", "supervisor": "主管", "clerk": "窗口人员"}


# --- formatting (the same words everywhere on these pages) ----------------------------------
@bp.app_template_filter("cy_pct")
def _pct(value, digits: int = 1) -> str:
    return pct(value, digits)


@bp.app_template_filter("cy_dur")
def _dur(seconds) -> str:
    return dur(seconds)


# --- access ----------------------------------------------------------------------------------
def page(*roles):
    """A page for these roles: anonymous -> the login form here; another role -> 403."""
    roles = roles or MANAGER_ROLES

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            hall = current_hall()
            cur = hall.auth.current()
            if cur is None or cur[0]["role"] not in roles:
                return (
                    render_template(
                        "county/login.html",
                        hall_name=hall.cfg.hall["name"],
                        user=cur[0] if cur else None,
                        need="、".join(ROLE_CN.get(r, r) for r in roles),
                        nav=[],
                    ),
                    401 if cur is None else 403,
                )
            g.user, g.csrf = cur[0], cur[1]["csrf_token"]
            g.actor = hall.auth.actor()
            return fn(*args, **kwargs)

        return wrapper

    return deco


def ctx(**extra) -> dict:
    hall = current_hall()
    return {
        "hall_name": hall.cfg.hall["name"],
        "user": g.user,
        "csrf": g.csrf,
        "nav": NAV,
        "role_cn": ROLE_CN,
        **extra,
    }


def month_range() -> tuple[date, date, str]:
    """?from=&to= (hall days), default this month; an error text for a bad one."""
    hall = current_hall()
    today = hall.hours.local(hall.clock.now()).date()
    start, end = today.replace(day=1), today
    error = ""
    try:
        if request.args.get("from"):
            start = parse_day(request.args["from"][:10])
        if request.args.get("to"):
            end = parse_day(request.args["to"][:10])
        if end < start:
            raise ValueError
        if (end - start).days > 366:
            raise ValueError
    except ValueError:
        start, end, error = today.replace(day=1), today, "日期范围无效，显示本月 (bad range)"
    return start, end, error


# --- the centre ------------------------------------------------------------------------------
@bp.get("")
@page(*MANAGER_ROLES)
def overview():
    st = state_of(current_hall())
    rows = st.overview.all_rows()
    levels = [
        {"level": lv, "name": LEVEL_CN[lv], "sites": [r for r in rows if r["level"] == lv]}
        for lv in LEVEL_CN
    ]
    totals = {
        "sites": len(rows),
        "online": sum(1 for r in rows if r["link"] == "online"),
        "offline": sum(1 for r in rows if r["link"] == "offline"),
        "waiting": sum(r["waiting"] for r in rows),
        "tickets": sum(r["tickets"] for r in rows),
        "served": sum(r["served"] for r in rows),
        "bad": sum(r["bad_count"] for r in rows),
    }
    return render_template(
        "county/overview.html",
        **ctx(
            levels=[lv for lv in levels if lv["sites"]],
            totals=totals,
            offline_after=current_hall().cfg.sections["county"]["offline_after_seconds"],
        ),
    )


@bp.get("/ranking")
@page(*MANAGER_ROLES)
def ranking():
    start, end, error = month_range()
    sort = request.args.get("sort", "overall")
    if sort not in RANK_KEYS:
        sort = "overall"
    data = rankings(state_of(current_hall()), start, end, sort)
    hall = current_hall()
    sup = hall.cfg.sections.get("supervisor") or {}
    return render_template(
        "county/ranking.html",
        **ctx(
            r=data,
            start=start,
            end=end,
            error=error,
            sort=sort,
            rank_keys=RANK_KEYS,
            goals={
                "service_level": sup.get("service_level_goal", 0.85),
                "good_rate": sup.get("good_rate_goal", 0.95),
            },
        ),
    )


@bp.get("/ratings")
@page(*MANAGER_ROLES)
def ratings():
    start, end, error = month_range()
    overdue = request.args.get("overdue") == "1"
    data = county_bad_ratings(state_of(current_hall()), start, end, overdue_only=overdue)
    return render_template(
        "county/ratings.html",
        **ctx(r=data, start=start, end=end, error=error, overdue=overdue),
    )


@bp.get("/province")
@page(*MANAGER_ROLES)
def province_page():
    hall = current_hall()
    return render_template("county/province.html", **ctx(p=province.summary(hall)))


# --- a village point -------------------------------------------------------------------------
@bp.get("/point")
@page("clerk", *MANAGER_ROLES)
def point():
    from .village import point_view

    hall = current_hall()
    number = request.args.get("window", type=int)
    view = point_view(hall, g.actor, number)
    return render_template(
        "county/point.html",
        **ctx(v=view, nav=[], levels=SCORES_CN, reasons=hall.cfg.ratings["reasons"]),
    )
