"""One front end for every face: each page extends hall/templates/base.html and loads
hall/static/hall.js and hall.css; no face keeps its own api(), toast() or colours."""

from __future__ import annotations

import re

from tests.conftest import ROOT

FACES = ("kiosk", "display", "counter", "supervisor", "appointments", "citizen", "county")
FRAGMENTS = {"/supervisor/board/fragment"}  # a part of a page, swapped in by board.js
MARKER = '<meta name="hall-base" content="base.html">'


def sample_values(client, clerk_at) -> dict:
    """Real values for the URL parameters of the faces' pages."""
    ticket = client.post("/api/tickets", json={"service": "BDC"}).get_json()
    r = client.post(
        "/api/appointments",
        json={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "张三",
            "phone": "13812345678",
        },
    )
    assert r.status_code == 201, r.get_json()
    clerk_at(1)
    return {"kiosk_id": "K1", "number": "1", "token": ticket["token"], "code": r.get_json()["code"]}


def page_urls(app, values) -> list[str]:
    """Every GET page of every face (not the API, not static files, not the audio)."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/audio/", "/static/", "/healthz", "/socket.io")):
            continue
        if rule.endpoint.endswith("static") or "GET" not in rule.methods:
            continue
        if rule.rule in FRAGMENTS:
            continue
        urls.add(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule))
    return sorted(urls)


def assert_base(html: str, where: str) -> None:
    assert MARKER in html, f"{where}: does not extend base.html"
    assert '<html lang="zh-CN">' in html, where
    assert 'src="/static/hall.js"' in html, f"{where}: no hall.js"
    assert 'href="/static/hall.css"' in html, f"{where}: no hall.css"
    assert len(re.findall(r"<(html|head|body)[\s>]", html)) == 3, where
    assert "common.js" not in html, where
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts.index("/static/hall.js") == (
        1 if "/static/vendor/socket.io.min.js" in scripts else 0
    ), f"{where}: hall.js must come first (after the Socket.IO client): {scripts}"


def test_every_page_of_every_face_extends_the_base(app, client, staff, clerk_at):
    values = sample_values(client, clerk_at)
    urls = page_urls(app, values)
    assert {"/", "/kiosk", "/display", "/counter", "/supervisor", "/book"} <= set(urls)
    visitors = {
        "anon": client,
        "clerk": staff("clerk1"),  # signed in at window 1: the console
        "clerk2": staff("clerk2"),  # not signed in anywhere: the window chooser
        "admin": staff("fe_admin", "admin"),
    }
    extra = [
        "/kiosk/K1?service=GJJ",  # the sub-matters screen
        "/display?layout=windows&group=department",
        "/display?layout=nope",  # the 400 page
        "/display/window/99",  # the 404 page
        "/t/not-a-token",  # the phone's not-found page
        "/book/NOSUCHCODE",
        "/supervisor/ratings?tab=all",
    ]
    seen = 0
    for who, c in visitors.items():
        for url in urls + extra:
            r = c.get(url)
            if r.status_code in (301, 302, 303) or r.mimetype != "text/html":
                continue
            assert_base(r.get_data(as_text=True), f"GET {url} as {who} ({r.status_code})")
            seen += 1
    # the forms that answer with a page: the kiosk's ticket and the kiosk check-in
    for url, form in (("/kiosk/K1", {"service": "SB"}), ("/kiosk/checkin", {"code": "XX"})):
        r = client.post(url, data=form)
        assert r.mimetype == "text/html"
        assert_base(r.get_data(as_text=True), f"POST {url}")
    assert seen > 40


def test_pages_load_the_socket_client_only_where_they_use_it(
    app, client, staff, clerk_at, paired_pad
):
    values = sample_values(client, clerk_at)
    clerk, admin = staff("clerk1"), staff("fe_admin", "admin")
    pad = paired_pad(1)  # an unpaired device gets the pairing form (no socket)
    live = {
        (client, "/display"),
        (client, "/display/window/1"),
        (client, "/kiosk"),
        (client, f"/t/{values['token']}"),
        (clerk, "/counter"),
        (clerk, "/counter/guide"),
        (pad, "/counter/pad/1"),
        (admin, "/supervisor"),
    }
    still = {
        (client, "/"),
        (client, "/book"),
        (client, "/kiosk/checkin"),
        (client, "/counter"),
        (client, "/counter/pad/1"),
        (admin, "/supervisor/figures"),
        (admin, "/supervisor/admin/users"),
    }
    for c, url in live | still:
        html = c.get(url).get_data(as_text=True)
        assert ("/static/vendor/socket.io.min.js" in html) == ((c, url) in live), url


def face_scripts():
    for face in FACES:
        yield from sorted((ROOT / face / "static").glob("**/*.js"))


def test_no_face_has_its_own_api_or_toast():
    """api(), toast(), the CSRF header and the Socket.IO options live in hall.js only."""
    assert (ROOT / "hall/static/hall.js").exists()
    scripts = list(face_scripts())
    assert len(scripts) >= 10
    assert not [p for p in scripts if p.name == "common.js"]
    patterns = {
        "api()": r"function\s+api\s*\(|\bapi\s*[:=]\s*function",
        "toast()": r"function\s+toast\s*\(|\btoast\s*[:=]\s*function",
        "window.Hall": r"window\.Hall\s*=",
        "X-CSRF-Token": r"X-CSRF-Token",
        "csrf-token meta": r"csrf-token",
        "io(...)": r"\bio\s*\(",
        "fetch() of the API": r"fetch\(\s*[\"']/api/",
    }
    found = []
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        for what, pattern in patterns.items():
            if re.search(pattern, text):
                found.append(f"{path.relative_to(ROOT)}: {what}")
    assert not found, found


def test_one_palette_no_face_colours():
    """Colours are hall.css's variables; a face stylesheet has no hex colour of its own."""
    palette = (ROOT / "hall/static/hall.css").read_text(encoding="utf-8")
    names = set(re.findall(r"--([\w-]+):\s*#[0-9a-fA-F]{6}\b", palette))
    assert {"blue", "red", "green", "ink", "muted", "line", "bg", "white"} <= names
    sheets = [p for face in FACES for p in sorted((ROOT / face / "static").glob("*.css"))]
    assert len(sheets) == 10
    problems = []
    for path in sheets:
        text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        for colour in re.findall(r"#[0-9a-fA-F]{3,8}\b", text):
            problems.append(f"{path.relative_to(ROOT)}: {colour}")
        for name in re.findall(r"var\(--([\w-]+)\)", text):
            defined_here = re.search(rf"--{re.escape(name)}\s*:", text)
            if name not in names and not defined_here:
                problems.append(f"{path.relative_to(ROOT)}: var(--{name}) is not in the palette")
    assert not problems, problems


def test_templates_have_one_skeleton():
    """Only hall/templates/base.html writes <html>; face templates extend it (directly or
    through a face layout that only fills base.html's blocks)."""
    base = (ROOT / "hall/templates/base.html").read_text(encoding="utf-8")
    blocks = set(re.findall(r"{%\s*block\s+(\w+)", base))
    assert {"title", "head", "body_class", "header", "content", "scripts"} <= blocks
    templates = [
        p for face in (*FACES, "hall") for p in (ROOT / face / "templates").glob("**/*.html")
    ]
    problems = []
    for path in templates:
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel == "hall/templates/base.html":
            continue
        if re.search(r"<(html|head|body)[\s>]", text):
            problems.append(f"{rel}: a page skeleton of its own")
        for name in re.findall(r"{%\s*block\s+(\w+)", text):
            if name not in blocks:
                problems.append(f"{rel}: block {name} is not one of base.html's")
    assert not problems, problems
