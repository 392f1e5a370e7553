"""The county face in real Chromium against real servers: the /county page follows a
site live; the kiosk and the phone page show a matter's materials; a village point
records, finishes and rates a walk-in. Screenshots in tests/artifacts/county_*.png."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD, ROOT, LiveServer, save_screenshot
from tests.county.test_live import add_site, start_centre, start_site, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CATALOGUE = str(ROOT / "county" / "demo_data" / "catalogue.toml")


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.stop()


def login_here(page, username):
    """The county pages' own login form."""
    expect(page.locator("#cy-login-form")).to_be_visible()
    page.fill("#cy-username", username)
    page.fill("#cy-password", PASSWORD)
    page.click("#cy-login-form button[type=submit]")


def test_the_county_page_follows_a_site_live(tmp_path, servers, page):
    centre = start_centre(tmp_path)
    servers.append(centre)
    key = add_site(centre, "xiang-01", name="汤沟镇便民服务中心")
    add_site(centre, "cun-01", level="village", name="白柳村为民服务站")
    site = start_site(tmp_path, centre, "xiang-01", key)
    servers.append(site)
    centre.session("cboss", "supervisor")  # the account
    clerk = site.session("li", "clerk")
    boss = centre.session("cboss2", "supervisor")
    wait_for(
        lambda: (
            next(
                r
                for r in boss.get(centre.url + "/api/county/sites").json()
                if r["id"] == "xiang-01"
            )["link"]
            == "online"
        ),
        what="the site online",
    )

    page.goto(centre.url + "/county")
    login_here(page, "cboss")
    row = page.locator("#site-xiang-01")
    expect(row).to_be_visible()
    expect(page.locator("#cy-live.on")).to_be_visible()
    expect(row.locator("[data-k=link]")).to_have_text("在线")
    expect(row.locator("[data-k=waiting]")).to_have_text("0")
    expect(page.locator("#site-cun-01 [data-k=link]")).to_have_text("未连接")

    kiosk = requests.Session()
    for _ in range(2):
        kiosk.post(site.url + "/api/tickets", json={"service": "SB"}).raise_for_status()
    expect(row.locator("[data-k=waiting]")).to_have_text("2", timeout=20_000)
    expect(row.locator("[data-k=tickets]")).to_have_text("2")
    expect(page.locator("[data-total=waiting]")).to_have_text("2")

    assert clerk.post(site.url + "/api/windows/1/open").ok
    called = clerk.post(site.url + "/api/windows/1/call-next").json()["ticket"]
    assert called["number"] == "B001"
    expect(row.locator("[data-k=waiting]")).to_have_text("1", timeout=20_000)
    expect(row.locator("[data-k=windows]")).to_have_text("1/4")
    save_screenshot(page, "county_overview")

    page.goto(centre.url + "/county/ranking")
    expect(page.locator("#rank-township")).to_contain_text("汤沟镇便民服务中心")
    expect(page.locator("#rank-departments")).to_contain_text("人社局")
    save_screenshot(page, "county_ranking")


def test_the_kiosk_and_the_phone_page_show_a_matters_materials(tmp_path, servers, page):
    d = tmp_path / "hall"
    d.mkdir()
    offer = {"SB": ["340722-SB-001", "340722-SB-002"], "YB": ["340722-YB-001"]}
    hall = LiveServer(d, settings={"hall": {"faces": ["county"]}, "county": {"offer": offer}})
    # This hall owns the catalogue (it could be the centre itself).
    subprocess.run(
        [sys.executable, "-m", "hall", "catalogue", "load", CATALOGUE],
        cwd=str(ROOT),
        env=hall.env(),
        check=True,
        capture_output=True,
    )
    hall.start()
    servers.append(hall)
    page.set_viewport_size({"width": 1080, "height": 1920})
    page.goto(hall.url + "/kiosk/K1")
    page.click("button.k-tile[data-code=SB]")
    expect(page.locator("#k-catalogue")).to_contain_text("城乡居民基本养老保险参保登记")
    page.click("#k-catalogue button[value='340722-SB-001']")
    materials = page.locator("#k-material-list")
    expect(materials).to_contain_text("居民身份证原件")
    expect(materials).to_contain_text("户口簿原件")
    expect(materials).to_contain_text("承诺时限")
    save_screenshot(page, "county_kiosk_materials")
    page.click("#k-take")
    expect(page.locator("#k-number")).to_have_text("B001")
    expect(page.locator("#k-ticket-materials")).to_contain_text("本人近期一寸免冠照片一张")
    save_screenshot(page, "county_kiosk_ticket")
    src = page.locator("#k-qr").get_attribute("src")
    token = re.match(r"/api/tickets/([^/]+)/qr.png", src).group(1)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(hall.url + f"/t/{token}")
    phone = page.locator("#p-matter")
    expect(phone).to_contain_text("城乡居民基本养老保险参保登记")
    expect(phone).to_contain_text("居民身份证原件")
    save_screenshot(page, "county_phone_materials")


def test_a_village_point_records_serves_and_rates_a_walk_in(tmp_path, servers, page):
    centre = start_centre(tmp_path)
    servers.append(centre)
    subprocess.run(
        [sys.executable, "-m", "hall", "catalogue", "load", CATALOGUE],
        cwd=str(ROOT),
        env=centre.env(),
        check=True,
        capture_output=True,
    )
    key = add_site(centre, "cun-01", level="village", name="白柳村为民服务站")
    d = tmp_path / "cun"
    d.mkdir()
    point = LiveServer(
        d,
        config=str(ROOT / "county" / "demo_data" / "village.toml"),
        settings={
            "county": {
                "centre_url": centre.url,
                "site_id": "cun-01",
                "ship_interval_seconds": 0.2,
                "heartbeat_seconds": 0.5,
                "catalogue_refresh_seconds": 1,
            }
        },
        extra_env={"HALL_COUNTY_KEY": key},
    ).start()
    servers.append(point)
    point.session("duty", "clerk")
    boss = centre.session("cboss", "supervisor")
    # the catalogue arrives from the centre within a round or two
    wait_for(
        lambda: requests.get(point.url + "/api/county/matters?service=CMB").json(),
        what="the catalogue at the point",
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(point.url + "/county/point")
    login_here(page, "duty")
    page.click("#cy-open")
    expect(page.locator("#cy-new")).to_contain_text("城乡居民基本养老保险参保登记")
    page.click("label.cy-matter:has-text('最低生活保障申请')")
    page.fill("#cy-new-case", "CUN-2026-0001")
    page.click("#cy-visit")
    expect(page.locator("#cy-current")).to_contain_text("家庭经济状况核对授权书")
    page.click("#cy-finish")
    expect(page.locator("#cy-rate img")).to_be_visible()
    save_screenshot(page, "county_point_rate")
    page.click("#cy-rate [data-score='5']")
    page.click("#cy-rate-send")
    expect(page.locator("#cy-visits")).to_contain_text("非常满意")
    save_screenshot(page, "county_point")

    day = None
    for _ in range(100):
        rows = boss.get(centre.url + "/api/county/sites").json()
        row = next(r for r in rows if r["id"] == "cun-01")
        if row["served"] == 1:
            day = row["day"]
            break
        page.wait_for_timeout(200)
    assert day, "the visit did not reach the centre"
    figs = boss.get(centre.url + f"/api/county/sites/cun-01/stats?from={day}&to={day}").json()
    assert figs["served"] == 1 and figs["ratings"]["scores"]["5"] == 1
