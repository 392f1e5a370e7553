"""Fixtures for the kiosk face's tests: apps whose kiosks print to a fake printer."""

from __future__ import annotations

import socket
import tomllib

import pytest
import zxingcpp
from PIL import Image

from hall import create_app
from hall.events import PrinterStatusChanged
from tests.conftest import PASSWORD, TEST_CONFIG
from tests.fakeprinter import FakePrinter, decode_raster

PUBLIC = "http://hall.test"  # hall.public_url in tests/hall_test.toml
MATTERS = ["首次登记", "转移登记", "抵押登记"]


def services_with_matters(matters: bool = True) -> list[dict]:
    """The test hall's services, with sub-matters for BDC (不动产登记)."""
    with open(TEST_CONFIG, "rb") as f:
        services = tomllib.load(f)["services"]
    if matters:
        for s in services:
            if s["code"] == "BDC":
                s["matters"] = list(MATTERS)
    return services


def kiosks(printer: dict | None = None, **more) -> list[dict]:
    """[[kiosks]]: K1 with `printer` (or none: it falls back to [printer]), plus others."""
    k1 = {"id": "K1", "name": "大厅取号机"}
    if printer is not None:
        k1["printer"] = printer
    out = [k1]
    for kid, p in more.items():
        out.append({"id": kid, "name": f"{kid}取号机", "printer": p})
    return out


@pytest.fixture
def make_app(tmp_path, clock):
    """make_app(**hall_overrides, config={...flask}) -> app on the test clock."""
    apps = []

    def make(config: dict | None = None, **hall):
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": hall,
                "DATABASE": str(tmp_path / f"hall{len(apps)}.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
                "NO_VOICE": True,
                **(config or {}),
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        state = app.extensions["hall"].faces.state("kiosk")
        if state:
            state.monitor.stop()
        app.extensions["hall"].store.close()


@pytest.fixture
def fake_printer():
    with FakePrinter() as fp:
        yield fp


@pytest.fixture
def printer_events():
    """printer_events(hall) -> the list the hall's PrinterStatusChanged events go to."""

    def collect(hall):
        seen: list[PrinterStatusChanged] = []
        hall.bus.subscribe(lambda e: isinstance(e, PrinterStatusChanged) and seen.append(e))
        return seen

    return collect


def login(app, username: str, role: str):
    """A logged-in test client sending CSRF (user created)."""
    from hall.auth import create_user

    hall = app.extensions["hall"]
    create_user(hall.store, username, PASSWORD, role)
    c = app.test_client()
    r = c.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qr_texts(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img.convert("L"))]


def printed_images(job: bytes) -> list[Image.Image]:
    return decode_raster(job)


def count(hall, sql: str, params=()) -> int:
    return hall.store.db().execute(sql, params).fetchone()[0]
