"""Shorter waits in the clerk's console, in headless Chromium against a real server: a
clerk parks (挂起) the ticket in hand, calls on, resumes the parked one, and calls a
chosen ticket out of order with a reason. Screenshots go to tests/artifacts."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from ..conftest import save_screenshot
from .conftest import add_staff, live_issue, make_live, rows
from .test_counter_browser import SMALL_PC, new_page, sign_in_window

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path):
    server = make_live(tmp_path)
    yield server
    server.stop()


def test_clerk_parks_calls_on_resumes_and_calls_a_chosen_ticket(browser, live):
    add_staff(live, "clerk1")
    for service in ("SB", "YB", "SB", "GJJ"):  # B001 C001 B002 D001
        live_issue(live, service)
    ctx, page = new_page(browser, SMALL_PC)
    try:
        sign_in_window(page, live, "clerk1", 1)
        page.click("#btn-call")
        expect(page.locator("#cur-number")).to_have_text("B001")
        page.click("#btn-start")
        expect(page.locator("#cur-status")).to_have_text("办理中")

        # 挂起 with a reason: the window is free again, B001 waits in the parked panel.
        page.keyboard.press("F9")
        expect(page.locator("#dlg-park")).to_be_visible()
        expect(page.locator("#park-number")).to_have_text("B001")
        page.keyboard.press("Digit2")  # 复印证件
        page.keyboard.press("Enter")
        expect(page.locator("#cur-number")).to_have_text("—")
        expect(page.locator("#parked-panel")).to_be_visible()
        expect(page.locator("#parked-list li")).to_have_count(1)
        expect(page.locator("#parked-list li").first).to_contain_text("B001")
        expect(page.locator("#parked-list li").first).to_contain_text("复印证件")
        assert db_status(live, "B001") == "parked"

        # The window calls on; a parked ticket cannot be resumed over one in hand.
        page.click("#btn-call")
        expect(page.locator("#cur-number")).to_have_text("C001")
        expect(page.locator(".js-resume").first).to_be_disabled()
        save_screenshot(page, "counter_parked")
        page.click("#btn-finish")
        expect(page.locator("#cur-number")).to_have_text("—")

        # 恢复: B001 is back in hand, being served.
        expect(page.locator(".js-resume").first).to_be_enabled()
        page.click(".js-resume")
        expect(page.locator("#cur-number")).to_have_text("B001")
        expect(page.locator("#cur-status")).to_have_text("办理中")
        expect(page.locator("#parked-panel")).to_be_hidden()
        page.click("#btn-finish")
        expect(page.locator("#cur-number")).to_have_text("—")

        # 选号叫号: D001 (GJJ, a secondary service: after B002 in order) with a reason.
        expect(page.locator("#q-next li").first).to_contain_text("B002")
        page.keyboard.press("F10")
        expect(page.locator("#dlg-choose")).to_be_visible()
        expect(page.locator("#choose-list .opt")).to_have_count(2)
        expect(page.locator("#choose-list .opt").first).to_contain_text("B002")
        page.click("#choose-list .opt[data-number='D001']")
        expect(page.locator("#choose-ok")).to_be_disabled()  # a reason is required
        page.click("#choose-reasons .chip[data-reason='其他']")
        expect(page.locator("#choose-ok")).to_be_disabled()
        page.fill("#choose-other", "群众行动不便，先办")
        save_screenshot(page, "counter_choose")
        page.keyboard.press("Enter")
        expect(page.locator("#cur-number")).to_have_text("D001")
        expect(page.locator("#dlg-choose")).to_be_hidden()
        # no script error (the browser's own favicon request may 404: not ours)
        assert not [e for e in page.errors if "Failed to load resource" not in e], page.errors
    finally:
        ctx.close()

    called = rows(
        live.db_path,
        "SELECT e.details, e.actor FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
        "WHERE t.number = 'D001' AND e.kind = 'called'",
    )
    details = json.loads(called[0]["details"])
    assert details["chosen"] is True and details["reason"] == "群众行动不便，先办"
    assert called[0]["actor"] == "clerk1"
    kinds = [
        r["kind"]
        for r in rows(
            live.db_path,
            "SELECT e.kind FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
            "WHERE t.number = 'B001' ORDER BY e.id",
        )
    ]
    assert kinds == ["issued", "called", "serving", "parked", "resumed", "finished"]


def db_status(live, number):
    return rows(live.db_path, "SELECT status FROM tickets WHERE number = ?", [number])[0]["status"]
