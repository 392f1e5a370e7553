"""Shared fixtures: an app on the test clock, staff clients, a live server, a browser.

Face tests build on these; keep them generic.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hall.auth as hall_auth  # noqa: E402
from hall import create_app  # noqa: E402
from hall.auth import create_user  # noqa: E402
from hall.clock import FrozenClock  # noqa: E402

TEST_CONFIG = str(ROOT / "tests" / "hall_test.toml")
ARTIFACTS = ROOT / "tests" / "artifacts"
TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct-horse-42"
CHROMIUM = "/usr/bin/chromium"
# Hashing stays salted; only its work factor is lowered so tests can create many users.
hall_auth.HASH_METHOD = "pbkdf2:sha256:1000"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


def local(*args) -> datetime:
    """A hall-local moment: local(2026, 11, 30, 9, 0)."""
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def clock():
    # Monday 30 November 2026, 09:00 in the hall: open.
    return FrozenClock(local(2026, 11, 30, 9, 0))


@pytest.fixture
def app(tmp_path, clock):
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    yield app
    app.extensions["hall"].store.close()


@pytest.fixture
def hall(app):
    return app.extensions["hall"]


@pytest.fixture
def client(app):
    return app.test_client()


class StaffClient:
    """A logged-in test client that sends the session's CSRF token on every write."""

    def __init__(self, client, csrf: str, username: str):
        self.client = client
        self.csrf = csrf
        self.username = username

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, url, json=None, **kwargs):
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        if json is None and "data" not in kwargs:
            json = {}
        return self.client.post(url, json=json, headers=headers, **kwargs)


@pytest.fixture
def make_user(hall):
    def make(username, role="clerk", windows=(), password=PASSWORD, **kw):
        return create_user(hall.store, username, password, role, windows=windows, **kw)

    return make


@pytest.fixture
def staff(app, make_user, hall):
    """staff("clerk1", role="clerk") -> a logged-in StaffClient (user created if new)."""

    def login(username, role="clerk", windows=()):
        db = hall.store.db()
        if not list(db.query("SELECT 1 FROM users WHERE username = ?", [username])):
            make_user(username, role, windows)
        c = app.test_client()
        r = c.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        return StaffClient(c, r.get_json()["csrf_token"], username)

    return login


@pytest.fixture
def clerk_at(staff):
    """clerk_at(1) -> a clerk signed in and with window 1 open."""

    def make(window, username=None):
        c = staff(username or f"clerk{window}")
        r = c.post(f"/api/windows/{window}/open")
        assert r.status_code == 200, r.get_json()
        return c

    return make


# --- paired rating pads (counter/pairing.py) -------------------------------------------
PAD_ADMIN = "pad-admin"


def pair_pad(app, window: int, client=None, address: str | None = None):
    """A test client paired as window's rating pad, the way a hall does it: a supervisor
    makes a one-time code (POST /api/pads/pairing-codes), the device enters it (POST
    /api/pad/<n>/pair, which sets its hall_pad cookie). address: the pad's REMOTE_ADDR."""
    hall = app.extensions["hall"]
    db = hall.store.db()
    if not list(db.query("SELECT 1 FROM users WHERE username = ?", [PAD_ADMIN])):
        create_user(hall.store, PAD_ADMIN, PASSWORD, "supervisor")
    boss = app.test_client()
    r = boss.post("/api/login", json={"username": PAD_ADMIN, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    r = boss.post(
        "/api/pads/pairing-codes",
        json={"window": window},
        headers={"X-CSRF-Token": r.get_json()["csrf_token"]},
    )
    assert r.status_code == 201, r.get_json()
    pad = client or app.test_client()
    kw = {"environ_base": {"REMOTE_ADDR": address}} if address else {}
    r = pad.post(f"/api/pad/{window}/pair", json={"code": r.get_json()["code"]}, **kw)
    assert r.status_code == 201, r.get_json()
    return pad


@pytest.fixture
def paired_pad(app):
    """paired_pad(1) -> a test client paired as window 1's rating pad."""

    def make(window: int, client=None, address: str | None = None):
        return pair_pad(app, window, client, address)

    return make


def pairing_code(live, window: int) -> str:
    """A one-time pairing code for a window's pad on a live server."""
    boss = live.session(PAD_ADMIN, role="supervisor")
    r = boss.post(live.url + "/api/pads/pairing-codes", json={"window": window}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["code"]


def pair_live_pad(live, window: int, session=None):
    """A requests.Session (or the one given) paired as window's pad on a live server."""
    import requests

    s = session or requests.Session()
    r = s.post(f"{live.url}/api/pad/{window}/pair", json={"code": pairing_code(live, window)})
    assert r.status_code == 201, r.text
    return s


def pair_pad_page(page, live, window: int) -> None:
    """Pair a browser page as window's pad through the pad page's own form."""
    page.goto(f"{live.url}/counter/pad/{window}")
    page.fill("#pair-code", pairing_code(live, window))
    page.click("#pair-submit")
    page.wait_for_selector("#pad")


# --- a real server process ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_run(n: int) -> int:
    """The first of `n` consecutive free ports on loopback (a program that takes a base
    port and the ones after it). Looked for below the ephemeral range, where the clients'
    own ports come and go and a run of free ones is often broken meanwhile."""
    import random

    low, _ = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(500):
        base = random.randrange(10000, low - n)
        try:
            for port in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no run of {n} free ports below {low}")


class LiveServer:
    """`python -m hall serve` in a subprocess: the production server, on a temp database."""

    def __init__(
        self,
        tmp: Path,
        config: str = TEST_CONFIG,
        settings: dict | None = None,
        port: int | None = None,
        extra_env: dict | None = None,
        threads: int = 64,
        start_timeout: float = 30,
    ):
        self.tmp = tmp
        self.db_path = str(tmp / "live.sqlite3")
        self.config = config
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = {"hours": {"always_open": True}, **(settings or {})}
        self.extra_env = extra_env or {}
        self.threads = threads
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.log_path = tmp / f"server-{self.port}.log"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            HALL_CONFIG=self.config,
            HALL_DATABASE=self.db_path,
            HALL_SECRET_KEY="test-secret-key-for-live-server",
            HALL_SETTINGS=json.dumps(self.settings),
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **self.extra_env,
        )
        return env

    def start(self) -> LiveServer:
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
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {self.start_timeout} s")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def restart(self, kill: bool = False) -> LiveServer:
        self.stop(kill=kill)
        return self.start()

    def add_user(self, username, role="clerk", password=PASSWORD, windows=""):
        args = [sys.executable, "-m", "hall", "user", "add", username, "--role", role]
        if windows:
            args += ["--windows", windows]
        subprocess.run(
            args,
            input=password + "\n",
            text=True,
            check=True,
            cwd=str(ROOT),
            env=self.env(),
            capture_output=True,
        )

    def session(self, username=None, role="clerk"):
        """A requests.Session logged in as username (created if needed), with CSRF."""
        import requests

        s = requests.Session()
        if username:
            try:
                self.add_user(username, role)
            except subprocess.CalledProcessError:
                pass  # already exists
            r = s.post(self.url + "/api/login", json={"username": username, "password": PASSWORD})
            r.raise_for_status()
            s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return s


@pytest.fixture
def live_server(tmp_path):
    server = LiveServer(tmp_path).start()
    yield server
    server.stop()


# --- a real browser -------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Wait on conditions long enough for a loaded 2-core CI machine (two test workers, a
    # served hall and Chromium share it): a passing check returns at once, so a longer
    # limit costs nothing, while Playwright's 5 s default failed a login (password
    # hashing) under load now and then.
    expect.set_options(timeout=20_000)

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


def save_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
