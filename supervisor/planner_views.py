"""The staffing planner's page (/supervisor/planner), API (/api/planner...) and XLSX
export. The computations are in planner.py; docs/flow.md describes them."""

from __future__ import annotations

import io
from datetime import date, timedelta

from flask import Blueprint, Response, g, jsonify, render_template, request

from hall.app import current_hall
from hall.auth import require
from hall.errors import Conflict, Invalid
from hall.interfaces import BOOKINGS
from hall.validate import field, json_body, parse_day

from . import charts, planner
from .pages import MANAGERS, page
from .pages import bp as pages_bp

api = Blueprint("supervisor_planner_api", __name__, url_prefix="/api")


def _default_day(hall) -> date:
    """Today if the hall opens today, else the next working day."""
    d = hall.hours.local(hall.clock.now()).date()
    for _ in range(30):
        if hall.hours.is_working_day(d):
            return d
        d += timedelta(days=1)
    return hall.hours.local(hall.clock.now()).date()


def _day_arg(hall, strict: bool) -> tuple[date, str]:
    raw = (request.args.get("date") or "").strip()
    if not raw:
        return _default_day(hall), ""
    try:
        return parse_day(raw), ""
    except ValueError:
        if strict:
            raise Invalid("date须为YYYY-MM-DD (date must be YYYY-MM-DD)") from None
        return _default_day(hall), "日期格式应为YYYY-MM-DD；已显示默认日期。"


def to_json(result: dict) -> dict:
    return {**result, "services": [dict(s) for s in result["services"]]}


# --- the page ---------------------------------------------------------------------------
@pages_bp.get("/planner")
@page(*MANAGERS)
def planner_page():
    hall = current_hall()
    day, error = _day_arg(hall, strict=False)
    result = planner.plan(hall, day)
    today = hall.hours.local(hall.clock.now()).date()
    return render_template(
        "supervisor/planner.html",
        p=result,
        day=day,
        error=error,
        heat=heat_map(result),
        alerts=planner.alerts(hall) if day == today else [],
        prev=day - timedelta(days=1),
        next=day + timedelta(days=1),
        bookable=hall.faces.interface(BOOKINGS) is not None and day > today,
    )


def heat_map(result: dict):
    rows = [s["name"] for s in result["services"]]
    cols = [f"{h}" for h in result["hours"]]
    values = [[c["needed"] for c in s["hours"]] for s in result["services"]]
    marks = [[c["short"] for c in s["hours"]] for s in result["services"]]
    return charts.heatmap(
        rows,
        cols,
        values,
        marks=marks,
        unit="个窗口",
        label=f"{result['date']} 各业务各时段需要的窗口数（红框：超出配置）",
        width=900,
        left=130,
    )


# --- the API ----------------------------------------------------------------------------
@api.get("/planner")
@require(*MANAGERS)
def planner_json():
    hall = current_hall()
    day, _ = _day_arg(hall, strict=True)
    return jsonify(to_json(planner.plan(hall, day)))


@api.get("/planner/alerts")
@require(*MANAGERS)
def planner_alerts():
    return jsonify(planner.alerts(current_hall()))


@api.post("/planner/appointments")
@require(*MANAGERS)
def planner_appointments():
    """Set a future date's appointment slot capacities from the forecast."""
    hall = current_hall()
    data = json_body()
    raw = field(data, "date", str, required=True, max_len=10)
    try:
        day = parse_day(raw)
    except ValueError:
        raise Invalid("date须为YYYY-MM-DD (date must be YYYY-MM-DD)") from None
    today = hall.hours.local(hall.clock.now()).date()
    # A well-formed request that cannot apply now is a conflict (409), not bad input.
    if day <= today:
        raise Conflict("只能设置明天及以后的预约号源 (only a future date)")
    bookings = hall.faces.interface(BOOKINGS)
    if bookings is None:
        raise Conflict("未安装预约功能 (no appointments face)")
    caps = planner.slot_capacities(hall, day)
    if not caps:
        raise Conflict("该日不开放或没有可设置的业务 (nothing to set on that date)")
    return jsonify(date=day.isoformat(), capacities=bookings.set_capacities(day, caps, g.actor))


@api.get("/planner/export.xlsx")
@require(*MANAGERS)
def planner_xlsx():
    hall = current_hall()
    day, _ = _day_arg(hall, strict=True)
    data = export_xlsx(hall, planner.plan(hall, day))
    resp = Response(
        data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp.headers["Content-Disposition"] = f'attachment; filename="planner_{day}.xlsx"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def export_xlsx(hall, result: dict) -> bytes:
    """Three sheets: the windows needed (service x hour), the forecast arrivals, and one
    row per service and hour with every figure."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="0B4EA2")
    short_fill = PatternFill("solid", fgColor="F8D7DA")
    hours = result["hours"]

    def header(ws, labels):
        for i, label in enumerate(labels, 1):
            c = ws.cell(row=1, column=i, value=label)
            c.data_type = "s"
            c.font, c.fill = head_font, head_fill
            c.alignment = Alignment(horizontal="center", wrap_text=True)
        ws.freeze_panes = "B2"
        ws.column_dimensions["A"].width = 20

    def grid(ws, key):
        header(ws, ["业务", "配置窗口", *[f"{h}时" for h in hours]])
        for r, s in enumerate(result["services"], 2):
            ws.cell(row=r, column=1, value=s["name"]).data_type = "s"
            ws.cell(row=r, column=2, value=s["configured"])
            for c, cell in enumerate(s["hours"], 3):
                x = ws.cell(row=r, column=c, value=cell[key])
                if key == "needed" and cell["short"]:
                    x.fill = short_fill
        r = len(result["services"]) + 2
        ws.cell(row=r, column=1, value="合计").data_type = "s"
        for c, t in enumerate(result["totals"], 3):
            ws.cell(row=r, column=c, value=t[key])
        if key == "needed":
            ws.cell(row=r + 1, column=1, value="全部通办").data_type = "s"
            for c, t in enumerate(result["totals"], 3):
                ws.cell(row=r + 1, column=c, value=t["pooled_needed"])

    ws = wb.active
    ws.title = "需要窗口"
    grid(ws, "needed")
    grid(wb.create_sheet("预测到达"), "forecast")
    ws = wb.create_sheet("明细")
    cols = [
        ("date", "日期"),
        ("service", "业务编号"),
        ("name", "业务"),
        ("hour", "时段"),
        ("forecast", "预测到达"),
        ("booked", "已预约"),
        ("needed", "需要窗口"),
        ("configured", "配置窗口"),
        ("configured_level", "配置下预计达标率"),
        ("actual", "实际到达"),
        ("avg_wait_min", "实际平均等候(分)"),
        ("service_level", "实际达标率"),
    ]
    header(ws, [label for _, label in cols])
    r = 2
    for s in result["services"]:
        for cell in s["hours"]:
            row = {**cell, "date": result["date"], "service": s["service"], "name": s["name"]}
            row["configured"] = s["configured"]
            for c, (key, _) in enumerate(cols, 1):
                x = ws.cell(row=r, column=c, value=row.get(key))
                if isinstance(row.get(key), str):
                    x.data_type = "s"
                if key in ("configured_level", "service_level") and row.get(key) is not None:
                    x.number_format = "0.0%"
            r += 1
    meta = wb.create_sheet("说明")
    for i, (k, v) in enumerate(
        [
            ("大厅", hall.cfg.hall["name"]),
            ("日期", f"{result['date']} {result['weekday']}"),
            ("预测方法", result["method"]),
            ("达标目标", f"{result['goal']:.0%}在目标等候时间内叫号"),
            ("模型", "Erlang C：每小时稳态泊松到达、指数办理时间、每项业务一个队列"),
        ],
        1,
    ):
        meta.cell(row=i, column=1, value=k).data_type = "s"
        meta.cell(row=i, column=2, value=v).data_type = "s"
    meta.column_dimensions["B"].width = 60
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
