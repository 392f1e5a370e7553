"""Fixtures for the hardening tests: a seeded app, live servers, Redis."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hall import create_app
from hall.auth import create_user
from hall.clock import FrozenClock
from hall.engine import Actor
from tests.conftest import PASSWORD, TEST_CONFIG, LiveServer, free_port, local

REDIS_SERVER = "/usr/bin/redis-server"
ADMIN = "fuzzadmin"


def login(app, username: str):
    """A test client logged in as username, with its CSRF token (or None)."""
    c = app.test_client()
    r = c.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return c, r.get_json()["csrf_token"]


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory):
    """An app on the test clock with staff, open windows, tickets in every state, a
    rating and a booking: so fuzzed ids and tokens sometimes hit real things."""
    tmp = tmp_path_factory.mktemp("seeded")
    clock = FrozenClock(local(2026, 11, 30, 9, 0))
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
            "NO_VOICE": True,
        }
    )
    hall = app.extensions["hall"]
    for name, role in (
        (ADMIN, "admin"),
        ("boss", "supervisor"),
        ("clerk1", "clerk"),
        ("clerk2", "clerk"),
    ):
        create_user(hall.store, name, PASSWORD, role)
    engine = hall.engine
    c1, c2 = Actor("clerk1", "clerk"), Actor("clerk2", "clerk")
    engine.open_window(1, c1)
    engine.open_window(2, c2)
    tokens = []
    for code in ("SB", "YB", "BDC", "SB", "GJJ", "BDC", "SB", "CRJ"):
        tokens.append(engine.issue(code)["token"])
    done = engine.call_next(1, c1)
    engine.finish(done["id"], c1)
    engine.rate(done["id"], 1, ["态度不好"], "<script>alert(1)</script>")
    gone = engine.call_next(1, c1)
    engine.no_show(gone["id"], c1)
    engine.call_next(2, c2)  # BDC at window 2, called
    app.config["SEEDED"] = {"tokens": tokens, "clock": clock}
    yield app
    hall.store.close()


# --- live servers ---------------------------------------------------------------------
@pytest.fixture
def live_factory(tmp_path):
    """live_factory(name, **kw) -> a started LiveServer in tmp_path/name; all stopped at
    the end (killed if needed)."""
    servers: list[LiveServer] = []

    def make(name="srv", **kw) -> LiveServer:
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        s = LiveServer(d, **kw)
        servers.append(s)
        return s.start()

    yield make
    for s in servers:
        s.stop(kill=True)


# --- Redis ----------------------------------------------------------------------------
class Redis:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Redis:
        exe = shutil.which("redis-server") or REDIS_SERVER
        if not os.path.exists(exe):
            pytest.fail(
                f"{REDIS_SERVER} is missing: the test command installs Debian's redis-server"
            )
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.tmp),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=open(self.tmp / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited: {(self.tmp / 'redis.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start in 15 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def redis_server(tmp_path):
    d = tmp_path / "redis"
    d.mkdir()
    r = Redis(d).start()
    yield r
    r.stop()


def settings_json(**sections) -> str:
    return json.dumps(sections)


class WideLiveServer(LiveServer):
    """A LiveServer with more worker threads: every WebSocket holds one (gthread)."""

    threads = 220

    def start(self) -> LiveServer:
        import sys
        import urllib.request

        from tests.conftest import ROOT

        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hall",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--threads",
                str(self.threads),
            ],
            cwd=str(ROOT),
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")


def db_rows(db_path: str, sql: str, params=()) -> list[dict]:
    """Read a (live server's) database directly: what was really stored."""
    import sqlite3

    conn = sqlite3.connect(db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


STATUS_AFTER = {
    "issued": "waiting",
    "called": "called",
    "serving": "serving",
    "finished": "done",
    "no_show": "no_show",
    "requeued": "waiting",
    "cancelled": "cancelled",
    "transferred": "waiting",
}


def check_consistent(db_path: str) -> dict:
    """The stored state is whole: numbers unique and gap-free per day and prefix, the
    counters agree, every ticket's status is what its event log says, at most one ticket
    in hand per window. Returns {number: row} of all tickets."""
    from collections import Counter, defaultdict

    assert db_rows(db_path, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    tickets = {t["id"]: t for t in db_rows(db_path, "SELECT * FROM tickets")}
    seqs = defaultdict(list)
    for t in tickets.values():
        seqs[(t["day"], t["prefix"])].append(t["seq"])
    for key, values in seqs.items():
        assert sorted(values) == list(range(1, len(values) + 1)), f"numbers of {key}: {values}"
    for c in db_rows(db_path, "SELECT * FROM counters"):
        assert c["last"] == len(seqs[(c["day"], c["prefix"])]), f"counter {c}"
    status = {}
    for e in db_rows(db_path, "SELECT * FROM ticket_events ORDER BY id"):
        if e["kind"] in STATUS_AFTER:
            status[e["ticket_id"]] = STATUS_AFTER[e["kind"]]
    assert set(status) == set(tickets), "tickets and event log disagree on which exist"
    for tid, t in tickets.items():
        assert t["status"] == status[tid], f"{t['number']}: {t['status']} vs log {status[tid]}"
    held = Counter(t["window"] for t in tickets.values() if t["status"] in ("called", "serving"))
    assert all(n == 1 for n in held.values()), f"two tickets in hand at a window: {held}"
    return {(t["day"], t["number"]): t for t in tickets.values()}
