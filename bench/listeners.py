"""The displays of bench/load.py that measure call -> display (each set in its own process)."""

from __future__ import annotations

import json
import time


def display_worker(url: str, count: int, conn, worker: int) -> None:
    """Connect `count` /display clients; record (ticket_id, arrival) per client."""
    import socketio

    from bench.clients import dispatch_on_read_thread

    dispatch_on_read_thread()

    arrivals: list[dict[int, float]] = [dict() for _ in range(count)]
    snapshots = [0] * count
    clients = []
    errors = 0

    def make(i):
        sio = socketio.Client(reconnection=True, logger=False, engineio_logger=False)

        @sio.on("called", namespace="/display")
        def called(data, i=i):
            now = time.monotonic()
            tid = data.get("ticket_id") if isinstance(data, dict) else None
            if tid is not None and not data.get("recall"):
                arrivals[i].setdefault(tid, now)

        @sio.on("snapshot", namespace="/display")
        def snap(data, i=i):
            snapshots[i] += 1

        return sio

    for i in range(count):
        sio = make(i)
        for attempt in range(5):
            try:
                sio.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
                break
            except Exception:
                time.sleep(0.2 * (attempt + 1))
        else:
            errors += 1
        clients.append(sio)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sum(1 for s in snapshots if s) < count - errors:
        time.sleep(0.05)
    conn.send({"ready": worker, "connected": sum(1 for s in snapshots if s), "errors": errors})
    conn.recv()  # "stop"
    conn.send({"arrivals": arrivals, "errors": errors})
    for sio in clients:
        try:
            sio.disconnect()
        except Exception:
            pass
    conn.close()


def display_worker_raw(url: str, count: int, conn, worker: int) -> None:
    """`count` /display clients speaking Engine.IO 4 / Socket.IO 5 over WebSocket
    directly, all in one thread (select): a client costs almost nothing, so what is
    measured is the server, as with real displays on their own machines."""
    import select

    import websocket

    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    ws_url += "/socket.io/?EIO=4&transport=websocket"
    arrivals: list[dict[int, float]] = [dict() for _ in range(count)]
    ready = [False] * count
    socks = []
    errors = 0
    for i in range(count):
        try:
            ws = websocket.create_connection(ws_url, timeout=10)
            opened = ws.recv()
            if not opened.startswith("0"):
                raise RuntimeError(f"unexpected open packet {opened[:40]!r}")
            ws.send("40/display,")
            socks.append((i, ws))
        except Exception:  # noqa: BLE001
            errors += 1
    by_fd = {ws.sock.fileno(): (i, ws) for i, ws in socks}
    prefix = '42/display,["called",'
    stop = False
    announced = False
    deadline = time.monotonic() + 15
    while not stop:
        readable, _, _ = select.select(list(by_fd), [], [], 0.05)
        now = time.monotonic()
        for fd in readable:
            i, ws = by_fd[fd]
            try:
                msg = ws.recv()
            except Exception:  # noqa: BLE001
                errors += 1
                del by_fd[fd]
                continue
            if msg == "2":
                ws.send("3")  # pong
            elif msg.startswith(prefix):
                data = json.loads(msg[len("42/display,") :])[1]
                if not data.get("recall"):
                    arrivals[i].setdefault(data["ticket_id"], now)
            elif msg.startswith('42/display,["snapshot"'):
                ready[i] = True
        if not announced and (all(ready[i] for i, _ in socks) or now > deadline):
            conn.send({"ready": worker, "connected": sum(ready), "errors": errors})
            announced = True
        if announced and conn.poll():
            conn.recv()  # "stop"
            stop = True
    conn.send({"arrivals": arrivals, "errors": errors})
    for _, ws in socks:
        try:
            ws.close()
        except Exception:  # noqa: BLE001
            pass
    conn.close()
