"""Supervisor pages: everything rendered on the server; board.js only keeps the board live."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for

from hall import stats
from hall.app import current_hall
from hall.hours import WEEKDAY_CN
from hall.validate import parse_day

from . import admin, audit, board, charts, followup
from .export import FIGURE_COLUMNS

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
def _today() -> date:
    hall = current_hall()
    return hall.hours.local(hall.clock.now()).date()


def page_range(default_days: int | None = None) -> tuple[date, date, str]:
    """?from&to for a page; a bad value falls back to the default with a message."""
    hall = current_hall()
    today = _today()
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
    today = _today()
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


def _range_ctx(start, end, error):
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


def _tickets_by_hour_chart(figs: dict, width: int, height: int, label: str) -> str:
    """Bars of tickets issued and served per hour of the day's figures."""
    hours = _hours_span(figs)
    by_hour = {h["hour"]: h for h in figs["by_hour"]}
    return charts.bar_chart(
        [f"{h}时" for h in hours],
        [
            {"name": "取号", "values": [by_hour.get(h, {}).get("tickets", 0) for h in hours]},
            {
                "name": "办结",
                "values": [by_hour.get(h, {}).get("served", 0) for h in hours],
                "color": charts.GREEN,
            },
        ],
        width=width,
        height=height,
        value_fmt=lambda v: f"{v:g}",
        label=label,
    )


# --- live board ---------------------------------------------------------------------
def _board_ctx() -> dict:
    hall = current_hall()
    b = board.board(hall)
    figs = b["today"]
    figs.setdefault("by_weekday_hour", [])
    chart = _tickets_by_hour_chart(figs, 900, 210, "今日各时段取号与办结")
    return {"b": b, "today_chart": chart}


@bp.get("/")
@bp.get("")  # registered first: url_for gives /supervisor
@page(*MANAGERS)
def index():
    return render_template("supervisor/board.html", **_board_ctx())


@bp.get("/board/fragment")
@page(*MANAGERS)
def board_fragment():
    return render_template("supervisor/_board.html", **_board_ctx())


# --- figures ------------------------------------------------------------------------
def _mode_target(figs) -> float | None:
    targets = [s["target_wait_minutes"] for s in figs["by_service"] if s["target_wait_minutes"]]
    if not targets:
        return None
    return Counter(targets).most_common(1)[0][0] * 60


def _hours_span(figs) -> list[int]:
    hall = current_hall()
    lo, hi = hall.hours.open.hour, hall.hours.close.hour
    if hall.hours.close.minute == 0:
        hi -= 1
    seen = [h["hour"] for h in figs["by_hour"]] + [c["hour"] for c in figs["by_weekday_hour"]]
    if seen:
        lo, hi = min(lo, *seen), max(hi, *seen)
    return list(range(lo, hi + 1))


def figure_charts(figs: dict, start: date, end: date) -> dict:
    hall = current_hall()
    hours = _hours_span(figs)
    by_hour = {h["hour"]: h for h in figs["by_hour"]}
    target = _mode_target(figs)
    out = {}
    out["waits_by_hour"] = charts.bar_chart(
        [f"{h}时" for h in hours],
        [
            {
                "name": "平均等候",
                "values": [_m(by_hour.get(h, {}).get("avg_wait_s")) for h in hours],
                "color": charts.BLUE,
            },
            {
                "name": "90%的人在此之内",
                "values": [_m(by_hour.get(h, {}).get("p90_wait_s")) for h in hours],
                "kind": "dot",
                "color": charts.AMBER,
            },
        ],
        y_fmt=lambda v: f"{v:g}分",
        value_fmt=lambda v: f"{v:.1f}",
        target=target / 60 if target else None,
        target_label=f"目标{target / 60:g}分钟" if target else "",
        over_color=charts.RED,
        label="各时段等候时间（分钟，按取号时间）",
    )
    out["tickets_by_hour"] = charts.bar_chart(
        [f"{h}时" for h in hours],
        [
            {"name": "取号", "values": [by_hour.get(h, {}).get("tickets", 0) for h in hours]},
            {
                "name": "办结",
                "values": [by_hour.get(h, {}).get("served", 0) for h in hours],
                "color": charts.GREEN,
            },
        ],
        value_fmt=lambda v: f"{v:g}",
        label="各时段取号与办结（张）",
    )
    weekdays = sorted(hall.hours.days | {c["weekday"] for c in figs["by_weekday_hour"]})
    grid = {(c["weekday"], c["hour"]): c["tickets"] for c in figs["by_weekday_hour"]}
    out["heatmap"] = charts.heatmap(
        [WEEKDAY_CN[d] for d in weekdays],
        [f"{h}" for h in hours],
        [[grid.get((d, h), 0) for h in hours] for d in weekdays],
        label="取号量热力图（星期 × 时段）",
    )
    r = figs["ratings"]
    out["ratings"] = charts.hbar_chart(
        [
            {
                "label": f"{followup.SCORE_CN[s]}（{s}分）",
                "value": r["scores"][str(s)],
                "text": f"{r['scores'][str(s)]}条",
                "color": charts.SCORE_COLORS[s],
            }
            for s in (5, 4, 3, 2, 1)
        ],
        label="评价分布",
        width=560,
        label_width=140,
    )
    if (end - start).days >= 1:
        days, by_day = [], {d["day"]: d for d in figs["by_day"]}
        d = start
        while d <= end:
            if hall.hours.is_working_day(d) or d.isoformat() in by_day:
                days.append(d)
            d += timedelta(days=1)
        out["by_day"] = charts.bar_chart(
            [f"{d.month}/{d.day}" for d in days],
            [
                {
                    "name": "取号",
                    "values": [by_day.get(d.isoformat(), {}).get("tickets", 0) for d in days],
                },
                {
                    "name": "办结",
                    "values": [by_day.get(d.isoformat(), {}).get("served", 0) for d in days],
                    "color": charts.GREEN,
                },
            ],
            value_fmt=lambda v: f"{v:g}",
            label="每日取号与办结（张）",
        )
    return out


def _m(seconds):
    return round(seconds / 60, 1) if seconds is not None else None


@bp.get("/figures")
@page(*MANAGERS)
def figures():
    hall = current_hall()
    start, end, error = page_range()
    figs = stats.compute(hall, start, end)
    return render_template(
        "supervisor/figures.html",
        f=figs,
        c=figure_charts(figs, start, end),
        **_range_ctx(start, end, error),
    )


@bp.get("/figures/windows")
@page(*MANAGERS)
def figures_windows():
    hall = current_hall()
    start, end, error = page_range()
    figs = stats.compute(hall, start, end)
    wins = [w for w in figs["by_window"] if w["tickets"]] or figs["by_window"]
    c = {
        "served": charts.hbar_chart(
            [{"label": w["name"], "value": w["served"], "text": f"{w['served']}件"} for w in wins],
            label="各窗口办结量",
            width=620,
            label_width=190,
        ),
        "service_time": charts.hbar_chart(
            [
                {
                    "label": w["name"],
                    "value": _m(w["avg_service_s"]) or 0,
                    "text": charts.fmt_duration(w["avg_service_s"]),
                    "color": charts.LIGHT_BLUE,
                }
                for w in wins
            ],
            label="各窗口平均办理时长",
            width=620,
            label_width=190,
        ),
        "clerks": charts.hbar_chart(
            [
                {
                    "label": k["name"],
                    "value": k["served"],
                    "text": f"{k['served']}件 · 好评{charts.fmt_pct(k['ratings']['good_rate'], 0)}",
                    "color": charts.GREEN,
                }
                for k in figs["by_clerk"]
            ],
            label="人员办结量",
            width=620,
            label_width=150,
            text_width=130,
        ),
    }
    return render_template("supervisor/windows.html", f=figs, c=c, **_range_ctx(start, end, error))


# --- 督查考评 ranking -----------------------------------------------------------------
RANK_KEYS = {
    "good_rate": ("好评率", True),
    "bad_rate": ("差评率", False),
    "avg_wait_s": ("平均等候", False),
    "service_level": ("服务达标率", True),
}


def _indicator(d: dict, key: str):
    if key in ("good_rate", "bad_rate"):
        return d["ratings"][key]
    return d[key]


def ranking_rows(figs: dict) -> list[dict]:
    rows = [dict(d) for d in figs["by_department"]]
    for key, (_label, higher_better) in RANK_KEYS.items():
        present = [r for r in rows if _indicator(r, key) is not None]
        present.sort(key=lambda r: _indicator(r, key), reverse=higher_better)
        rank, prev = 0, object()
        for i, r in enumerate(present, 1):
            value = _indicator(r, key)
            if value != prev:
                rank, prev = i, value
            r.setdefault("ranks", {})[key] = rank
    for r in rows:
        ranks = r.get("ranks", {})
        r.setdefault("ranks", {})
        r["overall"] = round(sum(ranks.values()) / len(ranks), 2) if ranks else None
    return rows


@bp.get("/ranking")
@page(*MANAGERS)
def ranking():
    hall = current_hall()
    today = _today()
    if request.args.get("from") or request.args.get("to"):
        start, end, error = page_range()
    else:
        start, end, error = today.replace(day=1), today, ""
    sort = request.args.get("sort", "overall")
    if sort not in RANK_KEYS and sort != "overall":
        sort = "overall"
    figs = stats.compute(hall, start, end)
    rows = ranking_rows(figs)
    if sort == "overall":
        # ties: the better 好评率, then the shorter average wait
        rows.sort(
            key=lambda r: (
                r["overall"] is None,
                r["overall"] or 0,
                -(r["ratings"]["good_rate"] or 0),
                r["avg_wait_s"] if r["avg_wait_s"] is not None else float("inf"),
                r["department"],
            )
        )
    else:
        higher = RANK_KEYS[sort][1]
        rows.sort(
            key=lambda r: (
                _indicator(r, sort) is None,
                -(_indicator(r, sort) or 0) if higher else (_indicator(r, sort) or 0),
            )
        )
    ranked = [r for r in rows if r["overall"] is not None]
    sl_goal = hall.cfg.supervisor["service_level_goal"]
    good_goal = hall.cfg.supervisor["good_rate_goal"]
    for r in rows:
        r["praise"] = bool(ranked) and r is ranked[0] and len(ranked) > 1
        below = (r["service_level"] is not None and r["service_level"] < sl_goal) or (
            r["ratings"]["good_rate"] is not None and r["ratings"]["good_rate"] < good_goal
        )
        r["improve"] = bool(ranked) and r is ranked[-1] and len(ranked) > 1 and below
        r["below_goal"] = below
    with_data = [r for r in rows if r["tickets"] or r["ratings"]["count"]]
    bars = {}
    for key, (label, higher) in RANK_KEYS.items():
        items = [r for r in with_data if _indicator(r, key) is not None]
        items.sort(key=lambda r: _indicator(r, key), reverse=higher)
        is_rate = key != "avg_wait_s"
        bars[key] = charts.hbar_chart(
            [
                {
                    "label": _short(r["department"]),
                    "value": (_indicator(r, key) * 100) if is_rate else _m(_indicator(r, key)),
                    "text": charts.fmt_pct(_indicator(r, key))
                    if is_rate
                    else charts.fmt_duration(_indicator(r, key)),
                    "color": _rank_color(key, _indicator(r, key), hall),
                }
                for r in items
            ],
            vmax=100 if is_rate else None,
            label=label,
            width=460,
            label_width=150,
        )
    return render_template(
        "supervisor/ranking.html",
        f=figs,
        rows=rows,
        bars=bars,
        sort=sort,
        rank_keys=RANK_KEYS,
        **_range_ctx(start, end, error),
    )


def _short(name: str, n: int = 10) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _rank_color(key, value, hall):
    goals = hall.cfg.supervisor
    if key == "good_rate":
        return charts.GREEN if value >= goals["good_rate_goal"] else charts.RED
    if key == "service_level":
        return charts.BLUE if value >= goals["service_level_goal"] else charts.RED
    if key == "bad_rate":
        return charts.RED if value > 1 - goals["good_rate_goal"] else charts.AMBER
    return charts.LIGHT_BLUE


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
        start = end = _today()
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


# --- printable daily report ---------------------------------------------------------
@bp.get("/report")
@page(*MANAGERS)
def report():
    hall = current_hall()
    error = ""
    day = _today()
    if request.args.get("date"):
        try:
            day = parse_day(request.args["date"])
        except ValueError:
            error = "日期格式应为YYYY-MM-DD"
    figs = stats.compute(hall, day, day)
    chart = _tickets_by_hour_chart(figs, 720, 200, "各时段取号与办结（张，按取号时间）")
    bad = followup.list_ratings(hall, bad=True, start=day, end=day)
    return render_template(
        "supervisor/report.html",
        f=figs,
        day=day,
        weekday=WEEKDAY_CN[day.weekday()],
        chart=chart,
        bad=bad,
        error=error,
        prev=day - timedelta(days=1),
        next=day + timedelta(days=1),
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
        roles=admin.ROLE_CN,
    )


FIGURE_LABELS = {key: label for key, label, _ in FIGURE_COLUMNS}
