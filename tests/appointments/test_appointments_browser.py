"""In a real browser against a real server: book on /book, check in at the kiosk by
typing the code like a scanner (keys + Enter), get a ticket, and be called first.

The live server runs on the real clock with always_open (slots then cover 00:00-24:00
every day), so the settings make the current hour's slot bookable and on time whenever
the test runs: same-day booking, 60-minute slots, check-in from a day before the slot
to two hours after its start.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import requests
from playwright.sync_api import expect

from tests.conftest import TZ, LiveServer, save_screenshot

SETTINGS = {
    "appointments": {
        "days_ahead_min": 0,
        "days_ahead_max": 2,
        "slot_minutes": 60,
        "slot_capacity": 5,
        "checkin_early_minutes": 1440,
        "checkin_late_minutes": 120,
    }
}


def _not_at_midnight() -> datetime:
    """Booking and check-in must happen on the same hall day."""
    now = datetime.now(TZ)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < 90:
        time.sleep((midnight - now).total_seconds() + 2)
        now = datetime.now(TZ)
    return now


def test_book_check_in_at_the_kiosk_and_be_called_before_walk_ins(tmp_path, page):
    server = LiveServer(tmp_path, settings=SETTINGS).start()
    try:
        url = server.url
        now = _not_at_midnight()
        clerk = server.session("clerk2", "clerk")
        clerk.post(url + "/api/windows/2/open").raise_for_status()
        walk_ins = []
        for _ in range(2):
            r = requests.post(url + "/api/tickets", json={"service": "BDC"}, timeout=10)
            assert r.status_code == 201, r.text
            walk_ins.append(r.json()["number"])

        # --- the citizen books on the phone --------------------------------------------
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(url + "/book")
        expect(page.locator("h1")).to_contain_text("测试政务服务大厅")
        page.select_option("#service", "SB")
        page.select_option("#service", "BDC")  # the script reloads the slots
        expect(page.locator("#book-service")).to_have_value("BDC")
        page.wait_for_function(
            "() => !document.getElementById('slot-list').hasAttribute('aria-busy')"
        )
        slot = f"{now.hour:02d}:00"
        radio = page.locator(f'#slot-list input[value="{slot}"]')
        expect(radio).to_be_enabled()
        page.locator("label.slot", has=page.locator(f'input[value="{slot}"]')).click()
        expect(radio).to_be_checked()
        page.fill("#name", "王小明")
        page.fill("#phone", "13812345678")
        save_screenshot(page, "appointments_book")
        page.click("#submit")
        expect(page.locator("#booked")).to_contain_text("预约成功")
        code = page.locator("#code").inner_text().strip()
        assert len(code) == 8
        expect(page.locator("img.qr")).to_be_visible()
        page_text = page.locator("body").inner_text()
        assert "王小明" not in page_text and "13812345678" not in page_text
        save_screenshot(page, "appointments_booked")

        # --- at the kiosk: the scanner types the code and Enter ------------------------
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(url + "/kiosk/checkin?kiosk=K1")
        expect(page.locator("#code")).to_be_focused()
        page.keyboard.type("ZZZZ2222")  # a wrong code first: the reason, and scan again
        page.keyboard.press("Enter")
        expect(page.locator("#error")).to_contain_text("没有这个预约码")
        save_screenshot(page, "appointments_checkin_error")
        expect(page.locator("#code")).to_be_focused()
        page.keyboard.type(code)
        save_screenshot(page, "appointments_checkin_scan")
        page.keyboard.press("Enter")
        number = page.locator("#ticket-number")
        expect(number).to_have_text("A003")
        expect(page.locator("#ontime")).to_contain_text("签到成功")
        assert "王小明" not in page.locator("body").inner_text()
        save_screenshot(page, "appointments_checkin")

        # --- the clerk's next call gets the booked ticket before the earlier walk-ins ---
        r = clerk.post(url + "/api/windows/2/call-next")
        r.raise_for_status()
        assert r.json()["ticket"]["number"] == "A003"
        assert walk_ins == ["A001", "A002"]
        r = requests.get(f"{url}/api/appointments/{code}", timeout=10)
        assert r.json()["status"] == "checked_in" and r.json()["ticket_number"] == "A003"
    finally:
        server.stop()
