"""GET /api/health: no login, no personal data, the hall's vital signs."""

from __future__ import annotations

import json
import sqlite3

import requests

from hall import backup
from hall.compat import report
from hall.realtime import socketio

from ..conftest import LiveServer


def health(app, client):
    app.extensions.pop("hall_health", None)  # built at most every 2 s: start fresh
    return client.get("/api/health")


def test_health_without_login_and_without_personal_data(app, hall, client, clerk_at):
    r = client.post(
        "/api/appointments",
        json={
            "service": "SB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "张三丰",
            "phone": "13812345678",
        },
    )
    assert r.status_code == 201
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    clerk_at(1)
    r = health(app, client)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["ok"] is True and body["database"] == {"writable": True, "error": None}
    assert body["compat"] == report()
    assert isinstance(body["pending_events"], int)
    assert body["backup"] == {"at": None, "ok": None, "last_ok_at": None, "stale": True}
    assert body["privacy"] == {"retention_days": 180, "last_purge": None}
    assert body["scheduler"] == {"running": False}  # not under test
    assert {p["kiosk"] for p in body["printers"]} >= {"default"}
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("13812345678", "张三丰", t["token"], "clerk1", hall.store.path):
        assert secret not in text

    backup.take(hall)
    body = health(app, client).get_json()
    assert body["backup"]["ok"] is True and body["backup"]["stale"] is False
    assert body["backup"]["at"].startswith("2026-11-30T09:00")


def test_health_counts_connections_per_namespace(app, client):
    before = health(app, client).get_json()["connections"].get("/display", 0)
    screens = [socketio.test_client(app, namespace="/display") for _ in range(2)]
    try:
        counts = health(app, client).get_json()["connections"]
        assert counts["/display"] == before + 2
    finally:
        for s in screens:
            s.disconnect(namespace="/display")
    assert health(app, client).get_json()["connections"].get("/display", 0) == before


def test_health_says_when_the_database_cannot_be_written(app, hall, client):
    blocker = sqlite3.connect(hall.store.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        r = health(app, client)
        assert r.status_code == 503
        body = r.get_json()
        assert body["ok"] is False and body["database"]["writable"] is False
        assert "locked" in body["database"]["error"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert health(app, client).status_code == 200


def test_health_of_the_served_process(tmp_path):
    # The daily jobs on (tests/hall_test.toml turns them off): the thread starts with the
    # first request and catches up on the day's backup.
    live_server = LiveServer(tmp_path, settings={"backup": {"at": "00:00"}}).start()
    try:
        check_served(live_server)
    finally:
        live_server.stop()


def check_served(live_server):
    r = requests.get(live_server.url + "/api/health", timeout=10)
    assert r.status_code == 200
    body = r.json()
    # the paths the benchmarks measure are the ones the served process runs
    assert body["compat"]["direct_websocket_writes"] is True
    assert body["compat"]["event_websockets"] is True
    assert body["compat"]["session_hooks"] is True
    assert body["sockets"]["event_loop"] is True
    assert body["capacity"]["event_loop"] is True
    assert body["scheduler"]["running"] is True  # started by the first request
    assert body["connections"] is not None and body["pending_events"] >= 0


def test_health_is_built_at_most_every_two_seconds(app, client, clock, monkeypatch):
    import hall.health as health_mod

    now = [1000.0]
    monkeypatch.setattr(health_mod.time, "monotonic", lambda: now[0])
    first = health(app, client).get_json()
    clock.advance(5)
    now[0] += 1.9
    assert client.get("/api/health").get_json() == first  # the same answer, not rebuilt
    now[0] += 0.2
    assert client.get("/api/health").get_json()["at"] != first["at"]
