"""In a real browser (headless Chromium): a keyboard-mode ID reader at the kiosk, 长者模式
in portrait and landscape, and the guide desk's 呼叫帮办 alert."""

from __future__ import annotations

from playwright.sync_api import expect

from hall import idnumber
from tests.conftest import LiveServer, save_screenshot
from tests.counter.conftest import add_staff, login_page

YOUNG = idnumber.make("34082319900307123")
OLD = idnumber.make("34082319460512456")
SETTINGS = {
    "kiosks": [{"id": "K2", "name": "自助区2号机"}],
    "card_readers": [{"kiosk": "K2", "kind": "keyboard"}],
}


def live(tmp_path):
    return LiveServer(tmp_path, settings=SETTINGS).start()


def new_page(browser, width, height):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    return ctx, ctx.new_page()


def test_keyboard_reader_card_takes_a_number(browser, tmp_path):
    server = live(tmp_path)
    ctx, page = new_page(browser, 1920, 1080)
    sent = []
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    try:
        page.goto(server.url + "/kiosk/K2")
        expect(page.locator("#k-elder-btn")).to_be_visible()
        page.keyboard.type(YOUNG, delay=5)
        page.keyboard.press("Enter")
        expect(page.locator("#e-card")).to_contain_text(idnumber.mask(YOUNG))
        assert YOUNG not in page.content()
        page.click(".e-svc[data-code='SB']")
        expect(page.locator("#e-number")).to_have_text("B001")
        # the same card again, the same service: refused with a clear message
        page.goto(server.url + "/kiosk/K2")
        page.keyboard.type(YOUNG, delay=5)
        page.keyboard.press("Enter")
        page.click(".e-svc[data-code='SB']")
        expect(page.locator("#e-error")).to_contain_text("您今天已取过社会保险的号（B001）")
        # an 80-year-old: elder mode opens by itself, 绿色通道
        page.goto(server.url + "/kiosk/K2")
        page.keyboard.type(OLD, delay=5)
        page.keyboard.press("Enter")
        expect(page.locator("body.elder")).to_have_count(1)
        expect(page.locator("#e-card")).to_contain_text("绿色通道")
        page.click(".e-svc[data-code='SB']")
        expect(page.locator("#e-number")).to_have_text("B002")
        expect(page.locator(".e-ok .e-badge")).to_have_text("绿色通道")
        # the number went to the hall's server in one request body, never in a URL
        assert not any(YOUNG in url or OLD in url for url, _ in sent)
        assert [url for url, body in sent if OLD in body] == [server.url + "/api/idcard/scan"]
    finally:
        ctx.close()
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert YOUNG not in log and OLD not in log


def test_elder_mode_screens(browser, tmp_path):
    server = live(tmp_path)
    try:
        for name, (w, h) in {"landscape": (1920, 1080), "portrait": (1080, 1920)}.items():
            ctx, page = new_page(browser, w, h)
            page.goto(server.url + "/kiosk/K2")
            normal = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            page.click("#k-elder-btn")
            expect(page.locator("body.elder")).to_have_count(1)
            # at least 1.5x the kiosk's type, once the page's stylesheet is in
            page.wait_for_function(
                "(n) => parseFloat(getComputedStyle(document.body).fontSize) >= n",
                arg=1.5 * normal,
            )
            assert page.locator(".e-svc").count() == 4  # the most used first, then 更多
            expect(page.locator("#e-more")).to_be_visible()
            expect(page.locator("#e-help")).to_be_visible()
            save_screenshot(page, f"citizen_elder_{name}")
            page.click("#e-more")
            assert page.locator(".e-svc").count() == 5
            page.click(".e-svc[data-code='YB']")
            expect(page.locator("#e-sentence")).to_contain_text("您已取号C00")
            expect(page.locator("#e-sentence")).to_contain_text("人等候")
            save_screenshot(page, f"citizen_elder_ticket_{name}")
            ctx.close()
    finally:
        server.stop()


def test_guide_desk_alert_until_acknowledged(browser, tmp_path):
    server = live(tmp_path)
    add_staff(server, "guide")
    gctx, guide = new_page(browser, 1366, 768)
    kctx, kiosk = new_page(browser, 1920, 1080)
    try:
        login_page(guide, server.url, "/counter/guide", "guide")
        expect(guide.locator("#help-alerts")).to_be_hidden()
        guide.wait_for_function("() => window.helpSocket && window.helpSocket.connected")
        kiosk.goto(server.url + "/kiosk/elder?kiosk=K2")
        kiosk.click("#e-help")
        expect(kiosk.locator("#e-notice")).to_have_text("已通知工作人员，请稍候")
        alert = guide.locator("#help-alerts .help-alert")
        expect(alert).to_contain_text("自助区2号机需要帮助")
        save_screenshot(guide, "citizen_guide_help_alert")
        # asking again while it is open adds nothing
        kiosk.click("#e-help")
        expect(kiosk.locator("#e-notice")).to_be_visible()
        assert alert.count() == 1
        alert.locator(".help-ack").click()
        expect(guide.locator("#help-alerts")).to_be_hidden()
    finally:
        gctx.close()
        kctx.close()
        server.stop()


def test_keyboard_reader_card_checks_a_booking_in(browser, tmp_path):
    """预约签到 by ID card on the production server: a booking made with the ID number
    today; the card typed by the kiosk's keyboard-mode reader gives the booking's ticket
    at once (no choice of services)."""
    server = LiveServer(
        tmp_path, settings={**SETTINGS, "appointments": {"days_ahead_min": 0}}
    ).start()
    ctx, page = new_page(browser, 1920, 1080)
    sent = []
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    try:
        api = server.session()
        today = api.get(server.url + "/api/appointments/days").json()[0]
        slots = api.get(server.url + f"/api/appointments/slots?service=YB&date={today}").json()
        # the earliest slot still bookable: its check-in window is open now (always_open:
        # slots every 30 minutes, bookable until 15 minutes after the start)
        slot = next(s["slot"] for s in slots if not s["over"] and s["left"])
        r = api.post(
            server.url + "/api/appointments",
            json={
                "service": "YB",
                "date": today,
                "slot": slot,
                "name": "张三",
                "phone": "13812345678",
                "id_number": YOUNG,
            },
        )
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        page.goto(server.url + "/kiosk/K2")
        expect(page.locator("#k-elder-btn")).to_be_visible()
        page.keyboard.type(YOUNG, delay=5)
        page.keyboard.press("Enter")
        expect(page.locator("#e-number")).to_have_text("C001")
        expect(page.locator("#e-notice")).to_contain_text("预约签到成功")
        assert YOUNG not in page.content()
        booking = api.get(server.url + f"/api/appointments/{code}").json()
        assert booking["status"] == "checked_in" and booking["ticket_number"] == "C001"
        # an unbooked card still gets the choice of services
        page.goto(server.url + "/kiosk/K2")
        page.keyboard.type(OLD, delay=5)
        page.keyboard.press("Enter")
        expect(page.locator("#e-card")).to_contain_text(idnumber.mask(OLD))
        assert not any(YOUNG in url for url, _ in sent)
    finally:
        ctx.close()
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert YOUNG not in log and OLD not in log
