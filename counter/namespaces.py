"""/counter (the clerks' consoles: staff only; each joins its window's room) and /pad
(the rating pads)."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit, join_room, leave_room, rooms

from hall.realtime import FaceNamespace
from hall.snapshots import snapshot

from .pad import PAD, pad_state, room_of


def _hall():
    return current_app.extensions["hall"]


class CounterNamespace(FaceNamespace):
    path = "/counter"
    topics = {
        "called": "called",
        "queue": "queue",
        "window": "window",
        "ticket": "ticket.window",
    }

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


class PadNamespace(FaceNamespace):
    """/pad: the rating pads, anonymous. `join` {window} -> room pad:<n>; the pad gets
    its `state` at once and after every change (counter.pad.routes)."""

    path = PAD

    def on_join(self, data):
        number = data.get("window") if isinstance(data, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 100_000:
            return {"ok": False}
        state = pad_state(_hall(), number)
        if state is None:
            return {"ok": False}
        for room in rooms():
            if room.startswith("pad:"):
                leave_room(room)
        join_room(room_of(number))
        emit("state", state)
        return {"ok": True, "state": state}
