"""Direct WebSocket writes (hall/fanout.py): every screen gets every message, whole and in
order, and a screen that stops reading holds up nobody else.

The Outbox is tested on real sockets with a tiny receive buffer, so that the kernel takes
only part of what is sent; the server is tested as it runs (`python -m hall serve`) with
real WebSocket clients, one of which stops reading.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from hall.compat import fanout, wsevent
from hall.compat.wsloop import PUBLIC, LoopOutbox
from tests.conftest import LiveServer


def _pair(rcvbuf: int = 2048):
    """A connected TCP pair on loopback; the reader's buffer is small on purpose."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    reader.connect(listener.getsockname())
    writer, _ = listener.accept()
    writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    listener.close()
    return writer, reader


def _read_all(sock: socket.socket, n: int, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def test_a_reader_that_lags_gets_every_frame_whole_and_in_order():
    writer, reader = _pair()
    box = fanout.Outbox(writer)
    frames = [f"frame {i:05d} ".encode() * 20 for i in range(2000)]  # ~0.5 MB
    t0 = time.monotonic()
    for f in frames:
        box.write(f)
    took = time.monotonic() - t0
    # The kernel could not take it all (the reader has not read a byte): the rest waits
    # in the backlog, and the writer did not wait for the reader.
    assert box.backlog, "everything fit in the kernel's buffers: the test proves nothing"
    assert took < 2
    expected = b"".join(frames)
    assert _read_all(reader, len(expected)) == expected
    deadline = time.monotonic() + 5
    while (box.backlog or box.flusher) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not box.backlog and box.flusher is None
    writer.close()
    reader.close()


def test_a_reader_that_never_reads_is_cut_off(monkeypatch):
    monkeypatch.setattr(fanout, "STALL_SECONDS", 0.5)
    writer, reader = _pair()
    box = fanout.Outbox(writer)
    data = b"x" * 200_000
    box.write(data)
    assert box.backlog
    deadline = time.monotonic() + 10
    while not box.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert box.closed and not box.backlog
    with pytest.raises(OSError):
        box.write(b"more")
    # The reader sees the end of the stream after what the kernel had already taken.
    reader.settimeout(5)
    total = 0
    while chunk := reader.recv(65536):
        total += len(chunk)
    assert total < len(data)
    writer.close()
    reader.close()


def test_a_backlog_beyond_the_limit_cuts_the_reader_off(monkeypatch):
    monkeypatch.setattr(fanout, "MAX_BACKLOG", 50_000)
    writer, reader = _pair()
    box = fanout.Outbox(writer)
    with pytest.raises(OSError):
        for _ in range(100):
            box.write(b"y" * 10_000)
    assert box.closed
    writer.close()
    reader.close()


def _sent_so_far(sock: socket.socket) -> bytes:
    """What has reached the socket until now, without waiting."""
    sock.setblocking(True)  # MSG_DONTWAIT alone decides (a timeout would poll first)
    got = bytearray()
    while True:
        try:
            chunk = sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return bytes(got)
        if not chunk:
            return bytes(got)
        got += chunk


def test_the_next_call_goes_before_public_writes_and_each_socket_keeps_its_order(monkeypatch):
    """The push thread's batches (hall/realtime.py, hall/compat/wsevent.py): what a batch
    sends to public sockets (phones, screens nobody registered) is written later, a slice
    at a time, so that the next call reaches the hall's own screens first; every public
    socket still gets every batch, whole and in order."""
    monkeypatch.setattr(wsevent, "_installed", True)
    monkeypatch.setattr(wsevent, "PUBLIC_GAP", 0.0)  # rounds as often as asked (below)
    assert not wsevent.public_pending()
    hall_w, hall_screen = _pair(65536)
    pairs = [_pair(65536) for _ in range(2)]
    hall_box = LoopOutbox(hall_w)
    boxes = [LoopOutbox(w) for w, _ in pairs]
    for i, box in enumerate(boxes):
        box.register(f"phone-{i}")
    phones = [r for _, r in pairs]

    def push(n: int) -> None:  # as the push thread sends a call's batch
        with wsevent.batch(defer=True):
            hall_box.write(f"call{n};".encode())  # the hall's own screen: at once
            for box in boxes:
                assert wsevent.hold({box.key}, f"queue{n};".encode())
                assert wsevent.hold({box.key}, f"ticket{n};".encode())

    try:
        push(1)
        assert _read_all(hall_screen, 6) == b"call1;"
        assert wsevent.public_pending() and _sent_so_far(phones[0]) == b""
        assert wsevent.flush_public(1)  # one socket's worth; the other still waits
        assert _read_all(phones[0], 15) == b"queue1;ticket1;"
        push(2)  # the next call, while the second phone has not had the first batch
        assert _read_all(hall_screen, 6) == b"call2;"
        assert _sent_so_far(phones[1]) == b""
        assert not wsevent.flush_public(None)
        assert not wsevent.public_pending()
        assert _read_all(phones[0], 15) == b"queue2;ticket2;"
        assert _read_all(phones[1], 30) == b"queue1;ticket1;queue2;ticket2;"
        # a batch outside the push thread writes its public sockets when it ends
        with wsevent.batch():
            assert wsevent.hold({boxes[0].key}, b"state;")
        assert _read_all(phones[0], 6) == b"state;"
        assert not wsevent.hold({boxes[0].key}, b"no batch open")
    finally:
        wsevent.flush_public(None)
        for box in boxes:
            box.close()
        assert not any(box.key in PUBLIC for box in boxes)
        for sock in (hall_w, hall_screen, *[s for p in pairs for s in p]):
            sock.close()


def test_a_round_writes_each_public_socket_once_with_all_it_was_sent_in_order(monkeypatch):
    """Broadcasts to many public sockets are kept as (recipients, frame) and written per
    round: a socket gets the room's messages and its own ticket's, interleaved as they
    were sent, in one write; a socket that has gone meanwhile is skipped."""
    monkeypatch.setattr(wsevent, "_installed", True)
    monkeypatch.setattr(wsevent, "PUBLIC_GAP", 0.0)
    pairs = [_pair(65536) for _ in range(4)]
    boxes = [LoopOutbox(w) for w, _ in pairs]
    for i, box in enumerate(boxes):
        box.register(f"phone-{i}")
    gone = boxes[3]
    room = {box.key for box in boxes}
    try:
        with wsevent.batch(defer=True):
            assert wsevent.hold(set(room), b"queue1;")
            assert wsevent.hold({boxes[1].key}, b"ticket1;")  # one phone's own ticket
            assert wsevent.hold({boxes[0].key, boxes[1].key}, b"window1;")
            assert wsevent.hold(set(room), b"queue2;")
        gone.close()
        assert not wsevent.flush_public(None)
        got = [_read_all(r, n) for (_, r), n in zip(pairs[:3], (21, 29, 14), strict=True)]
        assert got == [
            b"queue1;window1;queue2;",
            b"queue1;ticket1;window1;queue2;",
            b"queue1;queue2;",
        ]
        assert _sent_so_far(pairs[3][1]) == b""
    finally:
        wsevent.flush_public(None)
        for box in boxes:
            box.close()
        for sock in [s for p in pairs for s in p]:
            sock.close()


def test_many_one_socket_messages_are_joined_per_socket_in_order(monkeypatch):
    """More distinct recipient sets than MAX_GROUPS: the round joins frames per socket
    instead, still in order."""
    monkeypatch.setattr(wsevent, "MAX_GROUPS", 2)
    entries = [({"a", "b", "c", "d"}, b"all1;")]
    entries += [({k}, f"own-{k};".encode()) for k in "abcd"]
    entries += [({"a", "b", "c", "d"}, b"all2;")]
    joined = {keys[0]: data for keys, data in wsevent._groups(entries)}
    assert joined == {k: f"all1;own-{k};all2;".encode() for k in "abcd"}


def test_public_rounds_start_at_most_every_public_gap(monkeypatch):
    """What batches send public sockets within PUBLIC_GAP of the last round waits for
    the next one (then all of it in one write per socket); the push thread is told how
    long to wait (public_wait) instead of polling."""
    monkeypatch.setattr(wsevent, "_installed", True)
    monkeypatch.setattr(wsevent, "PUBLIC_GAP", 0.2)
    w, phone = _pair(65536)
    box = LoopOutbox(w)
    box.register("phone")
    try:
        with wsevent.batch(defer=True):
            assert wsevent.hold({"phone"}, b"a;")
        wsevent._later().next_round = 0.0
        assert not wsevent.flush_public()  # the first round starts at once
        assert _read_all(phone, 2) == b"a;"
        with wsevent.batch(defer=True):
            assert wsevent.hold({"phone"}, b"b;")
        with wsevent.batch(defer=True):
            assert wsevent.hold({"phone"}, b"c;")
        assert wsevent.flush_public()  # not due: nothing written yet
        assert _sent_so_far(phone) == b""
        assert 0 < wsevent.public_wait() <= 0.2
        wsevent._later().next_round = time.monotonic()  # as if the gap had passed
        assert wsevent.public_wait() == 0.0
        assert not wsevent.flush_public()
        assert _read_all(phone, 4) == b"b;c;"
        assert wsevent.public_wait() is None
    finally:
        wsevent.flush_public(None)
        box.close()
        w.close()
        phone.close()


def test_other_engineio_versions_keep_the_stock_writer(monkeypatch, caplog):
    monkeypatch.setattr(fanout, "SUPPORTED", {"python-engineio": ("0.0.1",)})
    assert fanout._supported() is False
    assert "direct WebSocket writes off" in caplog.text


# --- the running server ---------------------------------------------------------------
class RawDisplay:
    """A /display client speaking Engine.IO 4 over WebSocket (websocket-client)."""

    def __init__(self, url: str, rcvbuf: int | None = None):
        import websocket

        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        opts = [(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)] if rcvbuf else []
        self.ws = websocket.create_connection(ws_url, timeout=10, sockopt=opts)
        assert self.ws.recv().startswith("0")
        self.ws.send("40/display,")
        self.calls: list[str] = []
        self.snapshot = None
        # Joined before the test goes on: the namespace connect is handled off this
        # thread, and a call made before it is in the snapshot, never a `called`.
        while self.snapshot is None:
            self._take(self.ws.recv())

    def _take(self, msg: str) -> None:
        if msg == "2":
            self.ws.send("3")
        elif msg.startswith('42/display,["called",'):
            self.calls.append(json.loads(msg[len("42/display,") :])[1]["number"])
        elif msg.startswith('42/display,["snapshot",'):
            self.snapshot = json.loads(msg[len("42/display,") :])[1]

    def read_until(self, numbers: set[str], timeout: float = 10) -> float:
        """Read until every number in `numbers` was called; seconds it took."""
        t0 = time.monotonic()
        self.ws.settimeout(timeout)
        while not numbers <= set(self.calls):
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"missing {sorted(numbers - set(self.calls))}")
            self._take(self.ws.recv())
        return time.monotonic() - t0

    def close(self):
        self.ws.close()


def _hall_with_queue(server, tickets: int) -> tuple[requests.Session, list[str]]:
    clerk = server.session("clerk1")
    assert clerk.post(server.url + "/api/windows/1/open").status_code == 200
    numbers = []
    for _ in range(tickets):
        r = requests.post(server.url + "/api/tickets", json={"service": "YB"})
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
    return clerk, numbers


def test_a_stuck_screen_holds_up_no_other_and_later_gets_every_call_in_order(tmp_path):
    # The raw screens are public sockets: their writes without the rounds'
    # server.public_write_ms wait, or 150 calls read one by one take 150 such waits.
    live_server = LiveServer(tmp_path, settings={"server": {"public_write_ms": 0}}).start()
    try:
        _stuck_screen(live_server)
    finally:
        live_server.stop()


def _stuck_screen(live_server):
    clerk, numbers = _hall_with_queue(live_server, 150)
    stuck = RawDisplay(live_server.url, rcvbuf=2048)  # joined, then reads nothing
    live = RawDisplay(live_server.url)
    called = []
    for _ in numbers:
        r = clerk.post(live_server.url + "/api/windows/1/call-next")
        assert r.status_code == 200, r.text
        called.append(r.json()["ticket"]["number"])
        # The reading screen gets each call while the stuck one reads nothing: a push
        # blocked on the stuck socket would leave it waiting forever (no timing asserted:
        # the timeout only bounds a failure on a loaded machine).
        live.read_until({called[-1]}, timeout=30)
        r = clerk.post(live_server.url + f"/api/tickets/{r.json()['ticket']['id']}/finish")
        assert r.status_code == 200
    assert live.calls == called
    # The stuck screen reads again: everything, whole, in the order it was called.
    stuck.read_until(set(called), timeout=30)
    assert stuck.calls == called
    assert stuck.snapshot is not None
    stuck.close()
    live.close()


def test_upgraded_clients_get_the_snapshot_first_and_every_call_once(live_server):
    """python-socketio starts on long-polling and upgrades to WebSocket: what was queued
    before the upgrade goes out before any direct write."""
    import socketio

    clerk, numbers = _hall_with_queue(live_server, 30)
    clients, seen = [], []
    for _ in range(5):
        got: list = []
        sio = socketio.Client(reconnection=False)
        sio.on("snapshot", lambda d, got=got: got.append(("snapshot", None)), namespace="/display")
        sio.on(
            "called", lambda d, got=got: got.append(("called", d["number"])), namespace="/display"
        )
        sio.connect(
            live_server.url,
            namespaces=["/display"],
            transports=["polling", "websocket"],
            wait_timeout=10,
        )
        clients.append(sio)
        seen.append(got)
    called = []

    def caller():
        for _ in numbers:
            r = clerk.post(live_server.url + "/api/windows/1/call-next")
            called.append(r.json()["ticket"]["number"])
            clerk.post(live_server.url + f"/api/tickets/{r.json()['ticket']['id']}/finish")

    t = threading.Thread(target=caller)
    t.start()
    t.join(60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        sum(1 for k, _ in got if k == "called") < len(called) for got in seen
    ):
        time.sleep(0.05)
    for sio, got in zip(clients, seen, strict=True):
        assert sio.transport() == "websocket"
        assert got[0] == ("snapshot", None)
        assert [n for k, n in got if k == "called"] == called
        sio.disconnect()
