"""The engine's plumbing: the one write path, the event log, and the checks every
transition shares (hall/engine/__init__.py puts the transitions together)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from .. import events as ev
from ..clock import to_iso
from ..errors import Conflict, Forbidden, NotFound
from ..queries import Reader
from ..vocabulary import MANAGER_ROLES


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    windows: tuple[int, ...] = ()  # windows a clerk may use; () = any

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES

    def may_use(self, window: int) -> bool:
        return self.is_manager or not self.windows or window in self.windows


class EngineCore:
    def __init__(self, store, cfg, clock, bus, hours):
        self.store = store
        self.cfg = cfg
        self.clock = clock
        self.bus = bus
        self.hours = hours
        self.read = Reader(cfg, clock, hours)

    # --- plumbing -------------------------------------------------------------------
    def write(self, fn):
        """Run fn(db, out_events) in one transaction; publish its events after COMMIT.
        The one write path: faces that change their own tables use it too."""
        out: list[ev.Event] = []
        with self.store.write() as db:
            result = fn(db, out)
        for event in out:
            self.bus.publish(event)
        return result

    def _log(self, db, ticket, kind, now, window=None, actor=None, **details) -> int:
        cur = db.execute(
            "INSERT INTO ticket_events (ticket_id, kind, window, actor, at, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                ticket["id"],
                kind,
                window,
                actor.username if actor else None,
                to_iso(now),
                json.dumps(details, ensure_ascii=False),
            ],
        )
        return cur.lastrowid

    def audit(self, db, actor, action, target, now=None, **details) -> None:
        db.execute(
            "INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)",
            [
                to_iso(now or self.clock.now()),
                actor.username if actor else None,
                action,
                str(target),
                json.dumps(details, ensure_ascii=False),
            ],
        )

    def _ticket_event(self, cls, db, t, now, event_id, window=None, actor=None, **extra):
        service = self.read.service(db, t["service"])
        win = self.read.window(db, window) if window else None
        return cls(
            at=self.read.local_iso(to_iso(now)),
            ticket_id=t["id"],
            number=t["number"],
            service=t["service"],
            service_name=service["name"] if service else t["service"],
            window=window,
            window_name=win["name"] if win else None,
            actor=actor.username if actor else None,
            event_id=event_id,
            **extra,
        )

    def _load(self, db, ticket_id: int) -> dict:
        t = self.read.ticket(db, ticket_id)
        if t is None:
            raise NotFound(f"没有这张票 (no ticket {ticket_id})")
        return t

    def _window(self, db, number: int) -> dict:
        w = self.read.window(db, number)
        if w is None or not w["active"]:
            raise NotFound(f"没有{number}号窗口 (no window {number})")
        return w

    def _require_clerk_at(self, w: dict, actor: Actor | None) -> None:
        if actor is None:
            raise Forbidden("需要登录 (staff only)")
        if w["state"] == "closed" or not w["clerk"]:
            raise Conflict(f"{w['name']}未签到开窗 (window {w['number']} is closed)")
        if w["clerk"] != actor.username:
            raise Forbidden(
                f"{w['name']}由{w['clerk']}签到，只有该窗口人员可以操作 "
                f"(only the clerk signed in at window {w['number']} may act there)"
            )

    def _ticket_at_window(self, db, ticket_id, actor, statuses, action):
        t = self._load(db, ticket_id)
        if t["status"] not in statuses:
            raise Conflict(
                f"{t['number']}当前状态为{t['status']}，不能{action} "
                f"(cannot {action} a ticket that is {t['status']})"
            )
        if t["window"] is None:
            raise Conflict(f"{t['number']}不在任何窗口 (ticket is not at a window)")
        self._require_clerk_at(self._window(db, t["window"]), actor)
        return t


def _new_token() -> str:
    """Unguessable, URL-safe, never all digits (so it can't be mistaken for an id)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.isdigit():
            return token
