"""Read side: services, windows, queues and the JSON shapes the API and events share."""

from __future__ import annotations

import json

from . import calling, estimate
from .clock import from_iso
from .journeys import journey_steps

# The call-next order of a window lives in hall/calling.py (the configured order as SQL,
# NEXT_FOR_WINDOW, the balanced policy and the priority ratio); Reader.next_for_window
# is its one entry point for the engine and the faces.
NEXT_FOR_WINDOW = calling.NEXT_FOR_WINDOW


class Reader:
    """Queries against one sqlite-utils Database; shared by engine and faces."""

    def __init__(self, cfg, clock, hours):
        self.cfg = cfg
        self.clock = clock
        self.hours = hours

    def today(self) -> str:
        return self.hours.day_key(self.clock.now())

    # --- services and windows -------------------------------------------------------
    def service(self, db, code: str) -> dict | None:
        rows = list(db.query("SELECT * FROM services WHERE code = ?", [code]))
        return rows[0] if rows else None

    def services(self, db, active_only: bool = True) -> list[dict]:
        where = "WHERE active = 1" if active_only else ""
        return list(db.query(f"SELECT * FROM services {where} ORDER BY sort, code"))

    def window(self, db, number: int) -> dict | None:
        rows = list(db.query("SELECT * FROM windows WHERE number = ?", [number]))
        return rows[0] if rows else None

    def windows(self, db) -> list[dict]:
        return list(db.query("SELECT * FROM windows WHERE active = 1 ORDER BY number"))

    def window_services(self, db, number: int) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"services": [], "secondary": []}
        for r in db.query(
            "SELECT service, tier FROM window_services WHERE window = ? ORDER BY rowid", [number]
        ):
            out["services" if r["tier"] == 1 else "secondary"].append(r["service"])
        return out

    def next_for_window(self, db, window: int, limit: int, day: str | None = None) -> list[dict]:
        """The waiting tickets window `window` would call next, in call-next order."""
        return calling.next_for_window(self, db, window, limit, day or self.today())

    def current_ticket(self, db, window: int) -> dict | None:
        rows = list(
            db.query(
                "SELECT * FROM tickets WHERE window = ? AND status IN ('called', 'serving') "
                "ORDER BY id DESC LIMIT 1",
                [window],
            )
        )
        return rows[0] if rows else None

    # --- queues ---------------------------------------------------------------------
    def waiting_counts(self, db, day: str | None = None) -> dict[str, int]:
        day = day or self.today()
        counts = {s["code"]: 0 for s in self.services(db, active_only=False)}
        # kept up to date by triggers as tickets move (schema.m014_queue_counts)
        for r in db.query("SELECT service, n FROM waiting_counts WHERE day = ?", [day]):
            counts[r["service"]] = r["n"]
        return counts

    def issued_today(self, db, code: str, day: str) -> int:
        """Numbers handed out for a service today (its daily_quota counts these).

        A ticket counts for the service it was issued for: a transfer (转办) or a journey's
        next step neither frees a number of the old service nor uses one of the new (the
        first transfer's or step's from_service is the service it was issued for).
        """
        row = db.execute(  # kept up to date by a trigger (schema.m014_queue_counts)
            "SELECT n FROM issued_counts WHERE day = ? AND service = ?", [day, code]
        ).fetchone()
        return row[0] if row else 0

    def queue_entries(self, db, lo: str, hi: str) -> list[dict]:
        """Every entry into a service's queue with lo <= at < hi (UTC ISO): a ticket's
        issue (for the service it was issued for), a transfer to a service, a journey's
        next step. {at, service, source, kind}: the demand the staffing planner learns."""
        return list(
            db.query(
                "SELECT e.at, e.kind, t.source, CASE WHEN e.kind = 'issued' THEN COALESCE("
                "(SELECT json_extract(x.details, '$.from_service') FROM ticket_events x "
                "WHERE x.ticket_id = t.id AND x.kind IN ('transferred', 'advanced') "
                "ORDER BY x.id LIMIT 1), t.service) "
                "ELSE json_extract(e.details, '$.to_service') END AS service "
                "FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                "WHERE e.at >= ? AND e.at < ? AND (e.kind = 'issued' OR (e.kind IN "
                "('transferred', 'advanced') AND json_extract(e.details, '$.to_service') "
                "IS NOT NULL)) ORDER BY e.id",
                [lo, hi],
            )
        )

    def ahead_of(self, db, ticket: dict) -> int:
        """Waiting tickets of the same service that will be called before this one."""
        if ticket["status"] != "waiting":
            return 0
        if not ticket["priority"] and ticket["lane"] == 2:
            # A walk-in: everyone of its service waits before it but the walk-ins that
            # came later, which for a new ticket are none (one step of an index) instead
            # of counting the whole queue ahead.
            behind = db.execute(
                "SELECT COUNT(*) FROM tickets t WHERE t.day = ? AND t.service = ? AND "
                "t.status = 'waiting' AND t.priority = 0 AND t.lane = 2 AND "
                "(t.queued_at, t.id) > (?, ?)",  # a row value: a range of the index
                [ticket["day"], ticket["service"], ticket["queued_at"], ticket["id"]],
            ).fetchone()[0]
            row = db.execute(
                "SELECT n FROM waiting_counts WHERE day = ? AND service = ?",
                [ticket["day"], ticket["service"]],
            ).fetchone()
            return max((row[0] if row else 0) - 1 - behind, 0)
        return db.execute(
            "SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' AND t.day = ? "
            "AND t.service = ? AND t.id != ? AND (t.priority > ? OR (t.priority = ? AND "
            "(t.lane < ? OR (t.lane = ? AND (t.queued_at < ? OR "
            "(t.queued_at = ? AND t.id < ?))))))",
            [
                ticket["day"],
                ticket["service"],
                ticket["id"],
                ticket["priority"],
                ticket["priority"],
                ticket["lane"],
                ticket["lane"],
                ticket["queued_at"],
                ticket["queued_at"],
                ticket["id"],
            ],
        ).fetchone()[0]

    def eta(self, db, service: dict, ahead: int, day: str | None = None) -> int:
        day = day or self.today()
        queue = self.cfg.queue
        return estimate.eta(
            db,
            service,
            ahead,
            self.clock.now(),
            day,
            queue["estimate_sample"],
            queue["policy"],
        )

    def service_json(self, db, service: dict, counts: dict | None = None) -> dict:
        day = self.today()
        counts = counts if counts is not None else self.waiting_counts(db, day)
        waiting = counts.get(service["code"], 0)
        quota = service["daily_quota"] or 0
        remaining = None
        if quota:
            remaining = max(quota - self.issued_today(db, service["code"], day), 0)
        now = self.clock.now()
        is_open, reason = True, ""
        if not service["active"]:
            is_open, reason = False, "该业务暂停办理"
        elif not self.hours.is_open(now):
            is_open, reason = False, self.hours.closed_message(now).split(" (")[0]
        elif remaining == 0:
            is_open, reason = False, "今日号已取完"
        return {
            "code": service["code"],
            "name": service["name"],
            "department": service["department"],
            "prefix": service["prefix"],
            "waiting": waiting,
            "eta_minutes": self.eta(db, service, waiting, day),
            "target_wait_minutes": service["target_wait_minutes"],
            "open": is_open,
            "closed_reason": reason,
            "daily_quota": quota or None,
            "remaining": remaining,
            "matters": json.loads(service["matters"] or "[]"),
        }

    # --- tickets --------------------------------------------------------------------
    def ticket(self, db, ticket_id: int) -> dict | None:
        rows = list(db.query("SELECT * FROM tickets WHERE id = ?", [ticket_id]))
        return rows[0] if rows else None

    def ticket_by_token(self, db, token: str) -> dict | None:
        rows = list(db.query("SELECT * FROM tickets WHERE token = ?", [token]))
        return rows[0] if rows else None

    def local_iso(self, text: str | None) -> str | None:
        if not text:
            return None
        return from_iso(text).astimezone(self.cfg.tz).isoformat(timespec="seconds")

    def ticket_json(self, db, t: dict, with_token: bool = False, staff: bool = False) -> dict:
        service = self.service(db, t["service"])
        window = self.window(db, t["window"]) if t["window"] else None
        ahead = self.ahead_of(db, t)
        out = {
            "id": t["id"],
            "number": t["number"],
            "service": t["service"],
            "service_name": service["name"] if service else t["service"],
            "department": service["department"] if service else None,
            "status": t["status"],
            "priority": bool(t["priority"]),
            "issued_at": self.local_iso(t["issued_at"]),
            "called_at": self.local_iso(t["called_at"]),
            "finished_at": self.local_iso(t["finished_at"]),
            "window": t["window"],
            "window_name": window["name"] if window else None,
            "target_window": t["target_window"],
            "waiting_ahead": ahead,
            "eta_minutes": self.eta(db, service, ahead, t["day"])
            if t["status"] == "waiting" and service
            else 0,
            "requeues": t["requeues"],
            "day": t["day"],
        }
        out["journey"] = self.journey_json(db, t)
        rating = list(db.query("SELECT score FROM ratings WHERE ticket_id = ?", [t["id"]]))
        out["rated"] = bool(rating and rating[0]["score"] is not None)
        if staff:
            out["priority_reason"] = t["priority_reason"]
            out["source"] = t["source"]
            out["clerk"] = t["clerk"]
        if with_token:
            out["token"] = t["token"]
        return out

    def was_called(self, db, number: str, window: int, day: str | None = None) -> bool:
        """Whether ticket `number` of the day was called to `window`."""
        return (
            db.execute(
                "SELECT 1 FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id "
                "WHERE t.day = ? AND t.number = ? AND e.kind = 'called' AND e.window = ? LIMIT 1",
                [day or self.today(), number, window],
            ).fetchone()
            is not None
        )

    def journey_json(self, db, t: dict) -> dict | None:
        """一件事: the journey of a ticket and where it is ({code, name, step, steps:
        [{service, name, state: done | current | todo}]}); None for an ordinary ticket."""
        steps = journey_steps(t)
        if not steps:
            return None
        plan = self.cfg.journey(t["journey"])
        step = t["step"] or 0
        finished = t["status"] in ("done", "cancelled")
        names = {s["code"]: s["name"] for s in self.services(db, active_only=False)}
        return {
            "code": t["journey"],
            "name": plan["name"] if plan else t["journey"],
            "step": step,
            "steps": [
                {
                    "service": code,
                    "name": names.get(code, code),
                    "state": "done"
                    if i < step or (finished and t["status"] == "done")
                    else ("current" if i == step and not finished else "todo"),
                }
                for i, code in enumerate(steps)
            ],
        }

    def journeys(self) -> list[dict]:
        """The journeys a citizen can take a number for ([[journeys]], active ones)."""
        return [
            {"code": j["code"], "name": j["name"], "steps": list(j["steps"])}
            for j in self.cfg.journeys
            if j["active"]
        ]

    def recent_calls(
        self, db, limit: int = 10, day: str | None = None, services: list[str] | None = None
    ) -> list[dict]:
        """The last calls of the day (of some services only, for zone displays), newest
        first, as `called` payloads."""
        day = day or self.today()
        only = ""
        if services:
            only = f" AND t.service IN ({', '.join('?' for _ in services)})"
        rows = db.query(
            "SELECT e.id AS event_id, e.at, e.window, e.details, t.id AS ticket_id, t.number, "
            "t.service, s.name AS service_name, w.name AS window_name FROM ticket_events e "
            "JOIN tickets t ON t.id = e.ticket_id JOIN services s ON s.code = t.service "
            "LEFT JOIN windows w ON w.number = e.window "
            f"WHERE e.kind = 'called' AND t.day = ?{only} ORDER BY e.id DESC LIMIT ?",
            [day, *(services or []), limit],
        )
        return [
            {
                "id": r["event_id"],
                "ticket_id": r["ticket_id"],
                "number": r["number"],
                "window": r["window"],
                "window_name": r["window_name"],
                "service": r["service"],
                "service_name": r["service_name"],
                "recall": bool(json.loads(r["details"] or "{}").get("recall")),
                "at": self.local_iso(r["at"]),
            }
            for r in rows
        ]

    def window_json(self, db, w: dict) -> dict:
        current = self.current_ticket(db, w["number"])
        return {
            "number": w["number"],
            "name": w["name"],
            "state": w["state"],
            "clerk": w["clerk"],
            "pause_reason": w["pause_reason"],
            "state_since": self.local_iso(w["state_since"]),
            "current": {
                "id": current["id"],
                "number": current["number"],
                "service": current["service"],
                "status": current["status"],
                "called_at": self.local_iso(current["last_called_at"]),
            }
            if current
            else None,
            **self.window_services(db, w["number"]),
        }
