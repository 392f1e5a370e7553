"""Any sequence of engine actions keeps the queue's invariants (hypothesis stateful).

Rules: issue (walk-in and priority), call_next at any window, recall, start, no_show,
requeue, finish, transfer (to a service or a window), cancel, window open/pause/close
(also forced by a supervisor), the clock moving on (and to the next working day). Any
action may be refused (Conflict, Forbidden, NotFound, Invalid); a refused action must
change nothing at all.

Invariants after every step:
- a ticket is at one window at most, and a window has at most one ticket in hand, whose
  clerk is the one signed in there (the window is not closed);
- replaying ticket_events gives every ticket's status, service and window: the tickets
  table and the waiting counts agree with the event log;
- numbers are unique per day and gap-free per prefix (A001, A002, ... no hole).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)

from hall import create_app
from hall.clock import FrozenClock
from hall.engine import Actor
from hall.errors import HallError
from tests.conftest import TEST_CONFIG, local

SERVICES = ["BDC", "SB", "YB", "GJJ", "CRJ"]
WINDOWS = [1, 2, 3, 4]
CLERKS = {n: Actor(f"clerk{n}", "clerk") for n in WINDOWS}
STRANGER = Actor("stranger", "clerk")
BOSS = Actor("boss", "supervisor")
STATUS_AFTER = {
    "issued": "waiting",
    "called": "called",
    "serving": "serving",
    "finished": "done",
    "no_show": "no_show",
    "requeued": "waiting",
    "cancelled": "cancelled",
    "transferred": "waiting",
}


class HallMachine(RuleBasedStateMachine):
    tickets = Bundle("tickets")

    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="hall-stateful-"))
        self.clock = FrozenClock(local(2026, 11, 30, 9, 0))
        self.app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "DATABASE": str(self.tmp / "hall.sqlite3"),
                "CLOCK": self.clock,
                "NO_VOICE": True,
                "TESTING": True,
                "HALL": {"queue": {"requeue_limit": 1}},
            }
        )
        self.hall = self.app.extensions["hall"]
        self.engine = self.hall.engine
        self.refused = Counter()
        for number in WINDOWS[:3]:  # a hall in the morning: most windows open
            self.engine.open_window(number, CLERKS[number])

    def teardown(self):
        self.hall.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- plumbing ------------------------------------------------------------------
    def db(self):
        return self.hall.store.db()

    def state_hash(self) -> str:
        db = self.db()
        parts = []
        for table in ("tickets", "windows", "ticket_events", "counters", "ratings"):
            rows = list(db.query(f"SELECT * FROM {table} ORDER BY rowid"))
            parts.append(json.dumps(rows, sort_keys=True, default=str))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def attempt(self, fn, *args, **kwargs):
        """Run an engine action; a refusal must leave the database exactly as it was."""
        before = self.state_hash()
        try:
            return fn(*args, **kwargs)
        except HallError as e:
            self.refused[type(e).__name__] += 1
            assert self.state_hash() == before, f"refused {fn.__name__} changed the database"
            return None

    def at_window(self, number: int) -> dict | None:
        return self.engine.read.current_ticket(self.db(), number)

    def clerk_for(self, ticket_id: int) -> Actor:
        t = self.engine.read.ticket(self.db(), ticket_id)
        if t and t["window"] and t["status"] in ("called", "serving"):
            w = self.engine.read.window(self.db(), t["window"])
            if w["clerk"]:
                return Actor(w["clerk"], "clerk")
        return CLERKS[1]

    # --- rules ---------------------------------------------------------------------
    @rule(target=tickets, service=st.sampled_from(SERVICES), priority=st.booleans())
    def issue(self, service, priority):
        if priority:
            t = self.attempt(
                self.engine.issue,
                service,
                priority=True,
                priority_reason="老年人",
                actor=BOSS,
                source="staff",
            )
        else:
            t = self.attempt(self.engine.issue, service)
        return multiple(t["id"]) if t else multiple()

    @rule(number=st.sampled_from(WINDOWS), stranger=st.sampled_from([False] * 3 + [True]))
    def open_window(self, number, stranger):
        self.attempt(self.engine.open_window, number, STRANGER if stranger else CLERKS[number])

    # Rules that end or refuse most of the time act one time in `rare` only, so that
    # sequences spend their steps on the busy part of the day.
    @rule(number=st.sampled_from(WINDOWS), rare=st.integers(0, 3))
    def pause_window(self, number, rare):
        if rare == 0:
            self.attempt(self.engine.pause_window, number, CLERKS[number], "午休")

    @rule(number=st.sampled_from(WINDOWS), force=st.booleans(), rare=st.integers(0, 3))
    def close_window(self, number, force, rare):
        if rare == 0:
            actor = BOSS if force else CLERKS[number]
            self.attempt(self.engine.close_window, number, actor, force=force)

    @rule(number=st.sampled_from(WINDOWS), stranger=st.sampled_from([False] * 5 + [True]))
    def call_next(self, number, stranger):
        self.attempt(self.engine.call_next, number, STRANGER if stranger else CLERKS[number])

    @rule(number=st.sampled_from(WINDOWS))
    def finish_and_call_next(self, number):
        """The usual rhythm at a window: finish the ticket in hand, call the next."""
        t = self.at_window(number)
        if t is not None:
            self.attempt(self.engine.finish, t["id"], self.clerk_for(t["id"]))
        self.attempt(self.engine.call_next, number, CLERKS[number])

    @rule(ticket=tickets, action=st.sampled_from(["recall", "start", "no_show", "finish"]))
    def act(self, ticket, action):
        self.attempt(getattr(self.engine, action), ticket, self.clerk_for(ticket))

    @rule(
        number=st.sampled_from(WINDOWS),
        action=st.sampled_from(["recall", "start", "no_show", "finish", "finish", "finish"]),
    )
    def act_at_window(self, number, action):
        """What a clerk does with the ticket in hand (the common case)."""
        t = self.at_window(number)
        if t is not None:
            self.attempt(getattr(self.engine, action), t["id"], self.clerk_for(t["id"]))

    @rule(number=st.sampled_from(WINDOWS), to=st.sampled_from(SERVICES + WINDOWS))
    def transfer_at_window(self, number, to):
        t = self.at_window(number)
        if t is not None:
            kw = {"window": to} if isinstance(to, int) else {"service": to}
            self.attempt(self.engine.transfer, t["id"], self.clerk_for(t["id"]), **kw)

    @rule(ticket=tickets)
    def requeue(self, ticket):
        t = self.engine.read.ticket(self.db(), ticket)
        if t["status"] == "no_show" or ticket % 4 == 0:
            self.attempt(self.engine.requeue, ticket, CLERKS[1])

    @rule(ticket=tickets, service=st.sampled_from(SERVICES))
    def transfer_to_service(self, ticket, service):
        self.attempt(self.engine.transfer, ticket, self.clerk_for(ticket), service=service)

    @rule(ticket=tickets, number=st.sampled_from(WINDOWS))
    def transfer_to_window(self, ticket, number):
        self.attempt(self.engine.transfer, ticket, self.clerk_for(ticket), window=number)

    @rule(ticket=consumes(tickets), rare=st.integers(0, 2))
    def cancel(self, ticket, rare):
        if rare == 0:
            self.attempt(self.engine.cancel, ticket, self.clerk_for(ticket), "取消")

    @rule(ticket=tickets, score=st.integers(1, 5))
    def rate(self, ticket, score):
        t = self.engine.read.ticket(self.db(), ticket)
        if t["status"] == "done" or ticket % 4 == 0:
            self.attempt(self.engine.rate, ticket, score, ["其他"], "")

    @rule(minutes=st.integers(0, 45))
    def clock_moves(self, minutes):
        self.clock.advance(minutes=minutes)

    @precondition(lambda self: self.clock.now().astimezone(self.hall.cfg.tz).hour >= 12)
    @rule()
    def next_working_day(self):
        day = self.clock.now().astimezone(self.hall.cfg.tz).date() + timedelta(days=1)
        while not self.hall.hours.is_working_day(day):
            day += timedelta(days=1)
        self.clock.set(local(day.year, day.month, day.day, 9, 0))

    # --- invariants ----------------------------------------------------------------
    @invariant()
    def one_window_per_ticket_and_one_ticket_per_window(self):
        db = self.db()
        active = list(db.query("SELECT * FROM tickets WHERE status IN ('called', 'serving')"))
        per_window = Counter(t["window"] for t in active)
        assert None not in per_window, "a ticket in hand without a window"
        assert all(n == 1 for n in per_window.values()), f"two tickets at a window: {per_window}"
        windows = {w["number"]: w for w in db.query("SELECT * FROM windows")}
        for t in active:
            w = windows[t["window"]]
            assert w["state"] != "closed", f"{t['number']} in hand at closed window {w['number']}"
            assert w["clerk"] == t["clerk"], f"{t['number']} held by {t['clerk']}, not {w['clerk']}"

    @invariant()
    def tables_agree_with_the_event_log(self):
        db = self.db()
        status: dict[int, str] = {}
        service: dict[int, str] = {}
        window: dict[int, int | None] = {}
        tickets = {t["id"]: t for t in db.query("SELECT * FROM tickets")}
        for e in db.query("SELECT * FROM ticket_events ORDER BY id"):
            tid, kind = e["ticket_id"], e["kind"]
            details = json.loads(e["details"] or "{}")
            if kind == "issued":
                service[tid] = _issued_service(db, tid, tickets[tid]["service"])
            if kind == "transferred" and details.get("to_service"):
                service[tid] = details["to_service"]
            if kind in STATUS_AFTER:
                status[tid] = STATUS_AFTER[kind]
            if kind == "called":
                window[tid] = e["window"]
            if kind == "requeued" and details.get("forced"):
                window[tid] = None
        assert set(status) == set(tickets), "a ticket without events, or events without it"
        for tid, t in tickets.items():
            assert t["status"] == status[tid], (
                f"{t['number']}: table {t['status']}, log {status[tid]}"
            )
            assert t["service"] == service[tid], f"{t['number']}: service differs from the log"
            if t["status"] in ("called", "serving"):
                assert t["window"] == window[tid], f"{t['number']}: window differs from the log"
        today = self.engine.read.today()
        expected = defaultdict(int)
        for tid, t in tickets.items():
            if status[tid] == "waiting" and t["day"] == today:
                expected[service[tid]] += 1
        counts = self.engine.read.waiting_counts(db)
        assert {k: v for k, v in counts.items() if v} == dict(expected)

    @invariant()
    def numbers_unique_and_gap_free(self):
        db = self.db()
        seqs = defaultdict(list)
        numbers = Counter()
        for t in db.query("SELECT day, prefix, seq, number FROM tickets"):
            seqs[(t["day"], t["prefix"])].append(t["seq"])
            numbers[(t["day"], t["number"])] += 1
            assert t["number"] == f"{t['prefix']}{t['seq']:03d}"
        assert all(n == 1 for n in numbers.values()), "a number given twice on one day"
        for key, values in seqs.items():
            assert sorted(values) == list(range(1, len(values) + 1)), f"gap in {key}: {values}"
        for c in db.query("SELECT * FROM counters"):
            assert c["last"] == len(seqs[(c["day"], c["prefix"])])


def _issued_service(db, tid: int, current: str) -> str:
    """The service a ticket was issued for: the first transfer's from_service, if any."""
    rows = list(
        db.query(
            "SELECT details FROM ticket_events WHERE ticket_id = ? AND kind = 'transferred' "
            "ORDER BY id LIMIT 1",
            [tid],
        )
    )
    if rows:
        return json.loads(rows[0]["details"])["from_service"]
    return current


HallMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_engine_invariants = HallMachine.TestCase
