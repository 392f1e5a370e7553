"""The wait estimate (hall/estimate.py) follows the engine's calling rule.

tests/hall_test.toml: window 1 serves SB, YB (GJJ secondary); window 2 BDC; window 3 SB,
YB, GJJ (BDC secondary); window 4 CRJ. Configured minutes: BDC 10, SB 6, YB 6, GJJ 8.
"""

from __future__ import annotations

from hall import estimate
from hall.engine import Actor

C = {n: Actor(f"clerk{n}", "clerk") for n in (1, 2, 3, 4)}


def eta_of(hall, ticket) -> int:
    read = hall.engine.read
    db = hall.store.db()
    return read.ticket_json(db, read.ticket(db, ticket["id"]))["eta_minutes"]


def new_ticket_eta(hall, code: str) -> int:
    read = hall.engine.read
    db = hall.store.db()
    return read.service_json(db, read.service(db, code))["eta_minutes"]


def test_a_secondary_window_helps_only_while_its_own_queues_are_empty(hall, clock):
    e = hall.engine
    e.open_window(2, C[2])
    e.open_window(3, C[3])
    b = [e.issue("BDC") for _ in range(4)]
    # Windows 2 and 3 both take BDC (3's own queues are empty): 0, 0, 10, 10.
    assert [eta_of(hall, t) for t in b] == [0, 0, 10, 10]
    # SB tickets come first at window 3 (primary there): BDC is left to window 2.
    for _ in range(3):
        e.issue("SB")
    assert [eta_of(hall, t) for t in b] == [0, 10, 20, 30]
    assert new_ticket_eta(hall, "SB") == 18  # three SB ahead at window 3, 6 minutes each


def test_priority_goes_first_and_closed_windows_do_not_count(hall, clock):
    e = hall.engine
    e.open_window(1, C[1])
    walk_ins = [e.issue("SB") for _ in range(3)]
    assert [eta_of(hall, t) for t in walk_ins] == [0, 6, 12]
    vip = e.issue("SB", priority=True, priority_reason="老年人", actor=Actor("boss", "supervisor"))
    assert eta_of(hall, vip) == 0
    assert [eta_of(hall, t) for t in walk_ins] == [6, 12, 18]
    # Window 3 opens: two windows share SB.
    e.open_window(3, C[3])
    assert sorted(eta_of(hall, t) for t in [vip, *walk_ins]) == [0, 0, 6, 6]


def test_a_ticket_in_hand_that_runs_long_is_not_about_to_end(hall, clock):
    e = hall.engine
    e.open_window(2, C[2])
    e.issue("BDC")
    e.call_next(2, C[2])
    waiting = e.issue("BDC")
    assert eta_of(hall, waiting) == 9  # the median rest of a fresh 10-minute ticket
    clock.advance(minutes=25)  # far longer than usual
    assert 1 <= eta_of(hall, waiting) <= 5  # not zero, not another full 10 minutes


def test_one_forecast_serves_every_reader_of_one_state(hall, clock, client, monkeypatch):
    e = hall.engine
    e.open_window(1, C[1])
    for code in ("SB", "YB", "SB", "GJJ", "BDC"):
        e.issue(code)
    calls = []
    real = estimate._compute
    monkeypatch.setattr(estimate, "_compute", lambda *a: calls.append(1) or real(*a))
    client.get("/api/services")
    db = hall.store.db()
    for t in db.query("SELECT * FROM tickets"):
        hall.engine.read.ticket_json(db, t)
    assert len(calls) == 1
    e.issue("SB")  # a new state: one new forecast
    client.get("/api/services")
    assert len(calls) == 2
