"""/counter (the clerks' consoles: staff only; each joins its window's room) and /pad
(the rating pads)."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit, join_room, leave_room, rooms

from hall.realtime import FaceNamespace, StaffNamespace
from hall.snapshots import snapshot

from .pad import PAD, pad_state, room_of


def _hall():
    return current_app.extensions["hall"]


class CounterNamespace(StaffNamespace):
    path = "/counter"
    topics = {
        "called": "called",
        "queue": "queue",
        "window": "window",
        "ticket": "ticket.window",
    }

    def connected(self, hall, auth=None) -> None:
        emit("snapshot", snapshot(hall))

    def on_join(self, data):
        """Join a window's room: its ticket events. A clerk only for a window they may
        use (users.windows); supervisors for any."""
        number = (data or {}).get("window") if isinstance(data, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            return {"ok": False}
        actor = _hall().auth.actor()
        if actor is None or not actor.may_use(number):
            return {"ok": False, "error": "您没有该窗口的权限 (not your window)"}
        for room in rooms():
            if room.startswith("w") and room[1:].isdigit():
                leave_room(room)
        join_room(f"w{number}")
        return {"ok": True}

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
