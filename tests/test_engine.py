"""Queue engine: every transition, every illegal one, and the call-next order."""

from __future__ import annotations

import pytest

from hall.engine import Actor
from hall.errors import Conflict, Forbidden, Invalid, NotFound

from .conftest import local

CLERK1 = Actor("clerk1", "clerk")
CLERK2 = Actor("clerk2", "clerk")
CLERK3 = Actor("clerk3", "clerk")
BOSS = Actor("boss", "supervisor")


@pytest.fixture
def engine(hall):
    return hall.engine


def events_of(hall, ticket_id):
    db = hall.store.db()
    return [
        r["kind"]
        for r in db.query(
            "SELECT kind FROM ticket_events WHERE ticket_id = ? ORDER BY id", [ticket_id]
        )
    ]


def open_at(engine, window, actor):
    engine.open_window(window, actor)
    return actor


# --- issuing -------------------------------------------------------------------------
def test_numbers_run_per_prefix_from_001(engine):
    a1 = engine.issue("BDC")
    b1 = engine.issue("SB")
    a2 = engine.issue("BDC")
    c1 = engine.issue("YB")
    assert [t["number"] for t in (a1, b1, a2, c1)] == ["A001", "B001", "A002", "C001"]


def test_numbers_restart_on_the_next_hall_day(engine, clock):
    assert engine.issue("BDC")["number"] == "A001"
    assert engine.issue("BDC")["number"] == "A002"
    clock.set(local(2026, 12, 1, 8, 30))  # Tuesday opening
    t = engine.issue("BDC")
    assert t["number"] == "A001"
    assert t["day"] == "2026-12-01"


def test_day_follows_the_hall_timezone_not_utc(engine, clock):
    # 08:45 in Shanghai is 00:45 UTC; 17:00 Shanghai is 09:00 UTC the same day.
    clock.set(local(2026, 12, 1, 8, 45))
    assert engine.issue("SB")["day"] == "2026-12-01"


def test_refuses_outside_hours_with_next_opening(engine, clock):
    clock.set(local(2026, 11, 30, 17, 30))  # closing time exactly
    with pytest.raises(Conflict) as e:
        engine.issue("BDC")
    assert "2026-12-01" in e.value.message and "08:30" in e.value.message
    clock.set(local(2026, 12, 5, 10, 0))  # Saturday
    with pytest.raises(Conflict) as e:
        engine.issue("BDC")
    assert "2026-12-07" in e.value.message  # Monday
    clock.set(local(2026, 11, 30, 8, 29, 59))
    with pytest.raises(Conflict):
        engine.issue("BDC")
    clock.set(local(2026, 11, 30, 8, 30))
    assert engine.issue("BDC")["number"] == "A001"


def test_refuses_on_a_holiday(engine, clock):
    clock.set(local(2026, 10, 1, 10, 0))  # Thursday, but a holiday in the test config
    with pytest.raises(Conflict):
        engine.issue("SB")


def test_quota_refuses_after_the_last_number(engine):
    numbers = [engine.issue("CRJ")["number"] for _ in range(3)]
    assert numbers == ["J001", "J002", "J003"]
    with pytest.raises(Conflict) as e:
        engine.issue("CRJ")
    assert "今日号已取完" in e.value.message


def test_unknown_and_closed_services_are_refused(engine, hall):
    with pytest.raises(NotFound):
        engine.issue("NOPE")
    with hall.store.write() as db:
        db.execute("UPDATE services SET active = 0 WHERE code = 'SB'")
    with pytest.raises(Conflict) as e:
        engine.issue("SB")
    assert "暂停" in e.value.message
    # nothing was numbered by the refusals
    assert engine.issue("YB")["number"] == "C001"


def test_refusal_changes_nothing(engine, hall, clock):
    clock.set(local(2026, 11, 30, 20, 0))
    with pytest.raises(Conflict):
        engine.issue("BDC")
    db = hall.store.db()
    assert db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM counters").fetchone()[0] == 0


# --- call order ----------------------------------------------------------------------
def test_call_next_order(engine, clock):
    """transferred-to-window, then priority, then primaries by wait, then secondaries."""
    open_at(engine, 1, CLERK1)  # primary SB, YB; secondary GJJ
    open_at(engine, 3, CLERK3)  # primary SB, YB, GJJ; secondary BDC
    tickets = {}
    for name, service, prio in [
        ("gjj", "GJJ", False),
        ("yb", "YB", False),
        ("sb", "SB", False),
        ("prio", "SB", True),
        ("bdc", "BDC", False),
        ("yb2", "YB", False),
        ("prio2", "YB", True),
    ]:
        clock.advance(60)
        tickets[name] = engine.issue(
            service,
            priority=prio,
            priority_reason="老年人" if prio else "",
            actor=BOSS if prio else None,
        )
    # window 3 takes the oldest priority ticket and sends it to window 1
    assert engine.call_next(3, CLERK3)["id"] == tickets["prio"]["id"]
    engine.transfer(tickets["prio"]["id"], CLERK3, window=1, note="请1号窗口复核")
    calls = []
    while (t := engine.call_next(1, CLERK1)) is not None:
        calls.append(next(k for k, v in tickets.items() if v["id"] == t["id"]))
        engine.finish(t["id"], CLERK1)
    # the ticket transferred to it, priority, its primaries by wait, then its secondary;
    # never BDC, which window 1 does not serve
    assert calls == ["prio", "prio2", "yb", "sb", "yb2", "gjj"]
    assert engine.call_next(3, CLERK3)["id"] == tickets["bdc"]["id"]  # secondary there


def test_primary_services_are_merged_by_longest_wait(engine, clock):
    open_at(engine, 1, CLERK1)
    first = engine.issue("YB")
    clock.advance(5)
    second = engine.issue("SB")
    clock.advance(5)
    third = engine.issue("YB")
    order = []
    for _ in range(3):
        t = engine.call_next(1, CLERK1)
        order.append(t["id"])
        engine.finish(t["id"], CLERK1)
    assert order == [first["id"], second["id"], third["id"]]


def test_transfer_to_a_service_goes_to_the_head_of_that_queue(engine, hall, clock):
    open_at(engine, 1, CLERK1)
    open_at(engine, 2, CLERK2)  # BDC only
    waiting = [engine.issue("BDC") for _ in range(3)]
    clock.advance(300)
    sb = engine.issue("SB")
    engine.call_next(1, CLERK1)
    t = engine.transfer(sb["id"], CLERK1, service="BDC", note="需不动产登记")
    assert t["status"] == "waiting" and t["service"] == "BDC" and t["window"] is None
    assert engine.call_next(2, CLERK2)["id"] == sb["id"]
    engine.finish(sb["id"], CLERK2)
    assert engine.call_next(2, CLERK2)["id"] == waiting[0]["id"]
    assert events_of(hall, sb["id"]) == ["issued", "called", "transferred", "called", "finished"]


def test_secondary_only_when_primaries_are_empty(engine, clock):
    open_at(engine, 1, CLERK1)
    g = engine.issue("GJJ")
    clock.advance(600)
    s = engine.issue("SB")
    assert engine.call_next(1, CLERK1)["id"] == s["id"]
    engine.finish(s["id"], CLERK1)
    assert engine.call_next(1, CLERK1)["id"] == g["id"]


def test_window_never_calls_a_service_it_does_not_serve(engine):
    open_at(engine, 2, CLERK2)
    engine.issue("SB")
    assert engine.call_next(2, CLERK2) is None


def test_yesterdays_leftovers_are_not_called_today(engine, clock):
    engine.issue("BDC")
    clock.set(local(2026, 12, 1, 9, 0))
    open_at(engine, 2, CLERK2)
    assert engine.call_next(2, CLERK2) is None


# --- ticket transitions --------------------------------------------------------------
def test_full_life_with_recall_start_finish(engine, hall, clock):
    open_at(engine, 1, CLERK1)
    t = engine.issue("SB")
    clock.advance(120)
    t = engine.call_next(1, CLERK1)
    assert t["status"] == "called" and t["window"] == 1 and t["clerk"] == "clerk1"
    clock.advance(30)
    t = engine.recall(t["id"], CLERK1)
    assert t["called_at"] < t["last_called_at"]
    t = engine.start(t["id"], CLERK1)
    assert t["status"] == "serving"
    clock.advance(300)
    t = engine.finish(t["id"], CLERK1)
    assert t["status"] == "done" and t["finished_at"]
    assert events_of(hall, t["id"]) == ["issued", "called", "called", "serving", "finished"]


@pytest.mark.parametrize(
    "action",
    ["finish", "recall", "start", "no_show", "requeue"],
)
def test_illegal_on_a_waiting_ticket(engine, hall, action):
    open_at(engine, 1, CLERK1)
    t = engine.issue("SB")
    with pytest.raises((Conflict, Forbidden)):
        getattr(engine, action)(t["id"], CLERK1)
    assert engine.read.ticket(hall.store.db(), t["id"])["status"] == "waiting"
    assert events_of(hall, t["id"]) == ["issued"]


def test_finish_twice_is_a_conflict(engine, hall):
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    engine.finish(t["id"], CLERK1)
    with pytest.raises(Conflict):
        engine.finish(t["id"], CLERK1)
    assert events_of(hall, t["id"]).count("finished") == 1


def test_no_show_then_requeue_once(engine, hall, clock):
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    clock.advance(10)
    later = engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    t = engine.no_show(t["id"], CLERK1)
    assert t["status"] == "no_show"
    with pytest.raises(Conflict):
        engine.start(t["id"], CLERK1)  # 过号 ticket cannot be served
    clock.advance(10)
    t = engine.requeue(t["id"], CLERK1)
    assert t["status"] == "waiting" and t["requeues"] == 1 and t["window"] is None
    # requeued at the back: the later walk-in goes first
    assert engine.call_next(1, CLERK1)["id"] == later["id"]
    engine.finish(later["id"], CLERK1)
    t2 = engine.call_next(1, CLERK1)
    assert t2["id"] == t["id"]
    engine.no_show(t2["id"], CLERK1)
    with pytest.raises(Conflict) as e:
        engine.requeue(t2["id"], CLERK1)
    assert "limit" in e.value.message


def test_requeue_limit_is_configurable(tmp_path, clock):
    from hall import create_app

    from .conftest import TEST_CONFIG

    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "x.sqlite3"),
            "CLOCK": clock,
            "HALL": {"queue": {"requeue_limit": 0}},
        }
    )
    engine = app.extensions["hall"].engine
    engine.open_window(1, CLERK1)
    engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    engine.no_show(t["id"], CLERK1)
    with pytest.raises(Conflict):
        engine.requeue(t["id"], CLERK1)


def test_transfer_needs_exactly_one_target(engine):
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    with pytest.raises(Invalid):
        engine.transfer(t["id"], CLERK1)
    with pytest.raises(Invalid):
        engine.transfer(t["id"], CLERK1, service="BDC", window=2)
    with pytest.raises(Conflict):
        engine.transfer(t["id"], CLERK1, window=1)
    with pytest.raises(NotFound):
        engine.transfer(t["id"], CLERK1, service="NOPE")
    assert engine.read.ticket(engine.store.db(), t["id"])["status"] == "called"


def test_cancel(engine, hall):
    t = engine.issue("SB")
    t = engine.cancel(t["id"], CLERK1, reason="群众离开")
    assert t["status"] == "cancelled"
    with pytest.raises(Conflict):
        engine.cancel(t["id"], CLERK1)
    with pytest.raises(Forbidden):
        engine.cancel(engine.issue("SB")["id"], None)


# --- windows -------------------------------------------------------------------------
def test_call_on_a_paused_or_closed_window(engine):
    engine.issue("SB")
    with pytest.raises(Conflict):
        engine.call_next(1, CLERK1)  # closed: nobody signed in
    open_at(engine, 1, CLERK1)
    engine.pause_window(1, CLERK1, "午休")
    with pytest.raises(Conflict) as e:
        engine.call_next(1, CLERK1)
    assert "暂停" in e.value.message
    w = engine.open_window(1, CLERK1)  # resume
    assert w["state"] == "open" and w["pause_reason"] is None
    assert engine.call_next(1, CLERK1)["number"] == "B001"


def test_call_while_a_ticket_is_still_called(engine):
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    engine.issue("SB")
    first = engine.call_next(1, CLERK1)
    with pytest.raises(Conflict) as e:
        engine.call_next(1, CLERK1)
    assert first["number"] in e.value.message
    engine.start(first["id"], CLERK1)
    with pytest.raises(Conflict):
        engine.call_next(1, CLERK1)  # serving counts too


def test_one_window_per_clerk_and_only_that_clerk_acts(engine):
    open_at(engine, 1, CLERK1)
    with pytest.raises(Conflict):
        engine.open_window(3, CLERK1)  # already at window 1
    with pytest.raises(Conflict):
        engine.open_window(1, CLERK2)  # window 1 is taken
    engine.issue("SB")
    with pytest.raises(Forbidden):
        engine.call_next(1, CLERK2)
    t = engine.call_next(1, CLERK1)
    for action in (engine.finish, engine.recall, engine.no_show, engine.start):
        with pytest.raises(Forbidden):
            action(t["id"], CLERK2)
    with pytest.raises(Forbidden):
        engine.pause_window(1, CLERK2)


def test_clerk_limited_to_some_windows(engine):
    limited = Actor("lim", "clerk", (2,))
    with pytest.raises(Forbidden):
        engine.open_window(1, limited)
    assert engine.open_window(2, limited)["clerk"] == "lim"


def test_close_with_a_ticket_in_hand_and_forced_sign_out(engine, hall):
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    with pytest.raises(Conflict):
        engine.close_window(1, CLERK1)
    with pytest.raises(Forbidden):
        engine.close_window(1, CLERK2, force=True)  # clerks cannot force
    w = engine.close_window(1, BOSS, force=True)
    assert w["state"] == "closed" and w["clerk"] is None
    back = engine.read.ticket(hall.store.db(), t["id"])
    assert back["status"] == "waiting" and back["lane"] == 0  # back at the head
    # clerk1 is free to sign in elsewhere now
    assert engine.open_window(3, CLERK1)["state"] == "open"
    assert engine.call_next(3, CLERK1)["id"] == t["id"]


def test_close_then_reopen(engine):
    open_at(engine, 1, CLERK1)
    w = engine.close_window(1, CLERK1)
    assert w["state"] == "closed"
    with pytest.raises(Conflict):
        engine.close_window(1, CLERK1)
    assert engine.open_window(1, CLERK2)["clerk"] == "clerk2"


# --- ratings -------------------------------------------------------------------------
def finished_ticket(engine):
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    return engine.finish(t["id"], CLERK1)


def test_rating_rules(engine, hall):
    t = engine.issue("YB")
    with pytest.raises(Conflict):
        engine.rate(t["id"], 5)  # not finished
    done = finished_ticket(engine)
    with pytest.raises(Invalid):
        engine.rate(done["id"], 2)  # 差评 without a reason
    with pytest.raises(Invalid):
        engine.rate(done["id"], 6)
    r = engine.rate(done["id"], 2, ["效率低"], "等了很久")
    assert r["status"] == "open" and r["deadline"] == "2026-12-14"  # 10 working days
    assert r["clerk"] == "clerk1" and r["window"] == 1
    with pytest.raises(Conflict):
        engine.rate(done["id"], 5)


def test_unrated_is_recorded_and_never_good(engine, hall):
    done = finished_ticket(engine)
    r = engine.rate(done["id"], None, channel="pad")
    assert r["score"] is None and r["channel"] == "timeout"
    # a later rating from the QR code may still replace the unrated record
    r2 = engine.rate(done["id"], 4, channel="qr")
    assert r2["score"] == 4
    db = hall.store.db()
    assert db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 1


# --- the event log -------------------------------------------------------------------
def test_event_log_is_append_only(engine, hall):
    import sqlite3

    engine.issue("SB")
    db = hall.store.db()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE ticket_events SET kind = 'x'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM ticket_events")


def test_events_published_once_per_committed_transition(engine, hall):
    seen = []
    hall.bus.subscribe(lambda e: seen.append(type(e).__name__))
    open_at(engine, 1, CLERK1)
    engine.issue("SB")
    t = engine.call_next(1, CLERK1)
    with pytest.raises(Conflict):
        engine.call_next(1, CLERK1)  # refused: publishes nothing
    engine.finish(t["id"], CLERK1)
    assert seen == ["WindowChanged", "TicketIssued", "TicketCalled", "TicketFinished"]


# --- estimates -----------------------------------------------------------------------
def test_wait_estimate_defaults_then_learns(engine, hall, clock):
    db = hall.store.db()
    read = engine.read
    for _ in range(3):
        engine.issue("BDC")
    last = engine.issue("BDC")
    j = read.ticket_json(db, read.ticket(db, last["id"]))
    assert j["waiting_ahead"] == 3
    # before any data: 10 configured minutes each; window 2 (primary) and window 3 (BDC
    # is secondary there, but its own queues are empty) both take BDC: called at
    # 0, 0, 10 and 10 minutes (hall/estimate.py replays the engine's calling order)
    assert j["eta_minutes"] == pytest.approx(10, abs=1)
    open_at(engine, 2, CLERK2)
    for _ in range(3):
        t = engine.call_next(2, CLERK2)
        clock.advance(minutes=2)
        engine.finish(t["id"], CLERK2)
    j = read.ticket_json(db, read.ticket(db, last["id"]))
    assert j["waiting_ahead"] == 0 and j["eta_minutes"] == 0
    faster = engine.issue("BDC")
    j = read.ticket_json(db, read.ticket(db, faster["id"]))
    assert j["waiting_ahead"] == 1
    assert 1 <= j["eta_minutes"] < 10  # learned handling time is shorter than the default
