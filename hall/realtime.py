"""Socket.IO: domain events pushed to screens and clients.

One Namespace per client kind. Every (re)connect gets a `snapshot` first, so a screen
that lost the network or rebooted renders the right state at once; `called` payloads
carry the ticket_events id, so a client can tell a new call from one it has seen.
Payloads never carry a ticket token.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app
from flask_socketio import Namespace, SocketIO, emit, join_room

from . import events as ev

log = logging.getLogger(__name__)

socketio = SocketIO()

DISPLAY, COUNTER, TICKET, SUPERVISOR, KIOSK = "/display", "/counter", "/ticket", "/supervisor", "/kiosk"


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


class DisplayNamespace(Namespace):
    def on_connect(self, auth=None):
        emit("snapshot", snapshot(_hall()))

    def on_snapshot(self, data=None):
        return snapshot(_hall())


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


def register_namespaces() -> None:
    socketio.on_namespace(DisplayNamespace(DISPLAY))
    socketio.on_namespace(CounterNamespace(COUNTER))
    socketio.on_namespace(SupervisorNamespace(SUPERVISOR))
    socketio.on_namespace(TicketNamespace(TICKET))
    socketio.on_namespace(KioskNamespace(KIOSK))


class Broadcaster:
    """Event-bus subscriber that turns domain events into Socket.IO messages."""

    def __init__(self, hall):
        self.hall = hall
        self._warm = threading.Semaphore(2)

    def __call__(self, event: ev.Event) -> None:
        hall = self.hall
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
            for ns in (DISPLAY, COUNTER, SUPERVISOR):
                socketio.emit("window", payload, namespace=ns)
        if isinstance(event, ev.PrinterStatusChanged):
            socketio.emit("printer", payload, namespace=SUPERVISOR)
        if isinstance(event, ev.TicketEvent):
            db = hall.store.db()
            counts = hall.engine.read.waiting_counts(db)
            for ns in (DISPLAY, COUNTER, SUPERVISOR, KIOSK, TICKET):
                socketio.emit("queue", counts, namespace=ns)
            t = hall.engine.read.ticket(db, event.ticket_id)
            if t is not None:
                socketio.emit(
                    "ticket", hall.engine.read.ticket_json(db, t), to=f"t{t['id']}", namespace=TICKET
                )
            if event.window:
                socketio.emit("ticket", payload, to=f"w{event.window}", namespace=COUNTER)
        socketio.emit("event", {"type": event.NAME, **payload}, namespace=SUPERVISOR)

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
