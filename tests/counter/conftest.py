"""Fixtures for the counter face tests (local to tests/counter)."""

from __future__ import annotations

import sqlite3

import pytest

from ..conftest import PASSWORD, LiveServer


def issue(client, service="SB", **body):
    """A kiosk ticket (anonymous client) -> its JSON."""
    r = client.post("/api/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def state_of(client, window):
    r = client.get(f"/api/windows/{window}/state")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def rows(db_path: str, sql: str, params=()) -> list[dict]:
    """Read a live server's database directly (what was really stored)."""
    conn = sqlite3.connect(db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


@pytest.fixture
def kiosk(app):
    """An anonymous client, like the kiosk or a citizen's phone."""
    return app.test_client()


def make_live(tmp_path, **settings) -> LiveServer:
    return LiveServer(tmp_path, settings=settings or None).start()


def login_page(page, base_url: str, path: str, username: str, password: str = PASSWORD):
    """Open a counter-face page and sign in through its login form."""
    page.goto(base_url + path)
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#btn-logout")


def add_staff(live: LiveServer, username: str, role: str = "clerk", windows=(), staff_no=""):
    """Create a user straight in the live server's database (fast; same rules as the CLI)."""
    from hall.auth import create_user
    from hall.db import Store

    store = Store(live.db_path)
    try:
        create_user(
            store,
            username,
            PASSWORD,
            role,
            windows=windows,
            staff_no=staff_no,
            display_name=username,
        )
    finally:
        store.close()


def live_session(live: LiveServer, username: str):
    """A requests.Session logged in as an existing user, sending CSRF."""
    import requests

    s = requests.Session()
    r = s.post(live.url + "/api/login", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s


def live_issue(live: LiveServer, service: str = "SB") -> dict:
    import requests

    r = requests.post(live.url + "/api/tickets", json={"service": service}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()
