"""Staff sockets end with their session.

Every staff socket joins its session's room when it connects (StaffNamespace, in
hall/realtime.py). A session that ends here (logout, deactivation, a role or password
change: the SessionsEnded event) has its sockets closed at once; one that expired, or
was ended by another process or in the database, is found by `reap()`, which the push
thread runs every REAP_SECONDS in a served hall: a socket never outlives the login
that opened it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .compat import socketio as sio_compat

log = logging.getLogger(__name__)

REAP_SECONDS = 30.0  # how often a served hall looks for staff sockets of ended sessions


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


def user_room(username: str) -> str:
    return f"user:{username}"


class StaffSockets:
    def __init__(self, socketio, session_valid: Callable[[str], bool]):
        self.socketio = socketio
        self.session_valid = session_valid
        self.paths: list[str] = []  # the staff namespaces
        self.last_reap = 0.0

    def due(self) -> bool:
        return time.monotonic() - self.last_reap > REAP_SECONDS

    def close(self, session_ids: list[str], username: str) -> None:
        """Close the sockets of these sessions (none listed: all of the user's)."""
        rooms = [session_room(s) for s in session_ids] or [user_room(username)]
        for path in self.paths:
            for room in rooms:
                for sid in sio_compat.room_members(self.socketio, path, room):
                    self._disconnect(sid, path)

    def reap(self) -> int:
        """Close staff sockets whose session expired or was ended elsewhere; returns how
        many."""
        self.last_reap = time.monotonic()
        closed = 0
        verdicts: dict[str, bool] = {}
        for path in self.paths:
            for room in sio_compat.rooms_of(self.socketio, path):
                if not room.startswith("session:"):
                    continue
                session_id = room.split(":", 1)[1]
                if session_id not in verdicts:
                    verdicts[session_id] = self.session_valid(session_id)
                if verdicts[session_id]:
                    continue
                for sid in sio_compat.room_members(self.socketio, path, room):
                    self._disconnect(sid, path)
                    closed += 1
        return closed

    def reap_safely(self) -> None:
        try:
            self.reap()
        except Exception:
            log.exception("closing the sockets of ended sessions failed")

    def _disconnect(self, sid: str, namespace: str) -> None:
        try:
            self.socketio.server.disconnect(sid, namespace=namespace)
        except Exception:  # gone meanwhile
            log.debug("disconnecting %s on %s failed", sid, namespace, exc_info=True)
