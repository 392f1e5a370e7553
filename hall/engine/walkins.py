"""Walk-ins without a ticket (a village service point: one window, no kiosk, no printer).

The person on duty records the visitor directly at the window: one transaction issues
the number, calls it to the window and starts serving it (events issued, called,
serving at the same moment: no queue, so no wait). From there it is a ticket like any
other: 办结 (finish, with the case number), 好差评, figures, shipping.
"""

from __future__ import annotations

from .. import events as ev
from ..clock import to_iso
from ..errors import Conflict, Forbidden, NotFound
from .base import Actor, _new_token


class WalkIns:
    def walk_in(
        self,
        window: int,
        actor: Actor | None,
        *,
        service: str | None = None,
        matter: str | None = None,
        case_no: str | None = None,
    ) -> dict:
        """A visitor served at `window` at once; returns the ticket (with its token, for
        the rating QR code)."""

        def run(db, out):
            now = self.clock.now()
            w = self._window(db, window)
            self._require_clerk_at(w, actor)
            if w["state"] == "paused":
                raise Conflict(f"{w['name']}暂停服务中 (window is paused)")
            current = self.read.current_ticket(db, window)
            if current:
                raise Conflict(
                    f"请先办结当前{current['number']} (window still has {current['number']})"
                )
            code = service or (self.read.window_services(db, window)["services"] or [None])[0]
            svc = self.read.service(db, code) if code else None
            if svc is None or not svc["active"]:
                raise NotFound(f"没有这项业务 (unknown service {code!r})")
            if not actor.may_use(window):
                raise Forbidden(f"不能使用{window}号窗口 (not your window)")
            day = self.hours.day_key(now)
            seq = db.execute(
                "INSERT INTO counters (day, prefix, last) VALUES (?, ?, 1) "
                "ON CONFLICT (day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
                [day, svc["prefix"]],
            ).fetchone()[0]
            at = to_iso(now)
            cur = db.execute(
                "INSERT INTO tickets (day, number, prefix, seq, service, status, priority, "
                "priority_reason, lane, queued_at, token, issued_at, called_at, last_called_at, "
                "serving_at, window, clerk, requeues, source, issued_by) VALUES (?, ?, ?, ?, ?, "
                "'serving', 0, '', 2, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'walk_in', ?)",
                [
                    day,
                    f"{svc['prefix']}{seq:03d}",
                    svc["prefix"],
                    seq,
                    svc["code"],
                    at,
                    _new_token(),
                    at,
                    at,
                    at,
                    at,
                    window,
                    actor.username,
                    actor.username,
                ],
            )
            t = self.read.ticket(db, cur.lastrowid)
            details = {"priority": False, "reason": "", "source": "walk_in", "kiosk": None}
            if matter:
                details["matter"] = matter
            if case_no:
                details["case_no"] = case_no
            eid = self._log(db, t, "issued", now, actor=actor, **details)
            out.append(
                self._ticket_event(ev.TicketIssued, db, t, now, eid, actor=actor, source="walk_in")
            )
            eid = self._log(db, t, "called", now, window=window, actor=actor, recall=False)
            out.append(
                self._ticket_event(ev.TicketCalled, db, t, now, eid, window, actor, recall=False)
            )
            eid = self._log(db, t, "serving", now, window=window, actor=actor)
            out.append(self._ticket_event(ev.TicketServing, db, t, now, eid, window, actor))
            return t

        return self.write(run)
