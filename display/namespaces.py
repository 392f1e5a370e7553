"""/display: hall displays and window displays. Public, no login."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit

from hall.realtime import FaceNamespace

from .pages import snapshot_for


class DisplayNamespace(FaceNamespace):
    """A display may pass `auth={"services": [...]}` (or the same in a `snapshot`
    request) to get only those services' calls in its snapshot, and `"view": {...}` to
    get, as `snapshot.view`, what its screen shows with the rules of display/pages.py
    applied (display.js asks for it on every connect and after every change)."""

    path = "/display"
    topics = {"called": "called.public", "queue": "queue", "window": "window.public"}

    def on_connect(self, auth=None):
        emit("snapshot", snapshot_for(current_app.extensions["hall"], auth))

    def on_snapshot(self, data=None):
        return snapshot_for(current_app.extensions["hall"], data)
