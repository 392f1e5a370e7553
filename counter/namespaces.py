"""/counter (the clerks' consoles: staff only; each joins its window's room) and /pad
(the rating pads: paired devices only)."""

from __future__ import annotations

import threading

from flask import current_app, request
from flask_socketio import emit, join_room, leave_room, rooms

from hall.realtime import FaceNamespace, StaffNamespace
from hall.snapshots import snapshot

from .pad import PAD, pad_state, room_of
from .pairing import device_of


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


# Which paired device each /pad connection of this process belongs to, so a revoked
# pad is cut off at once (in this process; elsewhere it can no longer rate anyway).
_pad_sids: dict[str, int] = {}
_pad_lock = threading.Lock()


def disconnect_device(device_id: int) -> None:
    from hall.realtime import socketio

    with _pad_lock:
        sids = [sid for sid, d in _pad_sids.items() if d == device_id]
    for sid in sids:
        try:
            socketio.server.disconnect(sid, namespace=PAD)
        except Exception:  # already gone
            pass


class PadNamespace(FaceNamespace):
    """/pad: the rating pads, paired devices only (counter/pairing.py). `join` {window}
    -> room pad:<n> of the device's own window; the pad gets its `state` at once and
    after every change (counter.pad.routes)."""

    path = PAD

    def on_connect(self, auth=None):
        device = device_of(_hall())
        if device is None:
            return False  # refuse: not a paired pad
        with _pad_lock:
            _pad_sids[request.sid] = device["id"]

    def on_disconnect(self, reason=None):
        with _pad_lock:
            _pad_sids.pop(request.sid, None)

    def on_join(self, data):
        number = data.get("window") if isinstance(data, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 100_000:
            return {"ok": False}
        device = device_of(_hall())
        if device is None or device["window"] != number:
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
