"""The display face without a browser: the /display namespace, the pages, privacy, voice."""

from __future__ import annotations

import io
import json
import logging
import wave

import pytest

from hall import create_app
from hall.config import ConfigError
from tests.conftest import PASSWORD, TEST_CONFIG

CALL_FIELDS = {
    "id",
    "ticket_id",
    "number",
    "window",
    "window_name",
    "service",
    "service_name",
    "recall",
    "at",
    "audio",
}


def events(client, name=None):
    out = [
        (e["name"], e["args"][0] if e["args"] else None) for e in client.get_received("/display")
    ]
    return out if name is None else [p for n, p in out if n == name]


def issue(client, service):
    r = client.post("/api/tickets", json={"service": service})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def call_next(clerk, window):
    r = clerk.post(f"/api/windows/{window}/call-next")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["ticket"]


# --- the namespace ----------------------------------------------------------------------
def test_snapshot_on_connect_is_public_and_complete(client, clerk_at, display_client):
    issue(client, "SB")
    issue(client, "BDC")
    clerk = clerk_at(1)
    called = call_next(clerk, 1)

    d = display_client()
    (snap,) = events(d, "snapshot")
    assert snap["hall"] == "测试政务服务大厅"
    assert snap["notice"] == "测试公告：请携带身份证原件"
    assert snap["day"] == "2026-11-30"
    assert snap["at"].startswith("2026-11-30T09:00:00")
    assert snap["queue"]["BDC"] == 1 and snap["queue"]["SB"] == 0
    assert [s["code"] for s in snap["services"]] == ["BDC", "SB", "YB", "GJJ", "CRJ"]
    assert set(snap["services"][0]) == {"code", "name", "department", "prefix"}
    (call,) = snap["calls"]
    assert set(call) == CALL_FIELDS
    assert call["number"] == called["number"] == "B001"
    assert call["window"] == 1 and call["window_name"] == "1号综办窗口"
    assert call["audio"] == "/audio/call/B001/1.wav"
    assert snap["last_event_id"] >= call["id"]
    w1 = next(w for w in snap["windows"] if w["number"] == 1)
    assert w1["state"] == "open"
    assert w1["current"]["number"] == "B001"
    # the clerk signed in at the window is a person: not on a public screen
    assert all("clerk" not in w for w in snap["windows"])
    assert "clerk1" not in json.dumps(snap, ensure_ascii=False)


def test_called_event_payload(client, clerk_at, display_client):
    issue(client, "BDC")
    clerk = clerk_at(2)
    d = display_client()
    events(d)  # drop the snapshot
    t = call_next(clerk, 2)
    got = events(d)
    assert [n for n, _ in got] == ["called", "queue"]  # the call is one message, first
    called = got[0][1]
    assert set(called) == CALL_FIELDS
    assert called["number"] == t["number"] == "A001"
    assert called["window"] == 2 and called["window_name"] == "2号不动产窗口"
    assert called["service"] == "BDC" and called["service_name"] == "不动产登记"
    assert called["recall"] is False
    assert called["audio"] == "/audio/call/A001/2.wav"

    # a recall is a new announcement: a new id, recall true
    r = clerk.post(f"/api/tickets/{t['id']}/recall")
    assert r.status_code == 200
    (again,) = events(d, "called")
    assert again["recall"] is True and again["id"] > called["id"]
    assert again["number"] == "A001"

    # the screen above window 2 follows the ticket: a public window event
    assert clerk.post(f"/api/tickets/{t['id']}/start").status_code == 200
    (window,) = events(d, "window")
    assert window["number"] == 2 and window["current"]["number"] == "A001"
    assert window["current"]["status"] == "serving"
    assert "clerk" not in window and "actor" not in window
    assert clerk.post(f"/api/tickets/{t['id']}/finish").status_code == 200
    (window,) = events(d, "window")
    assert window["current"] is None and window["state"] == "open"


def test_window_events_public_on_display_full_on_counter(app, client, clerk_at, display_client):
    from hall.realtime import socketio

    clerk = clerk_at(3)
    counter = socketio.test_client(app, namespace="/counter", flask_test_client=clerk.client)
    assert counter.is_connected("/counter")
    counter.get_received("/counter")
    d = display_client()
    events(d)
    r = clerk.post("/api/windows/3/pause", json={"reason": "午休"})
    assert r.status_code == 200
    (public,) = events(d, "window")
    assert public["state"] == "paused" and public["pause_reason"] == "午休"
    assert public["name"] == "3号综办窗口" and public["at"]
    assert "clerk" not in public and "actor" not in public
    staff = [e["args"][0] for e in counter.get_received("/counter") if e["name"] == "window"]
    assert staff and staff[0]["clerk"] == "clerk3"  # clerks' screens keep the full event
    counter.disconnect("/counter")


def test_snapshot_request_with_services_filter(client, clerk_at, display_client):
    for s in ("SB", "BDC", "SB"):
        issue(client, s)
    c1, c2 = clerk_at(1), clerk_at(2)
    call_next(c1, 1)
    call_next(c2, 2)
    d = display_client(auth={"services": ["BDC"]})
    (snap,) = events(d, "snapshot")
    assert [c["number"] for c in snap["calls"]] == ["A001"]
    full = d.emit("snapshot", {}, namespace="/display", callback=True)
    assert [c["number"] for c in full["calls"]] == ["A001", "B001"]
    zone = d.emit("snapshot", {"services": ["SB"]}, namespace="/display", callback=True)
    assert [c["number"] for c in zone["calls"]] == ["B001"]
    # malformed filters are ignored (everything), never an error
    for bad in ({"services": "BDC"}, {"services": [1]}, ["BDC"], "x", {"services": ["x" * 99]}):
        snap = d.emit("snapshot", bad, namespace="/display", callback=True)
        assert len(snap["calls"]) == 2


# --- the pages --------------------------------------------------------------------------
def test_hall_display_page_rendered_on_server(client, clerk_at):
    for s in ("SB", "SB", "BDC", "YB"):
        issue(client, s)
    clerk = clerk_at(1)
    first = call_next(clerk, 1)
    clerk.post(f"/api/tickets/{first['id']}/finish")
    second = call_next(clerk, 1)
    r = client.get("/display")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "测试政务服务大厅" in html
    assert "测试公告：请携带身份证原件" in html
    assert "2026年11月30日 星期一" in html and "09:00:00" in html
    latest = html.split('id="d-latest-body"')[1].split("</section>")[0]
    assert second["number"] in latest and "1号综办窗口" in latest
    recent = html.split('id="d-recent"')[1].split("</ol>")[0]
    assert first["number"] in recent
    queue = html.split('id="d-queue"')[1].split("</ul>")[0]
    assert "不动产登记" in queue and "医疗保障" in queue
    assert 'data-voice="1"' in html and 'data-kind="hall"' in html
    assert "<script>" not in html  # CSP: scripts come from files only


def test_zone_display_shows_only_its_services(client, clerk_at):
    issue(client, "SB")
    issue(client, "BDC")
    call_next(clerk_at(1), 1)  # B001, 社会保险
    r = client.get("/display?services=BDC,YB&group=department&voice=0")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "B001" not in html
    queue = html.split('id="d-queue"')[1].split("</ul>")[0]
    assert "自然资源局" in queue and "医保局" in queue and "人社局" not in queue
    assert 'data-services="BDC,YB"' in html and 'data-voice="0"' in html
    assert "不动产登记、医疗保障" in html  # the zone's title


def test_named_zone_from_config(tmp_path, clock):
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "z.sqlite3"),
            "CLOCK": clock,
            "HALL": {"display": {"zones": {"东区": ["BDC"]}, "layout": "calls"}},
        }
    )
    c = app.test_client()
    html = c.get("/display?zone=东区").get_data(as_text=True)
    assert "东区" in html and 'data-services="BDC"' in html and "layout-calls" in html
    assert c.get("/display?zone=西区").status_code == 400
    app.extensions["hall"].store.close()


@pytest.mark.parametrize(
    "query",
    [
        "?services=NOPE",
        "?layout=big",
        "?group=x",
        "?voice=maybe",
        "?services=" + "B" * 300,
    ],
)
def test_bad_display_options_are_400_in_chinese(client, query):
    r = client.get("/display" + query)
    assert r.status_code == 400
    assert "参数" in r.get_data(as_text=True) or "未知" in r.get_data(as_text=True)


def test_layouts_render(client, clerk_at):
    issue(client, "CRJ")
    call_next(clerk_at(4), 4)
    windows = client.get("/display?layout=windows").get_data(as_text=True)
    assert 'id="d-windows"' in windows and "4号出入境窗口" in windows and "J001" in windows
    assert "窗口已关闭" in windows  # windows 1-3 are closed
    calls = client.get("/display?layout=calls").get_data(as_text=True)
    assert 'id="d-queue"' not in calls and "J001" in calls


def test_window_display_states(client, clerk_at):
    page = client.get("/display/window/2").get_data(as_text=True)
    assert "窗口已关闭" in page and "2号不动产窗口" in page
    clerk = clerk_at(2)
    assert "欢迎光临" in client.get("/display/window/2").get_data(as_text=True)
    issue(client, "BDC")
    t = call_next(clerk, 2)
    page = client.get("/display/window/2").get_data(as_text=True)
    assert "A001" in page and "到本窗口办理" in page
    clerk.post(f"/api/tickets/{t['id']}/start")
    assert "正在办理" in client.get("/display/window/2").get_data(as_text=True)
    clerk.post(f"/api/tickets/{t['id']}/finish")
    clerk.post("/api/windows/2/pause", json={"reason": "系统维护"})
    page = client.get("/display/window/2").get_data(as_text=True)
    assert "暂停服务" in page and "系统维护" in page
    assert client.get("/display/window/99").status_code == 404
    assert client.get("/display/window/abc").status_code == 404
    assert client.get("/display/window/1?voice=x").status_code == 400


def test_config_checks():
    from display import check_config
    from hall import config

    def cfg(**display):
        return config.load(TEST_CONFIG, {"display": display})

    check_config(cfg())
    for bad in (
        {"recent_calls": 0},
        {"recent_calls": 11},
        {"layout": "x"},
        {"group_by": "x"},
        {"zones": {"a": ["NOPE"]}},
        {"zones": {"a": []}},
        {"highlight_seconds": -1},
    ):
        with pytest.raises(ConfigError):
            check_config(cfg(**bad))


# --- privacy ----------------------------------------------------------------------------
def test_no_person_or_token_on_any_display(app, client, make_user, display_client):
    """Create tickets, call them at windows signed in by named clerks, pause one: the
    pages and everything the /display namespace sends name no person and no token."""
    make_user("wangfang", "clerk", display_name="王芳", staff_no="C0301")
    make_user("zhaolei", "clerk", display_name="赵磊", staff_no="C0302")
    d = display_client()
    sessions = {}
    for window, user in ((1, "wangfang"), (2, "zhaolei")):
        c = app.test_client()
        r = c.post("/api/login", json={"username": user, "password": PASSWORD})
        csrf = r.get_json()["csrf_token"]
        sessions[window] = (c, {"X-CSRF-Token": csrf})
        assert (
            c.post(f"/api/windows/{window}/open", headers={"X-CSRF-Token": csrf}).status_code == 200
        )
    tokens = [issue(client, s)["token"] for s in ("SB", "BDC", "SB", "BDC")]
    for window in (1, 2):
        c, h = sessions[window]
        t = c.post(f"/api/windows/{window}/call-next", headers=h).get_json()["ticket"]
        c.post(f"/api/tickets/{t['id']}/recall", headers=h)
    c, h = sessions[2]
    c.post("/api/windows/2/pause", json={"reason": "临时离开"}, headers=h)
    later = display_client()
    payloads = events(d) + events(later)
    payloads.append(("ack", d.emit("snapshot", {}, namespace="/display", callback=True)))
    assert {n for n, _ in payloads} >= {"snapshot", "called", "window", "queue", "ack"}
    pages = [
        client.get(u).get_data(as_text=True)
        for u in (
            "/display",
            "/display?layout=windows",
            "/display?layout=calls",
            "/display/window/1",
            "/display/window/2",
        )
    ]
    text = json.dumps(payloads, ensure_ascii=False) + "".join(pages)
    for secret in ["wangfang", "zhaolei", "王芳", "赵磊", "C0301", "C0302", *tokens]:
        assert secret not in text, secret
    assert '"clerk"' not in text and '"actor"' not in text


# --- voice ------------------------------------------------------------------------------
def test_call_audio_url_serves_a_real_wav(client, clerk_at, display_client):
    """请A001号到3号窗口办理: the audio URL a display gets is a valid WAV over a second long."""
    issue(client, "BDC")
    clerk = clerk_at(3)  # window 3 serves BDC as a secondary
    d = display_client()
    events(d)
    call_next(clerk, 3)
    (called,) = events(d, "called")
    assert called["number"] == "A001" and called["window"] == 3
    r = client.get(called["audio"])
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    with wave.open(io.BytesIO(r.data)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        assert w.getnframes() / w.getframerate() > 1.0


def test_without_espeak_the_display_works_and_the_log_says_why_once(tmp_path, clock, caplog):
    caplog.set_level(logging.WARNING)
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "v.sqlite3"),
            "CLOCK": clock,
            # no voice pack either: a pack's recordings would speak without espeak-ng
            "HALL": {"voice": {"espeak": "/nonexistent/espeak-ng", "pack": "none"}},
        }
    )
    c = app.test_client()
    assert c.post("/api/tickets", json={"service": "BDC"}).status_code == 201
    hall = app.extensions["hall"]
    assert hall.voice is None
    from hall.auth import create_user
    from hall.snapshots import public_snapshot

    create_user(hall.store, "clerk2", PASSWORD, "clerk")
    csrf = c.post("/api/login", json={"username": "clerk2", "password": PASSWORD}).get_json()[
        "csrf_token"
    ]
    c.post("/api/windows/2/open", headers={"X-CSRF-Token": csrf})
    c.post("/api/windows/2/call-next", headers={"X-CSRF-Token": csrf})
    assert public_snapshot(hall)["calls"][0]["audio"] is None
    assert c.get("/display").status_code == 200
    assert c.get("/audio/call/A001/2.wav").status_code == 404
    why = [r for r in caplog.records if "voice announcements disabled" in r.getMessage()]
    assert len(why) == 1 and "not found" in why[0].getMessage()
    hall.store.close()
