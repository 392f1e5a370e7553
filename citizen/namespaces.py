"""/citizen (kiosks: a card read at their reader) and /helpdesk (the guide desk:
呼叫帮办 alerts, staff only)."""

from __future__ import annotations

from flask import current_app
from flask_socketio import emit, join_room, leave_room, rooms

from hall.realtime import FaceNamespace, Message, StaffNamespace

from . import cards, help
from .events import CardRead, HelpChanged

CITIZEN = "/citizen"
HELPDESK = "/helpdesk"


def kiosk_room(kiosk: str) -> str:
    return f"kiosk:{kiosk}"


class CitizenNamespace(FaceNamespace):
    """A kiosk page joins its kiosk's room to get `card` when its reader reads a card."""

    path = CITIZEN

    def on_join(self, data):
        kiosk = data.get("kiosk") if isinstance(data, dict) else None
        hall = current_app.extensions["hall"]
        if not isinstance(kiosk, str) or len(kiosk) > 32 or hall.cfg.kiosk(kiosk) is None:
            return {"ok": False}
        for room in rooms():
            if room.startswith("kiosk:"):
                leave_room(room)
        join_room(kiosk_room(kiosk))
        return {"ok": True}


class HelpdeskNamespace(StaffNamespace):
    """The guide desk: `alerts` (the open 呼叫帮办) on connect and after every change."""

    path = HELPDESK

    def connected(self, hall, auth=None) -> None:
        emit("alerts", help.open_alerts(hall))

    def on_alerts(self, data=None):
        return help.open_alerts(current_app.extensions["hall"])


def routes(hall):
    def messages(event):
        if isinstance(event, CardRead):
            return [
                Message(
                    CITIZEN,
                    "card",
                    lambda: cards.card_message(hall, event.read),
                    to=kiosk_room(event.kiosk),
                )
            ]
        if isinstance(event, HelpChanged):
            return [Message(HELPDESK, "alerts", lambda: help.open_alerts(hall), key="alerts")]
        return []

    return messages
