"""Shared helpers for the hardening tests: the OpenAPI operations, staff clients, DB reads."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
import urllib.request

from hall.openapi import spec

from ..conftest import PASSWORD, ROOT, LiveServer

# ticket_events kind -> the status it leaves the ticket in (None: status unchanged)
KIND_STATUS = {
    "issued": "waiting",
    "called": "called",
    "serving": "serving",
    "no_show": "no_show",
    "requeued": "waiting",
    "finished": "done",
    "transferred": "waiting",
    "cancelled": "cancelled",
    "parked": "parked",
    "resumed": "serving",
    "advanced": "waiting",  # 一件事: on to the next step's queue
    "rated": None,
    "unrated": None,
}

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
PARAM_RE = re.compile(r"\{([^}]+)\}")


def operations() -> list[tuple[str, str, dict]]:
    """(path, method, operation) for every operation of the description."""
    out = []
    for path, item in spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                out.append((path, method, item[method]))
    return out


def op_id(path: str, method: str) -> str:
    return f"{method.upper()} {path}"


def login(app, username: str, role: str, make_user=None, windows=()):
    """A test client logged in as username (created if missing) that sends its CSRF token."""
    from hall.auth import create_user

    hall = app.extensions["hall"]
    db = hall.store.db()
    if not list(db.query("SELECT 1 FROM users WHERE username = ?", [username])):
        create_user(hall.store, username, PASSWORD, role, windows=windows)
    c = app.test_client()
    r = c.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


def rows(db_path: str, sql: str, params=()) -> list[dict]:
    """Read a live server's database directly (what was really stored)."""
    conn = sqlite3.connect(db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


class WideServer(LiveServer):
    """A LiveServer with more worker threads: every WebSocket holds one gthread worker
    for its whole life, so 100 screens need more than LiveServer's 64."""

    def __init__(self, tmp, threads: int = 250, **kw):
        super().__init__(tmp, **kw)
        self.threads = threads

    def start(self) -> WideServer:
        log = open(self.log_path, "ab")
        args = [sys.executable, "-m", "hall", "serve", "--host", "127.0.0.1"]
        args += ["--port", str(self.port), "--threads", str(self.threads)]
        self.proc = subprocess.Popen(
            args,
            cwd=str(ROOT),
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_healthy(self)
        return self


def wait_healthy(server, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited: {server.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start in {seconds} s")
