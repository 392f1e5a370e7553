"""Socket.IO: the one path from domain events to clients.

Every message a client gets is built here, by the Broadcaster, from the domain events
the bus delivers after each COMMIT, in the order they were committed. Faces take part
in two declared ways (hall/face.py):

- a face's namespace (a FaceNamespace) names the core *topics* it receives and under
  which event name: e.g. the hall display takes "called.public" as `called`;
- a face's *route* turns an event into Messages of its own (the rating pad's `state`).

A message is a happening (a call: sent once, in order) or, when it has a `key`, a state
(waiting counts, a window, a followed ticket): sent once per batch after the batch's
happenings, so a push that falls behind catches up by sending the latest state once.
Payloads never carry a ticket token.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import current_app, g, has_request_context, request
from flask_socketio import Namespace, SocketIO, join_room

from . import estimate
from . import events as ev
from .compat import socketio as sio_compat
from .compat import wsevent
from .snapshots import public_call, public_window_event
from .staff_sockets import REAP_SECONDS, StaffSockets, session_room, user_room
from .vocabulary import STAFF_ROLES

log = logging.getLogger(__name__)

socketio = SocketIO()

#: Core topics: what the Broadcaster builds from domain events. A FaceNamespace maps
#: the ones it wants to the event names its clients listen for.
TOPICS = {
    "called": "a call (叫号/重呼), with the announcement audio URL",
    "called.public": "the same call for public screens (no actor)",
    "queue": "waiting counts {service code: n} (state; only when they change)",
    "window": "a window's state change, with its clerk (staff)",
    "window.public": "a window as public screens show it (state, once per batch)",
    "ticket.window": "every event of a ticket at a window, to the room w<window>",
    "ticket.follow": "the ticket itself, to the room t<id> of phones following it (state)",
    "printer": "a printer's status changed",
    "event": "every domain event as {type, ...}",
}

PUSH_BACKLOG = 500
PUSH_WAIT = 2.0
PUSH_BATCH = 200


class FaceNamespace(Namespace):
    """A face's Socket.IO namespace. `path` is its URL path ("/display"); `topics` maps
    the event names its clients receive to core topics ({"called": "called.public"})."""

    path: ClassVar[str] = ""
    topics: ClassVar[dict[str, str]] = {}
    #: A public client of this namespace stays "idle" (closed after
    #: security.socket_idle_seconds, hall/sockets.py) until it joins a room: a phone that
    #: connects to /ticket and never follows a ticket holds a connection for nothing.
    idle_until_room: ClassVar[bool] = False

    def __init__(self, namespace: str | None = None):
        super().__init__(namespace or self.path)


class StaffNamespace(FaceNamespace):
    """A namespace for signed-in staff. It refuses a connection without a session of one
    of `roles`, and keeps every socket in the rooms of its session and its user, so that
    logout, deactivation, a role change or the session's expiry close it at once
    (events.SessionsEnded; hall/staff_sockets.py). Subclasses greet the new socket in
    `connected()` (e.g. with a snapshot)."""

    roles: ClassVar[tuple[str, ...]] = STAFF_ROLES

    def on_connect(self, auth=None):
        hall = current_app.extensions["hall"]
        cur = hall.auth.current()
        if cur is None or cur[0]["role"] not in self.roles:
            return False  # refuse: not logged in, or the wrong role
        join_room(session_room(cur[1]["sid"]))
        join_room(user_room(cur[0]["username"]))
        self.connected(hall, auth)
        return None

    def connected(self, hall, auth=None) -> None:
        """Called once the socket is admitted."""


@dataclass
class Message:
    """One Socket.IO message of a face's route. `data` is the payload, or a callable
    that builds it when the message is sent (None: nothing is sent). A message with a
    `key` is a state: of several with the same key in a batch only the last is sent,
    after the batch's happenings."""

    namespace: str
    event: str
    data: Any
    to: str | None = None
    key: Hashable | None = None


@dataclass
class _Unslotted:
    """An event handed over when the backlog was full (it holds no slot)."""

    event: ev.Event


def origin_policy(cfg):
    """Engine.IO's origin check: a browser page may open a Socket.IO connection only from
    the hall's own origin (the Host it asked for, hall.public_url, or one listed in
    security.allowed_origins). A page of another origin (another port on the same host
    included) is refused before any namespace sees it; clients that send no Origin
    (not browsers) are judged by the namespaces' own checks."""
    from urllib.parse import urlsplit

    def origin_of(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    fixed = {origin_of(cfg.hall["public_url"])}
    fixed |= {origin_of(o) for o in cfg.security["allowed_origins"]}
    trust_proxy = cfg.security["trust_proxy"]

    def allowed(origin, environ) -> bool:
        if not origin:
            return True
        origin = origin.lower()
        if origin in fixed:
            return True
        own = {f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"}
        if trust_proxy and environ.get("HTTP_X_FORWARDED_HOST"):
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", "http").split(",")[0].strip()
            own.add(f"{scheme}://{environ['HTTP_X_FORWARDED_HOST'].split(',')[0].strip()}")
        return origin in {o.lower() for o in own}

    return allowed


def clients(namespace: str) -> int:
    """Clients connected to a namespace in this process."""
    counts = sio_compat.connection_counts(socketio) or {}
    return counts.get(namespace, 0)


def add_namespace(handler: Namespace) -> None:
    """Register a namespace once per process, before socketio.init_app."""
    sio_compat.add_namespace(socketio, handler)


class Broadcaster:
    """Event-bus subscriber that turns domain events into Socket.IO messages.

    In a served hall (not under test) one push thread sends every message: a request
    only hands its events over and answers at once, and a message to a hundred
    screens is written by one thread in one go (hall/compat/fanout.py) instead of
    waking a hundred. The thread sends in the order the events were handed over. Under
    test (app.testing) messages are sent before the response, so that a test client
    sees them as soon as its request returns.
    """

    def __init__(self, hall, app=None):
        self.hall = hall
        self._warm = threading.Semaphore(2)
        self._last_counts: dict | None = None
        self._counts_lock = threading.Lock()
        self._deferred = app is not None
        self._threaded = app is not None and not app.testing
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # Back-pressure: a request waits (up to PUSH_WAIT s) while PUSH_BACKLOG events are
        # still to be pushed, so an overloaded hall slows its answers a little instead of
        # letting its screens fall seconds behind. It never waits longer: a ticket is
        # never refused because of the screens.
        self._slots = threading.BoundedSemaphore(PUSH_BACKLOG)
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._subscribers: dict[str, list[tuple[str, str]]] = {t: [] for t in TOPICS}
        self._routes: list[Callable[[ev.Event], Iterable[Message]]] = []
        self.staff = StaffSockets(socketio, lambda sid: hall.auth.session_valid(sid))
        self._stale_allowed = False
        if app is not None:
            app.after_request(self._after_request)
            app.teardown_request(self._teardown_request)

    # --- what the faces declared ----------------------------------------------------
    def add_namespace(self, ns_cls: type[FaceNamespace]) -> None:
        if issubclass(ns_cls, StaffNamespace):
            self.staff.paths.append(ns_cls.path)
        for name, topic in ns_cls.topics.items():
            if topic not in TOPICS:
                raise ValueError(f"{ns_cls.__name__}: unknown topic {topic!r}")
            self._subscribers[topic].append((ns_cls.path, name))

    def add_route(self, route: Callable[[ev.Event], Iterable[Message]]) -> None:
        self._routes.append(route)

    def pending(self) -> int:
        """Events handed over and not yet pushed (approximate)."""
        return self._queue.qsize()

    # Inside an HTTP request the messages go out when the view is done (after_request):
    # the request's own work, e.g. the new ticket's wait estimate, is then not slowed
    # down by the push. Socket.IO handlers (request.sid) and background threads push at
    # once (through the push thread when there is one).
    def __call__(self, event: ev.Event) -> None:
        if self._deferred and has_request_context() and getattr(request, "sid", None) is None:
            g.setdefault("_hall_events", []).append(event)
            return
        self._push(event)

    def _flush(self) -> None:
        for event in g.pop("_hall_events", []):
            self._push(event)

    def _push(self, event: ev.Event) -> None:
        if self._threaded:
            self._ensure_thread()
            if not self._slots.acquire(timeout=PUSH_WAIT):
                log.warning("the push thread is %d events behind", PUSH_BACKLOG)
                event = _Unslotted(event)
            self._queue.put(event)
            return
        try:
            self.send(event)
        except Exception:  # a broken push must not break the answer
            log.exception("pushing %s failed", type(event).__name__)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hall-push", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            # Public sockets' writes wait while there are events to send: a call reaches
            # the hall's screens without queueing behind 2,000 phones' count updates; they
            # are written in rounds (server.public_write_ms), a slice at a time between
            # batches (hall/compat/wsevent.py).
            wait = wsevent.public_wait()
            try:
                if wait is None:
                    first = self._queue.get(timeout=REAP_SECONDS)
                elif wait == 0:
                    first = self._queue.get_nowait()
                else:  # the next round of public writes is not due yet
                    first = self._queue.get(timeout=wait)
            except queue.Empty:
                if wait is not None:
                    self._flush_public()
                else:
                    self.staff.reap_safely()
                continue
            batch = [first]
            while len(batch) < PUSH_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [e.event if isinstance(e, _Unslotted) else e for e in batch]
            try:
                self.send_batch(events, defer_public=True)
            except Exception:  # one bad message must not stop the screens' updates
                log.exception("pushing %d events failed", len(events))
            finally:
                for e in batch:
                    if not isinstance(e, _Unslotted):
                        self._slots.release()
            self._refresh_forecast()
            # at least a slice after every batch: under a steady stream of events the
            # public sockets still get theirs, a few milliseconds behind
            self._flush_public()
            if self.staff.due():
                self.staff.reap_safely()

    def _flush_public(self) -> None:
        try:
            wsevent.flush_public()
        except Exception:  # the push thread must outlive any one socket
            log.exception("writing to public sockets failed")

    def _refresh_forecast(self) -> None:
        """The wait forecast of the queue as the batch left it, made here, off every
        request (hall/estimate.py: readers meanwhile take the previous one)."""
        hall = self.hall
        try:
            db = hall.store.db()
            if not self._stale_allowed:
                estimate.allow_stale(db)
                self._stale_allowed = True
            read = hall.engine.read
            queue = hall.cfg.queue
            estimate.refresh(
                db, hall.clock.now(), read.today(), queue["estimate_sample"], queue["policy"]
            )
        except Exception:  # a forecast is never worth stopping the screens' updates
            log.exception("making the wait forecast failed")

    def _after_request(self, response):
        self._flush()
        return response

    def _teardown_request(self, exc=None) -> None:
        self._flush()  # a request that ended in an error before after_request

    # --- building and sending -------------------------------------------------------
    def send(self, event: ev.Event) -> None:
        self.send_batch([event])

    def send_batch(self, events: list, defer_public: bool = False) -> None:
        """Push events in order: each event's happenings as it comes, then every state
        the batch touched, once. (On the WebSocket loop a public socket gets the whole
        batch in one write at its end, or with `defer_public` when the push thread finds
        no more events to send; the hall's own screens and staff at once.)"""
        with wsevent.batch(defer=defer_public):
            self._send_batch(events)

    def _send_batch(self, events: list) -> None:
        windows: dict[int, str | None] = {}
        tickets: dict[int, None] = {}
        states: dict[Hashable, Message] = {}
        for event in events:
            self._core_messages(event, windows, tickets)
            for route in self._routes:
                try:
                    messages = list(route(event) or ())
                except Exception:
                    log.exception("a face route failed on %s", type(event).__name__)
                    continue
                for m in messages:
                    if m.key is None:
                        self._send(m)
                    else:
                        states.pop(m.key, None)
                        states[m.key] = m
        for number, at in windows.items():
            self._public_window(number, at)
        if tickets:
            self._ticket_states(tickets)
        for m in states.values():
            self._send(m)

    def _core_messages(self, event, windows: dict, tickets: dict) -> None:
        hall = self.hall
        if isinstance(event, ev.SessionsEnded):
            self.staff.close(event.session_ids, event.username)
            return  # not news for anyone: the sockets it concerns are gone
        payload = event.payload()
        if isinstance(event, ev.TicketCalled):
            called = hall.with_audio(
                {
                    "id": event.event_id,
                    "ticket_id": event.ticket_id,
                    "number": event.number,
                    "window": event.window,
                    "window_name": event.window_name,
                    "service": event.service,
                    "service_name": event.service_name,
                    "recall": event.recall,
                    "at": event.at,
                }
            )
            self.emit("called", called)
            self.emit("called.public", public_call(called))
            self._prerender(event.number, event.window)
        if isinstance(event, ev.WindowChanged):
            self.emit("window", payload)
            windows[event.number] = event.at
        elif isinstance(event, ev.TicketEvent) and event.window:
            # A ticket changed at a window (serving, finished, no-show...): the small
            # screen above it follows. (A call needs no extra message: `called` says it.)
            if not isinstance(event, ev.TicketCalled):
                windows[event.window] = event.at
        if isinstance(event, ev.PrinterStatusChanged):
            self.emit("printer", payload)
        if isinstance(event, ev.TicketEvent):
            tickets[event.ticket_id] = None
            if event.window:
                self.emit("ticket.window", payload, to=f"w{event.window}")
        self.emit("event", {"type": event.NAME, **payload})

    def reap_sessions(self) -> int:
        """Close staff sockets whose session expired or was ended elsewhere (another
        process, the database edited); returns how many (hall/staff_sockets.py)."""
        return self.staff.reap()

    def emit(self, topic: str, data, to: str | None = None) -> None:
        for namespace, name in self._subscribers[topic]:
            socketio.emit(name, data, namespace=namespace, to=to)

    def _send(self, m: Message) -> None:
        try:
            data = m.data() if callable(m.data) else m.data
        except Exception:
            log.exception("building the %s message for %s failed", m.event, m.namespace)
            return
        if data is not None:
            socketio.emit(m.event, data, namespace=m.namespace, to=m.to)

    def _ticket_states(self, tickets: dict) -> None:
        hall = self.hall
        db = hall.store.db()
        read = hall.engine.read
        counts = read.waiting_counts(db)
        if self._counts_changed(counts):
            self.emit("queue", counts)
        for ticket_id in tickets:
            if not any(
                self._listened(ns, f"t{ticket_id}") for ns, _ in self._subscribers["ticket.follow"]
            ):
                continue
            t = read.ticket(db, ticket_id)
            if t is not None:
                self.emit("ticket.follow", read.ticket_json(db, t), to=f"t{t['id']}")

    # Each message costs every connected screen a WebSocket frame, and with 100 hall
    # displays that (not the database) is what limits one process (docs/bench.md). So a
    # `queue` message goes out only when the counts changed (a finish or a recall
    # changes none), and a `ticket` message is built only for a ticket someone follows.
    # With a message queue other processes have their own screens: send everything.
    def _counts_changed(self, counts: dict) -> bool:
        if self.hall.cfg.server["message_queue"]:
            return True
        with self._counts_lock:
            if counts == self._last_counts:
                return False
            self._last_counts = dict(counts)
            return True

    def _listened(self, namespace: str, room: str) -> bool:
        if self.hall.cfg.server["message_queue"]:
            return True
        return sio_compat.room_has_members(socketio, namespace, room)

    def _public_window(self, number: int, at: str | None) -> None:
        try:
            data = public_window_event(self.hall, number, at)
        except Exception:
            log.exception("building the public window event failed")
            return
        if data is not None:
            self.emit("window.public", data)

    def _prerender(self, number, window) -> None:
        """Render the announcement WAV now, off the request, so the display's fetch is instant."""
        voice = self.hall.voice
        if voice is None or not self._warm.acquire(blocking=False):
            return

        def work():
            try:
                voice.wav_for_call(number, window)
            except Exception:
                log.exception("pre-rendering the call audio failed")
            finally:
                self._warm.release()

        threading.Thread(target=work, daemon=True).start()


def start_message_queue(app) -> None:
    """Subscribe to the message queue in the serving process before it accepts
    connections (see hall.compat.socketio.start_message_queue)."""
    if app.extensions["hall"].cfg.server["message_queue"]:
        sio_compat.start_message_queue(socketio)
