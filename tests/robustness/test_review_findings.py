"""The adversarial review's findings (issue 17), one test each: every one failed on the
code the review was made against and passes now."""

from __future__ import annotations

import http.server
import io
import socketserver
import threading
import time
from datetime import UTC
from functools import partial
from pathlib import Path

import pytest
import requests
import socketio as sio_client

from hall.realtime import socketio

from ..conftest import PASSWORD, LiveServer, free_port, save_screenshot


def wait_for(predicate, timeout=10.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


# --- 1. Socket.IO accepts only the hall's own origins ----------------------------------
EVIL_PAGE = """<!doctype html><meta charset="utf-8"><title>evil</title>
<script src="{hall}/static/vendor/socket.io.min.js"></script>
<script>
window.result = {{snapshot: false, error: null}};
const s = io("{hall}/supervisor", {{transports: ["websocket"], reconnection: false,
                                     withCredentials: true}});
s.on("snapshot", () => {{ window.result.snapshot = true; }});
s.on("connect_error", (e) => {{ window.result.error = String(e && e.message || e); }});
</script>"""


@pytest.fixture
def evil_site(tmp_path):
    """A page served from another origin on the same host (another port)."""
    root = tmp_path / "evil"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = socketserver.TCPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_page_of_another_origin_gets_no_supervisor_socket(live_server, browser, evil_site):
    root, evil = evil_site
    (root / "index.html").write_text(EVIL_PAGE.format(hall=live_server.url), encoding="utf-8")
    live_server.add_user("boss", "supervisor")
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        # The supervisor signs in on the hall's own page: the browser holds the cookie,
        # which it also sends to 127.0.0.1 from a page of another port (same site).
        page.goto(live_server.url + "/supervisor/login")
        r = page.request.post(
            live_server.url + "/api/login", data={"username": "boss", "password": PASSWORD}
        )
        assert r.status == 200
        page.goto(evil + "/index.html")
        page.wait_for_function("() => window.result && window.result.error !== null", timeout=10000)
        assert page.evaluate("window.result.snapshot") is False
        save_screenshot(page, "security-foreign-origin-refused")
        # The hall's own page, same browser, same cookie: admitted.
        page.goto(live_server.url + "/supervisor/login")
        own = page.evaluate(
            """() => new Promise((done) => {
                const s = io("/supervisor", {transports: ["websocket"], reconnection: false});
                s.on("snapshot", () => done("snapshot"));
                s.on("connect_error", (e) => done("error"));
            })"""
        )
        assert own == "snapshot"
    finally:
        context.close()


def test_a_client_sending_a_foreign_origin_is_refused(live_server):
    boss = live_server.session("boss2", "supervisor")
    cookie = f"hall_session={boss.cookies['hall_session']}"
    for origin, admitted in (("http://evil.example", False), (live_server.url, True)):
        # websocket-client sends the Origin a browser would (one header, the given one)
        client = sio_client.Client(reconnection=False, websocket_extra_options={"origin": origin})
        try:
            client.connect(
                live_server.url,
                namespaces=["/supervisor", "/counter"],
                transports=["websocket"],
                headers={"Cookie": cookie},
                wait_timeout=5,
            )
            connected = client.connected
        except sio_client.exceptions.ConnectionError:
            connected = False
        finally:
            client.disconnect()
        assert connected is admitted, origin


# --- 2. staff sockets end with their session -------------------------------------------
def _watch(live_server, session, namespace):
    client = sio_client.Client(reconnection=False)
    events: list[str] = []
    gone = threading.Event()
    client.on("event", lambda data: events.append(data["type"]), namespace=namespace)
    client.on("disconnect", lambda *a: gone.set(), namespace=namespace)
    client.connect(
        live_server.url,
        namespaces=[namespace],
        transports=["websocket"],
        headers={"Cookie": f"hall_session={session.cookies['hall_session']}"},
        wait_timeout=5,
    )
    return client, events, gone


def test_logout_closes_the_supervisors_socket_at_once(live_server):
    boss = live_server.session("boss", "supervisor")
    client, events, gone = _watch(live_server, boss, "/supervisor")
    try:
        requests.post(live_server.url + "/api/tickets", json={"service": "SB"})
        assert wait_for(lambda: "issued" in events)
        assert boss.post(live_server.url + "/api/logout").status_code == 200
        assert gone.wait(5), "the socket outlived the logout"
        events.clear()
        requests.post(live_server.url + "/api/tickets", json={"service": "SB"})
        time.sleep(0.5)  # nothing may arrive; give it the chance to
        assert events == []
    finally:
        client.disconnect()


def test_deactivation_closes_the_users_sockets(live_server):
    boss = live_server.session("boss", "supervisor")
    admin = live_server.session("root", "admin")
    client, events, gone = _watch(live_server, boss, "/supervisor")
    try:
        r = admin.post(live_server.url + "/api/admin/users/boss", json={"active": False})
        assert r.status_code == 200, r.text
        assert gone.wait(5), "the socket outlived the deactivation"
        assert boss.get(live_server.url + "/api/stats").status_code == 401
    finally:
        client.disconnect()


def test_role_change_and_expiry_close_sockets(app, hall, clock, make_user):
    make_user("boss", "supervisor")
    web = app.test_client()
    assert (
        web.post("/api/login", json={"username": "boss", "password": PASSWORD}).status_code == 200
    )
    sock = socketio.test_client(app, namespace="/supervisor", flask_test_client=web)
    assert sock.is_connected("/supervisor")
    # demoted: the supervisor socket closes; a new one is refused with the new role
    admin = app.test_client()
    make_user("root", "admin")
    r = admin.post("/api/login", json={"username": "root", "password": PASSWORD})
    csrf = {"X-CSRF-Token": r.get_json()["csrf_token"]}
    r = admin.post("/api/admin/users/boss", json={"role": "clerk"}, headers=csrf)
    assert r.status_code == 200, r.get_json()
    assert not sock.is_connected("/supervisor")
    again = socketio.test_client(app, namespace="/supervisor", flask_test_client=web)
    assert not again.is_connected("/supervisor")
    # a counter socket of the same (still valid) session stays until the session expires
    counter = socketio.test_client(app, namespace="/counter", flask_test_client=web)
    assert counter.is_connected("/counter")
    assert hall.broadcaster.reap_sessions() == 0
    clock.advance(hours=hall.cfg.security["session_hours"], minutes=1)
    assert hall.broadcaster.reap_sessions() == 1
    assert not counter.is_connected("/counter")


# --- 3. call audio cannot fill the disk -------------------------------------------------
def test_audio_only_for_calls_made_and_the_cache_is_bounded(tmp_path):
    server = LiveServer(tmp_path, settings={"voice": {"cache_files": 3}}).start()
    try:
        audio = Path(server.db_path).parent / "audio"

        def usage() -> int:
            return sum(f.stat().st_size for f in audio.glob("call-*.wav")) if audio.exists() else 0

        before = usage()
        for n in range(1, 21):  # numbers never issued, never called
            r = requests.get(f"{server.url}/audio/call/A{n:03d}/{n}.wav", timeout=10)
            assert r.status_code == 404
        r = requests.get(server.url + "/audio/call/A\u0661\u0662\u0663/1.wav", timeout=10)
        assert r.status_code == 404  # Arabic-Indic digits are not a ticket number
        assert usage() == before
        # real calls are spoken; the cache keeps at most voice.cache_files of them
        clerk = server.session("clerk1")
        assert clerk.post(server.url + "/api/windows/1/open").status_code == 200
        numbers = []
        for _ in range(5):
            requests.post(server.url + "/api/tickets", json={"service": "YB"})
            t = clerk.post(server.url + "/api/windows/1/call-next").json()["ticket"]
            numbers.append(t["number"])
            r = requests.get(f"{server.url}/audio/call/{t['number']}/1.wav", timeout=30)
            assert r.status_code == 200 and r.content[:4] == b"RIFF"
            assert clerk.post(f"{server.url}/api/tickets/{t['id']}/finish").status_code == 200
        assert wait_for(lambda: len(list(audio.glob("call-*.wav"))) <= 3)
    finally:
        server.stop()


# --- 4. one citizen cannot break the XLSX export ---------------------------------------
def test_export_survives_control_characters_in_stored_text(app, hall, clerk_at, client, staff):
    from openpyxl import load_workbook

    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    clerk = clerk_at(1)
    called = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == t["number"]
    clerk.post(f"/api/tickets/{called['id']}/finish")
    # stored as it came before input was cleaned: the export must still be written
    with hall.store.write() as db:
        db.execute(
            "INSERT INTO ratings (ticket_id, score, reasons, comment, channel, window, "
            "service, rated_at, status) VALUES (?, 5, '[]', ?, 'qr', 1, 'SB', ?, 'none')",
            [t["id"], "ok\u0001", hall.now_iso()],
        )
        db.execute("UPDATE services SET department = ? WHERE code = 'SB'", ["社保\x0e"])
    boss = staff("boss", "supervisor")
    r = boss.get("/api/export/report.xlsx?from=2026-11-30&to=2026-11-30")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data))
    text = "".join(
        str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value
    )
    assert "社保" in text and "\x0e" not in text


# --- 6. one anonymous client cannot drain a service's numbers ---------------------------
@pytest.fixture
def capped(tmp_path, clock):
    from hall import create_app

    from ..conftest import TEST_CONFIG

    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {"security": {"ticket_daily_cap_per_client": 8, "unusual_share": 0.5}},
            "DATABASE": str(tmp_path / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    yield app
    app.extensions["hall"].store.close()


def test_daily_cap_per_client_and_a_warning_to_supervisors(capped, clock):
    hall = capped.extensions["hall"]
    boss_web = capped.test_client()
    from hall.auth import create_user

    create_user(hall.store, "boss", PASSWORD, "supervisor")
    assert (
        boss_web.post("/api/login", json={"username": "boss", "password": PASSWORD}).status_code
        == 200
    )
    board = socketio.test_client(capped, namespace="/supervisor", flask_test_client=boss_web)
    board.get_received("/supervisor")
    drain = capped.test_client()
    other = capped.test_client()
    taken = []
    for _ in range(8):  # slowly, under any per-minute limit
        clock.advance(seconds=4)
        r = drain.post("/api/tickets", json={"service": "SB"})
        assert r.status_code == 201
        taken.append(r.get_json()["number"])
    r = drain.post("/api/tickets", json={"service": "SB"})
    assert r.status_code == 429 and "上限" in r.get_json()["error"]
    # another client is not affected
    assert (
        other.post(
            "/api/tickets", json={"service": "SB"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
        ).status_code
        == 201
    )
    warnings = [
        m["args"][0]
        for m in board.get_received("/supervisor")
        if m["name"] == "event" and m["args"][0]["type"] == "unusual_client"
    ]
    assert warnings and warnings[0]["service"] == "SB" and warnings[0]["issued"] == 5
    # the refused ticket left nothing behind
    n = hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    assert n == len(taken) + 1


# --- 7. public answers name no member of staff ------------------------------------------
def test_public_answers_carry_no_staff_login(app, client, clerk_at, staff):
    clerk = clerk_at(1)
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    called = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    clerk.post(f"/api/tickets/{called['id']}/finish")
    public = client.get("/api/windows").get_json()
    assert all("clerk" not in w for w in public)
    assert "clerk1" not in client.get("/api/windows").get_data(as_text=True)
    staff_view = staff("boss", "supervisor").get("/api/windows").get_json()
    assert next(w for w in staff_view if w["number"] == 1)["clerk"] == "clerk1"
    r = client.post(f"/api/tickets/{t['token']}/rating", json={"score": 5})
    assert r.status_code == 201 and "clerk1" not in r.get_data(as_text=True)


# --- 8. one rule for rating reasons -----------------------------------------------------
def test_qr_rating_reasons_follow_the_pads_rule(app, client, clerk_at):
    clerk = clerk_at(1)
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    called = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    clerk.post(f"/api/tickets/{called['id']}/finish")
    r = client.post(f"/api/tickets/{t['token']}/rating", json={"score": 1, "reasons": ["anything"]})
    assert r.status_code == 400 and "原因" in r.get_json()["error"]
    r = client.post(f"/api/tickets/{t['token']}/rating", json={"score": 1, "reasons": ["效率低"]})
    assert r.status_code == 201 and r.get_json()["reasons"] == ["效率低"]


# --- 9. a clerk hears only their own windows --------------------------------------------
def test_clerk_cannot_join_another_windows_room(app, make_user, client, clerk_at):
    make_user("five", "clerk", windows=[5])
    web = app.test_client()
    web.post("/api/login", json={"username": "five", "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/counter", flask_test_client=web)
    assert sock.emit("join", {"window": 1}, namespace="/counter", callback=True)["ok"] is False
    assert sock.emit("join", {"window": 5}, namespace="/counter", callback=True)["ok"] is True
    sock.get_received("/counter")
    clerk = clerk_at(1)
    client.post("/api/tickets", json={"service": "SB"})
    clerk.post("/api/windows/1/call-next")
    assert [m for m in sock.get_received("/counter") if m["name"] == "ticket"] == []


# --- 11. booking look-ups are limited; the cookie lives as long as the session ---------
def test_booking_code_guessing_is_limited(app, client, hall):
    limit = hall.cfg.appointments["lookup_rate_limit_per_minute"]
    codes = [f"{n:08d}".replace("0", "A").replace("1", "B") for n in range(limit + 1)]
    statuses = [client.get(f"/api/appointments/{c}").status_code for c in codes]
    assert statuses[:limit] == [404] * limit
    assert statuses[limit] == 429
    assert client.post(f"/api/appointments/{codes[0]}/cancel", json={}).status_code == 429


def test_session_cookie_lasts_as_long_as_the_session(app, make_user, hall):
    make_user("li")
    r = app.test_client().post("/api/login", json={"username": "li", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    expires = [p for p in cookie.split(";") if p.strip().lower().startswith("expires=")]
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    # Flask dates the cookie by the real clock, not the hall's test clock.
    delta = parsedate_to_datetime(expires[0].split("=", 1)[1]) - datetime.now(UTC)
    hours = hall.cfg.security["session_hours"]
    assert abs(delta.total_seconds() - hours * 3600) < 120  # not Flask's 31 days


# --- 5. no open redirect after the supervisor signs in ----------------------------------
@pytest.mark.parametrize("target", ["/%5Cevil.example", "/%5C%5Cevil.example/x", "//evil.example"])
def test_login_redirect_stays_on_the_hall(live_server, page, target):
    live_server.add_user("boss", "supervisor")
    page.goto(f"{live_server.url}/supervisor/login?next={target}")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.startswith(live_server.url + "/"), page.url
    assert "evil" not in page.url
