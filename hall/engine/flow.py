"""Transitions for shorter waits (docs/flow.md): a clerk calls a chosen ticket (with a
reason, logged), parks (挂起) the ticket in hand and resumes it later, and a 一件事
journey ticket goes on to its next step at 办结. Each is one transaction."""

from __future__ import annotations

from .. import calling
from .. import events as ev
from ..clock import to_iso
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..journeys import journey_next, journey_steps
from .base import Actor

REASON_MAX = 200


class FlowTransitions:
    # --- journeys (一件事) -----------------------------------------------------------
    def _journey_plan(self, code) -> dict:
        plan = self.cfg.journey(code) if isinstance(code, str) else None
        if plan is None:
            raise NotFound(f"没有这件事 (unknown journey {code!r})")
        if not plan["active"]:
            raise Conflict(f"{plan['name']}暂停办理 (journey {code} is closed)")
        return plan

    def _advance(self, db, out, t: dict, now, actor: Actor | None, **details) -> dict:
        """办结 of a journey step that is not the last: the same number joins the next
        step's queue at the place its issue time gives it (not at the back)."""
        nxt = journey_next(t)
        svc = self.read.service(db, nxt)
        if svc is None or not svc["active"]:
            raise Conflict(f"下一环节{nxt}暂停办理，请转办 (next step {nxt} is closed)")
        lane = 1 if t["source"] == "appointment" else 2
        db.execute(
            "UPDATE tickets SET status = 'waiting', service = ?, step = step + 1, window = NULL, "
            "clerk = NULL, target_window = NULL, lane = ?, queued_at = issued_at, "
            "serving_at = NULL WHERE id = ?",
            [nxt, lane, t["id"]],
        )
        step = (t["step"] or 0) + 1
        steps = journey_steps(t)
        eid = self._log(
            db,
            t,
            "advanced",
            now,
            window=t["window"],
            actor=actor,
            from_service=t["service"],
            to_service=nxt,
            step=step,
            steps=len(steps),
            **details,  # the case number, the matter of the step (finish's)
        )
        t2 = self.read.ticket(db, t["id"])
        out.append(
            self._ticket_event(
                ev.TicketAdvanced,
                db,
                t2,
                now,
                eid,
                t["window"],
                actor,
                from_service=t["service"],
                step=step,
                steps=len(steps),
            )
        )
        return t2

    # --- call a chosen ticket ---------------------------------------------------------
    def call_ticket(self, window: int, ticket_id: int, actor: Actor | None, reason: str) -> dict:
        """Call this waiting ticket out of the call-next order (选号叫号): only one the
        window or its clerk may serve, with a reason that goes into the log and the audit."""
        reason = (reason or "").strip()
        if not reason:
            raise Invalid("请填写选号叫号的原因 (a reason is required)")
        if len(reason) > REASON_MAX:
            raise Invalid(f"原因最多{REASON_MAX}字 (reason too long)")

        def run(db, out):
            now = self.clock.now()
            self._check_may_call(db, window, actor)
            t = self._load(db, ticket_id)
            if t["status"] != "waiting" or t["day"] != self.hours.day_key(now):
                raise Conflict(f"{t['number']}不在等候中 (ticket is {t['status']})")
            if not t.get("arrived", 1):
                raise Conflict(f"{t['number']}尚未到场签到 (the ticket has not checked in)")
            if not calling.may_call(self.read, db, window, t):
                raise Forbidden(
                    f"{t['number']}不是本窗口可办理的业务 (this window may not serve it)"
                )
            t = self._take(db, out, t, window, actor, now, chosen=True, reason=reason)
            self.audit(
                db,
                actor,
                "call_chosen",
                f"ticket:{t['id']}",
                now,
                window=window,
                number=t["number"],
                reason=reason,
            )
            return t

        return self.write(run)

    # --- park (挂起) and resume -------------------------------------------------------
    def park(self, ticket_id: int, actor: Actor | None, reason: str = "") -> dict:
        """挂起: the ticket in hand is set aside at its window; the window may call on."""
        reason = (reason or "").strip()[:REASON_MAX]

        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called", "serving"), "挂起")
            limit = self.cfg.queue["park_limit"]
            parked = db.execute(
                "SELECT COUNT(*) FROM tickets WHERE window = ? AND status = 'parked'",
                [t["window"]],
            ).fetchone()[0]
            if parked >= limit:
                raise Conflict(
                    f"本窗口已挂起{parked}个号，请先恢复或办结 (park limit {limit} reached)"
                )
            db.execute(
                "UPDATE tickets SET status = 'parked', parked_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "parked", now, window=t["window"], actor=actor, reason=reason)
            out.append(
                self._ticket_event(
                    ev.TicketParked, db, t, now, eid, t["window"], actor, reason=reason
                )
            )
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def resume(self, ticket_id: int, actor: Actor | None) -> dict:
        """A parked ticket is taken up again at its window (serving), when the window has
        no other ticket in hand."""

        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("parked",), "恢复")
            self._check_may_call(db, t["window"], actor)
            db.execute(
                "UPDATE tickets SET status = 'serving', parked_at = NULL, "
                "serving_at = COALESCE(serving_at, ?) WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "resumed", now, window=t["window"], actor=actor)
            out.append(self._ticket_event(ev.TicketResumed, db, t, now, eid, t["window"], actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def parked_at_window(self, db, window: int) -> list[dict]:
        return list(
            db.query(
                "SELECT * FROM tickets WHERE window = ? AND status = 'parked' ORDER BY parked_at",
                [window],
            )
        )
