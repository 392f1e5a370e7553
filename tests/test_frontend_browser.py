"""hall.js in real Chromium: Hall.connect() asks for the page's state again on every
(re)connect and backs off while the server is away; Hall.api() shows the server's
Chinese error. (The displays' own recovery: tests/display/test_display_browser.py.)"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

LINK = """() => { const l = window.hallLinks['/supervisor'];
  return {connects: l.connects, snapshots: l.snapshots, attempts: l.attempts, online: l.online}; }"""


def link(page) -> dict:
    return page.evaluate(LINK)


def issue(server, service="SB"):
    r = requests.post(server.url + "/api/tickets", json={"service": service}, timeout=10)
    assert r.status_code == 201, r.text


def test_connect_asks_for_the_state_on_every_reconnect_and_backs_off(live_server, page):
    server = live_server
    server.add_user("fe_boss", "supervisor")
    r = page.request.post(
        server.url + "/api/login", data={"username": "fe_boss", "password": PASSWORD}
    )
    assert r.ok
    page.goto(server.url + "/supervisor")
    status = page.locator("#live-status")
    waiting = page.locator("#kpi-waiting")
    expect(status).to_have_text("实时更新中")
    expect(waiting).to_have_text("0")
    assert link(page)["connects"] == 1 and link(page)["snapshots"] == 1
    page.wait_for_timeout(1000)  # the board re-read that follows the connect is done

    # Cut off: nothing reaches the page; what changed meanwhile comes with the state the
    # page asks for when it is back (no event of those changes ever reaches it).
    page.evaluate("() => window.hallLinks['/supervisor'].socket.disconnect()")
    expect(status).to_have_text("连接中断，正在重连…")
    issue(server)
    issue(server, "BDC")
    page.wait_for_timeout(500)
    expect(waiting).to_have_text("0")
    page.evaluate("() => window.hallLinks['/supervisor'].socket.connect()")
    expect(status).to_have_text("实时更新中")
    expect(waiting).to_have_text("2")
    assert link(page)["snapshots"] == 2

    # The server goes away: the page tries again and again, waiting longer each time
    # (0.5 s doubling to 5 s, ±50 %), never reloading.
    page.evaluate("() => { window.marker = 'same page'; }")
    server.stop()
    expect(status).to_have_text("连接中断，正在重连…")
    page.wait_for_function(
        "() => window.hallLinks['/supervisor'].attempts.length >= 4", timeout=30000
    )
    at = link(page)["attempts"]
    gaps = [b - a for a, b in zip(at, at[1:], strict=False)]
    assert gaps[0] >= 490 and gaps[1] >= 990 and gaps[2] >= 1990, gaps

    server.start()
    issue(server, "YB")  # while the page is still waiting to try again, most likely
    expect(status).to_have_text("实时更新中", timeout=15000)
    expect(waiting).to_have_text("3")
    state = link(page)
    assert state["connects"] == 3 and state["snapshots"] == 3 and state["online"] is True
    assert page.evaluate("() => window.marker") == "same page"

    # live again: an event updates the board
    issue(server, "GJJ")
    expect(waiting).to_have_text("4")


def test_api_errors_are_shown_in_chinese(live_server, page):
    """A refused action: the toast says what the server said, in Chinese only."""
    server = live_server
    server.add_user("fe_clerk", "clerk", windows="1")
    page.goto(server.url + "/counter")
    page.fill("#login-username", "fe_clerk")
    page.fill("#login-password", "wrong password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).not_to_be_empty()
    text = page.locator("#login-error").inner_text()
    assert "(" not in text and any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.locator(".sign-in[data-window='1']").click()
    expect(page.locator("#win-state")).to_have_text("服务中")
    page.wait_for_function("() => document.body.dataset.ready === '1'")  # the scripts ran
    # CSRF from the page's meta tag: a write works; a window not this clerk's is refused
    result = page.evaluate(
        "() => Hall.api('POST', '/api/windows/2/open').then(() => 'ok', e => [e.status, e.message])"
    )
    assert result[0] == 403 and "(" not in result[1], result
    page.evaluate("(m) => Hall.toast(m)", result[1])
    expect(page.locator("#toast")).to_have_text(result[1])
