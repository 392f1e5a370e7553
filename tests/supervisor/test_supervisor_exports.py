"""Exports: the tickets CSV (BOM, Chinese intact, hall-local times, waits in seconds) and
the XLSX report (openpyxl opens it; its sheets carry the same numbers as the API)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from .conftest import DAY, LI, at

# header label -> /api/stats key, for the per-group sheets (what a user reads in Excel)
SHEET_COLUMNS = {
    "取号数": "tickets",
    "叫号数": "called",
    "办结数": "served",
    "过号数": "no_show",
    "过号率": "no_show_rate",
    "取消数": "cancelled",
    "转办数": "transferred",
    "平均等候(秒)": "avg_wait_s",
    "等候中位数(秒)": "median_wait_s",
    "90%等候(秒)": "p90_wait_s",
    "最长等候(秒)": "max_wait_s",
    "平均办理(秒)": "avg_service_s",
    "服务达标率": "service_level",
    "评价数": "ratings.count",
    "未评价": "ratings.unrated",
    "好评率": "ratings.good_rate",
    "差评数": "ratings.bad_count",
    "差评率": "ratings.bad_rate",
    "差评整改率": "ratings.rectified_rate",
    "平均分": "ratings.avg_score",
    "申诉撤销": "ratings.appealed",
}


def pick(item, key):
    for part in key.split("."):
        item = item[part]
    return item


def csv_rows(client, query):
    r = client.get("/api/export/tickets.csv" + query)
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens the Chinese
    return list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))


def test_csv_one_row_per_ticket_in_hall_time(day, boss):
    rows = csv_rows(boss, f"?from={DAY}&to={DAY}")
    assert [r["号码"] for r in rows] == [
        "B001",
        "B002",
        "A001",
        "C001",
        "D001",
        "B003",
        "B004",
        "C002",
    ]
    b001 = rows[0]
    assert b001 == {
        "日期": DAY,
        "号码": "B001",
        "业务代码": "SB",
        "业务名称": "社会保险",
        "部门": "人社局",
        "办结业务": "社会保险",
        "来源": "取号机",
        "优先": "",
        "状态": "已办结",
        "取号时间": "2026-11-30 09:00:00",  # hall time (stored as 01:00:00 UTC)
        "首次叫号时间": "2026-11-30 09:04:10",
        "最后叫号时间": "2026-11-30 09:04:40",  # the recall
        "办结时间": "2026-11-30 09:12:40",
        "首叫窗口": "1",
        "办结窗口": "1",
        "办结人员": "li",
        "等候秒数": "250",
        "办理秒数": "480",
        "叫号次数": "2",
        "重呼次数": "1",
        "过号次数": "0",
        "转办": "",
        "评分": "5",
        "评价": "非常满意",
        "差评原因": "",
        "评价状态": "",
    }
    by = {r["号码"]: r for r in rows}
    b002 = by["B002"]
    assert (b002["业务名称"], b002["办结业务"], b002["首叫窗口"], b002["办结窗口"]) == (
        "社会保险",
        "医疗保障",
        "3",
        "1",
    )
    assert b002["转办"] == "SB→YB（应办医保）"
    assert (b002["等候秒数"], b002["办理秒数"]) == ("390", "420")
    a001 = by["A001"]
    assert (
        a001["过号次数"],
        a001["叫号次数"],
        a001["评分"],
        a001["差评原因"],
        a001["评价状态"],
    ) == ("1", "2", "2", "效率低", "已整改")
    assert (by["C001"]["状态"], by["C001"]["办结时间"], by["C001"]["办理秒数"]) == ("过号", "", "")
    assert (by["D001"]["评分"], by["D001"]["评价"]) == ("", "未评价")
    assert (by["B003"]["状态"], by["B003"]["等候秒数"]) == ("已取消", "")
    assert by["B004"]["评价状态"] == "申诉撤销"
    assert by["C002"]["评价状态"] == "待回访"


def test_csv_range_and_default(day, boss):
    assert csv_rows(boss, "?from=2026-12-01") == []
    assert len(csv_rows(boss, "")) == 8  # today in the hall is the scripted Monday
    r = boss.get("/api/export/tickets.csv?from=2026-11-30&to=2026-11-01")
    assert r.status_code == 400


def test_text_typed_by_a_citizen_never_becomes_a_formula(hall, clock, boss):
    hall.engine.open_window(1, LI)
    tid = hall.engine.issue("SB")["id"]
    hall.engine.call_next(1, LI)
    at(clock, 9, 5)
    hall.engine.finish(tid, LI)
    formula = '=HYPERLINK("http://evil","x")'
    hall.cfg.ratings["reasons"] = [*hall.cfg.ratings["reasons"], formula]  # config text
    hall.engine.rate(tid, 1, [formula])
    row = csv_rows(boss, "")[0]
    assert row["差评原因"] == '\'=HYPERLINK("http://evil","x")'
    wb = load_workbook(io.BytesIO(boss.get("/api/export/report.xlsx").data))
    cell = next(
        c for r in wb["评价"].iter_rows(min_row=2) for c in r if str(c.value).startswith("=")
    )
    assert cell.data_type == "s"  # a string, not a formula


def test_xlsx_sheets_agree_with_the_api(day, boss):
    stats = boss.get(f"/api/stats?from={DAY}").get_json()
    r = boss.get(f"/api/export/report.xlsx?from={DAY}&to={DAY}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == [
        "汇总",
        "按业务",
        "按部门",
        "按窗口",
        "按人员",
        "按时段",
        "按日期",
        "评价",
        "取号明细",
    ]

    summary = {row[0]: row[1] for row in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["开始日期"] == DAY and summary["结束日期"] == DAY
    assert summary["大厅"] == "测试政务服务大厅"
    for label, key in SHEET_COLUMNS.items():
        assert summary[label] == pick(stats, key), label
    assert summary["平均等候(秒)"] == 547.9  # and the API says the same

    def sheet(name, key_header):
        rows = list(wb[name].iter_rows(values_only=True))
        header = rows[0]
        return {r[header.index(key_header)]: dict(zip(header, r, strict=True)) for r in rows[1:]}

    for name, list_key, key_header, key in (
        ("按业务", "by_service", "业务代码", "service"),
        ("按部门", "by_department", "部门", "department"),
        ("按窗口", "by_window", "窗口号", "window"),
        ("按人员", "by_clerk", "用户名", "clerk"),
        ("按时段", "by_hour", "时段(点)", "hour"),
        ("按日期", "by_day", "日期", "day"),
    ):
        rows = sheet(name, key_header)
        assert list(rows) == [item[key] for item in stats[list_key]], name
        for item in stats[list_key]:
            row = rows[item[key]]
            for label, k in SHEET_COLUMNS.items():
                assert row[label] == pick(item, k), (name, item[key], label)
    assert sheet("按业务", "业务代码")["SB"]["业务名称"] == "社会保险"
    assert sheet("按人员", "用户名")["li"]["姓名"] == "李丽"
    # rates are shown as percentages in Excel
    header = [c.value for c in wb["按业务"][1]]
    assert wb["按业务"].cell(row=2, column=header.index("过号率") + 1).number_format == "0.0%"

    api_ratings = boss.get(f"/api/ratings?from={DAY}&to={DAY}").get_json()
    rows = sheet("评价", "评价编号")
    assert list(rows) == [i["id"] for i in api_ratings]
    for i in api_ratings:
        row = rows[i["id"]]
        assert (row["号码"], row["评分"], row["跟进状态"], row["整改期限"]) == (
            i["number"],
            i["score"],
            i["status_name"],
            i["deadline"],
        )
    assert rows[day["ratings"][3]]["差评原因"] == "效率低"

    detail = list(wb["取号明细"].iter_rows(min_row=2, values_only=True))
    assert [d[1] for d in detail] == [
        "B001",
        "B002",
        "A001",
        "C001",
        "D001",
        "B003",
        "B004",
        "C002",
    ]


def test_exports_need_a_manager(day, staff, client):
    clerk = staff("li")
    for url in ("/api/export/tickets.csv", "/api/export/report.xlsx"):
        assert clerk.get(url).status_code == 403
        assert client.get(url).status_code == 401
