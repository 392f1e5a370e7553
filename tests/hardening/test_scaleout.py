"""Scale-out: two `python -m hall serve` processes, one database, one Redis.

With `[server] message_queue = "redis://..."` every process publishes its Socket.IO
messages through Redis (Flask-SocketIO's message queue), so a call made through one
process reaches the displays connected to the other. The test starts Debian's
redis-server on a free port in a temp dir; if it is missing the test fails (the test
command installs it).
"""

from __future__ import annotations

import time

import requests

from tests.conftest import LiveServer


def _display(url: str, seen: dict):
    import socketio

    sio = socketio.Client(reconnection=False)
    sio.on("snapshot", lambda d: seen.setdefault("snapshot", []).append(d), namespace="/display")
    sio.on("called", lambda d: seen.setdefault("called", []).append(d), namespace="/display")
    sio.on("queue", lambda d: seen.setdefault("queue", []).append(d), namespace="/display")
    sio.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=15)
    return sio


def _wait(predicate, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_call_on_one_process_reaches_a_display_on_the_other(tmp_path, redis_server):
    settings = {"server": {"message_queue": redis_server.url}}
    a = LiveServer(tmp_path, settings=settings).start()
    b = LiveServer(tmp_path, settings=settings).start()
    displays = []
    try:
        assert a.db_path == b.db_path and a.port != b.port
        seen_a, seen_b = {}, {}
        displays = [_display(a.url, seen_a), _display(b.url, seen_b)]
        assert _wait(lambda: seen_a.get("snapshot") and seen_b.get("snapshot"))

        # Issued through B, called through A: the display on B hears the call.
        t = requests.post(b.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
        clerk = a.session("clerk1")
        assert clerk.post(a.url + "/api/windows/1/open", json={}).status_code == 200
        called = clerk.post(a.url + "/api/windows/1/call-next", json={}).json()["ticket"]
        assert called["id"] == t["id"]
        for seen in (seen_b, seen_a):
            assert _wait(lambda s=seen: any(c["ticket_id"] == t["id"] for c in s.get("called", [])))
            call = next(c for c in seen["called"] if c["ticket_id"] == t["id"])
            assert call["number"] == t["number"] and call["window"] == 1
        # Queue counts too: a ticket taken on A shows on the display connected to B.
        requests.post(a.url + "/api/tickets", json={"service": "YB"}, timeout=10)
        assert _wait(lambda: any(q.get("YB") == 1 for q in seen_b.get("queue", [])))

        # The other way round, with a session from A used on B (sessions live in the
        # shared database): the display on A hears a call made through B.
        s = requests.Session()
        s.cookies.update(clerk.cookies)
        s.headers["X-CSRF-Token"] = clerk.headers["X-CSRF-Token"]
        assert s.post(b.url + f"/api/tickets/{t['id']}/finish", json={}).status_code == 200
        nxt = s.post(b.url + "/api/windows/1/call-next", json={}).json()["ticket"]
        assert nxt is not None
        assert _wait(lambda: any(c["ticket_id"] == nxt["id"] for c in seen_a.get("called", [])))
        # Each display got each call once, not once per process.
        ids = [c["id"] for c in seen_a["called"]]
        assert len(ids) == len(set(ids))
    finally:
        for d in displays:
            d.disconnect()
        a.stop()
        b.stop()
