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


def _serve(hall, clock, code: str, minutes: float, window: int = 2, show: bool = True):
    """Issue a ticket, call it at `window`, finish it (or mark it a no-show) `minutes` later."""
    from datetime import timedelta

    e = hall.engine
    t = e.issue(code)
    e.call_next(window, C[window])
    clock.set(clock.now() + timedelta(minutes=minutes))
    if show:
        e.finish(t["id"], C[window])
    else:
        e.no_show(t["id"], C[window])


def test_handling_minutes_learn_from_past_days_more_than_from_a_few_tickets_today(hall, clock):
    from .conftest import local

    e = hall.engine
    e.open_window(2, C[2])
    db = hall.store.db()
    bdc = hall.engine.read.service(db, "BDC")  # configured 10 minutes
    for _ in range(3):
        _serve(hall, clock, "BDC", 20)
    # No past: the configured 10 minutes count as 4 tickets against today's 3 of 20.
    assert round(estimate.handling_minutes(db, bdc, clock.now(), 20), 2) == round(
        (4 * 10 + 3 * 20) / 7, 2
    )
    # The next day, with that day as the past: 12 tickets of 30 minutes today pull the
    # estimate up, but the usual minutes still weigh (the sample is the last 12).
    clock.set(local(2026, 12, 1, 8, 30))
    for _ in range(12):
        _serve(hall, clock, "BDC", 30)
    past = (4 * 10 + 3 * 20) / 7
    expected = (3 * past + 12 * 30) / (3 + 12)  # the past weighs as its 3 tickets
    assert round(estimate.handling_minutes(db, bdc, clock.now(), 12), 2) == round(expected, 2)
    # Today's tickets beyond the sample join the past.
    assert round(estimate.handling_minutes(db, bdc, clock.now(), 4), 2) == round(
        (11 * ((4 * 10 + 3 * 20 + 8 * 30) / 15) + 4 * 30) / 15, 2
    )


def test_a_no_show_occupies_the_window_only_until_it_is_marked(hall, clock):
    e = hall.engine
    e.open_window(2, C[2])
    db = hall.store.db()
    bdc = hall.engine.read.service(db, "BDC")
    for _ in range(4):
        _serve(hall, clock, "BDC", 10)
    _serve(hall, clock, "BDC", 2, show=False)
    # 4 x 10 (configured) + 4 x 10 + 1 x 2 over 9: a called citizen who never came
    # held the window 2 minutes, not a whole handling time.
    assert round(estimate.handling_minutes(db, bdc, clock.now(), 20), 2) == round(82 / 9, 2)
