"""Window transitions: sign in and open, pause, close (a supervisor may force it)."""

from __future__ import annotations

from .. import events as ev
from ..clock import to_iso
from ..errors import Conflict, Forbidden
from .base import Actor


class WindowTransitions:
    # --- windows --------------------------------------------------------------------
    def _set_window(self, db, out, w, now, state, clerk, reason, actor, action):
        db.execute(
            "UPDATE windows SET state = ?, clerk = ?, pause_reason = ?, state_since = ? "
            "WHERE number = ?",
            [state, clerk, reason, to_iso(now), w["number"]],
        )
        self.audit(db, actor, action, f"window:{w['number']}", now, state=state, reason=reason)
        out.append(
            ev.WindowChanged(
                at=self.read.local_iso(to_iso(now)),
                number=w["number"],
                name=w["name"],
                state=state,
                clerk=clerk,
                pause_reason=reason,
                actor=actor.username if actor else None,
            )
        )
        return self.read.window(db, w["number"])

    def open_window(self, number: int, actor: Actor | None) -> dict:
        """Sign in and open (or resume a paused window)."""

        def run(db, out):
            now = self.clock.now()
            if actor is None:
                raise Forbidden("需要登录 (staff only)")
            w = self._window(db, number)
            if not actor.may_use(number):
                raise Forbidden(f"您没有{w['name']}的权限 (you may not use window {number})")
            if w["clerk"] and w["clerk"] != actor.username and w["state"] != "closed":
                raise Conflict(f"{w['name']}已由{w['clerk']}签到 (window taken by {w['clerk']})")
            elsewhere = list(
                db.query(
                    "SELECT number, name FROM windows WHERE clerk = ? AND state != 'closed' "
                    "AND number != ?",
                    [actor.username, number],
                )
            )
            if elsewhere:
                raise Conflict(
                    f"您已在{elsewhere[0]['name']}签到，请先关闭该窗口 "
                    f"(already signed in at window {elsewhere[0]['number']})"
                )
            if w["state"] == "open":
                return w
            return self._set_window(db, out, w, now, "open", actor.username, None, actor, "open")

        return self.write(run)

    def pause_window(self, number: int, actor: Actor | None, reason: str = "") -> dict:
        def run(db, out):
            now = self.clock.now()
            w = self._window(db, number)
            self._require_clerk_at(w, actor)
            if w["state"] == "paused":
                raise Conflict(f"{w['name']}已暂停 (window already paused)")
            return self._set_window(
                db, out, w, now, "paused", w["clerk"], reason or "暂停服务", actor, "pause"
            )

        return self.write(run)

    def close_window(self, number: int, actor: Actor | None, force: bool = False) -> dict:
        """Sign out. A supervisor may force it; the ticket in hand goes back to the queue."""

        def run(db, out):
            now = self.clock.now()
            if actor is None:
                raise Forbidden("需要登录 (staff only)")
            w = self._window(db, number)
            if w["state"] == "closed":
                raise Conflict(f"{w['name']}已关闭 (window already closed)")
            if force:
                if not actor.is_manager:
                    raise Forbidden("只有主管可以强制签退 (supervisors only)")
            else:
                self._require_clerk_at(w, actor)
            current = self.read.current_ticket(db, number)
            if current and not force:
                raise Conflict(
                    f"请先办结或转出当前号{current['number']} (finish or transfer it first)"
                )
            if current:
                db.execute(
                    "UPDATE tickets SET status = 'waiting', window = NULL, clerk = NULL, "
                    "lane = 0, queued_at = ? WHERE id = ?",
                    [to_iso(now), current["id"]],
                )
                eid = self._log(
                    db, current, "requeued", now, window=number, actor=actor, forced=True
                )
                out.append(
                    self._ticket_event(ev.TicketRequeued, db, current, now, eid, number, actor)
                )
            return self._set_window(
                db, out, w, now, "closed", None, None, actor, "force_close" if force else "close"
            )

        return self.write(run)
