"""Scale-out: two `python -m hall serve` processes on one database and one Redis
([server] message_queue): a call made through either reaches displays on the other."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio

from ..conftest import ROOT, LiveServer, free_port

REDIS_SERVER = "/usr/bin/redis-server"


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Debian redis-server: no persistence, its own port and directory."""
    if not os.path.exists(REDIS_SERVER):
        pytest.fail(f"{REDIS_SERVER} is missing: `./run test` installs Debian's redis-server")
    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def two_servers(tmp_path, redis_url):
    """Processes A and B: one database file, one Redis message queue."""
    settings = {"server": {"message_queue": redis_url}, "hours": {"always_open": True}}
    a = LiveServer(tmp_path, settings=settings, port=free_port()).start()
    b = LiveServer(tmp_path, settings=settings, port=free_port())
    try:
        b.start()
        assert a.db_path == b.db_path
        yield a, b
    finally:
        b.stop()
        a.stop()


class Display:
    def __init__(self, server: LiveServer):
        self.calls: list[dict] = []
        self.queues: list[dict] = []
        self.snapshot = threading.Event()
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("snapshot", lambda d: self.snapshot.set(), namespace="/display")
        self.client.on("called", self._called, namespace="/display")
        self.client.on("queue", self._queue, namespace="/display")
        self.client.connect(
            server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=10
        )
        assert self.snapshot.wait(10)

    def _called(self, data):
        with self.changed:
            self.calls.append(data)
            self.changed.notify_all()

    def _queue(self, data):
        with self.changed:
            self.queues.append(data)
            self.changed.notify_all()

    def wait_for(self, predicate, seconds: float = 10) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, seconds)


def test_calls_and_queue_updates_cross_processes(two_servers):
    a, b = two_servers
    on_a, on_b = Display(a), Display(b)
    try:
        clerk_a = a.session("mq_clerk_a", "clerk")
        clerk_b = b.session("mq_clerk_b", "clerk")
        assert clerk_a.post(a.url + "/api/windows/1/open").status_code == 200
        assert clerk_b.post(b.url + "/api/windows/3/open").status_code == 200

        # issued through A: the queue count reaches the display on B
        t1 = requests.post(a.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
        assert on_b.wait_for(lambda: any(q.get("SB") == 1 for q in on_b.queues)), on_b.queues
        # called through A: the display on B shows it
        assert clerk_a.post(a.url + "/api/windows/1/call-next").json()["ticket"]["id"] == t1["id"]
        assert on_b.wait_for(lambda: any(c["number"] == t1["number"] for c in on_b.calls))
        call = next(c for c in on_b.calls if c["number"] == t1["number"])
        assert call["window"] == 1 and "actor" not in call and "token" not in call

        # and the other way round: issued and called through B, shown on A
        t2 = requests.post(b.url + "/api/tickets", json={"service": "YB"}, timeout=10).json()
        assert on_a.wait_for(lambda: any(q.get("YB") == 1 for q in on_a.queues)), on_a.queues
        assert clerk_b.post(b.url + "/api/windows/3/call-next").json()["ticket"]["id"] == t2["id"]
        assert on_a.wait_for(lambda: any(c["number"] == t2["number"] for c in on_a.calls))
        assert next(c for c in on_a.calls if c["number"] == t2["number"])["window"] == 3

        # one database: numbering is shared, not per process
        t3 = requests.post(b.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
        assert (t1["number"], t3["number"]) == ("B001", "B002")

        # each call reached each display exactly once (no echo through Redis). Each
        # display's own process pushes a call asynchronously too, so wait for both calls
        # and for the last queue change (sent after them on the same Redis channel)
        # before counting.
        def seen_all(display):
            numbers = [c["number"] for c in display.calls]
            return (
                t1["number"] in numbers
                and t2["number"] in numbers
                and any(q.get("SB") == 1 and q.get("YB") == 0 for q in display.queues[-1:])
            )

        for display in (on_a, on_b):
            assert display.wait_for(lambda d=display: seen_all(d)), (display.calls, display.queues)
            numbers = [c["number"] for c in display.calls]
            assert numbers.count(t1["number"]) == 1 and numbers.count(t2["number"]) == 1
    finally:
        on_a.client.disconnect()
        on_b.client.disconnect()


def test_redis_client_is_a_pinned_requirement():
    lines = Path(ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.strip().startswith("redis==") for line in lines)
    assert "redis-server" in (ROOT / "run").read_text()  # `./run test` installs it
