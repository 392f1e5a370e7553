"""Clerk skills (业务资质): set on the admin page's API and with the CLI, read by the
balanced calling policy (hall/calling.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.conftest import ROOT, TEST_CONFIG


def test_admin_sets_a_clerks_skills(admin, make_user, hall):
    make_user("li", "clerk")
    r = admin.post("/api/admin/users/li", json={"skills": ["YB", "SB", "SB"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["skills"] == ["SB", "YB"]
    db = hall.store.db()
    assert db.execute("SELECT skills FROM users WHERE username = 'li'").fetchone()[0] == (
        '["SB", "YB"]'
    )
    bad = admin.post("/api/admin/users/li", json={"skills": ["SB", "XX"]})
    assert bad.status_code == 400 and "XX" in bad.get_json()["error"]
    assert admin.post("/api/admin/users/li", json={"skills": "SB"}).status_code == 400
    users = {u["username"]: u for u in admin.get("/api/admin/users").get_json()}
    assert users["li"]["skills"] == ["SB", "YB"] and users["root"]["skills"] == []
    page = admin.get("/supervisor/admin/users").get_data(as_text=True)
    assert 'name="skills" value="SB" data-type="checklist" checked' in page
    audit = db.execute("SELECT details FROM audit_log WHERE action = 'user_update'").fetchone()
    assert "skills" in audit[0]


def test_cli_sets_skills(tmp_path):
    env = {**os.environ, "HALL_CONFIG": TEST_CONFIG, "HALL_DATABASE": str(tmp_path / "c.db")}

    def run(*args, stdin=None):
        return subprocess.run(
            [sys.executable, "-m", "hall", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )

    r = run("user", "add", "li", "--role", "clerk", "--skills", "SB,YB", stdin="long-password\n")
    assert r.returncode == 0, r.stderr
    r = run("user", "skills", "li", "GJJ,SB")
    assert r.returncode == 0 and "GJJ, SB" in r.stdout
    r = run("user", "skills", "li", "NOPE")
    assert r.returncode == 1 and "NOPE" in r.stderr
    conn = sqlite3.connect(tmp_path / "c.db")
    try:
        assert conn.execute("SELECT skills FROM users").fetchone()[0] == '["GJJ", "SB"]'
    finally:
        conn.close()
