"""The gate for long-lived connections: who may hold a Socket.IO connection open.

Anyone on the hall network can open /display, /kiosk and /ticket (WebSocket or
long-polling): screens, phones, and whoever wishes the hall harm. Every new Engine.IO
session (a request to /socket.io/ without a session id) passes this WSGI middleware, which
sorts it into one of three kinds:

- **staff**: the request carries a valid staff session (the hall_session cookie);
- **hall**: it comes from an address in `security.rate_limit_exempt` (the hall's own
  screens, kiosks and pads);
- **public**: everyone else. At most `security.socket_limit_per_address` from one address
  and `security.socket_limit` in all (each process), and long-polling sessions (which
  hold a server thread while they wait) at most an eighth of `server.threads`.

Staff and hall connections are never refused and are written first by a broadcast
(hall/compat/wsevent.py). A public connection over a limit gets `503` with `Retry-After`
and `{"error": ...}` (Socket.IO clients retry with their back-off), and the log says so,
once a minute per address. A public session that has not joined a namespace (and, in a
namespace whose clients must join a room, such as /ticket's `follow`) within
`security.socket_idle_seconds` is closed.

A session's slot is bound to its Engine.IO id when Engine.IO admits it, and released
when the session ends (hall/compat/socketio.py watch_sessions), or, with an untested
library version, when its request ends.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qs

from .compat import socketio as sio_compat

log = logging.getLogger(__name__)

RETRY_AFTER = 30
REFUSAL = "连接数已达上限，请稍后再试 (too many live connections, retry later)"
LOG_EVERY = 60.0  # seconds between two log lines about one address
REAP_EVERY = 5.0
SLOT_KEY = "hall.socket_slot"
PRIORITY_KEY = "hall.socket_priority"  # read by hall/compat/wsevent.py
KINDS = ("public", "hall", "staff")
WHY = {
    "total": "security.socket_limit",
    "address": "security.socket_limit_per_address",
    "polling": "server.threads / 8 long-polling sessions",
}


@dataclass(eq=False)
class Slot:
    kind: str
    address: str
    polling: bool
    opened: float
    sid: str | None = None
    useful: bool = False
    released: bool = False


def _query(environ, name: str) -> str | None:
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else None


class Gate:
    """Limits, slots and counts of one app's long-lived connections."""

    def __init__(self, cfg, socketio, room_namespaces=frozenset()):
        sec = cfg.security
        self.socketio = socketio
        self.per_address = sec["socket_limit_per_address"]
        self.configured_total = sec["socket_limit"]
        self.idle_seconds = sec["socket_idle_seconds"]
        self.exempt = set(sec["rate_limit_exempt"])
        self.room_namespaces = frozenset(room_namespaces)
        self.lock = threading.Lock()
        self.by_sid: dict[str, Slot] = {}
        self.open = Counter()  # kind -> open slots
        self.by_address: Counter = Counter()  # public slots per address
        self.polling = 0  # public long-polling sessions not (yet) upgraded
        self.refused = Counter()  # why -> refusals since start
        self.closed_idle = 0
        self._logged: dict[tuple, float] = {}
        self._reaper: threading.Thread | None = None
        self.hooks = False
        self.event_mode = False
        self.configure(cfg.server["threads"], event_mode=False)

    # --- sizing -------------------------------------------------------------------------
    def configure(self, threads: int, event_mode: bool) -> None:
        """The limits that follow from the server's threads and how WebSockets are served:
        with the event loop a WebSocket holds no thread; on the stock path each holds one,
        and public ones may then take a quarter of them."""
        self.threads = threads
        self.event_mode = event_mode
        self.polling_limit = max(2, threads // 8)
        total = self.configured_total
        if not event_mode:
            share = max(2, threads // 4)
            total = min(total, share) if total else share
        self.total = total

    def limits(self) -> dict:
        return {
            "total": self.total,
            "per_address": self.per_address,
            "polling": self.polling_limit,
            "idle_seconds": self.idle_seconds,
        }

    # --- the middleware -----------------------------------------------------------------
    def install(self, app, event_mode: bool) -> None:
        """Wrap app.wsgi_app (outside Socket.IO's middleware) and watch the sessions."""
        self.configure(self.threads, event_mode)
        self.hooks = sio_compat.watch_sessions(self.socketio, self._opened, self._closed)
        inner = app.wsgi_app
        gate = self

        def wsgi(environ, start_response):
            if not environ.get("PATH_INFO", "").startswith("/socket.io"):
                return inner(environ, start_response)
            return gate._request(app, inner, environ, start_response)

        app.wsgi_app = wsgi

    def _request(self, app, inner, environ, start_response):
        start_response = _with_security_headers(start_response)
        sid = _query(environ, "sid")
        if sid is not None:  # a request of a session that exists (or not: Engine.IO says)
            slot = self.by_sid.get(sid)
            if slot is not None:
                environ[PRIORITY_KEY] = slot.kind != "public"
                if slot.polling and environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                    with self.lock:
                        if slot.polling and not slot.released:
                            slot.polling = False
                            if slot.kind == "public":
                                self.polling -= 1
            return inner(environ, start_response)
        if environ.get("REQUEST_METHOD") != "GET":
            return inner(environ, start_response)  # Engine.IO answers 400
        address = environ.get("REMOTE_ADDR") or "unknown"
        kind = self._kind(app, environ, address)
        polling = _query(environ, "transport") != "websocket"
        slot, why = self._admit(kind, address, polling)
        if slot is None:
            return self._refuse(start_response, address, why)
        environ[SLOT_KEY] = slot
        environ[PRIORITY_KEY] = kind != "public"
        self._start_reaper()
        try:
            return inner(environ, start_response)
        finally:
            # A session Engine.IO admitted keeps its slot until it ends (_closed); one it
            # refused, or any while the session hooks are off, lets it go with the request.
            if slot.sid is None or not self.hooks:
                self._release(slot)

    def _kind(self, app, environ, address: str) -> str:
        if address in self.exempt:
            return "hall"
        if "hall_session=" in environ.get("HTTP_COOKIE", ""):
            try:
                with app.request_context(environ):
                    if app.extensions["hall"].auth.current() is not None:
                        return "staff"
            except Exception:  # noqa: BLE001 - a cookie that cannot be read is no staff's
                log.debug("reading a session cookie failed", exc_info=True)
        return "public"

    def _admit(self, kind: str, address: str, polling: bool) -> tuple[Slot | None, str | None]:
        with self.lock:
            if kind == "public":
                if self.total and self.open["public"] >= self.total:
                    return None, "total"
                if self.per_address and self.by_address[address] >= self.per_address:
                    return None, "address"
                if polling and self.polling >= self.polling_limit:
                    return None, "polling"
                self.by_address[address] += 1
                if polling:
                    self.polling += 1
            self.open[kind] += 1
            return Slot(kind, address, polling, time.monotonic()), None

    def _release(self, slot: Slot) -> None:
        with self.lock:
            if slot.released:
                return
            slot.released = True
            self.open[slot.kind] -= 1
            if slot.kind == "public":
                self.by_address[slot.address] -= 1
                if self.by_address[slot.address] <= 0:
                    del self.by_address[slot.address]
                if slot.polling:
                    self.polling -= 1
            if slot.sid is not None and self.by_sid.get(slot.sid) is slot:
                del self.by_sid[slot.sid]

    def _refuse(self, start_response, address: str, why: str):
        self.refused[why] += 1
        now = time.monotonic()
        if now - self._logged.get((address, why), -LOG_EVERY) >= LOG_EVERY:
            self._logged[(address, why)] = now
            if len(self._logged) > 10_000:
                self._logged.clear()
            log.warning(
                "refused a live connection from %s: %s reached (%d refused so far)",
                address,
                WHY[why],
                self.refused[why],
            )
        body = json.dumps({"error": REFUSAL}, ensure_ascii=False).encode()
        start_response(
            "503 Service Unavailable",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Retry-After", str(RETRY_AFTER)),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]

    # --- sessions (Engine.IO's connect and disconnect) ----------------------------------
    def _opened(self, sid: str, environ) -> None:
        slot = environ.get(SLOT_KEY)
        if slot is None:
            return
        with self.lock:
            if slot.released:
                return
            slot.sid = sid
            self.by_sid[sid] = slot
        _slim(environ)

    def _closed(self, sid: str) -> None:
        slot = self.by_sid.get(sid)
        if slot is not None:
            self._release(slot)

    # --- idle public sessions -----------------------------------------------------------
    def _start_reaper(self) -> None:
        if self._reaper is not None or not self.hooks:
            return
        with self.lock:
            if self._reaper is not None:
                return
            ref = weakref.ref(self)
            self._reaper = threading.Thread(
                target=_reap_forever, args=(ref,), name="hall-socket-reaper", daemon=True
            )
            self._reaper.start()

    def reap(self, now: float | None = None) -> int:
        """Close public sessions idle past socket_idle_seconds; let go of slots whose
        session is gone without a word (a safety net). Returns how many were closed."""
        now = time.monotonic() if now is None else now
        with self.lock:
            slots = list(self.by_sid.values())
        closed = 0
        for slot in slots:
            if not sio_compat.session_alive(self.socketio, slot.sid):
                if now - slot.opened > REAP_EVERY:  # not one being admitted right now
                    self._release(slot)
                continue
            if slot.kind != "public" or slot.useful or not self.idle_seconds:
                continue
            if now - slot.opened < self.idle_seconds:
                continue
            if sio_compat.session_joined(self.socketio, slot.sid, self.room_namespaces):
                slot.useful = True
                continue
            closed += 1
            self.closed_idle += 1
            if now - self._logged.get((slot.address, "idle"), -LOG_EVERY) >= LOG_EVERY:
                self._logged[(slot.address, "idle")] = now
                log.warning(
                    "closed an idle live connection from %s: nothing joined in %d s "
                    "(security.socket_idle_seconds)",
                    slot.address,
                    self.idle_seconds,
                )
            sio_compat.close_session(self.socketio, slot.sid)
        return closed

    # --- figures ------------------------------------------------------------------------
    def report(self) -> dict:
        with self.lock:
            return {
                "open": {kind: self.open[kind] for kind in KINDS},
                "public_polling": self.polling,
                "public_addresses": len(self.by_address),
                "refused": {why: self.refused[why] for why in WHY},
                "closed_idle": self.closed_idle,
                "limits": self.limits(),
                "event_loop": self.event_mode,
            }


_EMPTY_INPUT = io.BytesIO(b"")
# What the server put in the request's environ for the request alone: python-socketio
# keeps the environ of a session's first request for the session's whole life (its
# handlers run in a request context made from it), and these held a few dozen objects per
# connection (gunicorn's request, response, reader and socket, through its early-hints
# callback and the input; Engine.IO's wrapper class) for the garbage collector to walk,
# thousands of connections over.
# (A WebSocket's takes its socket from gunicorn.socket after this: hall/compat/wsevent.py
# drops that one once it has.)
_REQUEST_ONLY = ("eventlet.input", "wsgi.file_wrapper", "wsgi.early_hints", "werkzeug.socket")


def _slim(environ) -> None:
    """The session's environ (python-socketio's copy), when Engine.IO admits it."""
    for key in _REQUEST_ONLY:
        environ.pop(key, None)
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        environ.pop("gunicorn.socket", None)
    environ["wsgi.input"] = _EMPTY_INPUT
    environ["wsgi.errors"] = sys.stderr


def _with_security_headers(start_response):
    """Socket.IO's answers (Engine.IO's, not Flask's) get the headers every page has."""
    from .app import SECURITY_HEADERS

    def start(status, headers, exc_info=None):
        have = {name.lower() for name, _ in headers}
        extra = [(n, v) for n, v in SECURITY_HEADERS if n.lower() not in have]
        return start_response(status, list(headers) + extra, exc_info)

    return start


def _reap_forever(ref) -> None:
    while True:
        gate = ref()
        if gate is None:
            return
        every = max(0.5, min(REAP_EVERY, (gate.idle_seconds or REAP_EVERY) / 2))
        del gate
        time.sleep(every)
        gate = ref()
        if gate is None:
            return
        try:
            gate.reap()
        except Exception:  # noqa: BLE001 - the reaper must go on
            log.exception("closing idle connections failed")
        del gate
