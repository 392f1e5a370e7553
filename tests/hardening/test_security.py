"""Security: throttling, sessions, cookies, CSP, escaping, traversal, roles, logs.

Live-server tests talk to `python -m hall serve` as a browser would (headers, cookies,
raw paths); the rest run in-process.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse

import pytest
import requests

from tests.conftest import PASSWORD, LiveServer


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One live server for the read-only checks (headers, traversal)."""
    server = LiveServer(tmp_path_factory.mktemp("shared")).start()
    yield server
    server.stop()


# --- login throttling ---------------------------------------------------------------


def test_login_throttled_after_repeated_failures_even_with_the_right_password(live_server):
    live_server.add_user("victim", "supervisor")
    url = live_server.url + "/api/login"
    for _ in range(5):  # security.login_max_failures in tests/hall_test.toml
        r = requests.post(url, json={"username": "victim", "password": "wrong-password"})
        assert r.status_code == 401
    r = requests.post(url, json={"username": "victim", "password": PASSWORD})
    assert r.status_code == 429 and "error" in r.json()
    assert "hall_session" not in r.cookies


def test_lockout_ends_after_the_lockout_time(app, client, make_user, clock):
    make_user("victim2", "clerk")
    for _ in range(5):
        client.post("/api/login", json={"username": "victim2", "password": "nope-nope"})
    ok = {"username": "victim2", "password": PASSWORD}
    assert client.post("/api/login", json=ok).status_code == 429
    clock.advance(seconds=301)  # security.login_lockout_seconds = 300
    assert client.post("/api/login", json=ok).status_code == 200


# --- sessions and cookies -----------------------------------------------------------
def _set_cookie(r) -> str:
    return r.headers.get("Set-Cookie", "")


def test_session_cookie_flags_renewal_and_logout(live_server):
    live_server.add_user("alice", "clerk")
    url = live_server.url
    creds = {"username": "alice", "password": PASSWORD}

    s = requests.Session()
    # A session id planted before login (session fixation) is not kept.
    s.cookies.set("hall_session", "planted-by-attacker", domain="127.0.0.1")
    r = s.post(url + "/api/login", json=creds)
    assert r.status_code == 200
    header = _set_cookie(r)
    assert "hall_session=" in header
    assert "HttpOnly" in header
    assert re.search(r"SameSite=(Lax|Strict)", header)
    assert "Path=/" in header
    first = s.cookies.get("hall_session")
    assert first and first != "planted-by-attacker"

    # Logging in again gives a new session id; both sessions are real, and different.
    s2 = requests.Session()
    second = s2.post(url + "/api/login", json=creds).cookies.get("hall_session")
    assert second and second != first
    assert s.get(url + "/api/me").status_code == 200

    # After logout the old cookie is worthless, even replayed by someone who copied it.
    csrf = s.get(url + "/api/me").json()["csrf_token"]
    assert s.post(url + "/api/logout", json={}, headers={"X-CSRF-Token": csrf}).ok
    thief = requests.Session()
    thief.cookies.set("hall_session", first, domain="127.0.0.1")
    assert thief.get(url + "/api/me").status_code == 401
    assert (
        thief.post(url + "/api/windows/1/open", json={}, headers={"X-CSRF-Token": csrf}).status_code
        == 401
    )
    assert s2.get(url + "/api/me").status_code == 200  # the other session lives on


def test_csrf_token_required_for_staff_writes(live_server):
    s = live_server.session("bob", "clerk")
    token = s.headers.pop("X-CSRF-Token")
    url = live_server.url + "/api/windows/1/open"
    assert s.post(url, json={}).status_code == 403
    assert s.post(url, json={}, headers={"X-CSRF-Token": "x" + token}).status_code == 403
    assert s.post(url, json={}, headers={"X-CSRF-Token": token}).status_code == 200


# --- headers ------------------------------------------------------------------------
SELF_ONLY = {"'self'", "'none'"}
EXTRA_ALLOWED = {"img-src": {"data:"}, "style-src": {"'unsafe-inline'"}}


def csp_directives(header: str) -> dict[str, set[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = set(words[1:])
    return out


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/display",
        "/kiosk",
        "/counter",
        "/supervisor/login",
        "/book",
        "/api/services",
        "/api/nothing-here",
        "/static/hall.css",
    ],
)
def test_content_security_policy_allows_only_the_hall_itself(shared_server, path):
    r = requests.get(shared_server.url + path, allow_redirects=False)
    assert r.status_code < 500
    csp = csp_directives(r.headers["Content-Security-Policy"])
    assert csp["default-src"] == {"'self'"}
    for name, sources in csp.items():
        allowed = SELF_ONLY | EXTRA_ALLOWED.get(name, set())
        assert sources <= allowed, f"{name} allows {sources - allowed}"
    assert "script-src" not in csp or csp["script-src"] <= SELF_ONLY  # no inline script
    assert csp.get("frame-ancestors") == {"'none'"}
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_browser_reaches_the_socket_over_websocket_under_the_policy(shared_server, page):
    """connect-src 'self' must still let the display's Socket.IO use a WebSocket."""
    sockets, violations = [], []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    page.goto(shared_server.url + "/display")
    page.wait_for_function("() => true")
    deadline = 50
    while deadline and not any("transport=websocket" in u for u in sockets):
        page.wait_for_timeout(100)
        deadline -= 1
    assert any("/socket.io/" in u and "transport=websocket" in u for u in sockets), sockets
    assert not violations, violations


# --- path traversal -----------------------------------------------------------------
TRAVERSALS = [
    "/static/../hall/app.py",
    "/static/%2e%2e/%2e%2e/config.toml",
    "/static/..%2f..%2fconfig.toml",
    "/static/..%5c..%5cconfig.toml",
    "/static/%252e%252e/%252e%252e/config.toml",
    "/static//etc/passwd",
    "/static/vendor/../../../hall/settings.py",
    "/display/static/..%2f..%2f..%2fhall%2fapp.py",
    "/kiosk/static/%2e%2e%2f%2e%2e%2fconfig.toml",
    "/audio/call/..%2f..%2f..%2fconfig/1.wav",
    "/audio/call/A001/..%2f..%2fsecret_key.wav",
    "/audio/call/%2e%2e/1.wav",
    "/audio/call/A001/1.wav/../../../secret_key",
    "/audio/..%2f..%2flive.sqlite3",
    "/audio/call/A001%00/1.wav",
]


def raw_get(base: str, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (no client-side normalisation of dots)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_traversal_through_static_or_audio(live_server, path):
    secret = live_server.tmp / "secret_key"
    status, body = raw_get(live_server.url, path)
    assert status in (400, 404, 405, 308), f"{path} -> {status}"
    for leak in (b"[hall]", b"create_app", b"SETTINGS", b"root:", b"SQLite format"):
        assert leak not in body, f"{path} leaked {leak!r}"
    if secret.exists():
        assert secret.read_bytes().strip() not in body


def test_static_and_audio_still_serve_what_they_should(shared_server):
    status, body = raw_get(shared_server.url, "/static/hall.css")
    assert status == 200 and body
    status, _ = raw_get(shared_server.url, "/audio/call/A001/1.wav")
    assert status in (200, 404)  # 404 when espeak-ng is missing; never a file outside


# --- role escalation ----------------------------------------------------------------
def test_role_escalation_refused(app, client, staff):
    clerk = staff("clerk9", "clerk")
    boss = staff("boss9", "supervisor")
    # A clerk may not manage users, services, windows, figures, exports, audit.
    new_admin = {"username": "evil", "password": "evil-password-1", "role": "admin"}
    for method, url, body in [
        ("post", "/api/admin/users", new_admin),
        ("patch", "/api/admin/users/clerk9", {"role": "admin"}),
        ("post", "/api/admin/users/clerk9", {"role": "admin"}),
        (
            "post",
            "/api/admin/services",
            {"code": "EVIL", "name": "x", "department": "x", "prefix": "Z"},
        ),
        ("patch", "/api/admin/windows/1", {"services": ["SB"]}),
        ("get", "/api/admin/users", None),
        ("get", "/api/stats", None),
        ("get", "/api/export/tickets.csv", None),
        ("get", "/api/audit", None),
        ("get", "/api/ratings", None),
        ("get", "/api/printers", None),
        ("get", "/api/supervisor/board", None),
    ]:
        r = getattr(clerk.client, method)(url, json=body, headers={"X-CSRF-Token": clerk.csrf})
        assert r.status_code == 403, f"clerk {method} {url} -> {r.status_code}"
    # A supervisor may not do what only an admin may.
    for method, url, body in [
        ("post", "/api/admin/users", new_admin),
        ("patch", "/api/admin/users/boss9", {"role": "admin"}),
        ("get", "/api/admin/users", None),
    ]:
        r = getattr(boss.client, method)(url, json=body, headers={"X-CSRF-Token": boss.csrf})
        assert r.status_code == 403, f"supervisor {method} {url} -> {r.status_code}"
    db = app.extensions["hall"].store.db()
    roles = {r["username"]: r["role"] for r in db.query("SELECT username, role FROM users")}
    assert "evil" not in roles and roles["clerk9"] == "clerk" and roles["boss9"] == "supervisor"

    # A kiosk (anonymous) may not issue priority (绿色通道) tickets.
    r = client.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "老年人"}
    )
    assert r.status_code == 403
    # Anonymous callers get 401 on staff endpoints.
    assert client.post("/api/windows/1/open", json={}).status_code == 401
    assert client.get("/api/tickets").status_code == 401
    # A clerk may not force another clerk out, nor act at another clerk's window.
    other = staff("clerk8", "clerk")
    assert other.post("/api/windows/1/open").status_code == 200
    assert clerk.post("/api/windows/1/close", json={"force": True}).status_code == 403
    assert clerk.post("/api/windows/1/call-next").status_code == 403
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    assert other.post("/api/windows/1/call-next").get_json()["ticket"]["id"] == t["id"]
    assert clerk.post(f"/api/tickets/{t['id']}/finish").status_code == 403
    assert clerk.post(f"/api/tickets/{t['id']}/transfer", json={"service": "YB"}).status_code == 403


# --- escaping of user-supplied text on every page ------------------------------------
PAYLOADS = {
    "service": "\"><script>alert('s1')</script>",
    "department": "<script>alert('d2')</script>",
    "window": "<script>alert('w3')</script>",
    "display_name": "<script>alert('u4')</script>",
    "priority_reason": "<script>alert('p5')</script>",
    "transfer_note": "<script>alert('t6')</script>",
    "comment": "\"><script>alert('c7')</script><img src=x onerror=alert(7)>",
    "follow_up": "<script>alert('f8')</script>",
    "cancel_reason": "<script>alert('r9')</script>",
    "booking_name": "<b>x</b><script>",
}
# Fields that some page must show (escaped); the others must at least never appear raw.
MUST_SHOW = ("service", "window", "display_name", "comment")


@pytest.fixture
def poisoned(app, staff, client):
    """A hall whose every user-editable text is an XSS attempt."""
    hall = app.extensions["hall"]
    admin = staff("root", "admin")
    r = admin.post(
        "/api/admin/services",
        json={
            "code": "XSS",
            "name": PAYLOADS["service"],
            "department": PAYLOADS["department"],
            "prefix": "X",
        },
    )
    assert r.status_code == 201, r.get_json()
    r = admin.post(
        "/api/admin/windows",
        json={"number": 9, "name": PAYLOADS["window"], "services": ["XSS", "SB"]},
    )
    assert r.status_code == 201, r.get_json()
    r = admin.post(
        "/api/admin/users",
        json={
            "username": "mallory",
            "password": PASSWORD,
            "role": "clerk",
            "display_name": PAYLOADS["display_name"],
        },
    )
    assert r.status_code == 201, r.get_json()
    clerk = staff("mallory", "clerk")
    assert clerk.post("/api/windows/9/open").status_code == 200
    t = admin.post(
        "/api/tickets",
        json={"service": "XSS", "priority": True, "priority_reason": PAYLOADS["priority_reason"]},
    )
    t = t.get_json()
    tok = client.post("/api/tickets", json={"service": "XSS"}).get_json()
    assert clerk.post("/api/windows/9/call-next").get_json()["ticket"]["id"] == t["id"]
    r = clerk.post(
        f"/api/tickets/{t['id']}/transfer",
        json={"service": "SB", "note": PAYLOADS["transfer_note"]},
    )
    assert r.status_code == 200
    called = clerk.post("/api/windows/9/call-next").get_json()["ticket"]
    assert clerk.post(f"/api/tickets/{called['id']}/finish").status_code == 200
    r = client.post(
        f"/api/tickets/{tok['token']}/rating",
        json={"score": 1, "reasons": ["态度不好"], "comment": PAYLOADS["comment"]},
    )
    if called["id"] != tok["id"]:
        assert clerk.post("/api/windows/9/call-next").status_code == 200
        assert clerk.post(f"/api/tickets/{tok['id']}/finish").status_code == 200
        r = client.post(
            f"/api/tickets/{tok['token']}/rating",
            json={"score": 1, "reasons": ["态度不好"], "comment": PAYLOADS["comment"]},
        )
    assert r.status_code == 201, r.get_json()
    boss = staff("boss", "supervisor")
    rating = boss.get("/api/ratings").get_json()[0]
    boss.post(
        f"/api/ratings/{rating['id']}/follow-up",
        json={"action": "callback", "note": PAYLOADS["follow_up"]},
    )
    other = client.post("/api/tickets", json={"service": "SB"}).get_json()
    admin.post(f"/api/tickets/{other['id']}/cancel", json={"reason": PAYLOADS["cancel_reason"]})
    r = client.post(
        "/api/appointments",
        json={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": PAYLOADS["booking_name"],
            "phone": "13800138000",
        },
    )
    booking = r.get_json().get("code") if r.status_code == 201 else None
    return {
        "admin": admin,
        "boss": boss,
        "clerk": clerk,
        "token": tok["token"],
        "booking": booking,
        "hall": hall,
    }


def pages(poisoned) -> list[tuple[str, object]]:
    anon_pages = [
        "/",
        "/display",
        "/display/window/9",
        "/kiosk",
        "/kiosk/K1",
        f"/t/{poisoned['token']}",
        "/book",
        "/kiosk/checkin",
        "/counter/pad/9",
    ]
    if poisoned["booking"]:
        anon_pages.append(f"/book/{poisoned['booking']}")
    clerk_pages = ["/counter", "/counter/guide"]
    boss_pages = [
        "/supervisor",
        "/supervisor/board/fragment",
        "/supervisor/figures",
        "/supervisor/figures/windows",
        "/supervisor/ranking",
        "/supervisor/ratings",
        "/supervisor/audit",
        "/supervisor/report",
    ]
    admin_pages = [
        "/supervisor/admin/services",
        "/supervisor/admin/windows",
        "/supervisor/admin/users",
    ]
    return (
        [(p, None) for p in anon_pages]
        + [(p, poisoned["clerk"]) for p in clerk_pages]
        + [(p, poisoned["boss"]) for p in boss_pages]
        + [(p, poisoned["admin"]) for p in admin_pages]
    )


def escaped_forms(payload: str) -> list[str]:
    """How a text looks once safely put in a page: HTML-escaped, or JSON for scripts
    (Jinja's tojson escapes < > & ' as \\u003c ...)."""
    from markupsafe import escape

    as_json = (
        json.dumps(payload, ensure_ascii=False)[1:-1]
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    return [str(escape(payload)), str(escape(payload)).replace("&#39;", "&#x27;"), as_json]


def test_user_text_is_escaped_on_every_page(client, poisoned):
    shown = {name: [] for name in PAYLOADS}
    for path, who in pages(poisoned):
        r = (who.client if who else client).get(path)
        assert r.status_code == 200, f"{path} -> {r.status_code}"
        html = r.get_data(as_text=True)
        assert "<script>alert(" not in html, f"raw script on {path}"
        assert "onerror=alert" not in html.replace("onerror=alert(7)&gt;", ""), path
        assert "<b>x</b>" not in html, f"raw markup on {path}"
        for name, payload in PAYLOADS.items():
            if any(form in html for form in escaped_forms(payload)):
                shown[name].append(path)
    missing = [name for name in MUST_SHOW if not shown[name]]
    assert not missing, f"never shown (escaped) on any page: {missing}"


# --- tokens never in logs -----------------------------------------------------------
def test_tokens_and_secrets_never_in_the_server_log(live_server):
    import socketio

    url = live_server.url
    clerk = live_server.session("logclerk", "clerk")
    csrf = clerk.headers["X-CSRF-Token"]
    session_id = clerk.cookies.get("hall_session")
    assert clerk.post(url + "/api/windows/1/open", json={}).ok
    tokens = []
    for service in ("SB", "YB", "SB"):
        tokens.append(
            requests.post(url + "/api/tickets", json={"service": service}).json()["token"]
        )
    for tok in tokens:  # the phone follows its ticket: page, API, images, Socket.IO
        requests.get(f"{url}/t/{tok}")
        requests.get(f"{url}/api/tickets/{tok}")
        requests.get(f"{url}/api/tickets/{tok}/qr.png")
        requests.post(
            f"{url}/api/tickets/{tok}/rating",
            data="{broken json",
            headers={"Content-Type": "application/json"},
        )
        requests.post(f"{url}/api/tickets/{tok}/rating", json={"score": 9})
        requests.get(f"{url}/api/tickets/{tok}x/ticket.png")
    sio = socketio.Client()
    sio.connect(url, namespaces=["/ticket"], transports=["websocket"])
    assert sio.call("follow", {"token": tokens[0]}, namespace="/ticket")["ok"]
    sio.disconnect()
    t = clerk.post(url + "/api/windows/1/call-next", json={}).json()["ticket"]
    clerk.post(f"{url}/api/tickets/{t['id']}/finish", json={})
    requests.post(
        f"{url}/api/tickets/{tokens[0]}/rating",
        json={"score": 1, "reasons": ["态度不好"], "comment": "太慢"},
    )
    requests.post(url + "/api/login", json={"username": "logclerk", "password": "wrong-pw-123"})
    live_server.stop()  # flush everything
    log = live_server.log_path.read_text(errors="replace")
    assert "hall serving on" in log  # this is the server's log
    for secret in [*tokens, csrf, session_id, PASSWORD, "wrong-pw-123"]:
        assert secret not in log, "a token or secret is in the server log"
    hall_db = live_server.db_path
    assert hall_db  # the tokens are in the database only


def test_pages_scripts_never_build_html_from_data():
    """Live data reaches the DOM as text (textContent), never as markup: no innerHTML,
    outerHTML, insertAdjacentHTML or document.write in the faces' scripts, except the
    supervisor board, which swaps in a fragment the server rendered (and escaped)."""
    from tests.conftest import ROOT

    allowed = {("supervisor/static/board.js", "live.innerHTML = html;")}
    found = []
    for path in sorted(ROOT.glob("*/static/**/*.js")):
        rel = path.relative_to(ROOT).as_posix()
        if "/vendor/" in rel:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", line):
                if (rel, line.strip()) not in allowed:
                    found.append(f"{rel}: {line.strip()}")
    assert not found, found
