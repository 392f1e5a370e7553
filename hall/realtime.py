"""Socket.IO: domain events pushed to screens and clients.

One Namespace per client kind. Every (re)connect gets a `snapshot` first, so a screen
that lost the network or rebooted renders the right state at once; `called` payloads
carry the ticket_events id, so a client can tell a new call from one it has seen.
Payloads never carry a ticket token.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from flask import current_app, g, has_request_context, request
from flask_socketio import Namespace, SocketIO, emit, join_room

from . import events as ev

log = logging.getLogger(__name__)

socketio = SocketIO()

DISPLAY, COUNTER, TICKET, SUPERVISOR, KIOSK = (
    "/display",
    "/counter",
    "/ticket",
    "/supervisor",
    "/kiosk",
)


PUSH_BACKLOG = 500
PUSH_WAIT = 2.0
PUSH_BATCH = 200


@dataclass
class _Unslotted:
    """An event handed over when the backlog was full (it holds no slot)."""

    event: ev.Event


def _hall():
    return current_app.extensions["hall"]


def snapshot(hall) -> dict:
    db = hall.store.db()
    read = hall.engine.read
    return {
        "hall": hall.cfg.hall["name"],
        "calls": [hall.with_audio(c) for c in read.recent_calls(db, 10)],
        "queue": read.waiting_counts(db),
        "windows": [read.window_json(db, w) for w in read.windows(db)],
        "at": read.local_iso(hall.now_iso()),
    }


# --- public screens (/display) -------------------------------------------------------
# Hall and window displays are public: their data names no person (no clerk, no actor)
# and carries no token. /counter and /supervisor keep the full shapes above.
PUBLIC_WINDOW_DROP = ("clerk",)
MAX_FILTER_SERVICES = 50


def public_window(window: dict) -> dict:
    """A window_json without the clerk signed in there (a person's name)."""
    return {k: v for k, v in window.items() if k not in PUBLIC_WINDOW_DROP}


def public_call(call: dict) -> dict:
    """A `called` payload as the displays get it (never an actor)."""
    return {k: v for k, v in call.items() if k != "actor"}


def services_filter(data) -> list[str] | None:
    """`{"services": ["BDC", "SB"]}` from a display's auth or snapshot request, checked;
    None (all services) for anything missing or malformed."""
    if not isinstance(data, dict):
        return None
    codes = data.get("services")
    if not isinstance(codes, list) or not codes or len(codes) > MAX_FILTER_SERVICES:
        return None
    if not all(isinstance(c, str) and 0 < len(c) <= 16 for c in codes):
        return None
    return codes


def public_snapshot(hall, services: list[str] | None = None, limit: int = 10) -> dict:
    """What a hall or window display needs to draw itself from nothing.

    The keys of `snapshot()` (hall, calls, queue, windows, at) with public windows, plus
    services (code, name, department, prefix), notice, day and last_event_id (the
    highest ticket_events id: a display that remembers a higher one is looking at a
    reset database). `services` limits `calls` to those services (zone displays).
    """
    db = hall.store.db()
    read = hall.engine.read
    calls = read.recent_calls(db, limit, services=services)
    last = db.execute("SELECT MAX(id) FROM ticket_events").fetchone()[0] or 0
    return {
        "hall": hall.cfg.hall["name"],
        "notice": hall.cfg.hall["notice"],
        "day": read.today(),
        "calls": [public_call(hall.with_audio(c)) for c in calls],
        "queue": read.waiting_counts(db),
        "windows": [public_window(read.window_json(db, w)) for w in read.windows(db)],
        "services": [
            {
                "code": s["code"],
                "name": s["name"],
                "department": s["department"],
                "prefix": s["prefix"],
            }
            for s in read.services(db)
        ],
        "last_event_id": last,
        "at": read.local_iso(hall.now_iso()),
    }


def public_window_event(hall, number: int, at: str | None = None) -> dict | None:
    """The `window` event for displays: the public window_json of one window, plus `at`."""
    db = hall.store.db()
    read = hall.engine.read
    w = read.window(db, number)
    if w is None:
        return None
    return {"at": at or read.local_iso(hall.now_iso()), **public_window(read.window_json(db, w))}


class DisplayNamespace(Namespace):
    """Hall displays and window displays: public, no login. A display may pass
    `auth={"services": [...]}` (or the same in a `snapshot` request) to get only those
    services' calls in its snapshot."""

    def on_connect(self, auth=None):
        emit("snapshot", public_snapshot(_hall(), services_filter(auth)))

    def on_snapshot(self, data=None):
        return public_snapshot(_hall(), services_filter(data))


class KioskNamespace(Namespace):
    def on_connect(self, auth=None):
        db = _hall().store.db()
        emit("queue", _hall().engine.read.waiting_counts(db))


class CounterNamespace(Namespace):
    """Clerks' screens: staff only; each joins its window's room when it says which."""

    def on_connect(self, auth=None):
        if _hall().auth.actor() is None:
            return False  # refuse: not logged in
        emit("snapshot", snapshot(_hall()))

    def on_join(self, data):
        number = (data or {}).get("window") if isinstance(data, dict) else None
        if isinstance(number, int):
            join_room(f"w{number}")
            return {"ok": True}
        return {"ok": False}

    def on_snapshot(self, data=None):
        return snapshot(_hall())


class SupervisorNamespace(Namespace):
    def on_connect(self, auth=None):
        actor = _hall().auth.actor()
        if actor is None or not actor.is_manager:
            return False
        emit("snapshot", snapshot(_hall()))


class TicketNamespace(Namespace):
    """A citizen's phone follows its own ticket: it proves ownership with the token."""

    def on_follow(self, data):
        token = (data or {}).get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or len(token) > 64:
            return {"ok": False}
        hall = _hall()
        db = hall.store.db()
        t = hall.engine.read.ticket_by_token(db, token)
        if t is None:
            return {"ok": False}
        join_room(f"t{t['id']}")
        return {"ok": True, "ticket": hall.engine.read.ticket_json(db, t)}


def start_message_queue(app) -> None:
    """Subscribe to the message queue now, not at the first client's connect.

    python-socketio starts its Redis listener when the first client connects, and the
    subscription then takes a moment: a message another process published in that moment
    never reached this process's first screens. `serve` calls this in the worker process,
    before it accepts connections (threads do not survive gunicorn's fork)."""
    if not app.extensions["hall"].cfg.server["message_queue"]:
        return
    server = socketio.server
    if server is not None and not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


def add_namespace(handler: Namespace) -> None:
    """Register a namespace once per process, before socketio.init_app.

    Flask-SocketIO builds a new server at every init_app (one per app) and re-registers
    only the handlers kept in its list; on_namespace() after the first init_app would
    reach the old server alone. Faces call this from their init_app.
    """
    if any(h.namespace == handler.namespace for h in socketio.namespace_handlers):
        return
    handler._set_socketio(socketio)
    socketio.namespace_handlers.append(handler)


def register_namespaces() -> None:
    for handler in (
        DisplayNamespace(DISPLAY),
        CounterNamespace(COUNTER),
        SupervisorNamespace(SUPERVISOR),
        TicketNamespace(TICKET),
        KioskNamespace(KIOSK),
    ):
        add_namespace(handler)


class Broadcaster:
    """Event-bus subscriber that turns domain events into Socket.IO messages.

    In a served hall (not under test) one push thread sends every message: a request
    only hands its events over and answers at once, and a message to a hundred
    screens is written by one thread in one go (hall/fanout.py) instead of waking a
    hundred. The thread sends in the order the events were handed over. Under test
    (app.testing) messages are sent before the response, so that a test client sees
    them as soon as its request returns.
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
        if app is not None:
            app.after_request(self._after_request)
            app.teardown_request(self._teardown_request)

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
            batch = [self._queue.get()]
            while len(batch) < PUSH_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [e.event if isinstance(e, _Unslotted) else e for e in batch]
            try:
                self.send_batch(events)
            except Exception:  # one bad message must not stop the screens' updates
                log.exception("pushing %d events failed", len(events))
            finally:
                for e in batch:
                    if not isinstance(e, _Unslotted):
                        self._slots.release()

    def _after_request(self, response):
        self._flush()
        return response

    def _teardown_request(self, exc=None) -> None:
        self._flush()  # a request that ended in an error before after_request

    def send(self, event: ev.Event) -> None:
        self.send_batch([event])

    def send_batch(self, events: list) -> None:
        """Push events in order. What is a state rather than a happening (the waiting
        counts, a window's public state, a followed ticket) is sent once per batch, after
        the batch's calls: when the push thread falls behind it catches up by sending the
        latest state once instead of every state in between."""
        hall = self.hall
        windows_touched: dict[int, str | None] = {}
        tickets_touched: dict[int, None] = {}
        for event in events:
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
                for ns in (DISPLAY, COUNTER, SUPERVISOR):
                    socketio.emit("called", called, namespace=ns)
                self._prerender(event.number, event.window)
            if isinstance(event, ev.WindowChanged):
                for ns in (COUNTER, SUPERVISOR):
                    socketio.emit("window", payload, namespace=ns)
                # Public displays: no clerk, no actor; the window's current ticket included.
                windows_touched[event.number] = event.at
            elif (
                isinstance(event, ev.TicketEvent)
                and event.window
                and not isinstance(event, ev.TicketCalled)
            ):
                # A ticket changed at a window (serving, finished, no-show...): the small
                # screen above it follows. (A call needs no extra message: `called` says it.)
                windows_touched[event.window] = event.at
            if isinstance(event, ev.PrinterStatusChanged):
                socketio.emit("printer", payload, namespace=SUPERVISOR)
            if isinstance(event, ev.TicketEvent):
                tickets_touched[event.ticket_id] = None
                if event.window:
                    socketio.emit("ticket", payload, to=f"w{event.window}", namespace=COUNTER)
            socketio.emit("event", {"type": event.NAME, **payload}, namespace=SUPERVISOR)

        for number, at in windows_touched.items():
            self._public_window(number, at)
        if tickets_touched:
            db = hall.store.db()
            counts = hall.engine.read.waiting_counts(db)
            if self._counts_changed(counts):
                for ns in (DISPLAY, COUNTER, SUPERVISOR, KIOSK, TICKET):
                    socketio.emit("queue", counts, namespace=ns)
            for ticket_id in tickets_touched:
                if self._listened(TICKET, f"t{ticket_id}"):
                    t = hall.engine.read.ticket(db, ticket_id)
                    if t is not None:
                        socketio.emit(
                            "ticket",
                            hall.engine.read.ticket_json(db, t),
                            to=f"t{t['id']}",
                            namespace=TICKET,
                        )

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
        try:
            return bool(socketio.server.manager.rooms.get(namespace, {}).get(room))
        except AttributeError:  # no server (yet): nobody listens
            return False

    def _public_window(self, number: int, at: str | None) -> None:
        try:
            data = public_window_event(self.hall, number, at)
        except Exception:
            log.exception("building the public window event failed")
            return
        if data is not None:
            socketio.emit("window", data, namespace=DISPLAY)

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
