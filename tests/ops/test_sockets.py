"""The gate for live connections (hall/sockets.py), in-process: Engine.IO long-polling
sessions through the app's WSGI stack, from made-up client addresses."""

from __future__ import annotations

import json
import time

import pytest

from hall import create_app
from hall.sockets import REFUSAL, RETRY_AFTER

from ..conftest import PASSWORD, TEST_CONFIG

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


@pytest.fixture
def make_app(tmp_path, clock):
    apps = []

    def make(**security):
        threads = security.pop("threads", 64)
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "DATABASE": str(tmp_path / f"gate{len(apps)}.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
                "HALL": {"security": security, "server": {"threads": threads}},
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["hall"].store.close()


def open_session(client, address: str, **kw):
    """An Engine.IO polling handshake from `address`: (response, sid or None)."""
    r = client.get(HANDSHAKE, environ_base={"REMOTE_ADDR": address}, **kw)
    if r.status_code != 200:
        return r, None
    body = r.get_data(as_text=True)
    return r, json.loads(body[body.index("{") :])["sid"]


def send(client, sid: str, address: str, packets: str):
    r = client.post(f"{HANDSHAKE}&sid={sid}", data=packets, environ_base={"REMOTE_ADDR": address})
    assert r.status_code == 200, r.get_data(as_text=True)


def report(app) -> dict:
    return app.extensions["hall_gate"].report()


def test_one_address_gets_its_share_and_the_next_is_refused_clearly(make_app, caplog):
    app = make_app(socket_limit_per_address=2)
    client = app.test_client()
    sids = [open_session(client, "10.0.0.5")[1] for _ in range(2)]
    assert all(sids)
    r, sid = open_session(client, "10.0.0.5")
    assert sid is None and r.status_code == 503
    assert r.headers["Retry-After"] == str(RETRY_AFTER)
    assert r.get_json() == {"error": REFUSAL}
    assert "refused a live connection from 10.0.0.5" in caplog.text
    assert "security.socket_limit_per_address" in caplog.text
    # another machine is not affected
    assert open_session(client, "10.0.0.6")[1]
    rep = report(app)
    assert rep["open"]["public"] == 3 and rep["refused"]["address"] == 1
    assert rep["public_addresses"] == 2

    # a session that ends gives its place back
    send(client, sids[0], "10.0.0.5", "1")  # Engine.IO CLOSE
    assert report(app)["open"]["public"] == 2
    assert open_session(client, "10.0.0.5")[1]


def test_the_limit_in_all_and_long_polling_share(make_app):
    app = make_app(socket_limit=3, socket_limit_per_address=0)
    client = app.test_client()
    assert all(open_session(client, f"10.0.1.{i}")[1] for i in range(3))
    r, _ = open_session(client, "10.0.1.9")
    assert r.status_code == 503 and report(app)["refused"]["total"] == 1

    # 16 threads: at most 2 public long-polling sessions (an eighth), as each holds a
    # thread while it waits; WebSockets do not count against this
    app = make_app(socket_limit_per_address=0, threads=16)
    client = app.test_client()
    assert report(app)["limits"]["polling"] == 2
    assert all(open_session(client, f"10.0.2.{i}")[1] for i in range(2))
    r, _ = open_session(client, "10.0.2.9")
    assert r.status_code == 503 and report(app)["refused"]["polling"] == 1


def test_the_halls_own_screens_and_staff_are_never_refused(make_app, make_user):
    app = make_app(socket_limit_per_address=1, rate_limit_exempt=["10.0.0.9"])
    client = app.test_client()
    assert all(open_session(client, "10.0.0.9")[1] for _ in range(5))  # a hall screen

    from hall.auth import create_user

    create_user(app.extensions["hall"].store, "gate_clerk", PASSWORD, "clerk")
    staff = app.test_client()
    r = staff.post(
        "/api/login",
        json={"username": "gate_clerk", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert r.status_code == 200
    assert open_session(client, "10.0.0.7")[1]  # the one public place of the address
    assert all(open_session(staff, "10.0.0.7")[1] for _ in range(3))  # the clerk's pages
    assert open_session(client, "10.0.0.7")[0].status_code == 503
    rep = report(app)
    assert rep["open"] == {"public": 1, "hall": 5, "staff": 3}


def test_a_session_that_joins_nothing_is_closed_after_a_while(make_app, caplog):
    app = make_app(socket_idle_seconds=30, socket_limit_per_address=0)
    gate = app.extensions["hall_gate"]
    client = app.test_client()
    _, idle = open_session(client, "10.0.3.1")  # Engine.IO only
    _, screen = open_session(client, "10.0.3.2")
    send(client, screen, "10.0.3.2", "40/display,")
    _, lurker = open_session(client, "10.0.3.3")
    send(client, lurker, "10.0.3.3", "40/ticket,")  # a phone page that follows nothing
    _, phone = open_session(client, "10.0.3.4")
    ticket = client.post("/api/tickets", json={"service": "SB"}).get_json()
    send(client, phone, "10.0.3.4", "40/ticket,")
    send(client, phone, "10.0.3.4", '42/ticket,1["follow",' + json.dumps(ticket) + "]")

    assert gate.reap(now=time.monotonic() + 10) == 0  # not idle long enough yet
    assert gate.reap(now=time.monotonic() + 31) == 2
    assert "closed an idle live connection from 10.0.3.1" in caplog.text
    live = app.extensions["hall_gate"].by_sid
    assert set(live) == {screen, phone}
    assert report(app)["closed_idle"] == 2
    # the ones that joined are judged once and left alone from then on
    assert live[screen].useful and live[phone].useful
    assert gate.reap(now=time.monotonic() + 300) == 0


def test_limits_are_settings_that_refuse_nonsense(tmp_path):
    from hall.config import ConfigError

    with pytest.raises(ConfigError, match="security.socket_limit_per_address"):
        create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "DATABASE": str(tmp_path / "bad.sqlite3"),
                "TESTING": True,
                "HALL": {"security": {"socket_limit_per_address": -1}},
            }
        )
