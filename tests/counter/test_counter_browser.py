"""The counter face in headless Chromium against a real server: clerk console, rating
pad, guide desk, keyboard shortcuts, reload recovery. Screenshots go to tests/artifacts."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from ..conftest import pair_live_pad, pair_pad_page, save_screenshot
from .conftest import add_staff, live_issue, live_session, login_page, make_live, rows

pytestmark = pytest.mark.browser

SMALL_PC = {"width": 1366, "height": 768}
TABLET = {"width": 1280, "height": 800}


@pytest.fixture
def live(tmp_path):
    server = make_live(tmp_path)
    yield server
    server.stop()


def new_page(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.errors = []  # script errors, reported if a step fails
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    return context, page


def sign_in_window(page, live, username, window, shots=False):
    if shots:
        page.goto(live.url + "/counter")
        save_screenshot(page, "counter_login")
    login_page(page, live.url, "/counter", username)
    if shots:
        save_screenshot(page, "counter_choose")
    page.click(f".sign-in[data-window='{window}']")
    try:
        page.wait_for_selector(".console-page[data-ready='1']")
    except Exception as e:
        toast = page.locator("#toast").inner_text() if page.locator("#toast").count() else ""
        raise AssertionError(f"console not ready at {page.url}: {page.errors} {toast!r}") from e
    expect(page.locator("#win-state")).to_have_text("服务中")


def db_ticket(live, number):
    return rows(live.db_path, "SELECT * FROM tickets WHERE number = ?", [number])[0]


def test_clerk_finishes_and_pad_takes_a_bad_rating_with_reasons(browser, live):
    add_staff(live, "clerk1", staff_no="C0001")
    for service in ("SB", "YB", "SB", "GJJ", "SB"):
        live_issue(live, service)
    clerk_ctx, clerk = new_page(browser, SMALL_PC)
    pad_ctx, pad = new_page(browser, TABLET)
    try:
        sign_in_window(clerk, live, "clerk1", 1)
        pair_pad_page(pad, live, 1)
        expect(pad.locator("#pad-idle")).to_be_visible()
        expect(pad.locator("#pad-window")).to_have_text("1号综办窗口")
        expect(pad.locator("#pad-staffno")).to_have_text("C0001")
        save_screenshot(pad, "counter_pad_idle")

        clerk.click("#btn-call")
        expect(clerk.locator("#cur-number")).to_have_text("B001")
        expect(clerk.locator("#cur-status")).to_have_text("已叫号")
        clerk.click("#btn-start")
        expect(clerk.locator("#cur-status")).to_have_text("办理中")
        expect(clerk.locator("#timer-label")).to_have_text("办理计时")
        expect(clerk.locator("#q-total")).to_have_text("4")
        expect(clerk.locator("#q-next li").first).to_contain_text("C001")
        save_screenshot(clerk, "counter_console")

        # Nothing to rate while the ticket is still being served.
        expect(pad.locator("#pad-idle")).to_be_visible()
        clerk.click("#btn-finish")
        expect(clerk.locator("#cur-number")).to_have_text("—")
        expect(clerk.locator("#st-served")).to_have_text("1")

        # The pad is pushed the rating prompt for the ticket just finished.
        expect(pad.locator("#pad-prompt")).to_be_visible()
        expect(pad.locator("#pad-number")).to_have_text("B001")
        expect(pad.locator(".score")).to_have_count(5)
        save_screenshot(pad, "counter_pad_prompt")
        pad.click(".score[data-score='2']")  # 不满意
        expect(pad.locator("#pad-reasons")).to_be_visible()
        expect(pad.locator("#pad-submit")).to_be_disabled()  # a 差评 needs a reason
        pad.click("#pad-reasons .chip[data-reason='效率低']")
        pad.fill("#pad-comment", "等了很久")
        save_screenshot(pad, "counter_pad_reasons")
        pad.click("#pad-submit")
        expect(pad.locator("#pad-thanks")).to_be_visible()
        expect(pad.locator("#pad-thanks-text")).to_contain_text("回访")

        stored = rows(
            live.db_path,
            "SELECT r.* FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
            "WHERE t.number = 'B001'",
        )
        assert len(stored) == 1
        r = stored[0]
        assert r["score"] == 2 and json.loads(r["reasons"]) == ["效率低"]
        assert r["comment"] == "等了很久" and r["channel"] == "pad"
        assert r["window"] == 1 and r["clerk"] == "clerk1" and r["status"] == "open"
        # After the thanks, the pad returns to idle: the same ticket cannot be rated twice.
        expect(pad.locator("#pad-idle")).to_be_visible(timeout=10_000)
    finally:
        clerk_ctx.close()
        pad_ctx.close()


def test_pad_left_alone_records_unrated_never_good(browser, tmp_path):
    live = make_live(tmp_path, ratings={"pad_timeout_seconds": 2})
    try:
        add_staff(live, "clerk3", staff_no="C0003")
        live_issue(live, "SB")
        s = live_session(live, "clerk3")
        assert s.post(live.url + "/api/windows/3/open").status_code == 200
        pad_ctx, pad = new_page(browser, TABLET)
        try:
            pair_pad_page(pad, live, 3)
            expect(pad.locator("#pad-idle")).to_be_visible()
            t = s.post(live.url + "/api/windows/3/call-next").json()["ticket"]
            assert s.post(f"{live.url}/api/tickets/{t['id']}/finish").status_code == 200
            expect(pad.locator("#pad-prompt")).to_be_visible()
            expect(pad.locator("#pad-number")).to_have_text(t["number"])
            # Nobody touches the pad: after the timeout it goes back to idle ...
            expect(pad.locator("#pad-idle")).to_be_visible(timeout=15_000)
            expect(pad.locator("#pad-prompt")).to_be_hidden()
        finally:
            pad_ctx.close()
        # ... and the ticket is recorded as unrated: no score, never a default 满意.
        stored = rows(live.db_path, "SELECT * FROM ratings WHERE ticket_id = ?", [t["id"]])
        assert len(stored) == 1
        assert stored[0]["score"] is None and stored[0]["channel"] == "timeout"
        assert rows(live.db_path, "SELECT * FROM ratings WHERE score IS NOT NULL") == []
        # The pad cannot rate it any more.
        r = pair_live_pad(live, 3).post(f"{live.url}/api/pad/3/rating", json={"score": 5})
        assert r.status_code == 409
    finally:
        live.stop()


def press(page, key):
    page.keyboard.press(key)


def test_keyboard_shortcuts_drive_every_action(browser, live):
    add_staff(live, "clerk1", staff_no="C0001")
    add_staff(live, "clerk3")
    for service in ("SB", "SB", "YB", "SB", "YB", "SB"):
        live_issue(live, service)
    ctx, page = new_page(browser, SMALL_PC)
    try:
        sign_in_window(page, live, "clerk1", 1, shots=True)
        expect(page.locator("#key-help")).to_contain_text("叫号")
        expect(page.locator("#btn-call kbd").first).to_have_text("F1")

        press(page, "Enter")  # 叫号
        expect(page.locator("#cur-number")).to_have_text("B001")
        press(page, "F2")  # 重呼
        expect(page.locator("#toast")).to_contain_text("已重呼 B001")
        expect(page.locator("#cur-calls")).to_have_text("2次")
        press(page, "F3")  # 过号
        expect(page.locator("#cur-number")).to_have_text("—")
        assert db_ticket(live, "B001")["status"] == "no_show"
        expect(page.locator("#st-noshow")).to_have_text("1")

        press(page, "F1")  # 叫号
        expect(page.locator("#cur-number")).to_have_text("B002")
        press(page, "F7")  # 开始办理
        expect(page.locator("#cur-status")).to_have_text("办理中")
        press(page, "F5")  # 转办: window 3 by typing its number
        expect(page.locator("#dlg-transfer")).to_be_visible()
        press(page, "3")
        expect(page.locator("#transfer-typed")).to_have_text("3")
        page.fill("#transfer-note", "需到3号窗口补录")
        save_screenshot(page, "counter_transfer_dialog")
        press(page, "Enter")
        expect(page.locator("#dlg-transfer")).to_be_hidden()
        expect(page.locator("#cur-number")).to_have_text("—")
        b002 = db_ticket(live, "B002")
        assert b002["status"] == "waiting" and b002["target_window"] == 3

        press(page, "Numpad1")  # 叫号 on the keypad
        expect(page.locator("#cur-number")).to_have_text("C001")
        press(page, "Numpad5")  # 转办 to a service: + switches to services, 4 = 住房公积金
        expect(page.locator("#dlg-transfer")).to_be_visible()
        press(page, "NumpadAdd")
        expect(page.locator("#opt-service")).to_be_visible()
        press(page, "Numpad4")
        expect(page.locator("#opt-service .opt.selected")).to_contain_text("住房公积金")
        press(page, "NumpadEnter")
        expect(page.locator("#dlg-transfer")).to_be_hidden()
        expect(page.locator("#cur-number")).to_have_text("—")
        c001 = db_ticket(live, "C001")
        assert c001["service"] == "GJJ" and c001["status"] == "waiting"

        # Next: B003 (SB is primary here; C001 is now GJJ, only secondary at window 1).
        press(page, "F1")
        expect(page.locator("#cur-number")).to_have_text("B003")
        press(page, "F4")  # 办结 straight from 已叫号
        expect(page.locator("#cur-number")).to_have_text("—")
        assert db_ticket(live, "B003")["status"] == "done"
        expect(page.locator("#st-served")).to_have_text("1")

        press(page, "Numpad1")
        expect(page.locator("#cur-number")).to_have_text("C002")
        press(page, "Numpad7")  # 开始办理
        expect(page.locator("#cur-status")).to_have_text("办理中")
        press(page, "Numpad4")  # 办结
        expect(page.locator("#cur-number")).to_have_text("—")
        assert db_ticket(live, "C002")["status"] == "done"
        expect(page.locator("#st-served")).to_have_text("2")

        press(page, "F6")  # 暂停: reason 1 = 午休
        expect(page.locator("#dlg-pause")).to_be_visible()
        press(page, "1")
        expect(page.locator("#win-state")).to_have_text("暂停服务（午休）")
        expect(page.locator("#paused-banner")).to_be_visible()
        save_screenshot(page, "counter_paused")
        press(page, "F1")  # no call while paused
        expect(page.locator("#toast")).to_contain_text("暂停服务中")
        assert rows(live.db_path, "SELECT state, pause_reason FROM windows WHERE number = 1") == [
            {"state": "paused", "pause_reason": "午休"}
        ]
        press(page, "Numpad6")  # 恢复
        expect(page.locator("#win-state")).to_have_text("服务中")

        press(page, "F6")
        press(page, "Escape")  # the dialog closes, nothing changes
        expect(page.locator("#dlg-pause")).to_be_hidden()
        expect(page.locator("#win-state")).to_have_text("服务中")

        press(page, "F8")  # 签退
        expect(page.locator("#dlg-close")).to_be_visible()
        press(page, "Enter")
        page.wait_for_selector(".choose-page")
        assert rows(live.db_path, "SELECT state, clerk FROM windows WHERE number = 1") == [
            {"state": "closed", "clerk": None}
        ]
    finally:
        ctx.close()


def test_reload_finds_the_window_exactly_as_it_was(browser, live):
    add_staff(live, "clerk2")
    live_issue(live, "BDC")
    live_issue(live, "BDC")
    ctx, page = new_page(browser, SMALL_PC)
    try:
        sign_in_window(page, live, "clerk2", 2)
        press(page, "F1")
        expect(page.locator("#cur-number")).to_have_text("A001")
        press(page, "F7")
        expect(page.locator("#cur-status")).to_have_text("办理中")
        start = page.locator("#cur-timer").get_attribute("data-start")
        page.evaluate("localStorage.clear(); sessionStorage.clear()")
        page.reload()
        page.wait_for_selector(".console-page[data-ready='1']")
        expect(page.locator("#cur-number")).to_have_text("A001")
        expect(page.locator("#cur-status")).to_have_text("办理中")
        expect(page.locator("#cur-timer")).to_have_attribute("data-start", start)
        expect(page.locator("#q-total")).to_have_text("1")
    finally:
        ctx.close()
    # Another browser, same clerk: straight back to window 2 with A001 in hand.
    ctx, page = new_page(browser, SMALL_PC)
    try:
        login_page(page, live.url, "/counter", "clerk2")
        expect(page.locator(".win-name")).to_have_text("2号不动产窗口")
        expect(page.locator("#cur-number")).to_have_text("A001")
    finally:
        ctx.close()


def test_supervisor_force_sign_out_reaches_the_clerk(browser, live):
    add_staff(live, "clerk4")
    add_staff(live, "boss", role="supervisor")
    live_issue(live, "CRJ")
    ctx, page = new_page(browser, SMALL_PC)
    try:
        sign_in_window(page, live, "clerk4", 4)
        press(page, "F1")
        expect(page.locator("#cur-number")).to_have_text("J001")
        boss = live_session(live, "boss")
        r = boss.post(live.url + "/api/windows/4/close", json={"force": True})
        assert r.status_code == 200, r.text
        page.wait_for_selector(".choose-page")
        expect(page.locator("#choose-note")).to_contain_text("主管签退")
        # The ticket in hand went back to the queue.
        assert db_ticket(live, "J001")["status"] == "waiting"
    finally:
        ctx.close()


def test_guide_desk_priority_lookup_requeue(browser, live):
    add_staff(live, "guide", staff_no="G0001")
    add_staff(live, "clerk1")
    for service in ("SB", "SB", "BDC"):
        live_issue(live, service)
    clerk = live_session(live, "clerk1")
    clerk.post(live.url + "/api/windows/1/open")
    t = clerk.post(live.url + "/api/windows/1/call-next").json()["ticket"]
    clerk.post(f"{live.url}/api/tickets/{t['id']}/no-show")

    ctx, page = new_page(browser, SMALL_PC)
    try:
        login_page(page, live.url, "/counter/guide", "guide")
        expect(page.locator("[data-waiting='SB']")).to_have_text("1")
        # 绿色通道 needs a reason.
        page.check("#priority-on")
        page.click(".svc[data-service='SB']")
        expect(page.locator("#toast")).to_contain_text("优先原因")
        page.click("#priority-reasons .chip[data-reason='老年人']")
        page.fill("#priority-other", "80岁")
        page.evaluate("document.getElementById('toast').hidden = true")
        save_screenshot(page, "counter_guide_priority")
        page.click(".svc[data-service='SB']")
        expect(page.locator("#issued-number")).to_have_text("B003")
        expect(page.locator("#issued-info")).to_contain_text("绿色通道")
        expect(page.locator("[data-waiting='SB']")).to_have_text("2")
        b003 = db_ticket(live, "B003")
        assert b003["priority"] == 1 and b003["priority_reason"] == "老年人：80岁"
        assert b003["source"] == "staff" and b003["issued_by"] == "guide"
        # The priority ticket is called first, ahead of B002.
        nxt = clerk.post(live.url + "/api/windows/1/call-next").json()["ticket"]
        assert nxt["number"] == "B003"
        clerk.post(f"{live.url}/api/tickets/{nxt['id']}/finish")

        # Printed at the desk when a printer is picked (K1's printer: the dummy driver).
        page.select_option("#printer", "K1")
        page.click(".svc[data-service='BDC']")
        expect(page.locator("#issued-number")).to_have_text("A002")
        expect(page.locator("#issued-info")).to_contain_text("已打印")
        assert db_ticket(live, "A002")["kiosk"] == "K1"
        page.select_option("#printer", "")

        # The no-show list offers a requeue.
        expect(page.locator("#noshows li")).to_contain_text("B001")
        page.fill("#lookup-number", "b001")
        page.press("#lookup-number", "Enter")
        expect(page.locator("#found-number")).to_have_text("B001")
        expect(page.locator("#found-status")).to_have_text("过号")
        save_screenshot(page, "counter_guide")
        page.click("#found-requeue")
        expect(page.locator("#found-status")).to_have_text("等候中")
        expect(page.locator("#toast")).to_contain_text("已重新排队")
        assert db_ticket(live, "B001")["status"] == "waiting"
        # 补打 on the hall's printer (the test hall's [printer] is the dummy driver).
        page.click("#found-reprint")
        expect(page.locator("#toast")).to_contain_text("已补打 B001")
        audit = rows(live.db_path, "SELECT * FROM audit_log WHERE action = 'reprint'")
        assert len(audit) == 1 and audit[0]["actor"] == "guide"
        # Screens never show a ticket token.
        html = page.content()
        for tok in rows(live.db_path, "SELECT token FROM tickets"):
            assert tok["token"] not in html
    finally:
        ctx.close()


def test_the_case_number_is_typed_or_scanned_at_finish(browser, live):
    """办件编号 at 办结: a scanner types the number and Enter into the field; Enter there
    calls nobody; 办结 keeps it in the finished event; the next ticket starts empty."""
    add_staff(live, "clerk1")
    live_issue(live, "SB")
    live_issue(live, "SB")
    ctx, page = new_page(browser, SMALL_PC)
    try:
        sign_in_window(page, live, "clerk1", 1)
        expect(page.locator("#cur-case-box")).to_be_hidden()
        page.click("#btn-call")
        expect(page.locator("#cur-number")).to_have_text("B001")
        page.fill("#cur-case", "BJ-2026-000123")
        page.press("#cur-case", "Enter")  # the scanner's Enter
        expect(page.locator("#cur-number")).to_have_text("B001")
        page.click("#btn-finish")
        expect(page.locator("#cur-empty")).to_be_visible()
        t = db_ticket(live, "B001")
        ev = rows(
            live.db_path,
            "SELECT details FROM ticket_events WHERE ticket_id = ? AND kind = 'finished'",
            [t["id"]],
        )[0]
        assert json.loads(ev["details"])["case_no"] == "BJ-2026-000123"
        page.click("#btn-call")
        expect(page.locator("#cur-number")).to_have_text("B002")
        expect(page.locator("#cur-case")).to_have_value("")
        assert page.errors == []
    finally:
        ctx.close()
