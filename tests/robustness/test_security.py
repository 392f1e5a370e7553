"""Security: login throttling, sessions, cookies, CSP on every page, no inline scripts,
escaping of every user-supplied text on every page that shows it, no path traversal,
role escalation refused (driven by the OpenAPI `x-roles`), tokens never in logs.

The session basics (401/403, CSRF on every write, logout, a new cookie at login, the
per-user lockout) are in tests/test_auth.py; these extend them.
"""

from __future__ import annotations

import http.client
import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
import requests

from hall.auth import create_user

from ..conftest import PASSWORD, TEST_CONFIG, LiveServer, pair_pad
from .conftest import PARAM_RE, login, op_id, operations, rows


# --- login throttling -----------------------------------------------------------------
def post_login(app, username, password, address):
    c = app.test_client()
    return c.post(
        "/api/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_login_throttled_per_user_across_addresses(app, hall, clock):
    # Many addresses failing on one account slow down addresses that never signed in to
    # it (tests/ops/test_login_throttle.py); here the ceiling is set to the old limit.
    hall.cfg.security["login_account_ceiling"] = 5
    create_user(hall.store, "victim", PASSWORD, "clerk")
    for i in range(5):  # login_max_failures = 5, from five different machines
        assert post_login(app, "victim", f"guess-{i}", f"10.0.0.{i}").status_code == 401
    r = post_login(app, "victim", PASSWORD, "10.0.0.99")  # the right password, a fresh address
    assert r.status_code == 429 and "error" in r.get_json()
    # other users are not affected
    create_user(hall.store, "bystander", PASSWORD, "clerk")
    assert post_login(app, "bystander", PASSWORD, "10.0.0.1").status_code == 200
    clock.advance(301)  # login_lockout_seconds = 300
    assert post_login(app, "victim", PASSWORD, "10.0.0.99").status_code == 200


def test_login_throttled_per_address_across_users(app, hall, clock):
    """One machine spraying many usernames is stopped (4 × the per-user limit)."""
    create_user(hall.store, "alice", PASSWORD, "clerk")
    for i in range(20):
        assert post_login(app, f"user{i}", "password1", "10.9.9.9").status_code == 401
    assert post_login(app, "alice", PASSWORD, "10.9.9.9").status_code == 429
    assert post_login(app, "alice", PASSWORD, "10.9.9.10").status_code == 200
    clock.advance(301)
    assert post_login(app, "alice", PASSWORD, "10.9.9.9").status_code == 200


def test_throttled_login_does_not_reveal_the_password_was_right(app, hall):
    create_user(hall.store, "bob", PASSWORD, "clerk")
    for _ in range(5):
        post_login(app, "bob", "wrong-password", "10.1.1.1")
    right = post_login(app, "bob", PASSWORD, "10.1.1.1")
    wrong = post_login(app, "bob", "still-wrong", "10.1.1.1")
    assert right.status_code == wrong.status_code == 429
    assert right.get_json() == wrong.get_json()


# --- sessions and cookies -------------------------------------------------------------
def sids(hall, username):
    db = hall.store.db()
    return {
        r["sid"]
        for r in db.query(
            "SELECT s.sid FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = ?",
            [username],
        )
    }


def test_planted_session_cookie_is_worthless(app, hall):
    """Session fixation: a cookie set before login is replaced, not promoted."""
    create_user(hall.store, "carol", PASSWORD, "clerk")
    victim = app.test_client()
    victim.get("/api/me")
    victim.set_cookie("hall_session", "attacker-chosen-value")
    r = victim.post("/api/login", json={"username": "carol", "password": PASSWORD})
    assert r.status_code == 200
    assert victim.get_cookie("hall_session").value != "attacker-chosen-value"
    attacker = app.test_client()
    attacker.set_cookie("hall_session", "attacker-chosen-value")
    assert attacker.get("/api/me").status_code == 401


def test_server_side_session_id_renewed_and_dead_after_logout(app, hall):
    create_user(hall.store, "dave", PASSWORD, "clerk")
    c = app.test_client()
    first = c.post("/api/login", json={"username": "dave", "password": PASSWORD}).get_json()
    sid1 = sids(hall, "dave")
    second = c.post("/api/login", json={"username": "dave", "password": PASSWORD}).get_json()
    sid2 = sids(hall, "dave") - sid1
    assert len(sid1) == 1 and len(sid2) == 1  # a new id, never the old one reused
    assert first["csrf_token"] != second["csrf_token"]
    old_cookie = c.get_cookie("hall_session").value
    assert c.post("/api/logout", headers={"X-CSRF-Token": second["csrf_token"]}).status_code == 200
    assert sid2.isdisjoint(sids(hall, "dave"))  # gone from the server, not just the browser
    replay = app.test_client()
    replay.set_cookie("hall_session", old_cookie)
    assert replay.get("/api/me").status_code == 401
    assert (
        replay.post(
            "/api/windows/1/open", headers={"X-CSRF-Token": second["csrf_token"]}
        ).status_code
        == 401
    )


def test_session_expires_and_lockout_or_password_change_ends_sessions(app, hall, clock):
    admin = login(app, "sec_root", "admin")
    eve = login(app, "eve", "clerk")
    assert eve.get("/api/me").status_code == 200
    assert (
        admin.patch("/api/admin/users/eve", json={"password": "a-new-password-1"}).status_code
        == 200
    )
    assert eve.get("/api/me").status_code == 401  # re-keyed: must log in again
    eve = app.test_client()
    eve.post("/api/login", json={"username": "eve", "password": "a-new-password-1"})
    assert eve.get("/api/me").status_code == 200
    assert admin.patch("/api/admin/users/eve", json={"active": False}).status_code == 200
    assert eve.get("/api/me").status_code == 401
    clock.advance(hours=hall.cfg.security["session_hours"] + 1)
    assert admin.get("/api/me").status_code == 401  # expired


def test_session_cookie_flags(app, hall):
    create_user(hall.store, "frank", PASSWORD, "clerk")
    r = app.test_client().post("/api/login", json={"username": "frank", "password": PASSWORD})
    cookies = [v for k, v in r.headers.items() if k.lower() == "set-cookie"]
    session = [c for c in cookies if c.startswith("hall_session=")]
    assert len(session) == 1
    flags = {f.strip().split("=")[0].lower(): f.strip() for f in session[0].split(";")[1:]}
    assert "httponly" in flags
    assert flags.get("samesite", "").lower() in ("samesite=lax", "samesite=strict")
    assert flags.get("path") == "Path=/"
    # nothing else is set as a cookie anywhere a citizen goes
    for url in ("/kiosk", "/display", "/book", "/api/services"):
        assert "set-cookie" not in {k.lower() for k in app.test_client().get(url).headers.keys()}


# --- every page: CSP, no inline script ------------------------------------------------
class PageScan(HTMLParser):
    """Inline scripts and inline event handlers: what a `script-src 'self'` CSP blocks."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not attrs.get("src"):
                self.problems.append("a <script> without src")
            elif re.match(r"(https?:)?//", attrs["src"]):
                self.problems.append(f"a script from elsewhere: {attrs['src']}")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"inline handler {name}= on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
            if (
                name in ("href", "src")
                and re.match(r"(https?:)?//", value or "")
                and tag in ("link", "img", "audio", "iframe")
            ):
                self.problems.append(f"<{tag} {name}> loads from elsewhere: {value}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline script text")


def csp_problems(header: str | None) -> list[str]:
    if not header:
        return ["no Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    problems = []
    if directives.get("default-src") != ["'self'"]:
        problems.append(f"default-src is {directives.get('default-src')}")
    script = directives.get("script-src", directives.get("default-src", []))
    for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        if bad in script:
            problems.append(f"script-src allows {bad}")
    # only the hall's own origin: no host, scheme or wildcard sources anywhere
    for name, sources in directives.items():
        for src in sources:
            if src in ("'self'", "'none'"):
                continue
            if name == "style-src" and src == "'unsafe-inline'":
                continue  # style= attributes are allowed by the hall's rules
            if name == "img-src" and src == "data:":
                continue
            problems.append(f"{name} allows {src}")
    for name in ("frame-ancestors", "base-uri"):
        if directives.get(name) != ["'none'"]:
            problems.append(f"{name} is {directives.get(name)}")
    return problems


def check_page(r, where: str) -> None:
    assert r.status_code < 500, f"{where}: {r.status_code}"
    problems = csp_problems(r.headers.get("Content-Security-Policy"))
    if r.mimetype == "text/html":
        scan = PageScan()
        scan.feed(r.get_data(as_text=True))
        problems += scan.problems
    assert not problems, f"{where}: {problems}"
    assert r.headers.get("X-Content-Type-Options") == "nosniff", where


# --- a hall full of hostile text ------------------------------------------------------
def P(tag: str) -> str:
    """A payload that breaks out of an attribute and runs if printed raw (30 chars)."""
    return f"\"><script>alert('{tag}')</script>"


RAW_MARKERS = ("<script>alert(", "<svg onload=", "<img src=x onerror")
NAME = "<svg onload=an()>"  # appointment names are at most 20 characters


@pytest.fixture
def hostile(app, hall, clock):
    """Every user-supplied text that a page shows, set to a payload through the API."""
    admin = login(app, "sec_admin", "admin")
    boss = login(app, "sec_boss", "supervisor")
    kiosk = app.test_client()
    ok = (200, 201)
    # Rating reasons come from the config (ratings.reasons): a hostile one is set there.
    hall.cfg.ratings["reasons"] = [*hall.cfg.ratings["reasons"], P("rs")]

    def must(r):
        assert r.status_code in ok, r.get_json()
        return r.get_json()

    clerk1 = login(app, "sec_clerk1", "clerk")
    clerk2 = login(app, "sec_clerk2", "clerk")
    clerk3 = login(app, "sec_clerk3", "clerk")
    must(
        admin.patch(
            "/api/admin/users/sec_clerk1", json={"display_name": P("dn"), "staff_no": P("sn")}
        )
    )
    must(admin.patch("/api/admin/users/sec_clerk3", json={"display_name": P("d3")}))
    must(admin.patch("/api/admin/services/SB", json={"name": P("sv"), "department": P("dp")}))
    must(admin.patch("/api/admin/services/BDC", json={"matters": [P("mt"), "首次登记"]}))
    must(admin.patch("/api/admin/windows/1", json={"name": P("wn")}))
    must(
        admin.post(
            "/api/admin/users",
            json={
                "username": "sec_new",
                "password": PASSWORD,
                "role": "clerk",
                "display_name": P("nu"),
            },
        )
    )

    tickets = [
        must(kiosk.post("/api/tickets", json={"service": s}))
        for s in ("SB", "SB", "SB", "BDC", "BDC")
    ]
    prio = must(
        boss.post(
            "/api/tickets", json={"service": "YB", "priority": True, "priority_reason": P("pr")}
        )
    )

    must(clerk1.post("/api/windows/1/open"))
    called = must(clerk1.post("/api/windows/1/call-next"))["ticket"]
    assert called["id"] == prio["id"]  # priority first
    must(clerk1.post(f"/api/tickets/{prio['id']}/transfer", json={"window": 3, "note": P("tn")}))
    must(clerk3.post("/api/windows/3/open"))
    assert must(clerk3.post("/api/windows/3/call-next"))["ticket"]["id"] == prio["id"]

    first = must(clerk1.post("/api/windows/1/call-next"))["ticket"]
    must(clerk1.post(f"/api/tickets/{first['id']}/finish"))
    token = next(t["token"] for t in tickets if t["id"] == first["id"])
    must(
        kiosk.post(
            f"/api/tickets/{token}/rating",
            json={"score": 1, "reasons": [P("rs")], "comment": P("cm")},
        )
    )
    second = must(clerk1.post("/api/windows/1/call-next"))["ticket"]
    must(clerk1.post(f"/api/tickets/{second['id']}/finish"))
    pad = pair_pad(app, 1)
    reason = pad.get("/api/pad/1").get_json()["reasons"][0]
    must(pad.post("/api/pad/1/rating", json={"score": 2, "reasons": [reason], "comment": P("pc")}))
    rating_id = hall.store.db().execute("SELECT MIN(id) FROM ratings").fetchone()[0]
    must(
        boss.post(
            f"/api/ratings/{rating_id}/follow-up", json={"action": "callback", "note": P("fu")}
        )
    )
    must(clerk1.post("/api/windows/1/call-next"))  # the third SB ticket stays at window 1

    must(clerk2.post("/api/windows/2/open"))
    must(clerk2.post("/api/windows/2/pause", json={"reason": P("pz")}))
    bdc = tickets[4]
    must(boss.post(f"/api/tickets/{bdc['id']}/cancel", json={"reason": P("cr")}))

    day = kiosk.get("/api/appointments/days").get_json()[0]
    slot = kiosk.get(f"/api/appointments/slots?service=YB&date={day}").get_json()[0]["slot"]
    booking = must(
        kiosk.post(
            "/api/appointments",
            json={"service": "YB", "date": day, "slot": slot, "name": NAME, "phone": "13800138000"},
        )
    )
    return {
        "clients": {
            "anon": kiosk,
            "admin": admin,
            "boss": boss,
            "clerk1": clerk1,
            "clerk3": clerk3,
        },
        "token": tickets[2]["token"],
        "done_token": token,
        "code": booking["code"],
        "numbers": [first["number"], prio["number"], bdc["number"]],
    }


def page_urls(app, world) -> list[str]:
    """Every GET page of every face (not the API, not static files), with sample values."""
    values = {
        "kiosk_id": "K1",
        "number": "1",
        "token": world["token"],
        "code": world["code"],
    }
    urls = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/audio/")) or rule.endpoint.endswith("static"):
            continue
        if "GET" not in rule.methods:
            continue
        urls.add(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule))
    return sorted(urls)


EXTRA_PAGES = [
    "/kiosk/K1?service=BDC",  # the sub-matters
    "/display/window/2",  # the paused window
    "/display/window/3",
    "/counter/pad/1",
    "/supervisor/ratings?tab=all",
    "/supervisor/ratings?tab=done",
    "/supervisor/figures?from=2026-11-30&to=2026-11-30",
]


def render_everything(app, world) -> dict[str, str]:
    """url (as role) -> HTML, for every page as every kind of visitor."""
    pages = {}
    numbers = world["numbers"]
    extra = [*EXTRA_PAGES, f"/t/{world['done_token']}", f"/book/{world['code']}"]
    extra += [f"/supervisor/audit?ticket={n}" for n in numbers]
    extra += ["/supervisor/audit?user=sec_clerk1", "/supervisor/audit?user=sec_admin"]
    for role, c in world["clients"].items():
        for url in page_urls(app, world) + extra:
            r = c.get(url)
            check_page(r, f"GET {url} as {role}")
            pages[f"GET {url} as {role}"] = r.get_data(as_text=True)
    kiosk = world["clients"]["anon"]
    for url, form in (
        ("/kiosk/K1", {"service": "SB"}),  # the ticket screen
        ("/kiosk/K1", {"service": "BDC", "matter": P("km")}),
        (
            "/book",
            {"service": "YB", "date": "2026-12-01", "slot": "09:00", "name": NAME, "phone": "123"},
        ),
        ("/kiosk/checkin", {"code": P("ci")}),
    ):
        r = kiosk.post(url, data=form)
        check_page(r, f"POST {url}")
        pages[f"POST {url} {form}"] = r.get_data(as_text=True)
    return pages


# where each payload must show up (escaped) at least once: proof it was really rendered
SHOWN = {
    "sv": "service name (admin)",
    "dp": "department (admin)",
    "mt": "sub-matter (admin)",
    "wn": "window name (admin)",
    "dn": "user display name (admin)",
    "sn": "staff number (admin)",
    "nu": "new user's display name (admin)",
    "pz": "pause reason",
    "tn": "transfer note",
    "cm": "rating comment (QR)",
    "rs": "rating reason (QR)",
    "pc": "rating comment (pad)",
    "fu": "follow-up note",
    "pr": "priority reason (guide desk)",
    "cr": "cancel reason (audit)",
    "d3": "another clerk's display name",
}


def test_pages_csp_inline_scripts_and_escaping(app, hostile):
    pages = render_everything(app, hostile)
    everything = "\n".join(pages.values())
    for where, html in pages.items():
        for marker in RAW_MARKERS:
            assert marker not in html, f"{where}: unescaped {marker!r}"
    missing = [
        f"{tag} ({what})"
        for tag, what in SHOWN.items()
        if f"alert(&#39;{tag}&#39;)" not in everything
    ]
    assert not missing, f"payloads never rendered on any page: {missing}"
    # the appointment name, echoed back into the booking form after an error
    assert "&lt;svg onload=an()&gt;" in everything


def test_reflected_query_parameters_are_escaped(app, hostile):
    """Every page with every query parameter the faces read, set to a payload."""
    names = ("from", "to", "date", "service", "user", "ticket", "action", "next", "kiosk",
             "code", "tab", "sort", "status", "services", "window", "q", "new", "cancelled")  # fmt: skip
    query = urlencode({n: P("rf") for n in names})
    for role in ("anon", "admin", "clerk1"):
        c = hostile["clients"][role]
        for url in page_urls(app, hostile):
            r = c.get(f"{url}?{query}")
            check_page(r, f"GET {url}?... as {role}")
            html = r.get_data(as_text=True)
            for marker in RAW_MARKERS:
                assert marker not in html, f"{url} as {role}: reflected {marker!r}"


def test_api_errors_and_json_are_not_html(app, hostile):
    """JSON answers carry the payloads as data, with a JSON content type and nosniff,
    so a browser never renders them as a page."""
    admin = hostile["clients"]["admin"]
    for url in ("/api/services", "/api/windows", "/api/ratings", "/api/supervisor/board"):
        r = admin.get(url)
        assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
        check_page(r, url)
    r = admin.get("/api/tickets/" + P("nf"))
    assert r.status_code == 404 and r.mimetype == "application/json"


# --- path traversal -------------------------------------------------------------------
TRAVERSALS = [
    "/audio/call/..%2F..%2F..%2Fetc%2Fpasswd/1.wav",
    "/audio/call/../../hall/app.py/1.wav",
    "/audio/call/A001/..%2F..%2Fsecret_key.wav",
    "/audio/call/A001%2F..%2F..%2Fapp.py/1.wav",
    "/static/../hall/app.py",
    "/static/..%2Fapp.py",
    "/static/..%2F..%2Fconfig.toml",
    "/static/%2e%2e/%2e%2e/config.toml",
    "/static/vendor/..%2F..%2F..%2Fhall%2Fapp.py",
    "/kiosk/static/..%2F..%2Fhall%2Fapp.py",
    "/display/static/..%2F__init__.py",
    "/counter/static/../pages.py",
    "/supervisor/static/%2e%2e%2fapi.py",
    "/appointments/static/..%2F..%2Fappointments%2Fapi.py",
    "/api/tickets/..%2F..%2F..%2Fetc%2Fpasswd/ticket.png",
    "/api/tickets/..%2Fsecret_key/qr.png",
    "/api/tickets/%2e%2e/qr.png",
    "/api/kiosk/book-qr/..%2F..%2Fconfig.png",
    "/api/appointments/..%2F..%2Fsecret_key/qr.png",
    "/display/window/..%2F..%2Fetc%2Fpasswd",
    "/display/window/-1",
    "/display/window/99999999999999999999999",
    "/t/..%2F..%2Fetc%2Fpasswd",
    "/book/..%2F..%2Fsecret_key",
]
LEAKS = ("root:x:0", "def create_app", "[[services]]", "import ", "SECRET", "BEGIN ")


def raw_get(server: LiveServer, path: str):
    """The path exactly as written: no client-side normalisation of ../ or %2e."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.fixture
def server(tmp_path):
    srv = LiveServer(tmp_path).start()
    yield srv
    srv.stop()


def test_no_path_traversal(server):
    secret = (
        (server.tmp / "secret_key").read_bytes().strip()
        if (server.tmp / "secret_key").exists()
        else b""
    )
    for path in TRAVERSALS:
        status, body = raw_get(server, path)
        assert status in (400, 403, 404), f"{path}: {status}"
        text = body.decode("utf-8", "replace")
        assert not any(leak in text for leak in LEAKS), f"{path} leaked a file"
        if secret:
            assert secret not in body
    # the real files are still served
    assert raw_get(server, "/static/hall.css")[0] == 200
    assert raw_get(server, "/display/window/1")[0] == 200


# --- role escalation ------------------------------------------------------------------
def sample_path(path: str) -> str:
    return PARAM_RE.sub("1", path)


def test_roles_from_the_description_hold(app, staff):
    """Every operation with x-roles: anonymous 401; a role not listed 403 (before any
    validation or lookup); the description's roles are the truth."""
    anon = app.test_client()
    users = {role: staff(f"esc_{role}", role) for role in ("clerk", "supervisor", "admin")}
    checked = 0
    for path, method, op in operations():
        roles = op.get("x-roles")
        if not roles:
            continue
        url = sample_path(path)
        r = anon.open(url, method=method.upper(), json={})
        assert r.status_code == 401, f"{op_id(path, method)} anonymous: {r.status_code}"
        for role, c in users.items():
            if role not in roles:
                r = c.client.open(
                    url, method=method.upper(), json={}, headers={"X-CSRF-Token": c.csrf}
                )
                assert r.status_code == 403, f"{op_id(path, method)} as {role}: {r.status_code}"
                checked += 1
    assert checked >= 20


def test_clerk_cannot_act_at_another_clerks_window(app, clerk_at, staff, client):
    a = clerk_at(1, "esc_a")
    b = staff("esc_b")
    client.post("/api/tickets", json={"service": "SB"})
    t = a.post("/api/windows/1/call-next").get_json()["ticket"]
    for url, body in (
        ("/api/windows/1/call-next", {}),
        ("/api/windows/1/pause", {"reason": "x"}),
        ("/api/windows/1/close", {}),
        ("/api/windows/1/close", {"force": True}),  # forced sign-out is a supervisor's
        (f"/api/tickets/{t['id']}/recall", {}),
        (f"/api/tickets/{t['id']}/start", {}),
        (f"/api/tickets/{t['id']}/finish", {}),
        (f"/api/tickets/{t['id']}/no-show", {}),
        (f"/api/tickets/{t['id']}/transfer", {"service": "YB"}),
        (f"/api/tickets/{t['id']}/cancel", {}),
    ):
        r = b.post(url, json=body)
        assert r.status_code == 403, f"{url}: {r.status_code} {r.get_json()}"
    assert a.get("/api/windows/1/state").get_json()["current"]["status"] == "called"
    # a clerk limited to some windows cannot open another
    limited = staff("esc_limited")
    app.extensions["hall"].store.db().execute(
        "UPDATE users SET windows = '[2]' WHERE username = 'esc_limited'"
    )
    assert limited.post("/api/windows/3/open").status_code == 403
    # nor make themselves admin
    r = b.post("/api/admin/users/esc_b", json={"role": "admin"})
    assert r.status_code == 403
    assert b.get("/api/me").get_json()["role"] == "clerk"
    # nor reach supervisor pages
    assert b.get("/supervisor/admin/users").status_code == 403


def test_kiosk_cannot_issue_priority_and_csrf_is_required(app, staff, client):
    r = client.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "老年人"}
    )
    assert r.status_code == 403
    boss = staff("esc_boss", "supervisor")
    r = boss.client.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "老年人"}
    )
    assert r.status_code == 403  # staff without X-CSRF-Token
    assert client.get("/api/tickets").status_code == 401


def test_anonymous_pad_cannot_rate_another_windows_ticket(app, clerk_at, client, hall):
    c1 = clerk_at(1, "pad_c1")
    clerk_at(3, "pad_c3")
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    assert c1.post("/api/windows/1/call-next").get_json()["ticket"]["id"] == t["id"]
    assert c1.post(f"/api/tickets/{t['id']}/finish").status_code == 200
    pads = {n: pair_pad(app, n) for n in (1, 2, 3)}  # each window's paired pad
    for window, body in (
        (3, {"score": 1, "comment": "x", "ticket": t["id"]}),
        (3, {"score": 5}),
        (2, {"score": 5, "ticket": t["id"]}),
    ):
        r = pads[window].post(f"/api/pad/{window}/rating", json=body)
        assert r.status_code == 409, (window, r.status_code, r.get_json())
    assert hall.store.db().execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 0
    # a form post from another site cannot rate either (JSON only)
    r = pads[1].post("/api/pad/1/rating", data={"score": "1"})
    assert r.status_code == 400
    # the pad at its own window can
    assert pads[1].post("/api/pad/1/rating", json={"score": 5}).status_code == 201


# --- tokens never in logs -------------------------------------------------------------
def test_tokens_never_in_the_server_log(tmp_path):
    import socketio

    from ..conftest import free_port

    dead_printer = {"driver": "network", "host": "127.0.0.1", "port": free_port(), "timeout": 0.3}
    kiosks = [{"id": "K1", "name": "大厅取号机", "printer": dead_printer}]
    server = LiveServer(tmp_path, settings={"kiosks": kiosks}).start()
    try:
        url = server.url
        clerk = server.session("log_clerk", "clerk")
        assert clerk.post(url + "/api/windows/1/open").status_code == 200
        tokens, codes = [], []
        for body in (
            {"service": "SB", "kiosk": "K1"},
            {"service": "SB"},
            {"service": "YB", "print": True},
        ):
            r = requests.post(url + "/api/tickets", json=body, timeout=20)
            assert r.status_code == 201
            tokens.append(r.json()["token"])
        r = requests.post(url + "/kiosk/K1", data={"service": "SB"}, timeout=20)
        assert r.status_code == 200
        day = requests.get(url + "/api/appointments/days", timeout=5).json()[0]
        slot = requests.get(
            url + f"/api/appointments/slots?service=YB&date={day}", timeout=5
        ).json()[0]["slot"]
        r = requests.post(
            url + "/api/appointments",
            json={
                "service": "YB",
                "date": day,
                "slot": slot,
                "name": "张三",
                "phone": "13800138000",
            },
            timeout=5,
        )
        codes.append(r.json()["code"])
        for token in tokens:
            for path in (
                f"/t/{token}",
                f"/api/tickets/{token}",
                f"/api/tickets/{token}/qr.png",
                f"/api/tickets/{token}/ticket.png",
            ):
                assert requests.get(url + path, timeout=10).status_code == 200
            # wrong and broken variants too (404 paths are where tokens tend to get logged)
            for path in (f"/t/{token}x", f"/api/tickets/{token}x", f"/api/tickets/{token}/rating"):
                requests.get(url + path, timeout=10)
            requests.post(url + f"/api/tickets/{token}/rating", json={"score": 9}, timeout=10)
            requests.post(url + f"/api/tickets/{token}/rating", data=b"{broken", timeout=10)
        # serve the first one and rate it from the phone
        t = clerk.post(url + "/api/windows/1/call-next").json()["ticket"]
        assert clerk.post(url + f"/api/tickets/{t['id']}/finish").status_code == 200
        done = next(
            tok
            for tok in tokens
            if requests.get(url + f"/api/tickets/{tok}", timeout=5).json()["status"] == "done"
        )
        assert (
            requests.post(
                url + f"/api/tickets/{done}/rating", json={"score": 1, "comment": "慢"}, timeout=5
            ).status_code
            == 201
        )
        # the phone page follows its ticket over Socket.IO
        phone = socketio.Client(reconnection=False)
        phone.connect(url, namespaces=["/ticket"], transports=["websocket"], wait_timeout=10)
        try:
            for token in tokens:
                phone.call("follow", {"token": token}, namespace="/ticket", timeout=10)
            phone.call("follow", {"token": tokens[0] + "zz"}, namespace="/ticket", timeout=10)
        finally:
            phone.disconnect()
        for code in codes:
            requests.get(url + f"/api/appointments/{code}", timeout=5)
            requests.get(url + f"/book/{code}", timeout=5)
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert "not printed" in log or "printer" in log.lower()  # the log is really being written
    issued = [r["token"] for r in rows(server.db_path, "SELECT token FROM tickets")]
    assert len(issued) == 4 and set(tokens) <= set(issued)  # the kiosk page's ticket too
    for token in issued:
        assert token not in log, "a ticket token is in the server log"
    for code in codes:
        assert code not in log, "a booking code is in the server log"


# --- in a real browser: live updates never inject markup, no CSP violation ------------
def Q(tag: str) -> str:
    """Markup that shows up as an element if a script inserts text as HTML (31 chars)."""
    return f"<img src=x onerror=alert('{tag}')>"


@pytest.mark.browser
def test_live_pages_in_chromium_never_inject_markup(tmp_path, browser):
    from hall.config import load

    reasons = [*load(TEST_CONFIG).ratings["reasons"], Q("rs")]  # config text, hostile too
    server = LiveServer(tmp_path, settings={"ratings": {"reasons": reasons}}).start()
    url = server.url
    try:
        admin = server.session("br_admin", "admin")
        clerk1 = server.session("br_clerk1", "clerk")
        clerk2 = server.session("br_clerk2", "clerk")
        assert admin.patch(url + "/api/admin/users/br_clerk1", json={"display_name": Q("dn")}).ok
        assert admin.patch(url + "/api/admin/services/SB", json={"name": Q("sv")}).ok
        assert admin.patch(url + "/api/admin/windows/1", json={"name": Q("wn")}).ok
        tickets = [
            requests.post(url + "/api/tickets", json={"service": s}, timeout=10).json()
            for s in ("SB", "SB", "BDC")
        ]
        assert (
            clerk1.post(url + "/api/windows/1/open").ok
            and clerk2.post(url + "/api/windows/2/open").ok
        )
        first = clerk1.post(url + "/api/windows/1/call-next").json()["ticket"]
        assert clerk1.post(url + f"/api/tickets/{first['id']}/finish").ok
        token = next(t["token"] for t in tickets if t["id"] == first["id"])
        assert requests.post(
            url + f"/api/tickets/{token}/rating",
            json={"score": 1, "comment": Q("cm"), "reasons": [Q("rs")]},
            timeout=5,
        ).ok

        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        r = context.request.post(
            url + "/api/login", data={"username": "br_clerk1", "password": PASSWORD}
        )
        assert r.ok
        boss = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        server.add_user("br_boss", "supervisor")
        assert boss.request.post(
            url + "/api/login", data={"username": "br_boss", "password": PASSWORD}
        ).ok
        problems: list[str] = []
        opened = []
        for ctx, path in (
            (context, "/display"),
            (context, "/display/window/1"),
            (context, "/display/window/2"),
            (context, "/kiosk/K1"),
            (context, f"/t/{tickets[1]['token']}"),
            (context, f"/t/{token}"),
            (context, "/counter"),
            (context, "/counter/guide"),
            (context, "/counter/pad/1"),
            (boss, "/supervisor"),
            (boss, "/supervisor/ratings"),
        ):
            page = ctx.new_page()
            page.on(
                "dialog",
                lambda d, p=path: (problems.append(f"{p}: dialog {d.message}"), d.dismiss()),
            )
            page.on(
                "console",
                lambda m, p=path: (
                    "Content Security Policy" in m.text and problems.append(f"{p}: {m.text[:200]}")
                ),
            )
            page.goto(url + path, wait_until="load")
            opened.append((path, page))
        # live traffic while the pages are open: every event carries hostile text
        assert clerk2.post(url + "/api/windows/2/pause", json={"reason": Q("pz")}).ok
        second = clerk1.post(url + "/api/windows/1/call-next").json()["ticket"]
        assert clerk1.post(url + f"/api/tickets/{second['id']}/recall").ok
        assert clerk1.post(
            url + f"/api/tickets/{second['id']}/transfer", json={"window": 2, "note": Q("tn")}
        ).ok
        assert admin.patch(url + "/api/admin/services/YB", json={"name": Q("s2")}).ok
        requests.post(url + "/api/tickets", json={"service": "YB"}, timeout=5)
        for _path, page in opened:
            page.wait_for_timeout(300)
        opened[0][1].wait_for_timeout(1500)  # displays debounce their re-reads
        shown = {}
        for path, page in opened:
            injected = page.evaluate(
                "document.querySelectorAll('img[src=\"x\"], img[onerror]').length"
            )
            if injected:
                problems.append(f"{path}: {injected} injected <img> element(s)")
            shown[path] = page.evaluate("document.body.innerText")
        # the hostile text is really on screen, as text (live updates included)
        expect = {
            "/display": [Q("sv")],
            "/display/window/2": [Q("pz")],
            "/counter": [Q("dn")],
            "/supervisor/ratings": [Q("cm")],
        }
        for path, needles in expect.items():
            for needle in needles:
                if needle not in shown[path]:
                    problems.append(f"{path}: {needle!r} not shown as text")
        context.close()
        boss.close()
        assert not problems, problems
    finally:
        server.stop()


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
