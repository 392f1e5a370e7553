"""Hypothesis stateful test of the queue engine, straight on hall.engine with Actors.

Any sequence of issue (also 一件事 journeys), call-next, call a chosen ticket, recall,
start, no-show, requeue, finish, transfer, park, resume, cancel, rate, window
open/pause/close (also a supervisor's forced close) and clock moves, by the right or the
wrong person, under the configured and the balanced policy, keeps the books:

- a domain error (Conflict/Forbidden/Invalid/NotFound) changes nothing, and nothing but a
  domain error is ever raised;
- a ticket is at one window at most; a window has at most one active (called/serving)
  ticket, and a window with one is open or paused with its clerk signed in (the same
  clerk who called it);
- Reader.waiting_counts equals the counts replayed from ticket_events;
- numbers are unique per day, and per prefix exactly 1..N (the day's counter is N);
- every ticket's status is what its event log says (its last state-changing event);
- every committed transition published its event once, after the commit (event ids).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from hall import config as config_mod
from hall.clock import FrozenClock, from_iso
from hall.db import Store
from hall.engine import Actor, Engine
from hall.errors import Conflict, Forbidden, Invalid, NotFound
from hall.events import EventBus, TicketEvent
from hall.hours import Hours
from hall.sync import sync_config

from ..conftest import TEST_CONFIG, local
from .conftest import KIND_STATUS

DOMAIN_ERRORS = (Conflict, Forbidden, Invalid, NotFound)
CLERKS = [Actor(f"clerk{i}", "clerk") for i in range(1, 5)]
BOSS = Actor("boss", "supervisor")
ACTORS = [*CLERKS, BOSS]
SERVICES = ["BDC", "SB", "YB", "GJJ", "CRJ"]
WINDOWS = [1, 2, 3, 4]

_dirs = itertools.count()
# "right": the clerk signed in where the action happens; else anyone (often refused)
ANYONE = st.sampled_from(["right", "right", "right", *ACTORS])
ACTIONS = ["recall", "start", "no_show", "requeue", "finish", "park", "resume"]
FOLLOW_UPS = [
    "recall", "recall", "start", "start", "finish", "finish", "no_show", "no_show", "requeue",
    "requeue", "transfer_service", "transfer_window", "cancel", "rate", "rate", "call_next",
    "park", "resume", "call_chosen",
]  # fmt: skip
JOURNEYS = [{"code": "ESF", "name": "二手房交易", "steps": ["BDC", "SB", "BDC"]}]


class EngineMachine(RuleBasedStateMachine):
    tmp: Path  # set by the test

    tickets = Bundle("tickets")
    queue: dict = {}  # [queue] settings of the run
    skills: dict = {}  # clerk -> services qualified for

    def __init__(self):
        super().__init__()
        path = self.tmp / f"engine{next(_dirs)}.sqlite3"
        self.cfg = config_mod.load(TEST_CONFIG, {"journeys": JOURNEYS, "queue": self.queue})
        self.clock = FrozenClock(local(2026, 11, 30, 9, 0))
        self.store = Store(str(path))
        # a second connection sees only what was committed
        self.committed = sqlite3.connect(str(path), check_same_thread=False)
        sync_config(self.store, self.cfg, self.clock.now())
        with self.store.write() as db:
            for a in ACTORS:
                db["users"].insert(
                    {
                        "username": a.username,
                        "password_hash": "!",
                        "role": a.role,
                        "skills": json.dumps(self.skills.get(a.username, [])),
                    }
                )
        self.bus = EventBus()
        self.published: list[int] = []
        self.bus.subscribe(self._on_event)
        self.engine = Engine(self.store, self.cfg, self.clock, self.bus, Hours(self.cfg))
        self.issued_service: dict[int, str] = {}  # ticket id -> service it was issued for
        self.outcomes: Counter = Counter()

    def _on_event(self, event) -> None:
        if isinstance(event, TicketEvent):
            # published only after COMMIT: another connection already sees the row
            assert event.event_id is not None
            row = self.committed.execute(
                "SELECT kind FROM ticket_events WHERE id = ?", [event.event_id]
            ).fetchone()
            assert row is not None, f"{type(event).__name__} published before its commit"
            self.published.append(event.event_id)

    def teardown(self):
        self.committed.close()
        self.store.close()

    # --- running an action ------------------------------------------------------------
    def _state(self):
        db = self.store.db()
        return (
            list(db.query("SELECT * FROM tickets ORDER BY id")),
            list(db.query("SELECT * FROM windows ORDER BY number")),
            list(db.query("SELECT * FROM counters ORDER BY day, prefix")),
            list(db.query("SELECT * FROM ratings ORDER BY id")),
            db.execute("SELECT COUNT(*) FROM ticket_events").fetchone()[0],
        )

    def act(self, name: str, fn, *args, **kwargs):
        before = self._state()
        published = len(self.published)
        try:
            result = fn(*args, **kwargs)
        except DOMAIN_ERRORS as e:
            assert e.message, f"{name}: an error without a reason"
            assert self._state() == before, f"{name} raised {type(e).__name__} but changed state"
            assert len(self.published) == published, f"{name} failed but published events"
            self.outcomes[f"{name}:{type(e).__name__}"] += 1
            return None
        self.outcomes[f"{name}:ok"] += 1
        return result

    # --- choosing who and what: mostly the right person, sometimes anyone ------------
    def _actor_for_ticket(self, ticket: int, actor):
        if actor != "right":
            return actor
        t = self.engine.read.ticket(self.store.db(), ticket) if ticket > 0 else None
        return next((a for a in ACTORS if t and a.username == t["clerk"]), CLERKS[0])

    def _actor_for_window(self, window: int, actor):
        if actor != "right":
            return actor
        w = self.engine.read.window(self.store.db(), window)
        if w["clerk"]:
            return next(a for a in ACTORS if a.username == w["clerk"])
        busy = {r["clerk"] for r in self.store.db().query("SELECT clerk FROM windows")}
        return next((a for a in CLERKS if a.username not in busy), CLERKS[window - 1])

    # --- rules ----------------------------------------------------------------------
    @initialize()
    def some_staff_at_work(self):
        self.act("open", self.engine.open_window, 1, CLERKS[0])
        self.act("open", self.engine.open_window, 3, CLERKS[2])

    @rule(
        target=tickets,
        service=st.sampled_from(SERVICES),
        priority=st.booleans(),
        journey=st.sampled_from([False, False, True]),
    )
    def issue(self, service, priority, journey=False):
        kwargs = {"priority": True, "priority_reason": "老年人", "actor": BOSS} if priority else {}
        if journey:
            service, kwargs["journey"] = JOURNEYS[0]["steps"][0], "ESF"
            t = self.act("issue", self.engine.issue, None, **kwargs)
        else:
            t = self.act("issue", self.engine.issue, service, **kwargs)
        if t is None:
            return -1  # a refused issue still gives the bundle an id: one that never exists
        self.issued_service[t["id"]] = service
        return t["id"]

    @rule(window=st.sampled_from(WINDOWS), actor=ANYONE)
    def call_next(self, window, actor):
        self.act("call_next", self.engine.call_next, window, self._actor_for_window(window, actor))

    @rule(
        window=st.sampled_from(WINDOWS),
        script=st.lists(st.sampled_from(FOLLOW_UPS), min_size=1, max_size=4),
        target_service=st.sampled_from(SERVICES),
        target_window=st.sampled_from(WINDOWS),
    )
    def serve(self, window, script, target_service, target_window):
        """A clerk's round at a window: open if needed, call next, then follow-ups on the
        ticket in hand (the books are checked after every single step)."""
        db = self.store.db()
        clerk = self._actor_for_window(window, "right")
        self.act("open", self.engine.open_window, window, clerk)
        self.act("call_next", self.engine.call_next, window, clerk)
        last = self.engine.read.current_ticket(db, window)
        for step in script:
            self.books_balance()
            current = self.engine.read.current_ticket(db, window)
            ticket = current["id"] if current else (last["id"] if last else -1)
            last = current or last
            e = self.engine
            if step == "requeue":
                no_shows = list(db.query("SELECT id FROM tickets WHERE status = 'no_show'"))
                ticket = no_shows[-1]["id"] if no_shows else ticket
            if step in ("recall", "start", "no_show", "finish", "requeue"):
                self.act(step, getattr(e, step), ticket, clerk)
            elif step == "transfer_service":
                self.act("transfer", e.transfer, ticket, clerk, service=target_service, note="转办")
            elif step == "transfer_window":
                self.act("transfer", e.transfer, ticket, clerk, window=target_window, note="转窗")
            elif step == "cancel":
                self.act("cancel", e.cancel, ticket, clerk, "不办了")
            elif step == "rate":
                done = list(db.query("SELECT id FROM tickets WHERE status = 'done'"))
                ticket = done[-1]["id"] if done else ticket
                self.act("rate", e.rate, ticket, 1 + ticket % 5, ["态度不好"], "")
            elif step == "call_next":
                self.act("call_next", e.call_next, window, clerk)
            elif step == "park":
                self.act("park", e.park, ticket, clerk, "补充材料")
            elif step == "resume":
                parked = list(db.query("SELECT id FROM tickets WHERE status = 'parked'"))
                ticket = parked[0]["id"] if parked else ticket
                self.act("resume", e.resume, ticket, clerk)
            elif step == "call_chosen":
                waiting = list(db.query("SELECT id FROM tickets WHERE status = 'waiting'"))
                ticket = waiting[-1]["id"] if waiting else ticket
                self.act("call_chosen", e.call_ticket, window, ticket, clerk, "预约到场")

    @rule(ticket=tickets, action=st.sampled_from(ACTIONS), actor=ANYONE)
    def act_on_a_ticket(self, ticket, action, actor):
        """Any ticket, any action: mostly illegal (finish a waiting ticket, ...)."""
        self.act(
            action, getattr(self.engine, action), ticket, self._actor_for_ticket(ticket, actor)
        )

    @rule(
        ticket=tickets,
        actor=ANYONE,
        to=st.sampled_from(["service", "window", "both", "neither"]),
        service=st.sampled_from([*SERVICES, "NOPE"]),
        window=st.sampled_from([*WINDOWS, 99]),
        note=st.text(max_size=20),
    )
    def transfer(self, ticket, actor, to, service, window, note):
        actor = self._actor_for_ticket(ticket, actor)
        service = service if to in ("service", "both") else None
        window = window if to in ("window", "both") else None
        self.act(
            "transfer",
            self.engine.transfer,
            ticket,
            actor,
            service=service,
            window=window,
            note=note,
        )

    @rule(ticket=tickets, actor=st.none() | ANYONE, reason=st.text(max_size=10))
    def cancel(self, ticket, actor, reason):
        self.act(
            "cancel", self.engine.cancel, ticket, self._actor_for_ticket(ticket, actor), reason
        )

    @rule(
        ticket=tickets,
        score=st.none() | st.integers(0, 6),
        reasons=st.lists(st.sampled_from(["等候时间长", "态度不好"]), max_size=2),
    )
    def rate(self, ticket, score, reasons):
        self.act("rate", self.engine.rate, ticket, score, reasons, "")

    @rule(window=st.sampled_from(WINDOWS), actor=st.none() | ANYONE)
    def open_window(self, window, actor):
        self.act("open", self.engine.open_window, window, self._actor_for_window(window, actor))

    @rule(window=st.sampled_from(WINDOWS), actor=st.none() | ANYONE)
    def pause_window(self, window, actor):
        actor = self._actor_for_window(window, actor)
        self.act("pause", self.engine.pause_window, window, actor, "休息")

    @rule(window=st.sampled_from(WINDOWS), actor=st.none() | ANYONE, force=st.booleans())
    def close_window(self, window, actor, force):
        actor = BOSS if force and actor == "right" else self._actor_for_window(window, actor)
        self.act("close", self.engine.close_window, window, actor, force)

    @rule(seconds=st.sampled_from([1, 30, 300, 1800, 4 * 3600]))
    def advance_clock(self, seconds):
        self.clock.advance(seconds)

    # --- invariants -----------------------------------------------------------------
    @invariant()
    def books_balance(self):
        db = self.store.db()
        tickets = {t["id"]: t for t in db.query("SELECT * FROM tickets")}
        windows = {w["number"]: w for w in db.query("SELECT * FROM windows")}
        events: dict[int, list[dict]] = {}
        for e in db.query("SELECT * FROM ticket_events ORDER BY id"):
            events.setdefault(e["ticket_id"], []).append(e)

        # no orphan events; every ticket has its issue first
        assert set(events) <= set(tickets)
        for tid, t in tickets.items():
            evs = events.get(tid, [])
            assert evs and evs[0]["kind"] == "issued", tid
            assert sum(e["kind"] == "issued" for e in evs) == 1
            # status from the log
            implied = "waiting"
            for e in evs:
                implied = KIND_STATUS[e["kind"]] or implied
            assert t["status"] == implied, (t["number"], t["status"], [e["kind"] for e in evs])
            if t["status"] in ("called", "serving"):
                assert t["window"] is not None and t["clerk"]
            if t["status"] == "waiting":
                assert t["window"] is None, t["number"]
            if t["status"] == "parked":  # set aside at its window, not in hand
                assert t["window"] is not None and t["clerk"] and t["parked_at"]
            # ratings only for finished tickets, after the finish
            kinds = [e["kind"] for e in evs]
            if "rated" in kinds or "unrated" in kinds:
                assert t["status"] == "done"

        # one active ticket per window, at an open/paused window with its clerk
        active = [t for t in tickets.values() if t["status"] in ("called", "serving")]
        per_window = Counter(t["window"] for t in active)
        assert all(n == 1 for n in per_window.values()), per_window
        for t in active:
            w = windows[t["window"]]
            assert w["state"] in ("open", "paused"), (t["number"], w)
            assert w["clerk"], w
            assert t["clerk"] == w["clerk"], (t["number"], t["clerk"], w["clerk"])
        # a clerk is signed in at one window at most
        signed = Counter(w["clerk"] for w in windows.values() if w["state"] != "closed")
        assert all(n == 1 for n in signed.values()), signed
        for w in windows.values():
            assert (w["state"] == "closed") == (w["clerk"] is None), w

        # waiting counts: Reader vs the event log replayed
        hours = self.engine.hours
        today = self.engine.read.today()
        replayed: Counter = Counter()
        for tid, evs in events.items():
            day = hours.day_key(from_iso(evs[0]["at"]))
            service = self.issued_service[tid]
            status = "waiting"
            for e in evs:
                status = KIND_STATUS[e["kind"]] or status
                if e["kind"] in ("transferred", "advanced"):
                    to = json.loads(e["details"]).get("to_service")
                    service = to or service
            if status == "waiting" and day == today:
                replayed[service] += 1
        counts = self.engine.read.waiting_counts(db)
        assert {k: v for k, v in counts.items() if v} == dict(replayed)

        # the figures kept up to date by triggers (schema.m014_queue_counts), recounted:
        # numbers issued per day and service (the service it was issued for, whatever
        # transfers followed), and each waiting ticket's place in its queue
        read = self.engine.read
        issued = Counter((t["day"], self.issued_service[tid]) for tid, t in tickets.items())
        for (day, code), n in issued.items():
            assert read.issued_today(db, code, day) == n, (day, code)
        for t in tickets.values():
            if t["status"] != "waiting":
                continue
            key = (-t["priority"], t["lane"], t["queued_at"], t["id"])
            ahead = sum(
                1
                for o in tickets.values()
                if o["status"] == "waiting"
                and o["day"] == t["day"]
                and o["service"] == t["service"]
                and (-o["priority"], o["lane"], o["queued_at"], o["id"]) < key
            )
            assert read.ahead_of(db, t) == ahead, t["number"]

        # numbers: unique per day; per prefix exactly 1..N, N = the day's counter
        by_day_prefix: dict[tuple[str, str], list[int]] = {}
        for t in tickets.values():
            assert t["number"] == f"{t['prefix']}{t['seq']:03d}"
            by_day_prefix.setdefault((t["day"], t["prefix"]), []).append(t["seq"])
        numbers = Counter((t["day"], t["number"]) for t in tickets.values())
        assert all(n == 1 for n in numbers.values())
        counters = {(c["day"], c["prefix"]): c["last"] for c in db.query("SELECT * FROM counters")}
        for key, seqs in by_day_prefix.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), key
            assert counters[key] == len(seqs), key

        # every committed ticket transition was published exactly once
        ids = [r[0] for r in db.execute("SELECT id FROM ticket_events ORDER BY id")]
        assert sorted(self.published) == ids


def test_engine_keeps_its_invariants(tmp_path):
    EngineMachine.tmp = tmp_path
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=200,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


class BalancedMachine(EngineMachine):
    """The same books under queue.policy = "balanced", a priority ratio and skills."""

    queue = {"policy": "balanced", "priority_ratio": 2, "park_limit": 2}
    skills = {"clerk2": ["SB", "YB"], "clerk3": ["CRJ"], "clerk4": ["BDC", "GJJ"]}


def test_engine_keeps_its_invariants_balanced(tmp_path):
    BalancedMachine.tmp = tmp_path
    run_state_machine_as_test(
        BalancedMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_the_machine_reaches_the_interesting_states(tmp_path):
    """The rules are not all refused: fixed rounds drive every transition through the
    same act() the random runs use, and the invariants hold at the end."""
    EngineMachine.tmp = tmp_path
    m = EngineMachine()
    m.some_staff_at_work()
    a = m.issue("SB", False)
    m.issue("YB", True)
    c = m.issue("GJJ", False)
    m.serve(1, ["recall", "start", "transfer_window"], "SB", 3)  # the priority ticket
    m.serve(3, ["finish", "rate"], "SB", 1)  # transferred to window 3, served there
    m.serve(1, ["no_show", "requeue", "call_next"], "SB", 1)  # a, called again
    m.close_window(1, "right", True)  # forced by the supervisor: a goes back to the queue
    m.cancel(c, BOSS, "不办了")
    m.pause_window(3, "right")
    m.serve(2, ["transfer_service"], "BDC", 2)  # nothing for window 2
    assert m.engine.read.ticket(m.store.db(), a)["status"] == "waiting"
    j = m.issue("SB", False, True)  # 一件事 ESF: BDC -> SB -> BDC
    m.issue("BDC", False)
    m.serve(2, ["park", "call_next", "finish", "resume", "finish"], "SB", 2)  # j on to SB
    m.issue("BDC", False)
    m.serve(4, ["call_chosen"], "SB", 4)  # nothing window 4 may call
    m.open_window(3, "right")  # resumes the paused window
    m.serve(3, ["finish", "call_chosen", "finish"], "SB", 3)
    m.advance_clock(300)
    m.books_balance()
    ok = {k.split(":")[0] for k, v in m.outcomes.items() if k.endswith(":ok")}
    assert ok >= {
        "issue", "call_next", "recall", "start", "transfer", "finish", "rate", "no_show",
        "requeue", "close", "cancel", "pause", "open", "park", "resume", "call_chosen",
    }, m.outcomes  # fmt: skip
    kinds = [r["kind"] for r in m.store.db().query(
        "SELECT kind FROM ticket_events WHERE ticket_id = ? ORDER BY id", [j]
    )]  # fmt: skip
    assert "advanced" in kinds, kinds
    m.teardown()


@pytest.fixture(autouse=True)
def _quiet_event_log(caplog):
    caplog.set_level("WARNING")
