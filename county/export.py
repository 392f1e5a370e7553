"""The month's workbook for the 督查考评 report (openpyxl): sites ranked within their
level, departments county-wide, every 差评 with its state, and the ratings sent to the
province. The figures are those of /api/county/ranking (hall.stats via the sites'
copies), so the report and the pages agree."""

from __future__ import annotations

import calendar
import io
import re
from datetime import date

from hall.errors import Invalid

from .figures import rankings
from .ratings import county_bad_ratings

COLUMNS = [  # (header, getter)
    ("取号数", lambda r: r["tickets"]),
    ("办结数", lambda r: r["served"]),
    ("过号数", lambda r: r["no_show"]),
    ("平均等候(分)", lambda r: _min(r["avg_wait_s"])),
    ("服务达标率", lambda r: r["service_level"]),
    ("评价数", lambda r: r["ratings"]["count"]),
    ("好评率", lambda r: r["ratings"]["good_rate"]),
    ("差评数", lambda r: r["ratings"]["bad_count"]),
    ("差评率", lambda r: r["ratings"]["bad_rate"]),
    ("整改率", lambda r: r["ratings"]["rectified_rate"]),
    ("综合排名分", lambda r: r["overall"]),
    ("结论", lambda r: "通报表扬" if r.get("praise") else ("限期整改" if r.get("improve") else "")),
]
PERCENT = {"服务达标率", "好评率", "差评率", "整改率"}


def _min(seconds):
    return round(seconds / 60, 1) if seconds is not None else None


def parse_month(text: str | None) -> date:
    if not text or not re.fullmatch(r"\d{4}-\d{2}", text):
        raise Invalid("month须为YYYY-MM (month: YYYY-MM)")
    y, m = int(text[:4]), int(text[5:])
    if not 1 <= m <= 12 or not 2000 <= y <= 2999:
        raise Invalid("month须为YYYY-MM (month: YYYY-MM)")
    return date(y, m, 1)


def month_workbook(state, month: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    rank = rankings(state, month, end)
    bad = county_bad_ratings(state, month, end)
    wb = Workbook()
    bold = Font(bold=True)

    def sheet(ws, headers, rows):
        ws.append(headers)
        for c in ws[1]:
            c.font = bold
        for row in rows:
            ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for i, h in enumerate(headers, 1):
            if h in PERCENT:
                for col in ws.iter_cols(min_col=i, max_col=i, min_row=2):
                    for c in col:
                        c.number_format = "0.0%"

    ws = wb.active
    ws.title = "站点排名"
    rows = []
    for level in rank["levels"]:
        for i, r in enumerate(level["sites"], 1):
            rows.append([level["level_name"], i, r["site"], r["name"], *[g(r) for _, g in COLUMNS]])
    sheet(ws, ["级别", "名次", "站点编号", "站点", *[h for h, _ in COLUMNS]], rows)
    sheet(
        wb.create_sheet("部门排名"),
        ["名次", "部门", "站点数", *[h for h, _ in COLUMNS]],
        [
            [i, r["department"], r["sites"], *[g(r) for _, g in COLUMNS]]
            for i, r in enumerate(rank["departments"], 1)
        ],
    )
    sheet(
        wb.create_sheet("差评跟进"),
        [
            "站点",
            "日期",
            "号码",
            "业务",
            "部门",
            "窗口",
            "评价",
            "原因",
            "留言",
            "状态",
            "整改期限",
            "逾期",
        ],
        [
            [
                i["site_name"],
                i["day"],
                i["number"],
                i["service_name"],
                i["department"],
                i["window_name"] or i["window"],
                i["score_name"],
                "、".join(i["reasons"]),
                i["comment"],
                i["status_name"],
                i["deadline"],
                "逾期" if i["overdue"] else "",
            ]
            for i in bad["items"]
        ],
    )
    info = wb.create_sheet("说明")
    info.append(["统计期间", f"{month.isoformat()} 至 {end.isoformat()}"])
    info.append(["生成时间", rank["generated_at"]])
    info.append(
        ["口径", "与各大厅统计页相同（hall/stats.py）；排名口径同督查考评页（hall/ranking.py）"]
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
