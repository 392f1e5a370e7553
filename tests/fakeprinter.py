"""A fake ESC/POS network printer (raw TCP, like port 9100) for tests.

Usage::

    from tests.fakeprinter import FakePrinter, decode_raster

    with FakePrinter() as fp:                      # 127.0.0.1, ephemeral port
        cfg = {"driver": "network", "host": fp.host, "port": fp.port, "timeout": 1}
        ...                                        # print something
        fp.wait_idle()                             # all connections finished
        job = fp.jobs[-1]                          # bytes of the last connection
        images = decode_raster(job)                # GS v 0 bitmaps, as PIL images

    fp.mode = "paper_out"                          # switch at any time

Modes:
    "ok"        online, paper OK
    "near_end"  online, paper near-end sensor on (still prints)
    "paper_out" roll paper end: DLE EOT 4 says no paper, DLE EOT 1 says offline,
                DLE EOT 2 says "stopped by paper end"
    "offline"   DLE EOT 1 says offline, DLE EOT 2 says cover open
    "hang"      accepts and reads, never answers a status query, never closes
    "drop"      closes the connection (TCP reset) after ``drop_after`` bytes

Status replies are the bytes python-escpos' ``is_online()`` (DLE EOT 1, bit 3
= offline) and ``paper_status()`` (DLE EOT 4, masks 0x72 no paper / 0x1E near
end / 0x12 ok) parse; ``GS r 1`` (paper sensor) is answered too. Like a real
printer, the stream is parsed so that bytes inside GS v 0 raster data or
GS ( k / GS ( L payloads are never mistaken for a DLE EOT query.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

from PIL import Image

MODES = ("ok", "near_end", "paper_out", "offline", "hang", "drop")

# DLE EOT n replies per mode. Fixed bits: bit 1 and bit 4 set (0x12).
_DLE_EOT = {
    "ok": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    "offline": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
}
_DLE_EOT["drop"] = _DLE_EOT["ok"]
# GS r 1: bits 0-1 near end, bits 2-3 paper end.
_GS_R1 = {"ok": 0x00, "near_end": 0x03, "paper_out": 0x0F, "offline": 0x00, "drop": 0x00}


class _Parser:
    """Incremental ESC/POS stream scanner: finds real-time status queries."""

    def __init__(self):
        self.pending = bytearray()
        self.skip = 0  # payload bytes still to skip (raster / 2D code data)

    def feed(self, data: bytes) -> list[tuple[str, int]]:
        """Returns queries found: ("dle_eot", n) or ("gs_r", n)."""
        out: list[tuple[str, int]] = []
        self.pending += data
        buf = self.pending
        i = 0
        while i < len(buf):
            if self.skip:
                step = min(self.skip, len(buf) - i)
                self.skip -= step
                i += step
                continue
            b = buf[i]
            if b == 0x10:  # DLE
                if i + 2 >= len(buf):
                    break
                if buf[i + 1] == 0x04:
                    out.append(("dle_eot", buf[i + 2]))
                    i += 3
                    continue
                i += 1
            elif b == 0x1D:  # GS
                if i + 1 >= len(buf):
                    break
                c = buf[i + 1]
                if c == 0x76:  # GS v 0 m xL xH yL yH d...
                    if i + 8 > len(buf):
                        break
                    x, y = struct.unpack_from("<HH", buf, i + 4)
                    self.skip = x * y
                    i += 8
                elif c == 0x28:  # GS ( k / GS ( L: pL pH then that many bytes
                    if i + 5 > len(buf):
                        break
                    (p,) = struct.unpack_from("<H", buf, i + 3)
                    self.skip = p
                    i += 5
                elif c == 0x72:  # GS r n
                    if i + 2 >= len(buf):
                        break
                    out.append(("gs_r", buf[i + 2]))
                    i += 3
                else:
                    i += 2
            else:
                i += 1
        del buf[:i]
        return out


class FakePrinter:
    """Raw TCP listener on 127.0.0.1 that behaves like an ESC/POS printer."""

    def __init__(
        self, mode: str = "ok", drop_after: int = 4096, host: str = "127.0.0.1", port: int = 0
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.drop_after = drop_after
        self.host = host
        self.port = port  # 0 = ephemeral, the real port is set by start()
        self.queries: list[tuple[str, int]] = []  # every status query seen
        self._jobs: list[bytearray] = []
        self._open_conns = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle

    def start(self) -> FakePrinter:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="fakeprinter-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        if self._sock:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> FakePrinter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def config(self, **extra) -> dict:
        """A printer config section pointing at this fake (driver=network)."""
        cfg = {"driver": "network", "host": self.host, "port": self.port, "timeout": 1.0}
        cfg.update(extra)
        return cfg

    # -- recorded data

    @property
    def jobs(self) -> list[bytes]:
        """Bytes received, one entry per connection (in accept order)."""
        with self._cond:
            return [bytes(j) for j in self._jobs]

    @property
    def connections(self) -> int:
        with self._cond:
            return len(self._jobs)

    def clear(self) -> None:
        with self._cond:
            self._jobs.clear()
            self.queries.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every connection (including ones still in the listen
        backlog) has been accepted and closed. False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._open_conns or self._backlog_pending():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.02))
        return True

    def _backlog_pending(self) -> bool:
        if self._sock is None:
            return False
        readable, _, _ = select.select([self._sock], [], [], 0)
        return bool(readable)

    # -- server

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._sock], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not readable:
                continue
            # Accept and count under the lock, so wait_idle() never sees a
            # connection that is neither in the backlog nor counted.
            with self._cond:
                try:
                    conn, _ = self._sock.accept()
                except OSError:
                    continue
                buf = bytearray()
                self._jobs.append(buf)
                self._open_conns += 1
            t = threading.Thread(
                target=self._serve, args=(conn, buf), name="fakeprinter-conn", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket, buf: bytearray) -> None:
        parser = _Parser()
        conn.settimeout(0.1)
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return  # client closed
                mode = self.mode
                if mode == "drop":
                    room = self.drop_after - len(buf)
                    data = data[: max(0, room)]
                with self._cond:
                    buf += data
                for kind, n in parser.feed(data):
                    with self._cond:
                        self.queries.append((kind, n))
                    reply = self._reply(mode, kind, n)
                    if reply is not None:
                        try:
                            conn.sendall(bytes((reply,)))
                        except OSError:
                            return
                if mode == "drop" and len(buf) >= self.drop_after:
                    # Abort: SO_LINGER 0 makes close() send a TCP reset, like a
                    # printer that is switched off mid-job.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
        finally:
            conn.close()
            with self._cond:
                self._open_conns -= 1
                self._cond.notify_all()

    @staticmethod
    def _reply(mode: str, kind: str, n: int) -> int | None:
        if mode == "hang":
            return None
        if kind == "dle_eot":
            return _DLE_EOT[mode].get(n)
        if kind == "gs_r" and n in (1, 49):
            return _GS_R1[mode]
        return None


def decode_raster(data: bytes) -> list[Image.Image]:
    """Rebuild every ``GS v 0`` bitmap in ``data`` as a PIL image (mode "L").

    Blocks that follow each other directly with the same width (python-escpos
    splits tall images into 960-line fragments) are joined vertically into one
    image. Printed dots are black (0) on white (255).
    """
    images: list[Image.Image] = []
    groups: list[list[Image.Image]] = []
    prev_end = -1
    i = 0
    while True:
        i = data.find(b"\x1dv0", i)
        if i < 0 or i + 8 > len(data):
            break
        x, y = struct.unpack_from("<HH", data, i + 4)
        start, end = i + 8, i + 8 + x * y
        if end > len(data):
            raise ValueError(f"truncated GS v 0 block at offset {i}")
        bits = Image.frombytes("1", (x * 8, y), data[start:end])
        # In the raster a 1 bit is a printed (black) dot; in PIL "1" it is white.
        block = bits.convert("L").point(lambda v: 255 - v)
        if groups and i == prev_end and groups[-1][0].width == block.width:
            groups[-1].append(block)
        else:
            groups.append([block])
        prev_end = end
        i = end
    for group in groups:
        height = sum(b.height for b in group)
        joined = Image.new("L", (group[0].width, height), 255)
        y = 0
        for b in group:
            joined.paste(b, (0, y))
            y += b.height
        images.append(joined)
    return images
