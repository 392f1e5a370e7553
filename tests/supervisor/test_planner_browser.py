"""The staffing planner page in real Chromium against a real server: three past weeks of
the same weekday in the log, the planner's heat map and table for the next one, the XLSX
download, and the 临时增开窗口 alert on the live board. Screenshots: supervisor_planner*.png."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from hall import create_app
from hall.auth import create_user
from hall.clock import FrozenClock
from tests.conftest import PASSWORD, TEST_CONFIG, save_screenshot

from .test_supervisor_browser import login

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")


def next_working_day(after: date) -> date:
    d = after + timedelta(days=1)
    while d.weekday() >= 5 or d.isoformat() == "2026-10-01":  # the test hall's holiday
        d += timedelta(days=1)
    return d


@pytest.fixture
def planned(live_server):
    """The live server's log with the same weekday of the last three weeks: SB busy at
    9:00 (14 an hour), BDC at 10:00 (5), YB in the afternoon."""
    target = next_working_day(datetime.now(TZ).date())
    clock = FrozenClock(datetime.combine(target, time(9), tzinfo=TZ))
    app = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": live_server.db_path, "CLOCK": clock})
    hall = app.extensions["hall"]
    try:
        for weeks in (1, 2, 3):
            day = target - timedelta(weeks=weeks)
            for service, hour, n in (("SB", 9, 14), ("BDC", 10, 5), ("YB", 14, 8), ("SB", 15, 4)):
                for i in range(n):
                    clock.set(datetime.combine(day, time(hour, i * 3), tzinfo=TZ))
                    hall.engine.issue(service)
        create_user(hall.store, "boss", PASSWORD, "supervisor", display_name="张主任")
    finally:
        hall.store.close()
    return live_server, target


def test_planner_page(planned, page):
    server, target = planned
    login(page, server.url)
    page.click("nav.sv-nav a:has-text('排班预测')")
    expect(page.locator(".planner-title")).to_be_visible()
    page.goto(f"{server.url}/supervisor/planner?date={target}")
    expect(page.locator(".planner-title")).to_contain_text(f"{target} ")
    expect(page.locator(".planner-method")).to_contain_text("的3天")
    # the heat map: a red frame where SB needs more windows than it has at 9:00
    assert page.locator("svg rect.mark").count() >= 1
    sb = page.locator("#planner-table tr[data-service='SB']")
    cells = sb.locator("td.cell")
    nine = cells.nth(1)  # 8时, 9时, ...
    expect(nine).to_have_class("num cell short")
    expect(nine.locator("b")).to_have_text("2")
    expect(page.locator("#peak-needed")).to_have_text("2")  # 9:00: SB alone needs 2
    save_screenshot(page, "supervisor_planner")

    with page.expect_download() as dl:
        page.click("#planner-xlsx")
    data = dl.value.path().read_bytes()
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    assert "需要窗口" in wb.sheetnames
    assert dl.value.suggested_filename == f"planner_{target}.xlsx"


def test_board_alerts_to_open_windows(live_server, page):
    import requests

    app = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": live_server.db_path})
    hall = app.extensions["hall"]
    try:
        create_user(hall.store, "boss", PASSWORD, "supervisor", display_name="张主任")
    finally:
        hall.store.close()
    login(page, live_server.url)
    clerk = live_server.session("clerk2", "clerk")
    assert clerk.post(live_server.url + "/api/windows/2/open").status_code == 200
    for _ in range(4):  # BDC: one window, 10 minutes each, 20-minute target
        requests.post(live_server.url + "/api/tickets", json={"service": "BDC"}, timeout=10)
    alert = page.locator(".alert-list li:has-text('临时增开窗口')")
    expect(alert).to_contain_text("不动产登记等候4人")
    save_screenshot(page, "supervisor_planner_alert")
