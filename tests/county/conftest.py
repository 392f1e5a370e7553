"""Fixtures for the county face: a centre and sites as apps in this process (shipping
through the centre's test client), and helpers for the live-process tests."""

from __future__ import annotations

import json

import pytest

from hall import create_app
from tests.conftest import PASSWORD, TEST_CONFIG

SITE_KEY_ENV = "HALL_COUNTY_KEY"


class Wire:
    """A transport for county.shipper.CentreClient that calls the centre app's test
    client, and keeps every body it carried (the privacy test greps them)."""

    def __init__(self, centre_app):
        self.client = centre_app.test_client()
        self.sent: list[bytes] = []
        self.down = False

    def __call__(self, method, url, headers, data, timeout):
        if self.down:
            raise OSError("connection refused")
        path = url.split("://", 1)[1]
        path = path[path.index("/") :]
        self.sent.append(data or b"")
        r = self.client.open(path, method=method, headers=headers, data=data or None)
        return r.status_code, dict(r.headers), r.get_data()


def make_hall_app(tmp_path, name, clock, extra=None, **county):
    hall = {"hall": {"faces": ["county"]}, **(extra or {})}
    if county:
        hall["county"] = county
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": hall,
            "DATABASE": str(tmp_path / name / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    return app


@pytest.fixture
def centre_app(tmp_path, clock):
    app = make_hall_app(tmp_path, "centre", clock)
    yield app
    app.extensions["hall"].faces.state("county").replicas.close()
    app.extensions["hall"].store.close()


@pytest.fixture
def centre(centre_app):
    return centre_app.extensions["hall"]


@pytest.fixture
def wire(centre_app):
    return Wire(centre_app)


@pytest.fixture
def make_site(tmp_path, clock, centre, wire, monkeypatch):
    """make_site("xiang-01", level="township") -> (app, hall): registered at the centre,
    its key in the environment, shipping through `wire`."""
    from county import centre as reg

    made = []

    def make(site_id="xiang-01", level="township", name=None, extra=None, **county):
        key = reg.add_site(centre, site_id, name or f"{site_id}站点", level)
        monkeypatch.setenv(f"KEY_{site_id.replace('-', '_').upper()}", key)
        app = make_hall_app(
            tmp_path,
            site_id,
            clock,
            extra,
            centre_url="http://centre.test",
            site_id=site_id,
            key_env=f"KEY_{site_id.replace('-', '_').upper()}",
            **county,
        )
        hall = app.extensions["hall"]
        hall.faces.state("county").shipper.transport = wire
        made.append(app)
        return app, hall

    yield make
    for app in made:
        app.extensions["hall"].store.close()


def ship_all(hall, rounds: int = 50) -> None:
    """Gather and ship until nothing is left (each round ships one batch)."""
    shipper = hall.faces.state("county").shipper
    for _ in range(rounds):
        more = shipper.round()
        if not more and shipper.backlog() == 0:
            return
    raise AssertionError(f"backlog left: {shipper.backlog()} ({shipper.last_error})")


def login(app, username, role, make=True):
    """A logged-in test client of any app (user created)."""
    from hall.auth import create_user

    hall = app.extensions["hall"]
    if make:
        create_user(hall.store, username, PASSWORD, role)
    c = app.test_client()
    r = c.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


def without_generated_at(figs: dict) -> dict:
    return {k: v for k, v in json.loads(json.dumps(figs)).items() if k != "generated_at"}


# --- a fake provincial 好差评 platform ---------------------------------------------------------
class FakeProvince:
    """A small HTTP receiver that honours the idempotency key: the first POST of a key
    is accepted, a repeat answers 200 and is counted as a duplicate. mode: "up" | "down"
    (503) | "hang" (takes the request, records it, and answers only when released)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.accepted: dict[str, dict] = {}
        self.attempts: list[str] = []
        self.duplicates: list[str] = []
        self.auth: list[str] = []
        self.mode = "up"
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n))
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    fake.attempts.append(key)
                    fake.auth.append(self.headers.get("Authorization", ""))
                    mode = fake.mode
                if mode == "down":
                    self._answer(503, {"error": "maintenance"})
                    return
                with fake.lock:
                    if key in fake.accepted:
                        fake.duplicates.append(key)
                    else:
                        fake.accepted[key] = body
                if mode == "hang":
                    fake.hanging.set()
                    fake.release.wait(60)
                self._answer(200, {"ok": True})

            def _answer(self, status, obj):
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller went away (killed mid-delivery)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ratings"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def province():
    fake = FakeProvince()
    yield fake
    fake.close()
