"""The supervisor face in real Chromium against a real server: the live board follows the
hall over Socket.IO; screenshots of the board, the figures pages and the ranking."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import requests
from playwright.sync_api import expect

from hall import create_app
from hall.auth import create_user
from tests.conftest import PASSWORD, TEST_CONFIG, save_screenshot


@pytest.fixture
def seeded(live_server):
    """The live server's database with four past days of demo activity and our staff."""
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": live_server.db_path,
            "HALL": {"hours": {"always_open": True}},
            "NO_VOICE": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        from supervisor.demo import seed

        assert seed(hall) > 0
        create_user(hall.store, "boss", PASSWORD, "supervisor", display_name="张主任")
        for name, display in (("li", "李丽"), ("wang", "王伟"), ("zhao", "赵敏")):
            create_user(hall.store, name, PASSWORD, "clerk", display_name=display)
    finally:
        hall.store.close()
    return live_server


def session(base, username):
    s = requests.Session()
    r = s.post(base + "/api/login", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s


def login(page, base, username="boss"):
    page.goto(base + "/supervisor")
    expect(page.locator("#login-form")).to_be_visible()  # anonymous: the login page
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator(".board")).to_be_visible()


def test_board_is_live(seeded, page):
    base = seeded.url
    login(page, base)
    expect(page.locator("#live-status")).to_have_text("实时更新中")
    sb = page.locator('tr[data-service="SB"] .waiting-count')
    expect(sb).to_have_text("0")

    # a citizen takes a number at the kiosk: the queue grows on the board
    ticket = requests.post(base + "/api/tickets", json={"service": "SB"}).json()
    assert ticket["number"] == "B001"
    expect(sb).to_have_text("1")
    expect(page.locator('tr[data-service="SB"]')).to_contain_text("B001")

    # a clerk opens window 1 and calls: the window shows the number, the queue empties
    li = session(base, "li")
    assert li.post(base + "/api/windows/1/open", json={}).status_code == 200
    win = page.locator('.win[data-window="1"]')
    expect(win).to_contain_text("李丽")
    expect(win).to_contain_text("空闲")
    called = li.post(base + "/api/windows/1/call-next", json={}).json()["ticket"]
    assert called["number"] == "B001"
    expect(win.locator(".cur-number")).to_have_text("B001")
    expect(sb).to_have_text("0")

    # finished and rated badly on the phone: the board raises a 差评 alert at once
    assert li.post(base + f"/api/tickets/{called['id']}/finish", json={}).status_code == 200
    r = requests.post(
        base + f"/api/tickets/{ticket['token']}/rating",
        json={"score": 1, "reasons": ["效率低"], "comment": "等太久"},
    )
    assert r.status_code == 201
    expect(page.locator("#toast")).to_contain_text("新差评：B001")
    expect(page.locator(".alerts")).to_contain_text(
        "差评：B001 社会保险 1号窗口 非常不满意（效率低）"
    )

    # a fuller hall for the picture: more people waiting, three windows, one paused
    for svc in ("SB", "SB", "YB", "BDC", "BDC", "YB", "GJJ", "CRJ"):
        requests.post(base + "/api/tickets", json={"service": svc})
    li.post(base + "/api/windows/1/call-next", json={})
    wang = session(base, "wang")
    wang.post(base + "/api/windows/2/open", json={})
    wang.post(base + "/api/windows/2/call-next", json={})
    zhao = session(base, "zhao")
    zhao.post(base + "/api/windows/3/open", json={})
    zhao.post(base + "/api/windows/3/pause", json={"reason": "午休"})
    expect(page.locator('.win[data-window="2"] .cur-number')).to_have_text("A001")
    expect(page.locator('.win[data-window="3"]')).to_contain_text("午休")
    expect(page.locator("#kpi-waiting")).to_have_text("6")
    save_screenshot(page, "supervisor_board")


def test_figures_ranking_and_follow_up_pages(seeded, page):
    base = seeded.url
    login(page, base)
    today = date.today()
    span = f"from={today - timedelta(days=7)}&to={today}"

    page.goto(f"{base}/supervisor/figures?{span}")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator(".gauge-card").first).to_contain_text("%")
    save_screenshot(page, "supervisor_figures")

    page.goto(f"{base}/supervisor/figures/windows?{span}")
    expect(page.locator("svg.chart")).to_have_count(3)
    save_screenshot(page, "supervisor_windows")

    page.goto(f"{base}/supervisor/ranking?{span}")
    expect(page.locator("table.ranking tbody tr")).to_have_count(5)
    expect(page.locator("table.ranking")).to_contain_text("通报表扬")
    save_screenshot(page, "supervisor_ranking")

    # follow up the oldest open 差评 from the page: it moves to 已回访
    page.goto(f"{base}/supervisor/ratings")
    save_screenshot(page, "supervisor_ratings")
    card = page.locator("article.rating.open").last
    number = card.locator(".num-big").inner_text()
    card.locator("textarea").fill("已电话回访，市民表示理解")
    card.locator("button[data-action=callback]").click()
    expect(page.locator("#toast")).to_contain_text(f"{number} 已更新为「已回访·整改中」")
    page.wait_for_load_state("load")
    expect(page.locator("article.rating.called_back", has_text=number).first).to_contain_text(
        "已电话回访，市民表示理解"
    )

    last_day = max(d for d in (today - timedelta(days=k) for k in range(1, 8)) if d.weekday() < 5)
    page.goto(f"{base}/supervisor/report?date={last_day}")
    expect(page.locator(".report-head")).to_contain_text("服务日报")
    save_screenshot(page, "supervisor_report")
    # printed, it is one A4 page without the navigation
    page.emulate_media(media="print")
    expect(page.locator(".sv-top")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_clerk_in_the_browser_sees_no_board(seeded, page):
    base = seeded.url
    login_page = page.goto(base + "/supervisor/login")
    assert login_page.status == 200
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("没有管理权限")
    r = page.goto(base + "/supervisor")
    assert r.status == 403
    expect(page.locator("h1")).to_have_text("无权限访问")
