"""Live connections against `python -m hall serve`: the limits hold while the hall works,
WebSockets cost no thread each, idle and flooding connections are closed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import requests
import websocket

from hall.sockets import REFUSAL, RETRY_AFTER

from ..conftest import LiveServer


def ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


class Screen:
    """A /display client over a raw WebSocket, joined (its snapshot read) when made."""

    def __init__(self, server, cookie: str | None = None, namespace: str = "/display"):
        headers = [f"Cookie: {cookie}"] if cookie else None
        self.ws = websocket.create_connection(ws_url(server), timeout=30, header=headers)
        assert self.ws.recv().startswith("0{")
        self.namespace = namespace
        self.ws.send(f"40{namespace},")
        self.calls: list[str] = []
        self.snapshot = None
        self.joined = False
        while not self.joined or (namespace != "/ticket" and self.snapshot is None):
            self.take(self.ws.recv())

    def take(self, msg: str) -> None:
        prefix = f"42{self.namespace},"
        if msg.startswith(f"40{self.namespace},"):
            self.joined = True
        elif msg == "2":
            self.ws.send("3")
        elif msg.startswith(prefix + '["called",'):
            self.calls.append(json.loads(msg[len(prefix) :])[1]["number"])
        elif msg.startswith(prefix + '["snapshot",'):
            self.snapshot = json.loads(msg[len(prefix) :])[1]

    def read_until(self, numbers: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not set(numbers) <= set(self.calls):
            assert time.monotonic() < deadline, f"missing {set(numbers) - set(self.calls)}"
            self.take(self.ws.recv())


def refused(server) -> websocket.WebSocketBadStatusException:
    try:
        websocket.create_connection(ws_url(server), timeout=30).close()
    except websocket.WebSocketBadStatusException as e:
        return e
    raise AssertionError("a connection over the limit was admitted")


def worker_pid(server) -> int:
    pid = server.proc.pid
    return int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("Threads:")[1].split()[0])


def test_more_sockets_than_one_address_may_hold_while_the_hall_works(tmp_path):
    server = LiveServer(tmp_path, settings={"security": {"socket_limit_per_address": 4}}).start()
    screens: list[Screen] = []
    try:
        clerk = server.session("cap_clerk", "clerk")
        assert clerk.post(server.url + "/api/windows/1/open").status_code == 200
        screens = [Screen(server) for _ in range(4)]
        answers = [refused(server) for _ in range(3)]  # the 5th, 6th and 7th screens
        for e in answers:
            assert e.status_code == 503
            assert e.resp_headers["retry-after"] == str(RETRY_AFTER)
            assert json.loads(e.resp_body) == {"error": REFUSAL}
        # a clerk's console from the same address is staff: not counted, admitted
        cookie = f"hall_session={clerk.cookies['hall_session']}"
        console = Screen(server, cookie=cookie, namespace="/counter")

        issued, statuses, called = [], [], []

        def kiosk(service: str) -> None:
            for _ in range(15):
                r = requests.post(
                    server.url + "/api/tickets", json={"service": service}, timeout=30
                )
                statuses.append(r.status_code)
                if r.status_code == 201:
                    issued.append(r.json()["number"])

        kiosks = [threading.Thread(target=kiosk, args=(s,)) for s in ("SB", "YB")]
        for k in kiosks:
            k.start()
        while len(called) < 10:  # the clerk calls and finishes as tickets come
            r = clerk.post(server.url + "/api/windows/1/call-next", timeout=30)
            assert r.status_code == 200, r.text
            ticket = r.json()["ticket"]
            if ticket is None:
                time.sleep(0.05)  # nobody waiting yet: the kiosks are still issuing
                continue
            called.append(ticket["number"])
            r = clerk.post(server.url + f"/api/tickets/{ticket['id']}/finish", timeout=30)
            assert r.status_code == 200
        for k in kiosks:
            k.join(60)

        assert statuses == [201] * 30 and len(set(issued)) == 30
        for s in screens:  # every call reached every admitted screen, in order
            s.read_until(called)
            assert s.calls == called
        console.read_until(called)
        log = server.log_path.read_text()
        assert "refused a live connection from 127.0.0.1" in log
        assert "security.socket_limit_per_address" in log
        health = requests.get(server.url + "/api/health", timeout=10).json()["sockets"]
        assert health["refused"]["address"] == 3
        assert health["limits"]["per_address"] == 4
        console.ws.close()
    finally:
        for s in screens:
            s.ws.close()
        server.stop()


def test_websockets_hold_no_thread_and_the_served_capacity_is_logged(tmp_path):
    server = LiveServer(tmp_path).start()
    screens: list[Screen] = []
    try:
        pid = worker_pid(server)
        requests.post(server.url + "/api/tickets", json={"service": "SB"}, timeout=10)
        before = threads_of(pid)
        screens = [Screen(server) for _ in range(120)]  # more than the server's 64 threads
        assert threads_of(pid) < before + 10  # not one (or four) per socket
        r = requests.post(server.url + "/api/tickets", json={"service": "SB"}, timeout=10)
        assert r.status_code == 201  # the hall's work goes on
        deadline = time.monotonic() + 10  # /api/health is rebuilt at most every 2 s
        while True:
            body = requests.get(server.url + "/api/health", timeout=10).json()
            if body["sockets"]["on_event_loop"] >= 120 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert body["compat"]["event_websockets"] is True
        assert body["compat"]["session_hooks"] is True
        assert body["sockets"]["on_event_loop"] >= 120
        assert body["sockets"]["open"]["public"] >= 120
        assert body["capacity"]["worker_connections"] > 1000
        assert body["capacity"]["event_loop"] is True
        log = server.log_path.read_text()
        assert "hall capacity: 64 HTTP threads; WebSockets on one event thread" in log
    finally:
        for s in screens:
            s.ws.close()
        server.stop()


def ended(ws, timeout: float = 30) -> bool:
    """Whether the server ends this WebSocket within `timeout` (pings answered)."""
    ws.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = ws.recv()
            if msg == "2":
                ws.send("3")
            elif msg == "" or msg.startswith("1"):  # closed, or Engine.IO CLOSE
                return True
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return True
    except websocket.WebSocketTimeoutException:
        return False
    return False


def follow(phone: Screen, ack: int, token: str) -> dict:
    """A phone's `follow`, and the server's answer to it."""
    phone.ws.send(f'42/ticket,{ack}["follow",' + json.dumps({"token": token}) + "]")
    phone.ws.settimeout(30)
    while not (msg := phone.ws.recv()).startswith(f"43/ticket,{ack}"):
        phone.take(msg)  # pings, queue counts
    return json.loads(msg[len(f"43/ticket,{ack}") :])[0]


def test_idle_and_flooding_connections_are_closed(tmp_path):
    server = LiveServer(tmp_path, settings={"security": {"socket_idle_seconds": 1}}).start()
    try:
        follower = Screen(server, namespace="/ticket")
        t = requests.post(server.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
        assert follow(follower, 1, t["token"])["ok"] is True

        idle = websocket.create_connection(ws_url(server), timeout=30)
        assert idle.recv().startswith("0{")  # opened, and then nothing
        assert ended(idle)
        lurker = Screen(server, namespace="/ticket")  # joined, follows nothing
        assert ended(lurker.ws)
        # the follower, older than both, is still served
        assert follow(follower, 2, t["token"])["ticket"]["number"] == t["number"]

        flood = Screen(server)
        for _ in range(150):
            try:
                flood.ws.send('42/display,["nothing"]')
            except (websocket.WebSocketConnectionClosedException, OSError):
                break
        assert ended(flood.ws)
        assert "closed an idle live connection from 127.0.0.1" in server.log_path.read_text()
        follower.ws.close()
    finally:
        server.stop()
