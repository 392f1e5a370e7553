"""Direct WebSocket writes: a message reaches a hundred screens in one pass of one thread.

Engine.IO's threading mode gives every WebSocket a writer thread fed by a queue, so a
message to 100 hall displays is 100 queue puts that wake 100 threads, which then take
turns on the GIL: most of a served hall's CPU and the long tail of call -> display
(docs/bench.md). Once a WebSocket is up, `install()` makes Engine.IO's `Socket.send`
write the frame itself, at once, and never block:

- a frame the kernel takes whole (the normal case: a screen reads what it is sent) is
  done; a frame it takes only in part, or not at all, goes to that socket's backlog, which
  a flusher thread of that socket alone writes out as the screen reads. Until the backlog
  is empty every later frame queues behind it, so a screen sees frames in order and whole.
- a screen that takes nothing for STALL_SECONDS, or lets MAX_BACKLOG bytes pile up, is cut
  off: its page reconnects and renders from the snapshot (hall/realtime.py), and a slow
  screen can never hold up the others.
- packets Engine.IO queued before the WebSocket took over (the handshake, a poll's
  leftovers) are written first: direct writes start only after Engine.IO's own writer has
  reached a marker put behind them.

Every write to the TCP socket, Engine.IO's writer and simple-websocket's replies
included, goes through one lock per socket. This relies on the internals of the pinned
python-engineio and simple-websocket (requirements.txt); with other versions `install()`
leaves Engine.IO as it is and says so in the log. Setting: [server] direct_websocket_writes.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time

from . import TESTED, versions_ok

log = logging.getLogger(__name__)

# The versions whose internals (Socket.send/_websocket_handler, SimpleWebSocketWSGI.ws,
# simple_websocket.Base.sock) this module was written and tested against.
SUPPORTED = {k: TESTED[k] for k in ("python-engineio", "simple-websocket")}
STALL_SECONDS = 20.0
MAX_BACKLOG = 1 << 20
_SKIP = object()  # what the ready marker hands Engine.IO's writer: nothing to send
_installed = False
_install_lock = threading.Lock()


class Outbox:
    """Every write to one WebSocket's TCP socket, in order, without blocking the caller."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.lock = threading.RLock()
        self.backlog = bytearray()
        self.closed = False
        self.flusher: threading.Thread | None = None
        # Engine.IO packets: written directly once `ready`; until then kept in `pending`.
        self.ready = False
        self.pending: list = []
        self.marker_queued = False
        self.frame = None  # builds and writes one WebSocket message (set by _attach)

    def write(self, data) -> None:
        """Write bytes now, or queue them behind what a slow screen has not read yet."""
        with self.lock:
            if self.closed:
                raise OSError("websocket closed")
            if self.backlog:
                self._queue(data)
                return
            try:
                sent = self.sock.send(data, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent < len(data):
                self._queue(memoryview(data)[sent:])

    def _queue(self, data) -> None:
        if len(self.backlog) + len(data) > MAX_BACKLOG:
            self.cut_off(f"more than {MAX_BACKLOG} bytes unread")
            raise OSError("websocket backlog full")
        self.backlog += data
        if self.flusher is None:
            self.flusher = threading.Thread(target=self._flush, name="hall-ws-flush", daemon=True)
            self.flusher.start()

    def _flush(self) -> None:
        poller = select.poll()
        try:
            poller.register(self.sock.fileno(), select.POLLOUT)
        except (OSError, ValueError):
            self._stop()
            return
        last_progress = time.monotonic()
        while True:
            ready = poller.poll(1000)
            with self.lock:
                if self.closed or not self.backlog:
                    self.flusher = None
                    return
                sent = 0
                if ready:
                    try:
                        sent = self.sock.send(self.backlog[:65536], socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        sent = 0
                    except OSError:
                        self.closed = True
                        self.backlog.clear()
                        self.flusher = None
                        return
                if sent:
                    del self.backlog[:sent]
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > STALL_SECONDS:
                    self.flusher = None
                    self.cut_off(f"nothing read for {STALL_SECONDS:.0f} s")
                    return

    def _stop(self) -> None:
        with self.lock:
            self.flusher = None

    def cut_off(self, why: str) -> None:
        """Drop a screen that does not read: its reader sees the socket end, Engine.IO
        closes the session, and the page reconnects and renders from the snapshot."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.backlog.clear()
        log.warning("a WebSocket client was cut off: %s", why)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.backlog.clear()

    # --- Engine.IO packets ---------------------------------------------------------
    def send_packet(self, eio_socket, pkt) -> None:
        with self.lock:
            if self.ready:
                self._write_packet(pkt)
                return
            self.pending.append(pkt)
            if not self.marker_queued:
                self.marker_queued = True
                eio_socket.queue.put(_ReadyMarker(self))

    def _write_packet(self, pkt) -> None:
        try:
            self.frame(pkt.encode())
        except Exception as e:  # a closed screen: its reader ends the session
            log.debug("direct write failed: %s", e)

    def become_ready(self) -> None:
        """Engine.IO's writer reached the marker: all it had queued before is written."""
        with self.lock:
            for pkt in self.pending:
                self._write_packet(pkt)
            self.pending.clear()
            self.ready = True


class _ReadyMarker:
    """Looks like an Engine.IO packet to the socket's writer thread; 'encoding' it
    switches the socket to direct writes after writing what waited for it."""

    def __init__(self, box: Outbox):
        self.box = box

    def encode(self):
        self.box.become_ready()
        return _SKIP


class _SockProxy:
    """simple-websocket's view of the TCP socket: sends go through the Outbox."""

    def __init__(self, box: Outbox):
        self._box = box
        self._sock = box.sock

    def send(self, data) -> int:
        self._box.write(data)
        return len(data)

    def sendall(self, data) -> None:
        self._box.write(data)

    def recv(self, n: int) -> bytes:
        return self._sock.recv(n)

    def close(self) -> None:
        self._box.close()
        self._sock.close()

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _attach(ws) -> Outbox | None:
    """Route every write of this WebSocket (Engine.IO's SimpleWebSocketWSGI) through an
    Outbox; None (nothing changed) if it is not the kind of socket this knows."""
    inner = getattr(ws, "ws", None)
    sock = getattr(inner, "sock", None)
    if not isinstance(sock, socket.socket) or sock.gettimeout() is not None:
        return None
    box = Outbox(sock)
    inner.sock = _SockProxy(box)
    cls = type(inner)

    # Building a frame (wsproto; with permessage-deflate a per-connection compressor)
    # and writing it happen under the socket's lock: frames leave in the order built.
    def send(data):
        with box.lock:
            return cls.send(inner, data)

    def close(reason=None, message=None):
        with box.lock:
            try:
                return cls.close(inner, reason, message)
            except OSError:  # the other side or the reader closed it first
                inner.connected = False
                return None

    inner.send = send
    inner.close = close
    wsgi_send = ws.send

    def wsgi_send_or_skip(message):
        if message is _SKIP:
            return None
        return wsgi_send(message)

    ws.send = wsgi_send_or_skip
    box.frame = wsgi_send
    return box


def _supported() -> bool:
    return versions_ok(SUPPORTED, "direct WebSocket writes")


def install() -> bool:
    """Patch Engine.IO's Socket once per process; True if direct writes are on."""
    global _installed
    with _install_lock:
        if _installed:
            return True
        if not _supported():
            return False
        from engineio import exceptions
        from engineio import socket as eio_socket

        cls = eio_socket.Socket
        original_handler = cls._websocket_handler
        original_send = cls.send

        def _websocket_handler(self, ws):
            box = _attach(ws)
            if box is not None:
                self._hall_outbox = box
            try:
                return original_handler(self, ws)
            finally:
                if box is not None:
                    box.close()

        def send(self, pkt):
            box = self.__dict__.get("_hall_outbox")
            if box is None or not self.upgraded or self.upgrading:
                return original_send(self, pkt)
            if not self.check_ping_timeout():
                return None
            box.send_packet(self, pkt)
            return None

        # Engine.IO's writer thread takes a queue that stays empty for ping_interval +
        # ping_timeout (45 s) for a dead client and closes the WebSocket; with direct
        # writes its queue is always empty, so every idle screen was dropped and
        # reconnected every 45 s. While the WebSocket is open and direct, it waits on.
        original_poll = cls.poll

        def poll(self):
            while True:
                try:
                    return original_poll(self)
                except exceptions.QueueEmpty:
                    box = self.__dict__.get("_hall_outbox")
                    if box is None or not box.ready or box.closed or self.closed:
                        raise

        cls._websocket_handler = _websocket_handler
        cls.send = send
        cls.poll = poll
        _installed = True
        return True


def installed() -> bool:
    return _installed
