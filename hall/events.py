"""Typed domain events.

The engine builds events inside a transaction and publishes them only after COMMIT,
once per committed transition. Subscribers (Socket.IO, printer status, supervisor
alerts) never see a change that was rolled back. Events never carry a ticket token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    at: str

    def payload(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TicketEvent(Event):
    ticket_id: int
    number: str
    service: str
    service_name: str
    window: int | None = None
    window_name: str | None = None
    actor: str | None = None
    event_id: int | None = None  # ticket_events.id, stable across reconnects


@dataclass(frozen=True)
class TicketIssued(TicketEvent):
    NAME = "issued"
    priority: bool = False
    source: str = "kiosk"


@dataclass(frozen=True)
class TicketCalled(TicketEvent):
    NAME = "called"
    recall: bool = False
    chosen: bool = False  # the clerk called this ticket by choice, out of order (logged)


@dataclass(frozen=True)
class TicketServing(TicketEvent):
    NAME = "serving"


@dataclass(frozen=True)
class TicketFinished(TicketEvent):
    NAME = "finished"


@dataclass(frozen=True)
class TicketNoShow(TicketEvent):
    NAME = "no_show"


@dataclass(frozen=True)
class TicketRequeued(TicketEvent):
    NAME = "requeued"


@dataclass(frozen=True)
class TicketCancelled(TicketEvent):
    NAME = "cancelled"


@dataclass(frozen=True)
class TicketArrived(TicketEvent):
    """A ticket issued away from the hall (线上取号, callable only after arrival) checked
    in: call-next may call it from now on."""

    NAME = "arrived"


@dataclass(frozen=True)
class TicketTransferred(TicketEvent):
    NAME = "transferred"
    to_service: str | None = None
    to_window: int | None = None
    note: str = ""


@dataclass(frozen=True)
class TicketParked(TicketEvent):
    """挂起: set aside at its window (the citizen fetches a paper); the window calls on."""

    NAME = "parked"
    reason: str = ""


@dataclass(frozen=True)
class TicketResumed(TicketEvent):
    """A parked ticket taken up again at its window (serving)."""

    NAME = "resumed"


@dataclass(frozen=True)
class TicketAdvanced(TicketEvent):
    """一件事: a journey step done; the same number waits for the next step's service
    (`service` is the new one, `from_service` the step just finished)."""

    NAME = "advanced"
    from_service: str = ""
    step: int = 0  # index of the new step
    steps: int = 0  # number of steps in the journey


@dataclass(frozen=True)
class TicketRated(TicketEvent):
    NAME = "rated"
    score: int | None = None
    bad: bool = False
    reasons: list = field(default_factory=list)
    channel: str = ""


@dataclass(frozen=True)
class WindowChanged(Event):
    NAME = "window"
    number: int
    name: str
    state: str
    clerk: str | None = None
    pause_reason: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class PrinterStatusChanged(Event):
    NAME = "printer"
    kiosk: str
    driver: str
    status: str
    last_error: str | None = None
    checked_at: str | None = None


@dataclass(frozen=True)
class UnusualClient(Event):
    """One client address (no login) took an unusual share of a service's tickets today:
    supervisors are warned (a kiosk that should be exempt, or someone draining numbers)."""

    NAME = "unusual_client"
    address: str
    service: str
    issued: int
    service_issued: int


@dataclass(frozen=True)
class SessionsEnded(Event):
    """Staff sessions ended or changed (logout, deactivation, password or role change):
    the open staff sockets of those sessions are closed at once; one that reconnects is
    checked again. session_ids empty = every session of `username`."""

    NAME = "sessions_ended"
    username: str
    session_ids: tuple = ()
    reason: str = ""


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self):
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Subscriber:
        with self._lock:
            self._subscribers.append(fn)
        return fn

    def publish(self, event: Event) -> None:
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:  # one broken subscriber must not stop the others
                log.exception("event subscriber %r failed on %s", fn, type(event).__name__)
