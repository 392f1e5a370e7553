"""Supervisor pages with figures: the live board, 统计分析, 窗口与人员 and the printable
daily report (charts drawn on the server, supervisor/charts.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from flask import render_template, request

from hall import stats
from hall.app import current_hall
from hall.hours import WEEKDAY_CN
from hall.validate import parse_day

from . import board, charts, followup
from .pages import MANAGERS, bp, hall_today, page, page_range, range_ctx


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
                "values": [minutes(by_hour.get(h, {}).get("avg_wait_s")) for h in hours],
                "color": charts.BLUE,
            },
            {
                "name": "90%的人在此之内",
                "values": [minutes(by_hour.get(h, {}).get("p90_wait_s")) for h in hours],
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


def minutes(seconds):
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
        **range_ctx(start, end, error),
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
                    "value": minutes(w["avg_service_s"]) or 0,
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
    return render_template("supervisor/windows.html", f=figs, c=c, **range_ctx(start, end, error))


# --- printable daily report ---------------------------------------------------------
@bp.get("/report")
@page(*MANAGERS)
def report():
    hall = current_hall()
    error = ""
    day = hall_today()
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
