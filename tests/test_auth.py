"""Staff auth: login, sessions, CSRF, roles, throttling, and the user CLI."""

from __future__ import annotations

import subprocess
import sys

from .conftest import PASSWORD, ROOT, TEST_CONFIG


def login(client, username, password=PASSWORD):
    return client.post("/api/login", json={"username": username, "password": password})


def test_login_returns_role_and_csrf(make_user, client):
    make_user("clerk1", "clerk")
    r = login(client, "clerk1")
    assert r.status_code == 200
    body = r.get_json()
    assert body["username"] == "clerk1" and body["role"] == "clerk"
    assert len(body["csrf_token"]) >= 32
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_unknown_user_look_the_same(make_user, client):
    make_user("clerk1")
    a = login(client, "clerk1", "wrong-password")
    b = login(client, "nobody", "wrong-password")
    assert a.status_code == b.status_code == 401
    assert a.get_json() == b.get_json()


def test_login_bad_input(client):
    assert client.post("/api/login", json={}).status_code == 400
    assert client.post("/api/login", json={"username": 1, "password": "x"}).status_code == 400
    assert client.post("/api/login", data=b"{", content_type="application/json").status_code == 400


def test_csrf_required_on_every_staff_write(make_user, client):
    make_user("clerk1")
    csrf = login(client, "clerk1").get_json()["csrf_token"]
    assert client.post("/api/windows/1/open").status_code == 403
    assert client.post("/api/windows/1/open", headers={"X-CSRF-Token": "forged"}).status_code == 403
    r = client.post("/api/windows/1/open", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    # a logged-in session issuing a ticket is a staff write too
    assert client.post("/api/tickets", json={"service": "SB"}).status_code == 403


def test_roles(staff, client):
    assert client.post("/api/windows/1/open").status_code == 401
    assert client.get("/api/stats").status_code == 401
    clerk = staff("clerk1")
    assert clerk.get("/api/stats").status_code == 403
    assert staff("boss", role="supervisor").get("/api/stats").status_code == 200
    assert staff("root", role="admin").get("/api/stats").status_code == 200


def test_logout_ends_the_session_server_side(make_user, client, app):
    make_user("clerk1")
    r = login(client, "clerk1")
    csrf = r.get_json()["csrf_token"]
    cookie = client.get_cookie("hall_session")
    assert client.get("/api/me").status_code == 200
    assert client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/me").status_code == 401
    # replaying the old cookie does not bring the session back
    replay = app.test_client()
    replay.set_cookie("hall_session", cookie.value)
    assert replay.get("/api/me").status_code == 401


def test_session_cookie_renewed_at_login(make_user, client):
    make_user("clerk1")
    login(client, "clerk1")
    first = client.get_cookie("hall_session").value
    login(client, "clerk1")
    assert client.get_cookie("hall_session").value != first


def test_login_throttled_after_repeated_failures(make_user, client, clock):
    make_user("clerk1")
    for _ in range(5):
        assert login(client, "clerk1", "bad-password").status_code == 401
    r = login(client, "clerk1")  # even the right password waits out the lockout
    assert r.status_code == 429 and "error" in r.get_json()
    clock.advance(301)
    assert login(client, "clerk1").status_code == 200


def test_user_add_cli_reads_password_from_stdin(tmp_path):
    db = tmp_path / "cli.sqlite3"
    env = {"HALL_CONFIG": TEST_CONFIG, "HALL_DATABASE": str(db), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hall",
            "user",
            "add",
            "wang",
            "--role",
            "clerk",
            "--windows",
            "1,3",
        ],
        input="s3cret-pass\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "s3cret-pass" not in r.stdout + r.stderr
    from hall import create_app

    app = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": str(db)})
    c = app.test_client()
    assert login(c, "wang", "s3cret-pass").get_json()["role"] == "clerk"
    row = next(app.extensions["hall"].store.db().query("SELECT * FROM users"))
    assert "s3cret-pass" not in row["password_hash"] and row["windows"] == "[1, 3]"
    bad = subprocess.run(
        [sys.executable, "-m", "hall", "user", "add", "li", "--role", "clerk"],
        input="short\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    assert bad.returncode == 1 and "8" in bad.stderr
    dup = subprocess.run(
        [sys.executable, "-m", "hall", "user", "add", "wang", "--role", "admin"],
        input="another-pass\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    assert dup.returncode == 1 and "exists" in dup.stderr


def test_secure_cookie_behind_https(tmp_path, make_user):
    from hall import create_app

    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "s.sqlite3"),
            "HALL": {"security": {"secure_cookies": True}},
        }
    )
    from hall.auth import create_user

    create_user(app.extensions["hall"].store, "clerk9", PASSWORD, "clerk")
    r = app.test_client().post("/api/login", json={"username": "clerk9", "password": PASSWORD})
    assert r.status_code == 200 and "Secure" in r.headers["Set-Cookie"]


def test_a_login_does_not_hold_up_the_hall_while_the_password_is_checked(
    make_user, client, hall, monkeypatch
):
    """The password hash (scrypt, ~100 ms) runs outside the write transaction: a ticket
    can be issued meanwhile. A user disabled in that moment is still refused."""
    import threading

    from hall import auth

    make_user("clerk1")
    real_check = auth.check_password_hash
    issued = []

    def check_while_the_hall_works(stored, password):
        def other_writer():
            with hall.store.write() as db:
                db.execute("UPDATE users SET active = 0 WHERE username = 'clerk1'")
            issued.append(True)

        t = threading.Thread(target=other_writer)
        t.start()
        t.join(5)  # inside the transaction this would wait for the login to end
        return real_check(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", check_while_the_hall_works)
    r = login(client, "clerk1")
    assert issued == [True]
    assert r.status_code == 401
    assert not hall.store.db().execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
