"""Puts the event-driven WebSocket server (wsloop.py) and the one-frame broadcast into
Engine.IO and python-socketio, once per process, on the tested versions only.

- `Socket._upgrade_websocket` (a WebSocket request, direct or an upgrade from polling)
  answers the handshake, takes the TCP socket from gunicorn and hands it to the loop; it
  falls back to Engine.IO's own path outside gunicorn (tests, a development server).
- `Socket.schedule_ping` uses the one pinger thread; `Socket.close` of a socket on the
  loop never waits for a writer thread (there is none) and sends the WebSocket close.
- python-socketio's `Manager.emit` builds a broadcast's frame once and writes it to every
  WebSocket on the loop, the hall's own screens and staff first (LoopOutbox.priority);
  other recipients (long-polling, an upgrade in progress) take the library's path.

Private parts relied on (versions in TESTED, hall/compat/__init__.py):
python-engineio 4.15.1: Socket._upgrade_websocket, schedule_ping, close, queue, connected,
upgraded, upgrading, closed, closing, last_ping, server.sockets, server.reason,
server.max_http_buffer_size, server._bad_request; python-socketio 5.18.1: Manager.emit
(the body it stands for), get_participants, rooms, server.packet_class,
server._send_eio_packet, server.eio; gunicorn 27.0.1 gthread: environ["gunicorn.socket"]
is the connection's socket object, and StopIteration from the application ends the request
with util.close_graceful on that object (which then holds a placeholder, see _take).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import threading
import time

from . import TESTED, fanout, versions_ok
from .wsloop import PUBLIC, Conn, Loop, LoopOutbox, Pinger, frame, handshake, packet_frame

log = logging.getLogger(__name__)

SUPPORTED = {k: TESTED[k] for k in ("python-engineio", "python-socketio", "gunicorn")}
_installed = False
_lock = threading.Lock()
_loop: Loop | None = None
pinger = Pinger()

# The WSGI environ keys the admission gate (hall/sockets.py) sets for the request.
PRIORITY_KEY = "hall.socket_priority"


def loop() -> Loop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = Loop()
        return _loop


def open_sockets() -> int:
    """WebSockets on the loop now (0 before the first)."""
    return _loop.open if _loop is not None else 0


def _take(environ) -> socket.socket | None:
    """The request's TCP socket, taken from gunicorn: a duplicate of its descriptor for
    the loop, and a fresh unconnected socket put in place of gunicorn's (dup2), so that
    gunicorn's close_graceful of its socket object shuts down and closes that placeholder,
    never the WebSocket (and counts the connection as ended, once)."""
    gsock = environ.get("gunicorn.socket")
    if type(gsock) is not socket.socket:  # TLS or another server: the stock path
        return None
    try:
        mine = socket.socket(fileno=os.dup(gsock.fileno()))
        placeholder = socket.socket(gsock.family, socket.SOCK_STREAM)
        try:
            os.dup2(placeholder.fileno(), gsock.fileno())
        finally:
            placeholder.close()
    except OSError as e:
        log.warning("could not take a WebSocket over: %s", e)
        return None
    # A blocking descriptor with no Python timeout: every read and write on it passes
    # MSG_DONTWAIT (a socket with a timeout would wait in send()).
    mine.setblocking(True)
    # The session keeps this environ for its whole life: not the placeholder with it.
    environ.pop("gunicorn.socket", None)
    return mine


def install() -> bool:
    """Patch the libraries once per process; True when WebSockets run on the loop."""
    global _installed
    with _lock:
        if _installed:
            return True
        if not versions_ok(SUPPORTED, "event-driven WebSockets") or not fanout.install():
            return False
        from engineio import socket as eio_socket

        cls = eio_socket.Socket
        orig_upgrade = cls._upgrade_websocket
        orig_close = cls.close

        def _upgrade_websocket(self, environ, start_response):
            if self.upgraded or "gunicorn.socket" not in environ:
                return orig_upgrade(self, environ, start_response)
            accepted = handshake(environ)
            if accepted is None:
                return self.server._bad_request("Invalid websocket upgrade")
            sock = _take(environ)
            if sock is None:
                return orig_upgrade(self, environ, start_response)
            ws, answer = accepted
            try:
                sock.sendall(answer)
            except OSError:
                sock.close()
                raise StopIteration from None
            upgrading = bool(self.connected)
            conn = Conn(self, sock, ws, upgrading)
            conn.box.priority = bool(environ.get(PRIORITY_KEY))
            self._hall_conn = conn
            self._hall_outbox = conn.box
            if upgrading:
                self.upgrading = True  # sends wait in the queue until the probe is done
            else:
                self.connected = True
                self.upgraded = True
                conn.box.open(self)
            loop().add(conn)
            # gunicorn: this request is over (its socket object holds the placeholder).
            raise StopIteration

        def schedule_ping(self):
            if self.last_ping:  # only once the previous ping was answered
                self.last_ping = None
                pinger.schedule(self)

        def close(self, wait=True, abort=False, reason=None):
            conn = self.__dict__.get("_hall_conn")
            if conn is None:
                return orig_close(self, wait, abort, reason)
            was_open = not (self.closed or self.closing)
            # No writer thread drains the queue: waiting for it would wait for ever.
            orig_close(self, wait=False, abort=abort, reason=reason)
            if was_open and not conn.ended:
                conn.send_close()  # the loop sees the end and calls conn.end()
            return None

        cls._upgrade_websocket = _upgrade_websocket
        cls.schedule_ping = schedule_ping
        cls.close = close
        _install_emit()
        _installed = True
        log.info("WebSockets: one event thread (hall/compat/wsloop.py)")
        return True


def installed() -> bool:
    return _installed


def _install_emit() -> None:
    """python-socketio's Manager.emit without callbacks, for WebSockets on the loop: the
    frame is built once and written to each socket's outbox (the hall's own screens and
    staff first), instead of a send_packet -> Socket.send chain per recipient."""
    from engineio import packet as eio_packet
    from socketio import manager as sio_manager
    from socketio import packet as sio_packet

    cls = sio_manager.Manager
    orig_emit = cls.emit

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kw):
        room = to or room
        if callback or namespace not in self.rooms:
            return orig_emit(
                self, event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kw
            )
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        if not isinstance(skip_sid, list):
            skip_sid = [skip_sid]
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event] + data)
        encoded = pkt.encode()
        if not isinstance(encoded, list):
            encoded = [encoded]
        eio_pkts = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in encoded]
        frames = b"".join(packet_frame(p) for p in eio_pkts)
        sockets = self.server.eio.sockets
        participants = dict(self.get_participants(namespace, room))
        for sid in skip_sid:
            participants.pop(sid, None)
        recipients = set(participants.values())
        if getattr(_batch, "open", False):
            # The public sockets among them, by one set operation: their writes wait for
            # flush_public, which writes each socket everything it got since, at once.
            public = recipients.intersection(PUBLIC)
            if public:
                hold(public, frames)
                recipients -= public
        later = []
        for eio_sid in recipients:  # the hall's own screens, staff, polling sessions
            s = sockets.get(eio_sid)
            box = s.__dict__.get("_hall_outbox") if s is not None else None
            if type(box) is LoopOutbox and box.ready and not s.closed:
                if box.priority:
                    _write(box, frames)
                else:
                    later.append(box)
            else:
                for p in eio_pkts:
                    self.server._send_eio_packet(eio_sid, p)
        for box in later:
            _write(box, frames)
        return None

    cls.emit = emit


_batch = threading.local()
# Public sockets written per slice of deferred writes (flush_public): a slice takes a few
# milliseconds, so a call waits at most that long behind the public writes of the batch
# before it (measured: 2,000 public sockets took the push thread 20-40 ms a batch, and
# calls waited behind them; call -> display p50 42 ms, of which 23 ms in that wait).
PUBLIC_SLICE = 100
# A round of public writes starts at most this often (seconds; [server] public_write_ms):
# each public socket gets what the batches since the last round sent it in one write.
# Without it every batch (a call, a finish, a new ticket) made its own round of 2,000
# writes. A phone or a screen the hall has not listed hears of a call up to this much
# later; the hall's own screens (security.rate_limit_exempt) and staff get it at once.
PUBLIC_GAP = 0.25
# Beyond this many distinct recipient sets in one round, frames are joined per socket.
MAX_GROUPS = 256


@contextlib.contextmanager
def batch(defer: bool = False):
    """Around one push batch (realtime.Broadcaster.send_batch): the hall's own screens and
    staff get each message at once; a public socket gets everything the batch sends it
    (a call, the window, the counts) in one write, instead of one each.

    That write comes at the end of the batch, or with `defer` later, in slices, from
    flush_public(): the caller (the push thread) then handles the next batch's calls
    first and the public writes between batches. A socket's writes stay in order:
    what a batch holds for a socket goes after what earlier batches held for it."""
    if not _installed or getattr(_batch, "open", False):
        yield
        return
    _batch.open = True
    try:
        yield
    finally:
        _batch.open = False
        if not defer:
            flush_public(None)


def hold(keys: set, frames: bytes) -> bool:
    """Keep frames for public sockets (keys of PUBLIC) for after the current batch, behind
    what earlier batches kept for them (False: no batch is open on this thread)."""
    if not getattr(_batch, "open", False):
        return False
    _later().held.append((keys, frames))
    return True


class _Later:
    """Public writes deferred by batch(defer=True): `held` is what batches sent since the
    last round, as (recipients, frames) in order; `writing` is the round being written,
    as [recipients, joined frames] (so a socket never gets a later batch's frames before
    an earlier one's)."""

    __slots__ = ("held", "writing", "next_round")

    def __init__(self):
        self.held: list[tuple[set, bytes]] = []
        self.writing: collections.deque = collections.deque()
        self.next_round = 0.0


def _later() -> _Later:
    later = getattr(_batch, "later", None)
    if later is None:
        later = _batch.later = _Later()
    return later


def public_pending() -> bool:
    """Deferred public writes of this thread's batches are still to be written."""
    later = getattr(_batch, "later", None)
    return later is not None and bool(later.writing or later.held)


def public_wait() -> float | None:
    """Seconds until flush_public has something to write (0: now; None: nothing held)."""
    later = getattr(_batch, "later", None)
    if later is None or not (later.writing or later.held):
        return None
    if later.writing:
        return 0.0
    return max(0.0, later.next_round - time.monotonic())


def _groups(entries: list[tuple[set, bytes]]) -> list[list]:
    """The sockets of a round that get the same frames, with those frames joined: a
    broadcast to 2,000 phones is then one set operation and one join, not 2,000 list
    appends. Each socket is in one group, its frames in the order they were sent."""
    groups: list[tuple[set, list]] = []
    for i, (keys, frames) in enumerate(entries):
        if len(groups) > MAX_GROUPS:  # many one-socket messages: per socket after all
            per: dict = {}
            for members, parts in groups:
                for k in members:
                    per[k] = list(parts)
            for keys2, frames2 in entries[i:]:
                for k in keys2:
                    per.setdefault(k, []).append(frames2)
            return [[[k], b"".join(p)] for k, p in per.items()]
        rest = keys
        out = []
        for members, parts in groups:
            both = members & rest if rest else None
            if not both:
                out.append((members, parts))
            elif len(both) == len(members):
                parts.append(frames)
                out.append((members, parts))
                rest = rest - both
            else:
                out.append((both, [*parts, frames]))
                out.append((members - both, parts))
                rest = rest - both
        if rest:
            out.append((set(rest), [frames]))
        groups = out
    return [[list(members), b"".join(parts)] for members, parts in groups]


def flush_public(limit: int | None = PUBLIC_SLICE) -> bool:
    """Write deferred public writes: `limit` sockets' worth (None: all, at once). True
    when some are left. A new round starts PUBLIC_GAP after the last one began."""
    later = getattr(_batch, "later", None)
    if later is None:
        return False
    n = 0
    while limit is None or n < limit:
        if not later.writing:
            if not later.held:
                return False
            now = time.monotonic()
            if limit is not None and PUBLIC_GAP and (n or now < later.next_round):
                return True
            later.next_round = now + PUBLIC_GAP
            later.writing.extend(_groups(later.held))
            later.held = []
        keys, data = later.writing[0]
        take = len(keys) if limit is None else min(len(keys), limit - n)
        for key in keys[len(keys) - take :]:
            box = PUBLIC.get(key)
            if box is not None:  # gone meanwhile: nothing to write
                _write(box, data)
        del keys[len(keys) - take :]
        n += take
        if not keys:
            later.writing.popleft()
    return bool(later.writing or later.held)


def _write(box: LoopOutbox, data: bytes) -> None:
    try:
        box.write(data)
    except OSError:  # cut off or closed: the loop ends the session
        pass


__all__ = [
    "batch",
    "flush_public",
    "frame",
    "hold",
    "install",
    "installed",
    "loop",
    "open_sockets",
    "pinger",
    "public_pending",
    "public_wait",
]
