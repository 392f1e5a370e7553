"""The queue engine: the one module that changes a ticket's or a window's state.

Every transition is one BEGIN IMMEDIATE transaction that checks the current state,
writes the new state and appends to ticket_events; its events are published only after
COMMIT. An illegal transition raises Conflict and changes nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from . import events as ev
from .clock import to_iso
from .errors import Conflict, Forbidden, Invalid, NotFound
from .queries import Reader
from .vocabulary import BAD_SCORES, MANAGER_ROLES


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


class Engine:
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

    # --- issue ----------------------------------------------------------------------
    def issue(
        self,
        service: str,
        *,
        priority: bool = False,
        priority_reason: str = "",
        actor: Actor | None = None,
        source: str = "kiosk",
        kiosk: str | None = None,
        lane: int = 2,
        appointment_id: int | None = None,
        ignore_quota: bool = False,
        within=None,
    ) -> dict:
        """Issue a number. within(db, ticket), if given, runs inside the same transaction
        after the insert (e.g. marking a booking checked in); if it raises, nothing is kept."""

        def run(db, out):
            now = self.clock.now()
            svc = self.read.service(db, service)
            if svc is None:
                raise NotFound(f"没有这项业务 (unknown service {service!r})")
            if not svc["active"]:
                raise Conflict(f"{svc['name']}暂停办理 (service {service} is closed)")
            if not self.hours.is_open(now):
                raise Conflict(self.hours.closed_message(now))
            day = self.hours.day_key(now)
            if svc["daily_quota"] and not ignore_quota:
                if self.read.issued_today(db, service, day) >= svc["daily_quota"]:
                    raise Conflict(f"{svc['name']}今日号已取完 (daily quota used up)")
            seq = db.execute(
                "INSERT INTO counters (day, prefix, last) VALUES (?, ?, 1) "
                "ON CONFLICT (day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
                [day, svc["prefix"]],
            ).fetchone()[0]
            number = f"{svc['prefix']}{seq:03d}"
            token = _new_token()
            cur = db.execute(
                "INSERT INTO tickets (day, number, prefix, seq, service, status, priority, "
                "priority_reason, lane, queued_at, token, issued_at, requeues, source, kiosk, "
                "issued_by, appointment_id) VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, "
                "0, ?, ?, ?, ?)",
                [
                    day,
                    number,
                    svc["prefix"],
                    seq,
                    service,
                    int(priority),
                    priority_reason,
                    lane,
                    to_iso(now),
                    token,
                    to_iso(now),
                    source,
                    kiosk,
                    actor.username if actor else None,
                    appointment_id,
                ],
            )
            t = self.read.ticket(db, cur.lastrowid)
            eid = self._log(
                db,
                t,
                "issued",
                now,
                actor=actor,
                priority=priority,
                reason=priority_reason,
                source=source,
                kiosk=kiosk,
            )
            out.append(
                self._ticket_event(
                    ev.TicketIssued,
                    db,
                    t,
                    now,
                    eid,
                    actor=actor,
                    priority=priority,
                    source=source,
                )
            )
            if within is not None:
                within(db, t)
            return t

        return self.write(run)

    # --- calls ----------------------------------------------------------------------
    def call_next(self, window: int, actor: Actor | None) -> dict | None:
        def run(db, out):
            now = self.clock.now()
            w = self._window(db, window)
            self._require_clerk_at(w, actor)
            if w["state"] == "paused":
                raise Conflict(f"{w['name']}暂停服务中，不能叫号 (window is paused)")
            current = self.read.current_ticket(db, window)
            if current:
                raise Conflict(
                    f"请先处理当前号{current['number']} (window still has {current['number']})"
                )
            rows = self.read.next_for_window(db, window, 1)
            if not rows:
                return None
            t = rows[0]
            # The status guard makes a lost race impossible even outside BEGIN IMMEDIATE.
            changed = db.execute(
                "UPDATE tickets SET status = 'called', window = ?, clerk = ?, target_window = "
                "NULL, called_at = COALESCE(called_at, ?), last_called_at = ? "
                "WHERE id = ? AND status = 'waiting'",
                [window, actor.username, to_iso(now), to_iso(now), t["id"]],
            ).rowcount
            if changed != 1:
                raise Conflict("该号已被其他窗口叫走，请重试 (ticket taken, try again)")
            t = self.read.ticket(db, t["id"])
            eid = self._log(db, t, "called", now, window=window, actor=actor, recall=False)
            out.append(
                self._ticket_event(ev.TicketCalled, db, t, now, eid, window, actor, recall=False)
            )
            return t

        return self.write(run)

    def recall(self, ticket_id: int, actor: Actor | None) -> dict:
        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called",), "重呼")
            db.execute("UPDATE tickets SET last_called_at = ? WHERE id = ?", [to_iso(now), t["id"]])
            eid = self._log(db, t, "called", now, window=t["window"], actor=actor, recall=True)
            out.append(
                self._ticket_event(
                    ev.TicketCalled, db, t, now, eid, t["window"], actor, recall=True
                )
            )
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def start(self, ticket_id: int, actor: Actor | None) -> dict:
        """The citizen arrived: called -> serving (开始办理)."""

        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called",), "开始办理")
            db.execute(
                "UPDATE tickets SET status = 'serving', serving_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "serving", now, window=t["window"], actor=actor)
            out.append(self._ticket_event(ev.TicketServing, db, t, now, eid, t["window"], actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def no_show(self, ticket_id: int, actor: Actor | None) -> dict:
        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called",), "过号")
            db.execute(
                "UPDATE tickets SET status = 'no_show', finished_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "no_show", now, window=t["window"], actor=actor)
            out.append(self._ticket_event(ev.TicketNoShow, db, t, now, eid, t["window"], actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def requeue(self, ticket_id: int, actor: Actor | None) -> dict:
        def run(db, out):
            now = self.clock.now()
            if actor is None:
                raise Forbidden("需要工作人员操作 (staff only)")
            t = self._load(db, ticket_id)
            if t["status"] != "no_show":
                raise Conflict(f"只有过号的票可以重新排队 (ticket is {t['status']})")
            limit = self.cfg.queue["requeue_limit"]
            if t["requeues"] >= limit:
                raise Conflict(f"已重新排队{t['requeues']}次，不能再排 (requeue limit {limit})")
            if t["day"] != self.hours.day_key(now):
                raise Conflict("只能当天重新排队 (only on the day of the ticket)")
            db.execute(
                "UPDATE tickets SET status = 'waiting', window = NULL, clerk = NULL, "
                "finished_at = NULL, lane = 2, queued_at = ?, requeues = requeues + 1 "
                "WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "requeued", now, actor=actor)
            out.append(self._ticket_event(ev.TicketRequeued, db, t, now, eid, actor=actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def finish(self, ticket_id: int, actor: Actor | None) -> dict:
        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called", "serving"), "办结")
            db.execute(
                "UPDATE tickets SET status = 'done', finished_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "finished", now, window=t["window"], actor=actor)
            out.append(self._ticket_event(ev.TicketFinished, db, t, now, eid, t["window"], actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

    def transfer(
        self,
        ticket_id: int,
        actor: Actor | None,
        *,
        service: str | None = None,
        window: int | None = None,
        note: str = "",
    ) -> dict:
        """转办/转窗: back to waiting, at the head of another service's queue or for a window."""
        if (service is None) == (window is None):
            raise Invalid("请指定转入的业务或窗口之一 (give either service or window)")

        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called", "serving"), "转办")
            from_window = t["window"]
            if service is not None:
                svc = self.read.service(db, service)
                if svc is None or not svc["active"]:
                    raise NotFound(f"没有这项业务 (unknown service {service!r})")
                db.execute(
                    "UPDATE tickets SET status = 'waiting', service = ?, window = NULL, "
                    "clerk = NULL, target_window = NULL, lane = 0, queued_at = ? WHERE id = ?",
                    [service, to_iso(now), t["id"]],
                )
            else:
                target = self._window(db, window)
                if target["number"] == from_window:
                    raise Conflict("不能转给本窗口 (cannot transfer to the same window)")
                db.execute(
                    "UPDATE tickets SET status = 'waiting', window = NULL, clerk = NULL, "
                    "target_window = ?, lane = 0, queued_at = ? WHERE id = ?",
                    [window, to_iso(now), t["id"]],
                )
            eid = self._log(
                db,
                t,
                "transferred",
                now,
                window=from_window,
                actor=actor,
                from_service=t["service"],
                to_service=service,
                to_window=window,
                note=note,
            )
            t2 = self.read.ticket(db, t["id"])
            out.append(
                self._ticket_event(
                    ev.TicketTransferred,
                    db,
                    t2,
                    now,
                    eid,
                    from_window,
                    actor,
                    to_service=service,
                    to_window=window,
                    note=note,
                )
            )
            return t2

        return self.write(run)

    def cancel(self, ticket_id: int, actor: Actor | None, reason: str = "") -> dict:
        def run(db, out):
            now = self.clock.now()
            if actor is None:
                raise Forbidden("需要工作人员操作 (staff only)")
            t = self._load(db, ticket_id)
            if t["status"] in ("done", "cancelled"):
                raise Conflict(f"{t['number']}已{t['status']}，不能取消 (ticket is {t['status']})")
            if t["status"] in ("called", "serving"):
                self._require_clerk_at(self._window(db, t["window"]), actor)
            db.execute(
                "UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "cancelled", now, window=t["window"], actor=actor, reason=reason)
            out.append(self._ticket_event(ev.TicketCancelled, db, t, now, eid, t["window"], actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

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

    # --- ratings --------------------------------------------------------------------
    def rate(
        self,
        ticket_id: int,
        score: int | None,
        reasons: list[str] | None = None,
        comment: str = "",
        channel: str = "qr",
    ) -> dict:
        """好差评: one rating per finished ticket; 差评 (1-2) need a reason.

        score None records the ticket as unrated (the pad timed out); a later real
        rating (e.g. from the QR code) may still replace an unrated record.
        """
        reasons = reasons or []
        if score is not None and score not in (1, 2, 3, 4, 5):
            raise Invalid("评分须为1-5 (score must be 1-5)")
        if score in BAD_SCORES and not reasons and not comment.strip():
            raise Invalid("差评请选择或填写原因 (a bad rating needs a reason)")

        def run(db, out):
            now = self.clock.now()
            t = self._load(db, ticket_id)
            if t["status"] != "done":
                raise Conflict("办结后才能评价 (only a finished ticket can be rated)")
            existing = list(db.query("SELECT * FROM ratings WHERE ticket_id = ?", [t["id"]]))
            if existing and (existing[0]["score"] is not None or score is None):
                raise Conflict("该号已评价 (this ticket has been rated)")
            bad = score in BAD_SCORES
            deadline = None
            if bad:
                local_day = self.hours.local(now).date()
                deadline = self.hours.add_working_days(
                    local_day, self.cfg.ratings["rectify_days"]
                ).isoformat()
            row = {
                "ticket_id": t["id"],
                "score": score,
                "reasons": json.dumps(reasons, ensure_ascii=False),
                "comment": comment,
                "channel": channel if score is not None else "timeout",
                "window": t["window"],
                "clerk": t["clerk"],
                "service": t["service"],
                "rated_at": to_iso(now),
                "status": "open" if bad else "none",
                "deadline": deadline,
            }
            if existing:
                db["ratings"].update(existing[0]["id"], row)
                rating_id = existing[0]["id"]
            else:
                rating_id = db["ratings"].insert(row).last_pk
            eid = self._log(
                db,
                t,
                "rated" if score is not None else "unrated",
                now,
                window=t["window"],
                score=score,
                channel=row["channel"],
            )
            out.append(
                self._ticket_event(
                    ev.TicketRated,
                    db,
                    t,
                    now,
                    eid,
                    t["window"],
                    None,
                    score=score,
                    bad=bad,
                    reasons=reasons,
                    channel=row["channel"],
                )
            )
            return {**row, "id": rating_id, "reasons": reasons}

        return self.write(run)


def _new_token() -> str:
    """Unguessable, URL-safe, never all digits (so it can't be mistaken for an id)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.isdigit():
            return token
