"""WebSockets without a thread each: one event thread reads them all.

Engine.IO's threading mode spends four threads on every open WebSocket (the server thread
that called the handler, blocked in ws.wait(); simple-websocket's reader; Engine.IO's
writer; a ping thread started again after every pong), about 350 KB and three file
descriptors. A hall's screens and its citizens' phones then eat the threads that kiosks
and clerks need (issue 13). Here, instead:

- the upgrade request answers the WebSocket handshake itself (wsproto, no extension: a
  text message is then the same bytes for every socket, framed once) and hands the TCP
  socket over to the **loop**: one selector thread that reads every WebSocket, answers
  WebSocket pings and closes, and assembles messages. The server thread is free again.
- complete messages go to a small **pool** of handler threads, in order per connection:
  Socket.IO handlers (a display's snapshot queries, a phone's `follow`) never run on the
  loop thread, and no connection has more than one handler thread at a time.
- writes are direct and never block (fanout.Outbox: a screen that does not read is cut
  off), and one **pinger** thread sends every Engine.IO ping.

A polling session that upgrades (python-socketio clients start on polling) is taken over
the same way: the probe exchange ("2probe" / "3probe", then "5") happens on the pool.

wsevent.py installs this into Engine.IO (the private parts are listed there).
"""

from __future__ import annotations

import collections
import heapq
import logging
import os
import queue
import selectors
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .fanout import Outbox

log = logging.getLogger(__name__)

HANDLER_THREADS = 8
READ_BYTES = 65536
# Messages one connection may send per FLOOD_SECONDS before it is closed: far above what
# a page sends (a pong every 25 s, a follow, a few console requests).
FLOOD_MESSAGES = 100
FLOOD_SECONDS = 10.0


def frame(data) -> bytes:
    """One unmasked, unfragmented server frame (no extension is ever negotiated)."""
    if isinstance(data, str):
        payload, op = data.encode("utf-8"), 0x81
    else:
        payload, op = bytes(data), 0x82
    n = len(payload)
    if n < 126:
        head = bytes((op, n))
    elif n < 65536:
        head = struct.pack("!BBH", op, 126, n)
    else:
        head = struct.pack("!BBQ", op, 127, n)
    return head + payload


def packet_frame(pkt) -> bytes:
    """An Engine.IO packet as a WebSocket frame, built once per packet object: a
    broadcast hands the same packet to every socket."""
    cached = pkt.__dict__.get("_hall_frame")
    if cached is None:
        cached = pkt._hall_frame = frame(pkt.encode())
    return cached


# RFC 6455 section 4.2.2: the key the answer proves it read.
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def handshake(environ):
    """Answer the WebSocket handshake of a WSGI request (RFC 6455), offering no extension
    (a browser's permessage-deflate offer is declined), and a wsproto Connection (its
    public frame layer, without the h11 handshake objects a WSConnection keeps for the
    socket's whole life). Returns (connection, the bytes of the 101 answer), or None
    when the request is not a valid upgrade."""
    import base64
    import hashlib

    from wsproto.connection import Connection, ConnectionType

    connection = environ.get("HTTP_CONNECTION", "").lower()
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
    if (
        environ.get("REQUEST_METHOD") != "GET"
        or environ.get("HTTP_UPGRADE", "").lower() != "websocket"
        or "upgrade" not in [p.strip() for p in connection.split(",")]
        or environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != "13"
        or not key
    ):
        return None
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return None
    except ValueError:
        return None
    accept = base64.b64encode(hashlib.sha1(key.encode("ascii") + ACCEPT_GUID).digest())
    answer = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    return Connection(ConnectionType.SERVER), answer


# The open public WebSockets of the loop (phones, screens the hall has not listed), by
# Engine.IO session id: a broadcast finds its public recipients with one set operation
# on these keys instead of a look-up per recipient (hall/compat/wsevent.py).
PUBLIC: dict[str, LoopOutbox] = {}


class LoopOutbox(Outbox):
    """fanout.Outbox for a socket of the loop: no Engine.IO writer thread, so packets sent
    before the WebSocket is open wait in `pending`; each packet is framed once."""

    priority = False  # the hall's own screens and staff: written first by a broadcast
    key: str | None = None  # its Engine.IO session id while in PUBLIC

    def register(self, key: str) -> None:
        """A public socket that is open: broadcasts may hold its writes (PUBLIC)."""
        with self.lock:
            if self.closed or self.priority:
                return
            self.key = key
            PUBLIC[key] = self

    def send_packet(self, eio_socket, pkt) -> None:
        with self.lock:
            if self.ready:
                self._write_packet(pkt)
            else:
                self.pending.append(pkt)

    def _write_packet(self, pkt) -> None:
        try:
            self.write(packet_frame(pkt))
        except OSError as e:  # a closed screen: the loop ends the session
            log.debug("direct write failed: %s", e)

    def open(self, eio_socket) -> None:
        """Write what Engine.IO queued before the WebSocket took over (the OPEN packet, a
        poll's leftovers), then what was sent meanwhile; from now on writes are direct."""
        with self.lock:
            while True:
                try:
                    pkt = eio_socket.queue.get_nowait()
                except queue.Empty:
                    break
                eio_socket.queue.task_done()
                if pkt is not None:
                    self._write_packet(pkt)
            for pkt in self.pending:
                self._write_packet(pkt)
            self.pending.clear()
            self.ready = True
            self.register(eio_socket.sid)

    def close(self) -> None:
        with self.lock:
            super().close()
            if self.key is not None and PUBLIC.get(self.key) is self:
                del PUBLIC[self.key]


class Conn:
    """One WebSocket of an Engine.IO session. The loop thread feeds it bytes (feed), the
    pool hands its messages to Engine.IO (deliver), end() closes it once."""

    def __init__(self, eio_socket, sock: socket.socket, ws, upgrading: bool, on_end=None):
        self.eio = eio_socket
        self.sock = sock
        self.ws = ws  # wsproto.connection.Connection (the handshake is done)
        self.box = LoopOutbox(sock)
        self.upgrading = upgrading  # a polling session: "2probe", then "5"
        self.probed = False
        self.parts: list = []
        self.size = 0
        self.max_size = eio_socket.server.max_http_buffer_size
        self.inbox: collections.deque = collections.deque()
        self.scheduled = False
        self.ended = False
        self.end_lock = threading.Lock()
        self.on_end = on_end  # called once, after the session's end (admission slot)
        self.window_start = 0.0  # the flood guard's window and count
        self.window_count = 0
        self.loop: Loop | None = None

    # --- the loop thread ---------------------------------------------------------------
    def feed(self, data: bytes | None) -> list:
        """Bytes read from the socket (None: end of stream) -> complete messages; None in
        the list means the connection is over."""
        from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
        from wsproto.utilities import ProtocolError

        msgs: list = []
        out = b""
        try:
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    self.size += len(event.data)
                    if self.size > self.max_size:
                        raise ValueError("message too large")
                    self.parts.append(event.data)
                    if event.message_finished:
                        empty = "" if isinstance(event, TextMessage) else b""
                        msgs.append(
                            self.parts[0] if len(self.parts) == 1 else empty.join(self.parts)
                        )
                        self.parts, self.size = [], 0
                elif isinstance(event, Ping):
                    out += self.ws.send(event.response())
                elif isinstance(event, CloseConnection):
                    try:
                        out += self.ws.send(event.response())
                    except ProtocolError:
                        pass
                    msgs.append(None)
        except (ProtocolError, ValueError) as e:
            log.debug("WebSocket protocol error: %s", e)
            msgs.append(None)
        if out:
            try:
                self.box.write(out)
            except OSError:
                msgs.append(None)
        if data is None and (not msgs or msgs[-1] is not None):
            msgs.append(None)
        if self._flooding(sum(1 for m in msgs if m is not None)):
            log.warning(
                "a WebSocket client sent more than %d messages in %.0f s: closed",
                FLOOD_MESSAGES,
                FLOOD_SECONDS,
            )
            msgs.append(None)
        return msgs

    def _flooding(self, n: int) -> bool:
        """More than FLOOD_MESSAGES in the current FLOOD_SECONDS window."""
        if not n:
            return False
        now = time.monotonic()
        if now - self.window_start > FLOOD_SECONDS:
            self.window_start, self.window_count = now, 0
        self.window_count += n
        return self.window_count > FLOOD_MESSAGES

    # --- the pool ----------------------------------------------------------------------
    def deliver(self, msg) -> bool:
        """One message to Engine.IO; False when this WebSocket is over."""
        from engineio import exceptions, packet

        if msg is None:
            return False
        s = self.eio
        if self.upgrading:
            return self._upgrade_step(msg)
        try:
            s.receive(packet.Packet(encoded_packet=msg))
        except exceptions.UnknownPacketError:
            pass
        except exceptions.SocketIsClosedError:
            return False
        except Exception:  # noqa: BLE001 - as Engine.IO's own handler: log, end the socket
            log.exception("a WebSocket message could not be handled")
            return False
        return not s.closed

    def _upgrade_step(self, msg) -> bool:
        """Engine.IO's upgrade from polling: "2probe" is answered with "3probe" (and the
        poll in progress is ended), "5" completes it; anything else fails the upgrade and
        the session goes on polling."""
        from engineio import packet

        s = self.eio
        if not self.probed:
            if msg != "2probe":
                return self._upgrade_failed()
            self.probed = True
            self.box.write(frame("3probe"))
            s.queue.put(packet.Packet(packet.NOOP))  # ends the poll in progress
            return True
        if msg != "5":
            return self._upgrade_failed()
        s.upgraded = True
        s.upgrading = False
        self.upgrading = False
        self.box.open(s)
        return True

    def _upgrade_failed(self) -> bool:
        log.info("%s: WebSocket upgrade failed", self.eio.sid)
        self.eio.__dict__.pop("_hall_conn", None)
        self.eio.__dict__.pop("_hall_outbox", None)
        self.eio.upgrading = False
        self.upgrading = None  # end() leaves the polling session alone
        return False

    def end(self) -> None:
        """Close the Engine.IO session (its disconnect handlers run here, on the pool)
        unless a failed upgrade left it polling; then the socket, on the loop thread."""
        with self.end_lock:
            if self.ended:
                return
            self.ended = True
        s = self.eio
        if self.upgrading is not None:
            try:
                if not s.closed:
                    s.close(wait=False, abort=True, reason=s.server.reason.TRANSPORT_CLOSE)
            except Exception:  # noqa: BLE001
                log.exception("closing an Engine.IO session failed")
            s.server.sockets.pop(s.sid, None)
        self.box.close()
        if self.loop is not None:
            self.loop.retire(self)
        else:
            close_quietly(self.sock)
        if self.on_end is not None:
            self.on_end()

    def send_close(self) -> None:
        """The server ends the connection: a close frame, then the reader sees the end."""
        from wsproto.events import CloseConnection
        from wsproto.utilities import ProtocolError

        try:
            with self.box.lock:
                self.box.write(self.ws.send(CloseConnection(1000)))
        except (ProtocolError, OSError):
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def close_quietly(sock) -> None:
    try:
        sock.close()
    except OSError:
        pass


class Loop:
    """The selector thread and the handler pool."""

    def __init__(self, handlers: int = HANDLER_THREADS):
        self.sel = selectors.DefaultSelector()
        self.pool = ThreadPoolExecutor(handlers, thread_name_prefix="hall-ws-handler")
        self.lock = threading.Lock()
        self.changes: list = []  # (conn, add?) done on the loop thread
        self.open = 0
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.sel.register(self.rfd, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._run, name="hall-ws-loop", daemon=True)
        self.thread.start()

    def add(self, conn: Conn) -> None:
        conn.loop = self
        self._change(conn, True)

    def retire(self, conn: Conn) -> None:
        # Unregistered and closed on the loop thread: an fd closed while still registered
        # would leave a stale selector entry that clashes with the next socket of that number.
        self._change(conn, False)

    def _change(self, conn: Conn, add: bool) -> None:
        with self.lock:
            self.changes.append((conn, add))
        try:
            os.write(self.wfd, b"\0")
        except OSError:  # the pipe is full: the loop is awake anyway
            pass

    def _apply_changes(self) -> None:
        try:
            while os.read(self.rfd, 4096):
                pass
        except OSError:
            pass
        with self.lock:
            changes, self.changes = self.changes, []
        for conn, add in changes:
            if add:
                try:
                    self.sel.register(conn.sock, selectors.EVENT_READ, conn)
                    self.open += 1
                except (ValueError, OSError, KeyError):
                    self._queue(conn, [None])
                continue
            try:
                self.sel.unregister(conn.sock)
                self.open -= 1
            except (KeyError, ValueError):
                pass
            close_quietly(conn.sock)

    def _run(self) -> None:
        while True:
            try:
                ready = self.sel.select(None)
            except OSError:  # pragma: no cover - EINTR and the like
                continue
            for key, _ in ready:
                conn = key.data
                if conn is None:
                    self._apply_changes()
                    continue
                try:
                    data = conn.sock.recv(READ_BYTES, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                try:
                    msgs = conn.feed(data or None)
                except Exception:  # noqa: BLE001 - one bad socket must not stop the loop
                    log.exception("reading a WebSocket failed")
                    msgs = [None]
                if msgs and msgs[-1] is None:
                    try:  # nothing more to read; end() retires it
                        self.sel.unregister(conn.sock)
                        self.open -= 1
                    except (KeyError, ValueError):
                        pass
                if msgs:
                    self._queue(conn, msgs)

    def _queue(self, conn: Conn, msgs: list) -> None:
        with self.lock:
            conn.inbox.extend(msgs)
            if conn.scheduled:
                return
            conn.scheduled = True
        self.pool.submit(self._drain, conn)

    def _drain(self, conn: Conn) -> None:
        while True:
            with self.lock:
                if not conn.inbox:
                    conn.scheduled = False
                    return
                msg = conn.inbox.popleft()
            if conn.ended:
                continue
            try:
                alive = conn.deliver(msg)
            except Exception:  # noqa: BLE001
                log.exception("handling a WebSocket message failed")
                alive = False
            if not alive:
                if msg is not None:  # Engine.IO ended it: tell the client, stop reading
                    conn.send_close()
                conn.end()


class Pinger:
    """Engine.IO's pings (Socket.schedule_ping / _send_ping) with one thread for every
    socket instead of one sleeping thread per socket."""

    def __init__(self):
        self.heap: list = []
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.seq = 0

    def schedule(self, eio_socket) -> None:
        due = time.monotonic() + eio_socket.server.ping_interval
        with self.cond:
            self.seq += 1
            heapq.heappush(self.heap, (due, self.seq, eio_socket))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="hall-ws-ping", daemon=True)
                self.thread.start()
            elif self.heap[0][2] is eio_socket:
                self.cond.notify()

    def _run(self) -> None:
        from engineio import packet

        while True:
            with self.cond:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    self.cond.wait(self.heap[0][0] - time.monotonic() if self.heap else None)
                _, _, s = heapq.heappop(self.heap)
            if s.closing or s.closed:
                continue
            try:
                s.last_ping = time.time()
                s.send(packet.Packet(packet.PING))
            except Exception:  # noqa: BLE001 - one socket must not stop the pings
                log.debug("ping failed", exc_info=True)
