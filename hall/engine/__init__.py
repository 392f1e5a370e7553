"""The queue engine: the one place that changes a ticket's or a window's state.

Every transition is one BEGIN IMMEDIATE transaction that checks the current state,
writes the new state and appends to ticket_events; its events are published only after
COMMIT. An illegal transition raises Conflict and changes nothing. The transitions are
grouped by concern: tickets.py, flow.py (chosen calls, park/resume, journeys),
walkins.py (walk-ins at a village point), windows.py, ratings.py; base.py has the shared
plumbing.
"""

from __future__ import annotations

from .base import Actor, EngineCore
from .flow import FlowTransitions
from .ratings import Ratings
from .tickets import TicketTransitions
from .walkins import WalkIns
from .windows import WindowTransitions

__all__ = ["Actor", "Engine"]


class Engine(TicketTransitions, FlowTransitions, WalkIns, WindowTransitions, Ratings, EngineCore):
    """The engine of one hall: engine.read is its Reader; engine.write(fn) its one
    write path."""
