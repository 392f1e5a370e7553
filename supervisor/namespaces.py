"""/supervisor: the live board. Supervisors and admins only."""

from __future__ import annotations

from flask_socketio import emit

from hall.realtime import StaffNamespace
from hall.snapshots import snapshot
from hall.vocabulary import MANAGER_ROLES


class SupervisorNamespace(StaffNamespace):
    path = "/supervisor"
    roles = MANAGER_ROLES
    topics = {
        "called": "called",
        "queue": "queue",
        "window": "window",
        "printer": "printer",
        "event": "event",
    }

    def connected(self, hall, auth=None) -> None:
        emit("snapshot", snapshot(hall))
