"""Exports: tickets as CSV (UTF-8 with BOM, so Excel opens the Chinese) and the figures
as an XLSX workbook (openpyxl) whose sheets carry exactly the /api/stats numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from hall import stats
from hall.vocabulary import STATUS_CN

from . import followup

SOURCE_CN = {"kiosk": "取号机", "staff": "导办台", "appointment": "预约", "transfer": "转办"}

TICKET_COLUMNS = [
    "日期",
    "号码",
    "业务代码",
    "业务名称",
    "部门",
    "办结业务",
    "来源",
    "优先",
    "状态",
    "取号时间",
    "首次叫号时间",
    "最后叫号时间",
    "办结时间",
    "首叫窗口",
    "办结窗口",
    "办结人员",
    "等候秒数",
    "办理秒数",
    "叫号次数",
    "重呼次数",
    "过号次数",
    "转办",
    "评分",
    "评价",
    "差评原因",
    "评价状态",
]

# (key, header, kind) for the per-group sheets; kind: n number, s seconds, p percent
FIGURE_COLUMNS = [
    ("tickets", "取号数", "n"),
    ("called", "叫号数", "n"),
    ("served", "办结数", "n"),
    ("no_show", "过号数", "n"),
    ("no_show_rate", "过号率", "p"),
    ("cancelled", "取消数", "n"),
    ("transferred", "转办数", "n"),
    ("avg_wait_s", "平均等候(秒)", "s"),
    ("median_wait_s", "等候中位数(秒)", "s"),
    ("p90_wait_s", "90%等候(秒)", "s"),
    ("max_wait_s", "最长等候(秒)", "s"),
    ("avg_service_s", "平均办理(秒)", "s"),
    ("service_level", "服务达标率", "p"),
    ("ratings.count", "评价数", "n"),
    ("ratings.unrated", "未评价", "n"),
    ("ratings.good_rate", "好评率", "p"),
    ("ratings.bad_count", "差评数", "n"),
    ("ratings.bad_rate", "差评率", "p"),
    ("ratings.rectified_rate", "差评整改率", "p"),
    ("ratings.avg_score", "平均分", "n"),
    ("ratings.appealed", "申诉撤销", "n"),
]
GROUP_SHEETS = [
    (
        "按业务",
        "by_service",
        [("service", "业务代码"), ("name", "业务名称"), ("department", "部门")],
    ),
    ("按部门", "by_department", [("department", "部门")]),
    ("按窗口", "by_window", [("window", "窗口号"), ("name", "窗口名称")]),
    ("按人员", "by_clerk", [("clerk", "用户名"), ("name", "姓名")]),
    ("按时段", "by_hour", [("hour", "时段(点)")]),
    ("按日期", "by_day", [("day", "日期")]),
]
RATING_COLUMNS = [
    ("id", "评价编号"),
    ("day", "日期"),
    ("number", "号码"),
    ("service", "业务代码"),
    ("service_name", "业务名称"),
    ("window", "窗口"),
    ("clerk", "工作人员"),
    ("score", "评分"),
    ("score_name", "评价"),
    ("reasons", "差评原因"),
    ("comment", "意见"),
    ("rated_at", "评价时间"),
    ("status_name", "跟进状态"),
    ("callback_deadline", "回访期限"),
    ("deadline", "整改期限"),
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value):
    """Text a citizen typed must not run as a formula when Excel opens the file."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _num(value):
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else round(value, 1)


def local_text(hall, when: datetime | None) -> str:
    return hall.hours.local(when).strftime("%Y-%m-%d %H:%M:%S") if when else ""


def ticket_rows(hall, start: date, end: date) -> list[list]:
    db = hall.store.db()
    services = {s["code"]: s for s in db.query("SELECT * FROM services")}
    rows = []
    for f in stats.ticket_facts(hall, start, end):
        svc = services.get(f.service) or {}
        final = services.get(f.final_service) or {}
        r = f.rating
        transfers = "；".join(
            f"{t.get('from_service')}→{t.get('to_service') or str(t.get('to_window')) + '号窗口'}"
            + (f"（{t['note']}）" if t.get("note") else "")
            for t in f.transfers
        )
        rows.append(
            [
                f.day,
                f.number,
                f.service,
                svc.get("name", f.service),
                svc.get("department", ""),
                final.get("name", f.final_service) if f.finished_at else "",
                SOURCE_CN.get(f.source, f.source),
                "是" if f.priority else "",
                STATUS_CN.get(f.status, f.status),
                local_text(hall, f.issued_at),
                local_text(hall, f.first_call),
                local_text(hall, f.last_call),
                local_text(hall, f.finished_at),
                f.first_window or "",
                f.finish_window or "",
                f.finish_clerk or "",
                _num(f.wait_s),
                _num(f.service_s),
                f.calls,
                f.recalls,
                f.no_shows,
                transfers,
                (r["score"] if r["score"] is not None else "") if r else "",
                followup.SCORE_CN.get(r["score"], "未评价") if r else "",
                "、".join(_reasons(r)) if r else "",
                followup.STATUS_CN.get(r["status"], r["status"])
                if r and r["score"] in (1, 2)
                else "",
            ]
        )
    return rows


def _reasons(r: dict) -> list[str]:
    import json

    try:
        return list(json.loads(r["reasons"] or "[]"))
    except (TypeError, ValueError):
        return []


def tickets_csv(hall, start: date, end: date) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(TICKET_COLUMNS)
    for row in ticket_rows(hall, start, end):
        w.writerow([_csv_safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _pick(item: dict, key: str):
    value = item
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def report_xlsx(hall, start: date, end: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    figs = stats.compute(hall, start, end)
    wb = Workbook()
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="0B4EA2")

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def put(ws, row, col, value, kind=None):
        if isinstance(value, str):
            # Control characters cannot be stored in XLSX: whatever a citizen or an admin
            # once typed, the report is still written (without them).
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = ws.cell(row=row, column=col, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, whatever a citizen typed
        if kind == "p" and value is not None:
            cell.number_format = "0.0%"
        return cell

    def header(ws, labels):
        for i, label in enumerate(labels, 1):
            c = put(ws, 1, i, label)
            c.font, c.fill = head_font, head_fill
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            ws.column_dimensions[get_column_letter(i)].width = max(10, len(label) * 2 + 2)
        ws.freeze_panes = "A2"

    ws = wb.active
    ws.title = "汇总"
    header(ws, ["指标", "数值"])
    summary = [
        ("大厅", hall.cfg.hall["name"], None),
        ("开始日期", figs["from"], None),
        ("结束日期", figs["to"], None),
        ("生成时间", figs["generated_at"], None),
    ] + [(label, _pick(figs, key), kind) for key, label, kind in FIGURE_COLUMNS]
    for i, (label, value, kind) in enumerate(summary, 2):
        put(ws, i, 1, label)
        put(ws, i, 2, value, kind)
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 28

    for title, key, keys in GROUP_SHEETS:
        ws = wb.create_sheet(title)
        header(ws, [label for _, label in keys] + [label for _, label, _ in FIGURE_COLUMNS])
        for r, item in enumerate(figs[key], 2):
            for c, (k, _) in enumerate(keys, 1):
                put(ws, r, c, item[k])
            for c, (k, _, kind) in enumerate(FIGURE_COLUMNS, len(keys) + 1):
                put(ws, r, c, _pick(item, k), kind)

    ws = wb.create_sheet("评价")
    header(ws, [label for _, label in RATING_COLUMNS])
    for r, item in enumerate(followup.list_ratings(hall, start=start, end=end, limit=100000), 2):
        for c, (k, _) in enumerate(RATING_COLUMNS, 1):
            value = item[k]
            if isinstance(value, list):
                value = "、".join(value)
            put(ws, r, c, value)

    ws = wb.create_sheet("取号明细")
    header(ws, TICKET_COLUMNS)
    for r, row in enumerate(ticket_rows(hall, start, end), 2):
        for c, value in enumerate(row, 1):
            put(ws, r, c, None if value == "" else value)

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
