"""Server-rendered pages (what a supervisor reads) and the audit search."""

from __future__ import annotations

import re

from .conftest import DAY, LI, at


def text(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return r.get_data(as_text=True)


def no_inline_script(html):
    # CSP default-src 'self': every script is a file
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag
    assert "onclick=" not in html and "cdn" not in html.lower()


def test_figures_page_shows_the_day(day, boss):
    html = text(boss, f"/supervisor/figures?from={DAY}&to={DAY}")
    no_inline_script(html)
    kpis = html[html.index('class="kpis') : html.index("gauge-card")]
    assert ">8<" in kpis and ">6<" in kpis  # tickets, served
    assert "9分08秒" in kpis  # average wait 547.9 s
    assert "6分30秒" in kpis  # median 390 s
    assert "21分" in kpis  # p90 and max 1260 s
    assert "8分20秒" in kpis  # average service 500 s
    assert "<b>28.6%</b><span>过号率（2/7）" in kpis  # no-show rate
    assert "71.4%" in html  # service level
    assert html.count('<svg class="chart"') == 4  # waits by hour, heat map, ratings, by hour
    assert "取号量热力图" in html and "评价分布" in html
    assert "申诉撤销 1条（不计入）" in html
    # the per-service table: 医疗保障 with its 50% service level flagged red
    row = re.search(r"<b>医疗保障</b>.*?</tr>", html, re.S).group(0)
    assert 'class="num bad">50.0%' in row


def test_figures_page_bad_range_falls_back_with_a_message(boss):
    html = text(boss, "/supervisor/figures?from=2026-02-31")
    assert "日期格式应为YYYY-MM-DD" in html


def test_windows_page(day, boss):
    html = text(boss, f"/supervisor/figures/windows?from={DAY}")
    assert "各窗口办结量" in html and "李丽" in html and "赵敏" in html
    row = re.search(r"<b>1号综办窗口</b>.*?</tr>", html, re.S).group(0)
    assert ">4<" in row and "25.0%" in row  # called 4, no-show rate 1/4


def test_ranking_page_orders_departments(day, boss):
    html = text(boss, f"/supervisor/ranking?from={DAY}&to={DAY}")
    table = html[html.index('<table class="tbl ranking">') :]
    order = [m for m in re.findall(r"<td><b>(.*?)</b></td>", table)]
    # mean of the four ranks: 人社局 (1,1,2,1)=1.25, 自然资源局 (3,3,1,1)=2.0,
    # 医保局 (2,2,3,3)=2.5, 公积金中心 (wait 4, level 4)=4.0, 公安局 no data
    assert order == ["人社局", "自然资源局", "医保局", "公积金中心", "公安局"]
    rows = re.findall(r"<tr class=\"[^\"]*\">.*?</tr>", table, re.S)
    assert "通报表扬" in rows[0]
    assert "限期整改" in rows[3]
    assert "无数据" in rows[4]
    assert html.count('<svg class="chart"') == 4
    # sorting by one indicator
    html = text(boss, f"/supervisor/ranking?from={DAY}&sort=avg_wait_s")
    table = html[html.index('<table class="tbl ranking">') :]
    assert re.findall(r"<td><b>(.*?)</b></td>", table)[:2] == ["自然资源局", "人社局"]


def test_ratings_page_lists_work_to_do(day, boss):
    html = text(boss, "/supervisor/ratings")
    assert "C002" in html and "材料要求不清" in html
    assert 'data-url="/api/ratings/' in html
    assert "A001" not in html  # rectified: not in 待跟进
    all_bad = text(boss, "/supervisor/ratings?tab=all")
    assert "A001" in all_bad and "已整改" in all_bad and "误评：市民确认误触" in all_bad


def test_printable_report(day, boss):
    html = text(boss, f"/supervisor/report?date={DAY}")
    assert "服务日报" in html and "2026年11月30日 周一" in html
    kpis = html[html.index("report-kpis") : html.index("</section>", html.index("report-kpis"))]
    assert "<b>8</b>取号" in kpis and "<b>6</b>办结" in kpis and "<b>2</b>差评" in kpis
    assert "js-print" in html and "@media print" not in html  # print CSS is in the file
    assert "C002" in html and "待回访" in html
    assert text(boss, "/supervisor/report?date=nope").count("日期格式应为YYYY-MM-DD") == 1


def test_board_shows_queues_windows_printers_and_alerts(hall, clock, boss):
    class FakePrinter:
        def status(self):
            return {
                "kiosk": "K1",
                "driver": "network",
                "status": "paper_out",
                "last_error": "缺纸 (paper out)",
                "checked_at": None,
                "paper_low": False,
            }

    hall.faces.interface("printers")["K1"] = FakePrinter()
    hall.engine.open_window(1, LI)
    first = hall.engine.issue("SB")["id"]
    hall.engine.issue("SB")
    at(clock, 9, 20)  # B001 has waited 20 min > the 15 min target
    html = text(boss, "/supervisor")
    no_inline_script(html)
    row = re.search(r'<tr data-service="SB".*?</tr>', html, re.S).group(0)
    assert 'class="over' in row and ">2<" in row and "20分" in row
    assert "社会保险 B001 已等候超过目标15分钟" in html
    assert "大厅取号机" in html and "缺纸" in html
    assert re.search(r'data-window="1".*?服务中', html, re.S)
    hall.engine.call_next(1, LI)
    at(clock, 9, 21)
    frag = text(boss, "/supervisor/board/fragment")
    win = re.search(r'<div class="win open busy" data-window="1">.*?win-foot', frag, re.S).group(0)
    assert "B001" in win and 'data-since="2026-11-30T09:20:00+08:00"' in win
    assert first  # (ticket B001 is now at the window)


def test_admin_pages_render_forms(admin):
    html = text(admin, "/supervisor/admin/services")
    assert 'data-url="/api/admin/services/SB"' in html and "社会保险" in html
    html = text(admin, "/supervisor/admin/windows")
    assert 'data-url="/api/admin/windows/3"' in html
    html = text(admin, "/supervisor/admin/users")
    assert 'data-user="root"' in html


# --- audit ----------------------------------------------------------------------------
def test_audit_by_ticket(day, boss):
    r = boss.get(f"/api/audit?ticket=A001&from={DAY}&to={DAY}")
    assert r.status_code == 200
    entries = r.get_json()
    actions = [e["action"] for e in entries]
    # newest first: the follow-ups of its 差评, then its life in the queue
    assert actions == [
        "rating_rectified",
        "rating_callback",
        "rated",
        "finished",
        "called",
        "requeued",
        "no_show",
        "called",
        "issued",
    ]
    assert entries[0]["source"] == "audit" and entries[0]["actor"] == "boss"
    assert entries[0]["details"]["note"] == "已整改"
    assert entries[-1]["at"] == "2026-11-30T09:02:30+08:00"
    assert entries[4]["details"] == {"window": 2, "recall": False}
    # by id too
    by_id = boss.get(f"/api/audit?ticket={day['tickets'][3]}").get_json()
    assert [e["action"] for e in by_id] == actions


def test_audit_by_user_action_and_date(day, boss):
    wang = boss.get("/api/audit?user=wang").get_json()
    assert {e["action"] for e in wang} == {"open", "called", "no_show", "requeued", "finished"}
    assert all(e["actor"] == "wang" for e in wang)
    appeals = boss.get("/api/audit?action=rating_appeal").get_json()
    assert [(e["actor"], e["details"]["number"]) for e in appeals] == [("boss", "B004")]
    today = boss.get(f"/api/audit?from={DAY}").get_json()
    assert {e["source"] for e in today} == {"audit"}
    assert {"login", "open", "rating_callback", "rating_rectified", "rating_appeal"} <= {
        e["action"] for e in today
    }
    assert boss.get("/api/audit?from=2026-12-01").get_json() == []
    assert boss.get("/api/audit?ticket=Z999").get_json() == []


def test_audit_bad_arguments(boss):
    for q in ("?ticket=A0-01", "?from=2026-13-01", "?limit=0", "?ticket=" + "A" * 30):
        assert boss.get("/api/audit" + q).status_code == 400, q


def test_audit_page(day, boss):
    html = text(boss, f"/supervisor/audit?ticket=A001&from={DAY}&to={DAY}")
    assert "差评整改完成" in html and "过号" in html and "共 9 条" in html
    html = text(boss, "/supervisor/audit?ticket=%%%")
    assert "票号须为号码" in html
