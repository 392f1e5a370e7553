"""Idle public connections for bench/load.py --idle-sockets: screens nobody watches and
citizens' phone pages, held open while the hall works.

Each worker process runs one selector loop over its WebSockets (a client costs a few KB,
so thousands fit in one process) and speaks Engine.IO 4 / Socket.IO 5 itself, offering
permessage-deflate as browsers do (the hall declines it):

- a **screen** joins /display, answers pings and drops whatever it is sent;
- a **phone** joins /ticket and follows a real ticket (`follow {token}`), as phone.js
  does: when its service's waiting count changes it follows again for the fresh ticket,
  at most once per the last ack's refresh_seconds, at a random moment within it.

The connections come from many loopback addresses (127.1.x.y, --per-address each), so
the hall sees them as public clients of many machines, within its per-address limit,
while the measuring displays, kiosks and clerks come from 127.0.0.1 (the hall's own, in
security.rate_limit_exempt).
"""

from __future__ import annotations

import base64
import heapq
import json
import os
import random
import selectors
import socket
import struct
import time

_SMALL = (b"0{", b"40", b"41", b"43", b"44")  # control and ack packets: always read


def source_address(i: int, per_address: int) -> str:
    k = i // max(per_address, 1)
    return f"127.1.{k // 250}.{k % 250 + 1}"


def _frame(text: str) -> bytes:
    """A masked client text frame."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    else:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    return head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(data))


class Client:
    __slots__ = (
        "sock", "state", "buf", "joined", "t0", "token", "service", "waiting", "pending",
        "count", "refresh", "answered", "asked", "acks",
    )  # fmt: skip

    def __init__(self, sock, token=None):
        self.sock = sock
        self.state = "connecting"  # connecting -> handshake -> open -> closed
        self.buf = bytearray()
        self.joined = False
        self.t0 = time.monotonic()
        self.token = token  # a phone follows this ticket; None: a screen
        self.service = None
        self.waiting = True
        self.pending = False
        self.count = None
        self.refresh = 1.0
        self.answered = 0.0  # when the last follow was answered
        self.asked = 0.0
        self.acks = 0


class Pool:
    def __init__(self, host, port, tokens: list[str], screens: int, per_address: int, first: int):
        self.host, self.port, self.url = host, port, f"http://{host}:{port}"
        self.sel = selectors.DefaultSelector()
        self.clients: list[Client] = []
        self.todo = [None] * screens + list(tokens)
        self.per_address, self.first = per_address, first
        self.failed = self.closed = self.refused = 0
        self.read_ms: list[float] = []  # follow -> its answer
        self.read_errors = 0
        self.timers: list = []  # (due, seq, client): phones' next follow
        self.seq = 0
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nOrigin: " + self.url + "\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
        self.pong = _frame("3")

    def open_some(self, n: int) -> int:
        opened = 0
        while self.todo and opened < n:
            token = self.todo.pop()
            i = self.first + len(self.clients)
            s = socket.socket()
            s.setblocking(False)
            try:
                s.bind((source_address(i, self.per_address), 0))
                s.connect_ex((self.host, self.port))
            except OSError:
                self.failed += 1
                s.close()
                continue
            c = Client(s, token)
            self.clients.append(c)
            self.sel.register(s, selectors.EVENT_WRITE, c)
            opened += 1
        return opened

    def drop(self, c: Client, failed: bool) -> None:
        if c.state == "closed":
            return
        if failed:
            self.failed += 1
        else:
            self.closed += 1
        c.state = "closed"
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def send(self, c: Client, text: str) -> None:
        try:
            c.sock.send(_frame(text))
        except OSError:
            self.drop(c, failed=not c.joined)

    # --- what a client does with a message --------------------------------------------
    def on_message(self, c: Client, text: str) -> None:
        if text == "2":
            try:
                c.sock.send(self.pong)
            except OSError:
                self.drop(c, failed=False)
        elif text.startswith("0{"):
            self.send(c, "40/ticket," if c.token else "40/display,")
        elif text.startswith("40/display,"):
            c.joined = True
        elif text.startswith("40/ticket,"):
            self.follow(c)
        elif text.startswith("43/ticket,"):
            now = time.monotonic()
            ack = json.loads(text[text.index("[") :])[0]
            if c.joined:
                self.read_ms.append((now - c.asked) * 1000)
                self.read_errors += not ack.get("ok")
            c.joined = bool(ack.get("ok"))
            c.answered = now
            t = ack.get("ticket") or {}
            c.service, c.waiting = t.get("service"), t.get("status") == "waiting"
            c.refresh = float(ack.get("refresh_seconds") or 1)
        elif text.startswith('42/ticket,["ticket",'):
            c.waiting = json.loads(text[len("42/ticket,") :])[1].get("status") == "waiting"
        elif text.startswith('42/ticket,["queue",'):
            counts = json.loads(text[len("42/ticket,") :])[1]
            n = counts.get(c.service)
            if c.waiting and n != c.count:
                c.count = n
                if not c.pending:  # phone.js: once per refresh, at a random moment
                    c.pending = True
                    self.seq += 1
                    now = time.monotonic()
                    due = max(now, c.answered + c.refresh) + random.random() * c.refresh
                    heapq.heappush(self.timers, (due, self.seq, c))
        elif text.startswith("44") or text.startswith("41"):
            self.drop(c, failed=not c.joined)

    def follow(self, c: Client) -> None:
        c.acks += 1
        c.asked = time.monotonic()
        self.send(c, f'42/ticket,{c.acks}["follow",' + json.dumps({"token": c.token}) + "]")

    # --- the loop ---------------------------------------------------------------------
    def read(self, c: Client) -> None:
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(c, failed=not c.joined)
            return
        buf = c.buf
        buf += data
        if c.state == "handshake":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.refused += head.startswith(b"HTTP/1.1 503")
                self.drop(c, failed=True)
                return
            c.state = "open"
        while len(buf) >= 2:
            b0, n, off = buf[0], buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, off = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, off = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < off + n:
                return
            opcode, end = b0 & 0x0F, off + n
            head = bytes(buf[off : off + 2])
            wanted = c.token is not None or n <= 16 or head in _SMALL
            payload = bytes(buf[off:end]) if wanted or opcode != 0x1 else b""
            del buf[:end]  # a screen drops a broadcast without decoding it
            if opcode == 0x8:
                self.drop(c, failed=not c.joined)
                return
            if opcode == 0x9:  # a WebSocket ping: a masked pong
                c.sock.send(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 0x1 and wanted:
                self.on_message(c, payload.decode("utf-8", "replace"))

    def step(self, timeout: float) -> None:
        for key, _ in self.sel.select(timeout):
            c = key.data
            if c.state != "connecting":
                self.read(c)
                continue
            if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.drop(c, failed=True)
                continue
            try:
                c.sock.send(self.request)
            except OSError:
                self.drop(c, failed=True)
                continue
            c.state = "handshake"
            self.sel.modify(c.sock, selectors.EVENT_READ, c)
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, c = heapq.heappop(self.timers)
            c.pending = False
            if c.state == "open":
                self.follow(c)

    def counts(self) -> dict:
        live = [c for c in self.clients if c.state != "closed"]
        ms = sorted(self.read_ms)
        return {
            "live": len(live),
            "joined": sum(1 for c in live if c.joined),
            "phones": sum(1 for c in live if c.token and c.joined),
            "closed": self.closed,
            "failed": self.failed,
            "refused": self.refused,
            "reads": len(ms),
            "read_errors": self.read_errors,
            "read_ms": ms,
        }


def worker(url: str, screens: int, tokens: list[str], per_address: int, first: int, conn):
    """For multiprocessing: open the clients in batches, say when they joined, hold them
    (phones re-reading) until "stop", then report."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    pool = Pool(u.hostname, u.port or 80, tokens, screens, per_address, first)
    total = screens + len(tokens)
    t0 = time.monotonic()
    announced = False
    while True:
        busy = sum(1 for c in pool.clients if c.state in ("connecting", "handshake"))
        if pool.todo and busy < 100:
            pool.open_some(100 - busy)
        pool.step(0.05)
        if not announced:
            cts = pool.counts()
            settled = cts["joined"] + cts["failed"] + cts["closed"]
            if (not pool.todo and settled >= total) or time.monotonic() - t0 > 180:
                cts.pop("read_ms")
                conn.send({"ready": True, "connect_s": round(time.monotonic() - t0, 1), **cts})
                announced = True
        elif conn.poll():
            if conn.recv() == "stop":
                conn.send(pool.counts())
                break
    for c in pool.clients:
        try:
            c.sock.close()
        except OSError:
            pass


class IdleSockets:
    """--idle-sockets N (bench/idle.py): N public connections held open during the run,
    --idle-phones of them phone pages following tickets issued for them, the rest screens."""

    def __init__(self, ctx, urls: list[str], services: list[str], args):
        import requests

        n = args.idle_sockets
        phones = round(n * args.idle_phones)
        tokens = []
        for i in range(phones):  # the phones' own tickets, from the hall's kiosk
            r = requests.post(
                urls[0] + "/api/tickets", json={"service": services[i % len(services)]}
            )
            r.raise_for_status()
            tokens.append(r.json()["token"])
        procs = max(1, args.idle_procs)
        self.conns, self.procs = [], []
        t0 = time.monotonic()
        first = 0
        for w in range(procs):
            screens = (n - phones) // procs + (w < (n - phones) % procs)
            mine = tokens[w::procs]
            a, b = ctx.Pipe()
            pr = ctx.Process(
                target=worker,
                args=(urls[w % len(urls)], screens, mine, args.idle_per_address, first, b),
                daemon=True,
            )
            first += screens + len(mine)
            pr.start()
            self.conns.append(a)
            self.procs.append(pr)
        self.ready = {"joined": 0, "failed": 0, "refused": 0}
        for a in self.conns:
            if not a.poll(300):
                raise RuntimeError("the idle connections did not get ready in 300 s")
            msg = a.recv()
            for k in self.ready:
                self.ready[k] += msg[k]
        self.n, self.phones = n, phones
        self.connect_s = time.monotonic() - t0

    def stop(self) -> dict:
        from bench.hallserver import percentile

        end = {"live": 0, "joined": 0, "phones": 0, "closed": 0, "failed": 0, "reads": 0}
        end["read_errors"] = 0
        read_ms: list[float] = []
        for a in self.conns:
            a.send("stop")
        for a in self.conns:
            msg = a.recv()
            read_ms += msg.pop("read_ms")
            for k in end:
                end[k] += msg[k]
        for pr in self.procs:
            pr.join(10)
        errors = (self.n - self.ready["joined"]) + (self.n - end["joined"]) + end["read_errors"]
        return {
            "idle_sockets": self.n,
            "idle_phones": self.phones,
            "idle_joined_at_start": self.ready["joined"],
            "idle_refused": self.ready["refused"],
            "idle_connect_s": round(self.connect_s, 1),
            "idle_live_at_end": end["joined"],
            "idle_closed": end["closed"],
            "phone_reads": end["reads"],
            "phone_read_p50_ms": round(percentile(read_ms, 50), 1),
            "phone_read_p99_ms": round(percentile(read_ms, 99), 1),
            "idle_errors": max(errors, 0),
        }
