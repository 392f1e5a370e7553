"""一件事 in headless Chromium against a real server: a citizen takes one number for a
journey at the kiosk, and the phone page shows the journey and its current step while
the same number goes from window to window. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from tests.conftest import LiveServer, save_screenshot

pytestmark = pytest.mark.browser

JOURNEYS = [{"code": "ESF", "name": "二手房交易", "steps": ["BDC", "SB", "BDC"]}]


@pytest.fixture
def server(tmp_path):
    srv = LiveServer(tmp_path, settings={"journeys": JOURNEYS, "voice": {"enabled": False}}).start()
    yield srv
    srv.stop()


def token_of(srv, number: str) -> str:
    conn = sqlite3.connect(srv.db_path, timeout=30)
    try:
        return conn.execute("SELECT token FROM tickets WHERE number = ?", [number]).fetchone()[0]
    finally:
        conn.close()


def steps(page) -> list[tuple[str, str]]:
    return [
        (li.query_selector("span").inner_text(), li.get_attribute("class").split()[-1])
        for li in page.query_selector_all("#p-steps li")
    ]


def test_one_number_through_a_journey_on_the_phone(browser, server):
    # The kiosk offers the journey as one tile; a tap takes one number for every step.
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    kiosk = ctx.new_page()
    try:
        kiosk.goto(server.url + "/kiosk")
        tile = kiosk.locator(".k-journey[data-journey='ESF']")
        assert "二手房交易" in tile.inner_text()
        assert "不动产登记 → 社会保险 → 不动产登记" in tile.inner_text()
        save_screenshot(kiosk, "kiosk_journey")
        tile.click()
        kiosk.wait_for_selector("#k-number")
        number = kiosk.inner_text("#k-number").strip()
    finally:
        ctx.close()
    assert number == "A001"
    token = token_of(server, number)

    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = ctx.new_page()
    try:
        page.goto(f"{server.url}/t/{token}")
        page.wait_for_function("() => document.body.dataset.following === '1'", timeout=15000)
        assert page.inner_text("#p-journey-name") == "一件事：二手房交易"
        assert steps(page) == [
            ("不动产登记", "current"),
            ("社会保险", "todo"),
            ("不动产登记", "todo"),
        ]
        save_screenshot(page, "phone_journey_waiting")

        bdc = server.session("clerk2", "clerk")
        sb = server.session("clerk1", "clerk")
        assert bdc.post(server.url + "/api/windows/2/open").status_code == 200
        assert sb.post(server.url + "/api/windows/1/open").status_code == 200
        t = bdc.post(server.url + "/api/windows/2/call-next").json()["ticket"]
        assert t["number"] == "A001"
        page.wait_for_selector("#p-call:visible")
        assert page.inner_text("#p-call") == "请到2号窗口办理"

        # 办结 of step 1: the same number now waits for 社会保险 (the phone follows).
        assert bdc.post(f"{server.url}/api/tickets/{t['id']}/finish").json()["status"] == "waiting"
        page.wait_for_function(
            "() => document.querySelector('#p-steps li.current span').textContent === '社会保险'"
        )
        assert steps(page)[0] == ("不动产登记", "done")
        assert page.inner_text("#p-headline") == "上一步已办结，请等候社会保险叫号"
        assert page.inner_text("#p-state") == "等候中"
        save_screenshot(page, "phone_journey_step2")

        # The same number is called to the next window.
        assert sb.post(server.url + "/api/windows/1/call-next").json()["ticket"]["number"] == "A001"
        page.wait_for_selector("#p-call:visible")
        assert page.inner_text("#p-call") == "请到1号窗口办理"
        sb.post(f"{server.url}/api/tickets/{t['id']}/finish")
        bdc.post(server.url + "/api/windows/2/call-next")
        bdc.post(f"{server.url}/api/tickets/{t['id']}/finish")
        page.wait_for_selector("#p-rate:visible")
        assert [s for _, s in steps(page)] == ["done", "done", "done"]
        assert page.inner_text("#p-state") == "已办结"
        save_screenshot(page, "phone_journey_done")
    finally:
        ctx.close()
    journeys = requests.get(server.url + "/api/journeys", timeout=10).json()
    assert journeys == [{"code": "ESF", "name": "二手房交易", "steps": ["BDC", "SB", "BDC"]}]
