"""/kiosk (waiting counts for the touchscreens) and /ticket (a citizen's phone following
its own ticket). Both public, no login."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit, join_room

from hall.realtime import FaceNamespace, clients

PHONE_READS_PER_SECOND = 50


def _hall():
    return current_app.extensions["hall"]


class KioskNamespace(FaceNamespace):
    path = "/kiosk"
    topics = {"queue": "queue"}

    def on_connect(self, auth=None):
        db = _hall().store.db()
        emit("queue", _hall().engine.read.waiting_counts(db))


class TicketNamespace(FaceNamespace):
    """A citizen's phone follows its own ticket: it proves ownership with the token."""

    path = "/ticket"
    topics = {"queue": "queue", "ticket": "ticket.follow"}
    idle_until_room = True  # a phone that never follows a ticket is closed

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
        return {
            "ok": True,
            "ticket": hall.engine.read.ticket_json(db, t),
            "refresh_seconds": refresh_seconds(clients(self.path)),
        }


def refresh_seconds(phones: int) -> int:
    """Over how many seconds the phones spread their re-reads after a change in the
    waiting counts (phone.js): about PHONE_READS_PER_SECOND requests a second, whatever
    the number of phones following their tickets."""
    return max(1, min(60, round(phones / PHONE_READS_PER_SECOND)))
