"""/supervisor: the live board. Supervisors and admins only."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit

from hall.realtime import FaceNamespace
from hall.snapshots import snapshot


class SupervisorNamespace(FaceNamespace):
    path = "/supervisor"
    topics = {
        "called": "called",
        "queue": "queue",
        "window": "window",
        "printer": "printer",
        "event": "event",
    }

    def on_connect(self, auth=None):
        hall = current_app.extensions["hall"]
        actor = hall.auth.actor()
        if actor is None or not actor.is_manager:
            return False
        emit("snapshot", snapshot(hall))
