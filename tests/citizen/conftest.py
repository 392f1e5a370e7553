"""Fixtures of the citizen face's tests: an app with extra settings, waiting helpers."""

from __future__ import annotations

import time

import pytest

from hall import create_app
from tests.citizen.fakes import FakeIdModule
from tests.conftest import TEST_CONFIG
from tests.fakeprinter import FakePrinter


def wait_for(check, timeout: float = 10.0, what: str = "condition"):
    """Poll check() until it returns something truthy (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def assert_nowhere(number: str, hall, log_text: str, printed: list, traffic: str) -> None:
    """A full ID number is in none of the places it could leak to: the database file and
    its WAL, the log, the printed bytes (UTF-8 and GB18030), the Socket.IO traffic."""
    hall.store.db().execute("PRAGMA wal_checkpoint(FULL)")
    for path in (hall.store.path, hall.store.path + "-wal"):
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            continue
        assert number.encode() not in data and number.encode("utf-16-le") not in data
    assert number not in log_text
    for job in printed:
        assert number.encode() not in job and number.encode("gb18030") not in job
    assert number not in traffic


@pytest.fixture
def make_app(tmp_path, clock):
    apps = []

    def make(settings: dict | None = None, **extra):
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": settings or {},
                "DATABASE": str(tmp_path / f"hall{len(apps)}.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
                "SECRET_KEY": "citizen-test-secret",
                **extra,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        hall = app.extensions["hall"]
        state = hall.faces.state("citizen")
        if state is not None:
            state.stop()
        hall.store.close()


PASSWORD = "correct-horse-42"


@pytest.fixture
def staff_of():
    from hall.auth import create_user
    from tests.conftest import StaffClient

    def login(app, username, role="clerk"):
        hall = app.extensions["hall"]
        if not list(hall.store.db().query("SELECT 1 FROM users WHERE username = ?", [username])):
            create_user(hall.store, username, PASSWORD, role)
        c = app.test_client()
        r = c.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        return StaffClient(c, r.get_json()["csrf_token"], username)

    return login


@pytest.fixture
def clerk_at_app(staff_of):
    def make(app, window):
        c = staff_of(app, f"clerk{window}")
        assert c.post(f"/api/windows/{window}/open").status_code == 200
        return c

    return make


# A kiosk with a serial ID-card reader (the fake GA 467 module on a pseudo-terminal) and a
# network printer (the fake port-9100 listener): (app, module, printer).
@pytest.fixture
def reader_hall(make_app):
    module = FakeIdModule().start()
    printer = FakePrinter().__enter__()
    app = make_app(
        {
            "card_readers": [{"kiosk": "K1", "kind": "serial", "port": module.path}],
            "kiosks": [
                {
                    "id": "K1",
                    "name": "自助区1号机",
                    "printer": {
                        "driver": "network",
                        "host": printer.host,
                        "port": printer.port,
                        "mode": "text",
                        "timeout": 2,
                    },
                }
            ],
        }
    )
    yield app, module, printer
    module.close()
    printer.__exit__(None, None, None)
