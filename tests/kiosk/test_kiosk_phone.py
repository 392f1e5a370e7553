"""The phone page /t/<token>: one ticket's progress, the window when called, the rating
after 办结; unknown tokens are a 404 page; nobody else's ticket ever shows."""

from __future__ import annotations

import logging

import pytest

from .conftest import login


@pytest.fixture
def app(make_app):
    return make_app()


def issue(client, service="SB"):
    r = client.post("/api/tickets", json={"service": service, "kiosk": "K1"})
    assert r.status_code == 201
    return r.get_json()


def phone(client, token, status=200):
    r = client.get(f"/t/{token}")
    assert r.status_code == status
    return r


def test_waiting_page(app):
    c = app.test_client()
    issue(c)
    mine = issue(c)
    r = phone(c, mine["token"])
    html = r.get_data(as_text=True)
    assert "private, no-store" in r.headers["Cache-Control"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert 'id="p-number">B002<' in html and "社会保险" in html
    assert 'id="p-state">等候中<' in html
    assert 'id="p-ahead">1<' in html and 'id="p-eta">' in html
    assert "B001" not in html  # the ticket ahead is only a count
    assert mine["token"] not in html  # the address has it; the page needs it nowhere else
    assert 'id="p-rate" hidden' in html


def test_called_then_done_then_rated(app):
    c = app.test_client()
    mine = issue(c)
    other = issue(c)
    clerk = login(app, "clerk1", "clerk")
    clerk.post("/api/windows/1/open", json={})
    assert clerk.post("/api/windows/1/call-next", json={}).get_json()["ticket"]["number"] == "B001"
    html = phone(c, mine["token"]).get_data(as_text=True)
    assert '请到<b id="p-window">1</b>号窗口办理' in html and "1号综办窗口" in html
    assert 'id="p-call" hidden' not in html
    clerk.post(f"/api/tickets/{mine['id']}/finish", json={})
    html = phone(c, mine["token"]).get_data(as_text=True)
    assert 'id="p-state">已办结<' in html
    assert 'id="p-rate" hidden' not in html and 'id="p-rate"' in html
    for word in ("非常满意", "满意", "基本满意", "不满意", "非常不满意", "态度不好", "效率低"):
        assert word in html
    # The other ticket, now called to the same window, never shows on this page.
    clerk.post("/api/windows/1/call-next", json={})
    html = phone(c, mine["token"]).get_data(as_text=True)
    assert other["number"] not in html and other["token"] not in html
    r = c.post(f"/api/tickets/{mine['token']}/rating", json={"score": 2})
    assert r.status_code == 400  # 差评 needs a reason
    r = c.post(f"/api/tickets/{mine['token']}/rating", json={"score": 2, "reasons": ["效率低"]})
    assert r.status_code == 201
    html = phone(c, mine["token"]).get_data(as_text=True)
    assert 'id="p-rate" hidden' in html and 'id="p-thanks" hidden' not in html
    row = app.extensions["hall"].store.db().execute("SELECT score, channel FROM ratings").fetchone()
    assert tuple(row) == (2, "qr")


def test_other_statuses(app):
    c = app.test_client()
    mine = issue(c)
    clerk = login(app, "clerk1", "clerk")
    clerk.post("/api/windows/1/open", json={})
    clerk.post("/api/windows/1/call-next", json={})
    clerk.post(f"/api/tickets/{mine['id']}/start", json={})
    assert 'id="p-state">办理中<' in phone(c, mine["token"]).get_data(as_text=True)
    t2 = issue(c)
    clerk.post(f"/api/tickets/{mine['id']}/finish", json={})
    clerk.post("/api/windows/1/call-next", json={})
    clerk.post(f"/api/tickets/{t2['id']}/no-show", json={})
    assert 'id="p-state">过号<' in phone(c, t2["token"]).get_data(as_text=True)
    t3 = issue(c)
    clerk.post(f"/api/tickets/{t3['id']}/cancel", json={"reason": "test"})
    assert 'id="p-state">已取消<' in phone(c, t3["token"]).get_data(as_text=True)


def test_unknown_token_is_a_404_page(app):
    c = app.test_client()
    issue(c)
    for bad in ("nope", "x" * 64, "x" * 65, "1"):
        r = phone(c, bad, 404)
        html = r.get_data(as_text=True)
        assert "没有找到这张号票" in html and "B001" not in html


def test_tokens_are_never_logged(app, caplog):
    caplog.set_level(logging.DEBUG)
    c = app.test_client()
    t = issue(c)
    phone(c, t["token"])
    c.get(f"/api/tickets/{t['token']}/qr.png")
    c.get(f"/api/tickets/{t['token']}/ticket.png")
    assert caplog.records  # something was logged (the printer), just not the token
    assert not any(t["token"] in rec.getMessage() for rec in caplog.records)
