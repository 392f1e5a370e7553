"""/display: hall displays and window displays. Public, no login."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit

from hall.realtime import FaceNamespace
from hall.snapshots import public_snapshot, services_filter


class DisplayNamespace(FaceNamespace):
    """A display may pass `auth={"services": [...]}` (or the same in a `snapshot`
    request) to get only those services' calls in its snapshot."""

    path = "/display"
    topics = {"called": "called.public", "queue": "queue", "window": "window.public"}

    def on_connect(self, auth=None):
        emit("snapshot", public_snapshot(current_app.extensions["hall"], services_filter(auth)))

    def on_snapshot(self, data=None):
        return public_snapshot(current_app.extensions["hall"], services_filter(data))
