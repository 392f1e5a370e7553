"""Ticket transitions: issue, call-next, recall, start, no-show, requeue, finish,
transfer, cancel. Each is one BEGIN IMMEDIATE transaction (EngineCore.write)."""

from __future__ import annotations

import json

from .. import events as ev
from ..clock import to_iso
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..journeys import journey_next
from .base import Actor, _new_token


class TicketTransitions:
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
        arrived: bool = True,
        journey: str | None = None,
    ) -> dict:
        """Issue a number. within(db, ticket), if given, runs inside the same transaction
        after the insert (e.g. marking a booking checked in); if it raises, nothing is kept.

        journey (一件事, [[journeys]]) instead of service: one number for every step, the
        ticket queues for the first step's service (service is then ignored)."""
        plan = self._journey_plan(journey) if journey is not None else None
        if plan is not None:
            service = plan["steps"][0]

        def run(db, out):
            now = self.clock.now()
            if plan is not None:
                for code in plan["steps"]:
                    step_svc = self.read.service(db, code)
                    if step_svc is None or not step_svc["active"]:
                        raise Conflict(
                            f"{plan['name']}的环节暂停办理 (a step of journey {journey} is closed)"
                        )
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
            prefix = (plan and plan["prefix"]) or svc["prefix"]
            seq = db.execute(
                "INSERT INTO counters (day, prefix, last) VALUES (?, ?, 1) "
                "ON CONFLICT (day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
                [day, prefix],
            ).fetchone()[0]
            number = f"{prefix}{seq:03d}"
            token = _new_token()
            cur = db.execute(
                "INSERT INTO tickets (day, number, prefix, seq, service, status, priority, "
                "priority_reason, lane, queued_at, token, issued_at, requeues, source, kiosk, "
                "issued_by, appointment_id, arrived, journey, journey_steps) VALUES (?, ?, ?, ?, "
                "?, 'waiting', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)",
                [
                    day,
                    number,
                    prefix,
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
                    int(arrived),
                    journey if plan else None,
                    json.dumps(plan["steps"]) if plan else None,
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
                **({} if arrived else {"arrived": False}),
                **({"journey": journey} if plan else {}),
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

    def arrive(self, ticket_id: int, actor: Actor | None = None, where: str = "") -> dict:
        """A ticket taken away from the hall checks in (door QR, kiosk): from now on
        call-next may call it, in the place it has held since it was issued."""

        def run(db, out):
            now = self.clock.now()
            t = self._load(db, ticket_id)
            if t["arrived"]:
                return t
            if t["status"] != "waiting":
                raise Conflict(
                    f"{t['number']}当前状态为{t['status']}，无需签到 (ticket is {t['status']})"
                )
            db.execute("UPDATE tickets SET arrived = 1 WHERE id = ? AND arrived = 0", [t["id"]])
            eid = self._log(db, t, "arrived", now, actor=actor, where=where)
            out.append(self._ticket_event(ev.TicketArrived, db, t, now, eid, actor=actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)

    # --- calls ----------------------------------------------------------------------
    def call_next(self, window: int, actor: Actor | None) -> dict | None:
        def run(db, out):
            now = self.clock.now()
            self._check_may_call(db, window, actor)
            rows = self.read.next_for_window(db, window, 1)
            if not rows:
                return None
            return self._take(db, out, rows[0], window, actor, now)

        return self.write(run)

    def _check_may_call(self, db, window: int, actor: Actor | None) -> dict:
        w = self._window(db, window)
        self._require_clerk_at(w, actor)
        if w["state"] == "paused":
            raise Conflict(f"{w['name']}暂停服务中，不能叫号 (window is paused)")
        current = self.read.current_ticket(db, window)
        if current:
            raise Conflict(
                f"请先处理当前号{current['number']} (window still has {current['number']})"
            )
        return w

    def _take(self, db, out, t, window, actor, now, chosen: bool = False, **details) -> dict:
        """Call waiting ticket t to the window (叫号): status called, one `called` event."""
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
        extra = {"chosen": True, **details} if chosen else {}
        eid = self._log(db, t, "called", now, window=window, actor=actor, recall=False, **extra)
        out.append(
            self._ticket_event(
                ev.TicketCalled, db, t, now, eid, window, actor, recall=False, chosen=chosen
            )
        )
        return t

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

    def finish(
        self,
        ticket_id: int,
        actor: Actor | None,
        *,
        case_no: str | None = None,
        matter: str | None = None,
    ) -> dict:
        """办结. case_no: the case number (办件编号) typed or scanned at the window, matter:
        the catalogue matter (事项编码) handled; both optional, kept in the event."""
        extra = {k: v for k, v in (("case_no", case_no), ("matter", matter)) if v}

        def run(db, out):
            now = self.clock.now()
            t = self._ticket_at_window(db, ticket_id, actor, ("called", "serving"), "办结")
            if journey_next(t) is not None:
                # 一件事: on to the next step
                return self._advance(db, out, t, now, actor, **extra)
            db.execute(
                "UPDATE tickets SET status = 'done', finished_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "finished", now, window=t["window"], actor=actor, **extra)
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
            if t["status"] in ("called", "serving") or (
                t["status"] == "parked" and not actor.is_manager
            ):
                self._require_clerk_at(self._window(db, t["window"]), actor)
            db.execute(
                "UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE id = ?",
                [to_iso(now), t["id"]],
            )
            eid = self._log(db, t, "cancelled", now, window=t["window"], actor=actor, reason=reason)
            out.append(self._ticket_event(ev.TicketCancelled, db, t, now, eid, t["window"], actor))
            return self.read.ticket(db, t["id"])

        return self.write(run)
