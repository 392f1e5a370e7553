"""The kiosk pages rendered on the server: services by department, closed and used-up
services, the hall closed, sub-matters, the ticket screen, errors, rate limit."""

from __future__ import annotations

import re

import pytest

from tests.conftest import local

from .conftest import count, kiosks, services_with_matters


@pytest.fixture
def app(make_app):
    return make_app(services=services_with_matters())


@pytest.fixture
def hall(app):
    return app.extensions["hall"]


def page(client, url="/kiosk/K1", status=200):
    r = client.get(url)
    assert r.status_code == status, r.status_code
    return r.get_data(as_text=True)


def tile(html, code) -> str:
    """The HTML of one service tile (its cell)."""
    m = re.search(rf'<div class="k-cell">\s*<button[^>]*value="{code}".*?</div>', html, re.S)
    assert m, code
    return m.group(0)


def test_start_screen(app):
    c = app.test_client()
    c.post("/api/tickets", json={"service": "SB"})
    c.post("/api/tickets", json={"service": "SB"})
    html = page(c)
    assert "测试政务服务大厅" in html and "自助取号" in html and "大厅取号机" in html
    for dept in ("自然资源局", "人社局", "医保局", "公积金中心", "公安局"):
        assert f"<h2>{dept}</h2>" in html
    sb = tile(html, "SB")
    assert "社会保险" in sb and 'data-f="waiting">2<' in sb and "disabled" not in sb
    assert "选择事项" in tile(html, "BDC") and 'formmethod="get"' in tile(html, "BDC")
    # 预约签到 goes to the appointments' check-in for this kiosk; 绿色通道 to the guide desk.
    assert 'href="/kiosk/checkin?kiosk=K1"' in html and "预约签到" in html
    assert "绿色通道" in html and "导办台" in html
    assert "测试公告" in html
    # Everything from the hall itself: no outside address, no inline script.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert page(c, "/kiosk").count('<button type="submit" class="k-tile') == 5
    assert 'href="/kiosk/checkin"' in page(c, "/kiosk")


def test_unknown_kiosk_is_a_404_page(app):
    c = app.test_client()
    html = page(c, "/kiosk/K9", 404)
    assert "没有这台取号机" in html and "<html" in html
    assert c.post("/kiosk/K9", data={"service": "SB"}).status_code == 404
    assert page(c, "/kiosk/" + "x" * 40, 404)
    assert count(app.extensions["hall"], "SELECT COUNT(*) FROM tickets") == 0


def test_quota_used_up_offers_booking(app):
    c = app.test_client()
    for _ in range(3):  # CRJ: daily_quota = 3
        assert c.post("/kiosk/K1", data={"service": "CRJ"}).status_code == 200
    crj = tile(page(c), "CRJ")
    assert "disabled" in crj and "今日号已取完" in crj
    assert (
        'href="#book-CRJ"' in crj
        and "预约其他日期" in crj
        and "hidden" not in crj.split("k-book")[1][:40]
    )
    html = page(c)
    assert 'href="/book?service=CRJ"' in html and "/api/kiosk/book-qr/CRJ.png" in html
    r = c.post("/kiosk/K1", data={"service": "CRJ"})  # a stale screen tapped anyway
    assert r.status_code == 409 and "今日号已取完" in r.get_data(as_text=True)
    assert count(app.extensions["hall"], "SELECT COUNT(*) FROM tickets") == 3


def test_hall_closed_shows_the_next_opening(app, clock):
    clock.set(local(2026, 12, 5, 10, 0))  # Saturday
    html = page(app.test_client())
    assert "现在不在办理时间" in html and "12月7日 周一 08:30" in html
    assert html.count("disabled") == 5
    assert 'data-open="0"' in html


def test_sub_matters_then_ticket(app, hall):
    c = app.test_client()
    html = page(c, "/kiosk/K1?service=BDC")
    assert "请选择办理事项" in html and "不动产登记" in html
    for m in ("首次登记", "转移登记", "抵押登记"):
        assert f'value="{m}"' in html
    # Tapping the service without a matter (no script) shows the matters; no ticket yet.
    r = c.post("/kiosk/K1", data={"service": "BDC"})
    assert "请选择办理事项" in r.get_data(as_text=True)
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 0
    r = c.post("/kiosk/K1", data={"service": "BDC", "matter": "抵押登记"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "A001" in html and "抵押登记" in html
    assert "您已取号A001，前面还有<b>0</b>人等候" in html
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 1
    # A service without matters ignores ?service=.
    assert "请选择办理事项" not in page(c, "/kiosk/K1?service=SB")


def test_ticket_screen(app, hall):
    c = app.test_client()
    c.post("/api/tickets", json={"service": "SB"})
    r = c.post("/kiosk/K1", data={"service": "SB"})
    html = r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    token = hall.store.db().execute("SELECT token FROM tickets WHERE id = 2").fetchone()[0]
    assert '<p class="k-number" id="k-number">B002</p>' in html
    assert "您已取号B002，前面还有<b>1</b>人等候" in html and "预计等候约" in html
    assert f'src="/api/tickets/{token}/qr.png"' in html
    assert "请取走出票口的号票" in html and "请拍照保存" not in html
    assert f'data-return="{hall.cfg.sections["kiosk"]["return_seconds"]}"' in html
    assert 'data-home="/kiosk/K1"' in html


def test_errors_are_shown_on_the_start_screen(app):
    c = app.test_client()
    r = c.post("/kiosk/K1", data={"service": "NOPE"})
    assert r.status_code == 404 and "没有这项业务" in r.get_data(as_text=True)
    r = c.post("/kiosk/K1", data={})
    assert r.status_code == 404 and 'id="k-error"' in r.get_data(as_text=True)


def test_rate_limit_and_exempt_kiosks(make_app):
    app = make_app(security={"ticket_rate_limit_per_minute": 1})
    c = app.test_client()
    assert c.post("/kiosk/K1", data={"service": "SB"}).status_code == 200
    r = c.post("/kiosk/K1", data={"service": "SB"})
    assert r.status_code == 429 and "取号过于频繁" in r.get_data(as_text=True)
    app = make_app(security={"ticket_rate_limit_per_minute": 1, "rate_limit_exempt": ["127.0.0.1"]})
    c = app.test_client()
    for _ in range(3):
        assert c.post("/kiosk/K1", data={"service": "SB"}).status_code == 200


def test_kiosk_settings_are_validated(make_app):
    from hall.config import ConfigError

    with pytest.raises(ConfigError):
        make_app(kiosk={"return_seconds": "soon"})
    with pytest.raises(ConfigError):
        make_app(kiosk={"nonsense": 1})


def test_kiosk_with_a_broken_printer_config_still_issues(make_app):
    app = make_app(kiosks=kiosks({"driver": "network", "host": ""}))
    hall = app.extensions["hall"]
    r = app.test_client().post("/kiosk/K1", data={"service": "SB"})
    assert r.status_code == 200 and "请拍照保存" in r.get_data(as_text=True)
    assert hall.faces.interface("printers")["K1"].status()["status"] == "error"
    assert count(hall, "SELECT COUNT(*) FROM tickets") == 1
