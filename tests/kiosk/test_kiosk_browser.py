"""The kiosk and the phone page in headless Chromium against a real server, with the
kiosk's printer a fake port-9100 printer: take a number, see it and its QR code, the
printed ticket carries the same QR; faults; live counts; the phone follows the ticket.
Screenshots go to tests/artifacts/ (kiosk_*.png, phone_*.png)."""

from __future__ import annotations

import io
import sqlite3

import pytest
import requests
from PIL import Image

from tests.conftest import ARTIFACTS, LiveServer, save_screenshot
from tests.fakeprinter import FakePrinter

from .conftest import PUBLIC, printed_images, qr_texts, services_with_matters

pytestmark = pytest.mark.browser


@pytest.fixture
def fake_printer():
    with FakePrinter() as fp:
        yield fp


@pytest.fixture
def server(tmp_path, fake_printer):
    """A live hall whose kiosk K1 prints on the fake printer (BDC has sub-matters)."""
    srv = LiveServer(
        tmp_path,
        settings={
            "kiosks": [{"id": "K1", "name": "大厅入口取号机", "printer": fake_printer.config()}],
            "services": services_with_matters(),
            "voice": {"enabled": False},
            "kiosk": {"return_seconds": 4},
        },
    ).start()
    yield srv
    srv.stop()


def rows(srv, sql, params=()):
    conn = sqlite3.connect(srv.db_path, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def token_of(srv, number: str) -> str:
    return rows(srv, "SELECT token FROM tickets WHERE number = ?", [number])[0][0]


def screen_qr(page) -> list[str]:
    """Read the QR code(s) off a screenshot of the whole screen, as a phone camera would."""
    return qr_texts(Image.open(io.BytesIO(page.screenshot())))


def new_page(browser, width, height, **kw):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", **kw)
    return ctx, ctx.new_page()


def wait_live(page):
    page.wait_for_function(
        "() => window.kioskSocket && window.kioskSocket.connected", timeout=15000
    )


def wait_qr_loaded(page, selector="#k-qr"):
    page.wait_for_function(
        "(s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
    )


def test_take_a_number_landscape(browser, server, fake_printer):
    ctx, page = new_page(browser, 1920, 1080)
    try:
        page.goto(server.url + "/kiosk/K1")
        wait_live(page)
        assert page.locator(".k-dept h2").all_inner_texts() == [
            "自然资源局",
            "人社局",
            "医保局",
            "公积金中心",
            "公安局",
        ]
        save_screenshot(page, "kiosk_start_landscape")
        page.click("button[value=SB]")
        page.wait_for_selector("#k-number")
        assert page.inner_text("#k-number") == "B001"
        assert page.inner_text("#k-sentence") == "您已取号B001，前面还有0人等候"
        assert "请取走出票口的号票" in page.inner_text("#k-printed")
        wait_qr_loaded(page)
        save_screenshot(page, "kiosk_ticket_landscape")
        url = f"{PUBLIC}/t/{token_of(server, 'B001')}"
        assert screen_qr(page) == [url]

        # The printer got the same ticket: decode its raster and read the QR code.
        # (Other connections are the status monitor's polls: no raster in them.)
        assert fake_printer.wait_idle()
        (job,) = [j for j in fake_printer.jobs if printed_images(j)]
        (printed,) = printed_images(job)
        assert qr_texts(printed) == [url]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        printed.save(ARTIFACTS / "kiosk_printed_ticket.png")
        r = requests.get(
            f"{server.url}/api/tickets/{token_of(server, 'B001')}/ticket.png", timeout=10
        )
        assert Image.open(io.BytesIO(r.content)).size == printed.size

        # Back to the start by itself; a reload does not take another number.
        page.wait_for_selector("#k-form .k-tile", timeout=15000)
        page.reload()
        page.wait_for_selector("#k-form .k-tile")
        assert rows(server, "SELECT COUNT(*) FROM tickets")[0][0] == 1
    finally:
        ctx.close()


def test_portrait_matters_and_printer_fault(browser, server, fake_printer):
    fake_printer.mode = "paper_out"
    ctx, page = new_page(browser, 1080, 1920)
    try:
        page.goto(server.url + "/kiosk/K1")
        wait_live(page)
        save_screenshot(page, "kiosk_start_portrait")
        page.click("button[value=BDC]")
        page.wait_for_selector("#k-matters")
        assert page.locator(".k-matter").all_inner_texts() == ["首次登记", "转移登记", "抵押登记"]
        save_screenshot(page, "kiosk_matters_portrait")
        page.click("button.k-matter[value=抵押登记]")
        page.wait_for_selector("#k-number")
        assert page.inner_text("#k-number") == "A001"
        assert "抵押登记" in page.inner_text("#k-svc")
        fault = page.inner_text("#k-fault")
        assert "号票未能打印" in fault and "请拍照保存" in fault and "打印机缺纸" in fault
        assert page.is_visible("#k-done")
        wait_qr_loaded(page)
        save_screenshot(page, "kiosk_ticket_fault_portrait")
        assert screen_qr(page) == [f"{PUBLIC}/t/{token_of(server, 'A001')}"]
        boss = server.session("boss", "supervisor")
        k1 = {p["kiosk"]: p for p in boss.get(server.url + "/api/printers").json()}["K1"]
        assert k1["status"] == "paper_out"
        page.click("#k-done")  # 完成: back to the start
        page.wait_for_selector("#k-form .k-tile")
        assert rows(server, "SELECT COUNT(*) FROM tickets")[0][0] == 1
        assert rows(server, "SELECT status FROM tickets")[0][0] == "waiting"
    finally:
        ctx.close()


def test_live_counts_quota_and_one_ticket_per_tap(browser, server):
    ctx, page = new_page(browser, 1920, 1080)
    try:
        page.goto(server.url + "/kiosk/K1")
        wait_live(page)
        for _ in range(2):
            requests.post(server.url + "/api/tickets", json={"service": "GJJ"}, timeout=10)
        page.wait_for_function(
            "() => document.querySelector('button[value=GJJ] [data-f=waiting]').textContent === '2'"
        )
        for _ in range(3):  # CRJ: daily quota 3
            requests.post(server.url + "/api/tickets", json={"service": "CRJ"}, timeout=10)
        page.wait_for_function("() => document.querySelector('button[value=CRJ]').disabled")
        assert page.inner_text("button[value=CRJ] [data-f=reason]") == "今日号已取完"
        page.click("a.k-book[href='#book-CRJ']")
        page.wait_for_selector("#book-CRJ img")
        wait_qr_loaded(page, "#book-CRJ img")
        assert screen_qr(page) == [f"{PUBLIC}/book?service=CRJ"]
        save_screenshot(page, "kiosk_quota_booking")
        page.click("#book-CRJ a.k-btn:not(.primary)")

        # A double tap gives one ticket.
        page.dblclick("button[value=YB]")
        page.wait_for_selector("#k-number")
        assert page.inner_text("#k-number") == "C001"
        assert rows(server, "SELECT COUNT(*) FROM tickets WHERE service = 'YB'")[0][0] == 1
    finally:
        ctx.close()


def test_phone_follows_its_ticket_and_rates(browser, server):
    first = requests.post(server.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
    mine = requests.post(
        server.url + "/api/tickets", json={"service": "SB", "kiosk": "K1"}, timeout=10
    ).json()
    other = requests.post(server.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
    ctx, page = new_page(browser, 390, 844, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page.goto(f"{server.url}/t/{mine['token']}")
        page.wait_for_function("() => document.body.dataset.following === '1'", timeout=15000)
        assert page.inner_text("#p-number") == "B002"
        assert page.inner_text("#p-state") == "等候中"
        assert page.inner_text("#p-ahead") == "1"
        save_screenshot(page, "phone_waiting")

        clerk = server.session("clerk1", "clerk")
        assert clerk.post(server.url + "/api/windows/1/open").status_code == 200
        called = clerk.post(server.url + "/api/windows/1/call-next").json()["ticket"]
        assert called["number"] == first["number"]
        page.wait_for_function("() => document.getElementById('p-ahead').textContent === '0'")
        clerk.post(f"{server.url}/api/tickets/{called['id']}/finish")
        clerk.post(server.url + "/api/windows/1/call-next")  # mine
        page.wait_for_selector("#p-call:visible")
        assert page.inner_text("#p-call") == "请到1号窗口办理"
        save_screenshot(page, "phone_called")
        clerk.post(f"{server.url}/api/tickets/{mine['id']}/finish")
        page.wait_for_selector("#p-rate:visible")
        assert page.inner_text("#p-state") == "已办结"
        clerk.post(server.url + "/api/windows/1/call-next")  # the other ticket, same window
        page.wait_for_timeout(500)
        text = page.inner_text("body")
        assert other["number"] not in text and first["number"] not in text

        page.click(".p-level[data-score='2']")  # 不满意: needs a reason
        assert page.is_disabled("#p-submit")
        page.click(".p-chip[data-reason='效率低']")
        assert page.is_enabled("#p-submit")
        save_screenshot(page, "phone_rating")
        page.click("#p-submit")
        page.wait_for_selector("#p-thanks:visible")
        assert rows(
            server,
            "SELECT t.number, r.score, r.channel, r.reasons FROM ratings r "
            "JOIN tickets t ON t.id = r.ticket_id",
        ) == [("B002", 2, "qr", '["效率低"]')]

        r = page.goto(server.url + "/t/not-a-ticket")
        assert r.status == 404 and "没有找到这张号票" in page.inner_text("body")
    finally:
        ctx.close()


def test_closed_hall_screen_stays_put(browser, tmp_path):
    """A hall that is closed (here: no opening day at all) shows it, with every service
    disabled, and the live refresh does not reload the page over and over."""
    srv = LiveServer(
        tmp_path,
        settings={"hours": {"always_open": False, "days": []}, "voice": {"enabled": False}},
    ).start()
    ctx, page = new_page(browser, 1920, 1080)
    try:
        loads = []
        page.on("load", lambda: loads.append(1))
        page.goto(srv.url + "/kiosk/K1")
        wait_live(page)
        page.wait_for_function("() => window.kioskRefreshes >= 1")
        page.wait_for_timeout(1500)
        assert len(loads) == 1
        assert "现在不在办理时间" in page.inner_text("#k-closed")
        assert page.locator(".k-tile:disabled").count() == 5
        assert "大厅暂停服务" in page.inner_text("button[value=SB] [data-f=reason]")
    finally:
        ctx.close()
        srv.stop()


def test_demo_hall_screenshots(browser, tmp_path):
    """The demo county hall (config.toml: 14 services, 11 departments) in both
    orientations, for review: every service fits on the screen without scrolling."""
    from tests.conftest import ROOT

    srv = LiveServer(
        tmp_path, config=str(ROOT / "config.toml"), settings={"voice": {"enabled": False}}
    )
    srv.start()
    try:
        for name, (w, h) in (("landscape", (1920, 1080)), ("portrait", (1080, 1920))):
            ctx, page = new_page(browser, w, h)
            try:
                page.goto(srv.url + "/kiosk/K1")
                wait_live(page)
                tiles = page.locator(".k-tile")
                assert tiles.count() >= 10
                for i in range(tiles.count()):
                    box = tiles.nth(i).bounding_box()
                    assert box["y"] + box["height"] <= h and box["height"] >= 120
                assert page.evaluate("() => document.querySelector('.k-groups').scrollHeight") <= (
                    page.evaluate("() => document.querySelector('.k-groups').clientHeight") + 1
                )
                save_screenshot(page, f"kiosk_demo_{name}")
            finally:
                ctx.close()
    finally:
        srv.stop()
