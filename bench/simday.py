"""Playing one simulated day through the real engine (bench/simlib.py run_day): the
day's events in time order on a FrozenClock, each window calling whenever it is free.
Split from simlib.py, which builds the demand and the window plans."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import timedelta

from hall.clock import from_iso

TRANSFER_AT = 0.4
RECALL_AFTER = 1.0
NO_SHOW_AFTER = 2.0


@dataclass
class Arrival:
    at: float  # minutes after opening
    service: str
    handling: float  # minutes at the window
    no_show: bool = False
    priority: bool = False
    transfer_to: str | None = None
    handling2: float = 0.0  # at the second service, after a transfer
    journey: str | None = None  # 一件事: the journey code (service = its first step)
    steps: list[str] = field(default_factory=list)
    step_handling: list[float] = field(default_factory=list)


@dataclass
class Outcome:
    service: str
    issued: float
    called: float | None
    eta: int
    status: str
    target: int
    priority: bool
    journey: str | None = None
    finished: float | None = None  # the visit's last 办结 (minutes after opening)
    step_waits: list[float] = field(default_factory=list)  # journeys: each step's wait


@dataclass
class DayResult:
    outcomes: list[Outcome] = field(default_factory=list)
    turned_away: int = 0
    transfers: int = 0
    no_shows: int = 0
    last_finish: float = 0.0
    seconds: float = 0.0


class Day:
    """One day's events (arrivals, calls, recalls, no-shows, transfers, finishes, plan
    changes) in time order; each window calls the next ticket whenever it is free."""

    def __init__(self, hall, clock, clerks, opening, result: DayResult, separate: bool):
        self.hall, self.clock, self.clerks = hall, clock, clerks
        self.opening, self.result, self.separate = opening, result, separate
        self.engine = hall.engine
        self.heap: list = []
        self.seq = 0
        self.info: dict[int, dict] = {}  # ticket id -> what happens to it
        self.idle: dict[int, float] = {n: 0.0 for n in clerks}  # window -> idle since

    def push(self, t, kind, *data):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, data))

    def call(self, number: int, now: float) -> bool:
        t = self.engine.call_next(number, self.clerks[number])
        if t is None:
            self.idle.setdefault(number, now)
            return False
        self.idle.pop(number, None)
        i = self.info[t["id"]]
        step = t["step"] or 0
        if i["step_waits"] is not None and len(i["step_waits"]) == step:
            i["step_waits"].append(now - i["entered"])
        if i["no_show"] and not i["transferred"] and step == 0:
            self.push(now + RECALL_AFTER, "recall", number, t["id"])
            self.push(now + NO_SHOW_AFTER, "no_show", number, t["id"])
        elif i["transfer_to"] and not i["transferred"]:
            self.push(now + TRANSFER_AT * i["handling"], "transfer", number, t["id"])
        else:
            if i["steps"]:
                handling = i["step_handling"][step]
            else:
                handling = i["handling2"] if i["transferred"] else i["handling"]
            self.push(now + handling, "finish", number, t["id"])
        return True

    def wake_idle(self, now: float) -> None:
        for number in sorted(self.idle, key=lambda n: (self.idle[n], n)):
            self.call(number, now)

    def issue(self, a: Arrival, now: float, visit: dict | None = None) -> int | None:
        from hall.errors import Conflict

        engine = self.engine
        try:
            if a.journey and not self.separate:
                t = engine.issue(None, journey=a.journey)
            elif a.priority:
                guide = _guide()
                t = engine.issue(
                    a.service, priority=True, priority_reason="老年人", actor=guide, source="staff"
                )
            else:
                t = engine.issue(a.service, kiosk=None)
        except Conflict:
            self.result.turned_away += 1  # daily quota used up
            return None
        db = self.hall.store.db()
        eta = engine.read.ticket_json(db, t)["eta_minutes"]
        one_ticket = bool(a.journey) and not self.separate
        self.info[t["id"]] = {
            "service": a.service,
            "issued": now,
            "entered": now,
            "eta": eta,
            "no_show": a.no_show,
            "transfer_to": a.transfer_to,
            "handling": a.handling,
            "handling2": a.handling2,
            "transferred": False,
            "priority": a.priority,
            "journey": a.journey,
            "steps": a.steps if one_ticket else [],
            "step_handling": a.step_handling if one_ticket else [],
            "step_waits": [] if a.journey else None,
            "visit": visit,
            "arrival": a,
        }
        return t["id"]

    def play(self, arrivals: list[Arrival], schedule: dict | None) -> None:
        engine, clock = self.engine, self.clock
        clock.set(self.opening)
        for number, actor in self.clerks.items():
            engine.open_window(number, actor)
        for hour in sorted(schedule or {}):  # before arrivals at the same moment
            start = (hour - self.opening.hour) * 60 - self.opening.minute
            self.push(max(start, 0.0), "plan", schedule[hour])
        for a in arrivals:
            self.push(a.at, "arrive", a)
        while self.heap:
            now, _, kind, data = heapq.heappop(self.heap)
            clock.set(self.opening + timedelta(minutes=now))
            getattr(self, f"on_{kind}")(now, *data)
        self.collect()
        for number, actor in self.clerks.items():
            engine.close_window(number, actor)

    # --- the events -------------------------------------------------------------------
    def on_arrive(self, now, a: Arrival) -> None:
        visit = {"start": now, "steps": 1} if a.journey and self.separate else None
        self.issue(a, now, visit)
        self.wake_idle(now)

    def on_recall(self, now, number, tid) -> None:
        self.engine.recall(tid, self.clerks[number])

    def on_no_show(self, now, number, tid) -> None:
        self.engine.no_show(tid, self.clerks[number])
        self.result.no_shows += 1
        self.call(number, now)

    def on_transfer(self, now, number, tid) -> None:
        i = self.info[tid]
        self.engine.transfer(tid, self.clerks[number], service=i["transfer_to"], note="模拟转办")
        i["transferred"] = True
        self.result.transfers += 1
        self.call(number, now)
        self.wake_idle(now)

    def on_finish(self, now, number, tid) -> None:
        t = self.engine.finish(tid, self.clerks[number])
        self.result.last_finish = now
        i = self.info[tid]
        if t["status"] == "waiting":  # 一件事: the same number waits for its next step
            i["entered"] = now
        elif i["visit"] is not None:  # separate tickets: take one for the next step
            self.next_separate(now, i)
        else:
            i["finished"] = now
        self.call(number, now)
        if t["status"] == "waiting" or i["visit"] is not None:
            self.wake_idle(now)

    def next_separate(self, now, i) -> None:
        a, visit = i["arrival"], i["visit"]
        k = visit["steps"]
        if k >= len(a.steps):
            visit["end"] = now
            i["finished"] = now
            return
        nxt = Arrival(now, a.steps[k], a.step_handling[k])
        nxt.steps, nxt.step_handling = a.steps, a.step_handling
        visit["steps"] = k + 1
        new = self.issue(nxt, now, visit)
        if new is not None:  # the step tickets of a visit report as one (the first's)
            self.info[new]["follow"] = True

    def on_plan(self, now, plan: dict) -> None:
        from hall.sync import set_window_services

        with self.hall.store.write() as db:
            for number in self.clerks:
                set_window_services(db, number, plan.get(number, []), [])
        self.wake_idle(now)

    # --- the figures ------------------------------------------------------------------
    def collect(self) -> None:
        db = self.hall.store.db()
        ids = list(self.info) or [0]
        targets = {s["code"]: s["target_wait_minutes"] for s in self.hall.cfg.services}
        rows = {
            r["id"]: r
            for r in db.query(
                f"SELECT id, status, called_at FROM tickets "
                f"WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            )
        }
        for tid, i in self.info.items():
            if i.get("follow"):
                continue  # a later step of a separate-tickets visit
            row = rows[tid]
            called = None
            if row["called_at"]:
                called = (from_iso(row["called_at"]) - self.opening).total_seconds() / 60
            finished = i.get("finished")
            if i["visit"] is not None:
                finished = i["visit"].get("end")
            self.result.outcomes.append(
                Outcome(
                    i["service"],
                    i["issued"],
                    called,
                    i["eta"],
                    row["status"],
                    targets[i["service"]],
                    i["priority"],
                    journey=i["journey"],
                    finished=finished,
                    step_waits=i["step_waits"] or [],
                )
            )


_GUIDE = None


def _guide():
    global _GUIDE
    if _GUIDE is None:
        from hall.engine import Actor

        _GUIDE = Actor("sim-guide", "supervisor")
    return _GUIDE
