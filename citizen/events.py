"""The citizen face's own events (published on hall.bus after their commit)."""

from __future__ import annotations

from dataclasses import dataclass

from hall.events import Event


@dataclass(frozen=True)
class CardRead(Event):
    """An ID card was read at a kiosk by a serial reader or an agent: the kiosk's page
    gets the read's token (looked up by `read` when the message is sent: the event
    itself, which supervisors see, carries no token) and masked number."""

    NAME = "card_read"
    kiosk: str
    read: int
    masked: str
    elder: bool
    priority: bool


@dataclass(frozen=True)
class HelpChanged(Event):
    """呼叫帮办 raised at a kiosk, or acknowledged by a guide."""

    NAME = "help"
    id: int
    kiosk: str
    kiosk_name: str
    open: bool
    acked_by: str | None = None


@dataclass(frozen=True)
class SmsFailed(Event):
    """A message could not be sent: supervisors see it. outcome "retry": it will be
    tried again; "unknown": its send was interrupted and the channel cannot be asked
    again safely, so it is not (the citizen may or may not have it)."""

    NAME = "sms_failed"
    outbox_id: int
    number: str | None
    kind: str
    attempts: int
    error: str
    outcome: str = "retry"
