"""Shorter waits, on the test clock: clerk skills and balanced calling, the priority ratio,
calling a chosen ticket, park/resume (挂起) and 一件事 journeys (docs/flow.md).

The test hall (tests/hall_test.toml): window 1 SB+YB (GJJ secondary), 2 BDC, 3 SB+YB+GJJ
(BDC secondary), 4 CRJ; targets BDC 20, SB/YB/GJJ 15, CRJ 20 minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hall import create_app, events, stats
from hall.auth import create_user
from hall.engine import Actor
from hall.errors import Conflict, Forbidden, Invalid, NotFound
from hall.skills import set_skills

from .conftest import PASSWORD, TEST_CONFIG, local

JOURNEYS = [
    {"code": "ESF", "name": "二手房交易", "steps": ["BDC", "SB", "BDC"]},
    {"code": "HY", "name": "婚育一件事", "steps": ["SB", "YB"], "prefix": "Y"},
]
C1, C2, C3 = Actor("c1", "clerk"), Actor("c2", "clerk"), Actor("c3", "clerk")
BOSS = Actor("boss", "supervisor")


@pytest.fixture
def make_hall(tmp_path, clock):
    """make_hall(policy=..., priority_ratio=..., skills={"c2": ["SB"]}) -> a hall whose
    clerks c1-c3 exist (with those skills); journeys ESF and HY configured."""
    apps = []

    def make(skills=None, **queue):
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": {"queue": queue, "journeys": JOURNEYS},
                "DATABASE": str(tmp_path / f"flow{len(apps)}.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
            }
        )
        apps.append(app)
        hall = app.extensions["hall"]
        for actor in (C1, C2, C3):
            create_user(hall.store, actor.username, PASSWORD, "clerk")
        for username, codes in (skills or {}).items():
            set_skills(hall.store, username, codes)
        return hall

    make.apps = apps  # the Flask apps, newest last (for page tests)
    yield make
    for app in apps:
        app.extensions["hall"].store.close()


def served(engine, window, actor, n):
    """Call and finish n tickets at a window: the numbers in calling order."""
    out = []
    for _ in range(n):
        t = engine.call_next(window, actor)
        if t is None:
            break
        out.append(t["number"])
        engine.finish(t["id"], actor)
    return out


def kinds(hall, ticket_id):
    db = hall.store.db()
    return [
        r["kind"]
        for r in db.query(
            "SELECT kind FROM ticket_events WHERE ticket_id = ? ORDER BY id", [ticket_id]
        )
    ]


# --- skills and the balanced policy ---------------------------------------------------
def test_configured_policy_ignores_skills(make_hall):
    hall = make_hall(skills={"c2": ["SB"]})  # policy "configured" is the default
    e = hall.engine
    e.open_window(2, C2)  # BDC only
    e.issue("SB")
    assert e.call_next(2, C2) is None


def test_balanced_lets_a_qualified_window_take_another_service(make_hall, clock):
    hall = make_hall(policy="balanced", skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(2, C2)
    sb = e.issue("SB")
    assert e.call_next(2, C2)["id"] == sb["id"]  # no queue starves while window 2 idles
    e.finish(sb["id"], C2)
    e.issue("YB")  # c2 is not qualified for YB
    assert e.call_next(2, C2) is None


def test_balanced_takes_the_longest_wait_relative_to_each_target(make_hall, clock):
    hall = make_hall(policy="balanced", skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(2, C2)
    clock.set(local(2026, 11, 30, 8, 50))
    bdc = e.issue("BDC")  # target 20
    clock.set(local(2026, 11, 30, 8, 56))
    sb = e.issue("SB")  # target 15
    # 09:12: BDC waited 22/20 = 1.10, SB 16/15 = 1.07 -> BDC, although both are over.
    clock.set(local(2026, 11, 30, 9, 12))
    assert e.call_next(2, C2)["id"] == bdc["id"]
    e.finish(bdc["id"], C2)
    assert e.call_next(2, C2)["id"] == sb["id"]


def test_balanced_prefers_a_short_target_at_equal_waits(make_hall, clock):
    hall = make_hall(policy="balanced", skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(2, C2)
    bdc = e.issue("BDC")  # window 2's own service, target 20
    clock.advance(60)
    sb = e.issue("SB")  # issued a minute later, target 15
    clock.advance(14 * 60)
    # BDC waited 15/20 = 0.75, SB 14/15 = 0.93: the SB ticket goes first.
    assert e.call_next(2, C2)["id"] == sb["id"]
    e.finish(sb["id"], C2)
    assert e.call_next(2, C2)["id"] == bdc["id"]


def test_balanced_keeps_primary_before_secondary(make_hall, clock):
    hall = make_hall(policy="balanced")
    e = hall.engine
    e.open_window(1, C1)  # SB, YB primary; GJJ secondary; c1 has no skills
    gjj = e.issue("GJJ")
    clock.advance(3600)  # an hour over its target
    sb = e.issue("SB")
    assert e.call_next(1, C1)["id"] == sb["id"]
    e.finish(sb["id"], C1)
    assert e.call_next(1, C1)["id"] == gjj["id"]


def test_a_skill_makes_a_secondary_service_compete(make_hall, clock):
    hall = make_hall(policy="balanced", skills={"c1": ["GJJ"]})
    e = hall.engine
    e.open_window(1, C1)
    gjj = e.issue("GJJ")
    clock.advance(1200)
    sb = e.issue("SB")
    assert e.call_next(1, C1)["id"] == gjj["id"]  # qualified: by relative wait
    e.finish(gjj["id"], C1)
    assert e.call_next(1, C1)["id"] == sb["id"]


def test_once_primaries_are_empty_secondaries_compete_with_skills(make_hall, clock):
    """Window 1: SB, YB primary, GJJ secondary; its clerk is qualified for BDC. With no
    SB/YB ticket waiting, GJJ and BDC go by relative wait (a skill never pushes the
    window's secondary service out); while SB waits, GJJ waits behind it."""
    hall = make_hall(policy="balanced", skills={"c1": ["BDC"]})
    e = hall.engine
    e.open_window(1, C1)
    gjj = e.issue("GJJ")  # target 15
    clock.advance(120)
    bdc = e.issue("BDC")  # target 20
    clock.advance(600)  # GJJ 12/15 = 0.8, BDC 10/20 = 0.5
    sb = e.issue("SB")
    # SB waits: BDC (skill, 0.5) beats SB (own, 0.0); GJJ (secondary) only after SB
    assert served(e, 1, C1, 3) == [bdc["number"], sb["number"], gjj["number"]]
    hall2 = make_hall(policy="balanced", skills={"c1": ["BDC"]})
    e2 = hall2.engine
    e2.open_window(1, C1)
    gjj = e2.issue("GJJ")
    clock.advance(120)
    bdc = e2.issue("BDC")
    clock.advance(600)
    # no SB/YB: GJJ (secondary, 0.8) and BDC (skill, 0.5) compete: GJJ first
    assert served(e2, 1, C1, 2) == [gjj["number"], bdc["number"]]


def test_balanced_keeps_transfers_and_priority_first(make_hall, clock):
    hall = make_hall(policy="balanced", skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(1, C1)
    e.open_window(2, C2)
    old = e.issue("SB")
    clock.advance(3600)
    prio = e.issue("BDC", priority=True, priority_reason="老年人", actor=BOSS)
    e.issue("YB")  # window 2 may not serve YB
    e.call_next(1, C1)  # takes the old SB ticket
    e.transfer(old["id"], C1, window=2, note="请2号窗口")
    assert [t["id"] for t in e.read.next_for_window(hall.store.db(), 2, 5)] == [
        old["id"],
        prio["id"],
    ]
    assert e.call_next(2, C2)["id"] == old["id"]  # transferred to this window first
    e.finish(old["id"], C2)
    assert e.call_next(2, C2)["id"] == prio["id"]  # then 绿色通道


def test_the_console_lists_what_call_next_will_take(make_hall, clock):
    hall = make_hall(policy="balanced", skills={"c2": ["SB", "GJJ"]})
    e = hall.engine
    e.open_window(2, C2)
    for code, minutes in [("BDC", 3), ("SB", 2), ("GJJ", 4), ("SB", 1), ("BDC", 6)]:
        e.issue(code)
        clock.advance(minutes * 60)
    listed = [t["number"] for t in e.read.next_for_window(hall.store.db(), 2, 10)]
    assert sorted(listed) == ["A001", "A002", "B001", "B002", "D001"]
    assert served(e, 2, C2, 10) == listed


# --- the priority ratio ------------------------------------------------------------------
def _priority_day(hall, clock):
    e = hall.engine
    e.open_window(2, C1)
    ordinary = e.issue("BDC")
    for _ in range(3):
        e.issue("BDC", priority=True, priority_reason="老年人", actor=BOSS)
    return ordinary


@pytest.mark.parametrize("policy", ["configured", "balanced"])
def test_priority_ratio_lets_an_overdue_ticket_through(make_hall, clock, policy):
    hall = make_hall(policy=policy, priority_ratio=2)
    ordinary = _priority_day(hall, clock)
    clock.advance(21 * 60)  # the ordinary ticket is past its 20-minute target
    assert served(hall.engine, 2, C1, 4) == ["A002", "A003", ordinary["number"], "A004"]


def test_priority_ratio_waits_for_the_target(make_hall, clock):
    hall = make_hall(priority_ratio=2)
    ordinary = _priority_day(hall, clock)
    clock.advance(10 * 60)  # within target: priority tickets keep going first
    assert served(hall.engine, 2, C1, 4) == ["A002", "A003", "A004", ordinary["number"]]


def test_no_ratio_means_priority_always_first(make_hall, clock):
    hall = make_hall()
    ordinary = _priority_day(hall, clock)
    clock.advance(60 * 60)
    assert served(hall.engine, 2, C1, 4) == ["A002", "A003", "A004", ordinary["number"]]


# --- calling a chosen ticket -------------------------------------------------------------
def test_call_a_chosen_ticket_with_a_reason(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    seen = []
    hall.bus.subscribe(seen.append)
    e.open_window(1, C1)
    first = e.issue("SB")
    chosen = e.issue("YB")
    with pytest.raises(Invalid):
        e.call_ticket(1, chosen["id"], C1, "  ")
    t = e.call_ticket(1, chosen["id"], C1, "预约到场")
    assert t["status"] == "called" and t["window"] == 1
    calls = [x for x in seen if isinstance(x, events.TicketCalled)]
    assert calls[-1].number == chosen["number"] and calls[-1].chosen  # displays announce it
    db = hall.store.db()
    logged = db.execute(
        "SELECT json_extract(details, '$.reason'), json_extract(details, '$.chosen') "
        "FROM ticket_events WHERE ticket_id = ? AND kind = 'called'",
        [chosen["id"]],
    ).fetchone()
    assert tuple(logged) == ("预约到场", 1)
    audit = db.execute(
        "SELECT actor, target FROM audit_log WHERE action = 'call_chosen'"
    ).fetchone()
    assert tuple(audit) == ("c1", f"ticket:{chosen['id']}")
    # the window has a ticket in hand now: no second call
    with pytest.raises(Conflict):
        e.call_ticket(1, first["id"], C1, "预约到场")


def test_chosen_ticket_must_be_one_the_window_may_serve(make_hall):
    hall = make_hall(skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(2, C2)
    yb = e.issue("YB")
    with pytest.raises(Forbidden):
        e.call_ticket(2, yb["id"], C2, "帮忙")
    with pytest.raises(NotFound):
        e.call_ticket(2, 999, C2, "帮忙")
    sb = e.issue("SB")  # a skill lets the clerk call it by choice, whatever the policy
    assert e.call_ticket(2, sb["id"], C2, "帮忙")["status"] == "called"
    e.open_window(1, C1)
    with pytest.raises(Conflict):  # not waiting any more
        e.call_ticket(1, sb["id"], C1, "帮忙")
    assert kinds(hall, yb["id"]) == ["issued"]


# --- park (挂起) and resume ---------------------------------------------------------------
def test_park_lets_the_window_call_on_and_resume_later(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    e.open_window(1, C1)
    a = e.issue("SB")
    b = e.issue("SB")
    e.call_next(1, C1)
    e.start(a["id"], C1)
    clock.advance(120)
    parked = e.park(a["id"], C1, "去复印材料")
    assert parked["status"] == "parked" and parked["window"] == 1
    assert e.call_next(1, C1)["id"] == b["id"]  # the window goes on
    with pytest.raises(Conflict):  # b is in hand
        e.resume(a["id"], C1)
    clock.advance(600)
    e.finish(b["id"], C1)
    with pytest.raises(Forbidden):  # only the clerk at its window
        e.resume(a["id"], C2)
    t = e.resume(a["id"], C1)
    assert t["status"] == "serving" and t["parked_at"] is None
    clock.advance(180)
    e.finish(a["id"], C1)
    assert kinds(hall, a["id"]) == ["issued", "called", "serving", "parked", "resumed", "finished"]
    # handling time leaves out the 10 minutes parked: 2 + 3 minutes
    day = local(2026, 11, 30, 9).date()
    figs = stats.compute(hall, day, day)
    facts = {f.id: f for f in stats.ticket_facts(hall, day, day)}
    assert facts[a["id"]].service_s == 300
    assert figs["served"] == 2


def test_park_limit_and_illegal_parks(make_hall):
    hall = make_hall(park_limit=1)
    e = hall.engine
    e.open_window(1, C1)
    a, b = e.issue("SB"), e.issue("SB")
    with pytest.raises(Conflict):  # waiting, not at the window
        e.park(a["id"], C1)
    e.call_next(1, C1)
    e.park(a["id"], C1)
    e.call_next(1, C1)
    with pytest.raises(Conflict):
        e.park(b["id"], C1)
    assert e.read.ticket(hall.store.db(), b["id"])["status"] == "called"
    with pytest.raises(Conflict):  # only a parked ticket resumes
        e.resume(b["id"], C1)


def test_a_parked_ticket_can_be_cancelled(make_hall):
    hall = make_hall()
    e = hall.engine
    e.open_window(1, C1)
    a = e.issue("SB")
    e.call_next(1, C1)
    e.park(a["id"], C1)
    e.close_window(1, C1)  # parked tickets stay with the window
    with pytest.raises(Conflict):  # nobody signed in there
        e.cancel(a["id"], C1)
    assert e.cancel(a["id"], BOSS, "未返回")["status"] == "cancelled"


# --- 一件事 journeys -------------------------------------------------------------------------
def test_a_journey_is_one_number_through_every_step(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    seen = []
    hall.bus.subscribe(seen.append)
    e.open_window(2, C2)  # BDC
    e.open_window(1, C1)  # SB
    t = e.issue(None, journey="ESF")
    assert t["number"] == "A001" and t["service"] == "BDC" and t["journey"] == "ESF"
    db = hall.store.db()
    j = e.read.ticket_json(db, t)["journey"]
    assert j["name"] == "二手房交易" and j["step"] == 0
    assert [s["state"] for s in j["steps"]] == ["current", "todo", "todo"]
    clock.advance(300)
    before = e.issue("SB")  # issued after the journey ticket: it stays behind it
    clock.advance(60)
    e.call_next(2, C2)
    clock.advance(600)
    t2 = e.finish(t["id"], C2)  # step 1 办结: on to SB, at its issue-time place
    assert t2["status"] == "waiting" and t2["service"] == "SB" and t2["step"] == 1
    assert t2["queued_at"] == t["issued_at"]
    assert e.read.ticket_json(db, t2)["journey"]["steps"][0]["state"] == "done"
    assert e.call_next(1, C1)["id"] == t["id"]  # ahead of the later SB ticket
    calls = [x for x in seen if isinstance(x, events.TicketCalled)]
    assert [(c.number, c.window) for c in calls] == [("A001", 2), ("A001", 1)]
    clock.advance(300)
    e.finish(t["id"], C1)
    assert e.call_next(1, C1)["id"] == before["id"]
    t3 = e.call_next(2, C2)
    assert t3["id"] == t["id"] and t3["step"] == 2
    clock.advance(240)
    done = e.finish(t["id"], C2)
    assert done["status"] == "done"
    assert kinds(hall, t["id"]) == [
        "issued",
        "called",
        "advanced",
        "called",
        "advanced",
        "called",
        "finished",
    ]
    advanced = [x for x in seen if isinstance(x, events.TicketAdvanced)]
    assert [(a.service, a.step, a.steps) for a in advanced] == [("SB", 1, 3), ("BDC", 2, 3)]


def test_journey_figures_count_the_visit_once_and_each_step_apart(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    e.open_window(2, C2)
    e.open_window(1, C1)
    t = e.issue(None, journey="ESF")
    clock.advance(120)  # step 1 waits 2 min
    e.call_next(2, C2)
    clock.advance(600)  # handled 10 min
    e.finish(t["id"], C2)
    clock.advance(180)  # step 2 waits 3 min
    e.call_next(1, C1)
    clock.advance(300)  # 5 min
    e.finish(t["id"], C1)
    clock.advance(60)  # step 3 waits 1 min
    e.call_next(2, C2)
    clock.advance(240)  # 4 min
    e.finish(t["id"], C2)
    day = local(2026, 11, 30, 9).date()
    figs = stats.compute(hall, day, day)
    assert figs["tickets"] == 1 and figs["served"] == 1  # the visit counts once
    assert figs["avg_wait_s"] == 120  # the hall's wait: the first call
    by = {s["service"]: s for s in figs["by_service"]}
    assert by["BDC"]["tickets"] == 1 and by["SB"]["tickets"] == 0
    assert by["SB"]["avg_wait_s"] == 180 and by["SB"]["served"] == 1
    assert by["BDC"]["avg_wait_s"] == 90  # steps 1 and 3: (120 + 60) / 2
    (j,) = figs["journeys"]
    assert j["visits"] == 1 and j["completed"] == 1 and j["avg_visit_s"] == 1500
    assert [(s["service"], s["avg_wait_s"], s["avg_service_s"]) for s in j["steps"]] == [
        ("BDC", 120, 600),
        ("SB", 180, 300),
        ("BDC", 60, 240),
    ]


def test_no_show_mid_journey_can_be_requeued(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    e.open_window(1, C1)
    t = e.issue(None, journey="HY")
    assert t["number"] == "Y001"  # the journey's own prefix
    e.call_next(1, C1)
    e.finish(t["id"], C1)  # SB done: waits for YB
    clock.advance(60)
    assert e.call_next(1, C1)["id"] == t["id"]
    e.no_show(t["id"], C1)
    t2 = e.requeue(t["id"], C1)
    assert t2["status"] == "waiting" and t2["service"] == "YB" and t2["step"] == 1
    assert e.call_next(1, C1)["id"] == t["id"]
    assert e.finish(t["id"], C1)["status"] == "done"


def test_unknown_or_closed_journeys_are_refused(make_hall, tmp_path, clock):
    hall = make_hall()
    with pytest.raises(NotFound):
        hall.engine.issue(None, journey="NOPE")
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {"journeys": [{**JOURNEYS[0], "active": False}]},
            "DATABASE": str(tmp_path / "closed.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    try:
        with pytest.raises(Conflict):
            app.extensions["hall"].engine.issue(None, journey="ESF")
    finally:
        app.extensions["hall"].store.close()


def test_journey_config_is_checked(tmp_path):
    from hall.config import ConfigError, load

    for bad, message in [
        ({"code": "BDC", "name": "x", "steps": ["SB", "YB"]}, "already"),
        ({"code": "J1", "name": "x", "steps": ["SB"]}, "two steps"),
        ({"code": "J1", "name": "x", "steps": ["SB", "XX"]}, "unknown service"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load(TEST_CONFIG, {"journeys": [bad]})
    with pytest.raises(ConfigError, match="queue.policy"):
        load(TEST_CONFIG, {"queue": {"policy": "fastest"}})


def test_yesterdays_journey_does_not_move_into_today(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    e.open_window(2, C2)
    t = e.issue(None, journey="ESF")
    e.call_next(2, C2)
    clock.set(local(2026, 12, 1, 9, 0) + timedelta(minutes=1))
    e.finish(t["id"], C2)  # finished the next morning: it waits on yesterday's day key
    e.open_window(1, C1)
    assert e.call_next(1, C1) is None


def test_the_estimate_follows_the_balanced_policy(make_hall, clock):
    """Window 2 (BDC) is the only one open; its clerk is qualified for SB. Under the
    balanced policy the SB tickets are expected there, after the BDC ticket just called
    (the usual remainder of a 10-minute ticket: 0.894 x 10, hall/estimate.py RESIDUAL),
    6 minutes apart (SB's service_minutes)."""
    hall = make_hall(policy="balanced", skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(2, C2)
    e.issue("BDC")
    e.call_next(2, C2)
    first, second = e.issue("SB"), e.issue("SB")
    db = hall.store.db()
    assert [e.read.ticket_json(db, t)["eta_minutes"] for t in (first, second)] == [9, 15]


def test_the_balanced_estimate_knows_a_short_target_overtakes(make_hall, clock):
    """Window 2 (BDC, target 20) serves a BDC ticket; its clerk is qualified for SB
    (target 15). A BDC ticket waits, an SB one comes a minute later: by the time the
    window is free (in about 8 minutes) SB's relative wait (8/15) has passed BDC's
    (9/20), so the SB ticket is called first, and the estimate says so (not BDC first
    as the order stands now)."""
    hall = make_hall(policy="balanced", skills={"c2": ["SB"]})
    e = hall.engine
    e.open_window(2, C2)
    e.issue("BDC")
    at_window = e.call_next(2, C2)
    bdc = e.issue("BDC")
    clock.advance(60)
    sb = e.issue("SB")
    db = hall.store.db()
    assert e.read.next_for_window(db, 2, 1)[0]["id"] == bdc["id"]  # the order now
    eta = {t["service"]: e.read.ticket_json(db, t)["eta_minutes"] for t in (bdc, sb)}
    assert eta == {"SB": 8, "BDC": 14}  # 0.795 x 10 left at window 2, then SB's 6
    clock.advance(8 * 60)
    e.finish(at_window["id"], C2)
    assert e.call_next(2, C2)["id"] == sb["id"]


def test_the_figures_page_shows_journeys(make_hall, clock):
    hall = make_hall()
    e = hall.engine
    e.open_window(2, C2)
    e.open_window(1, C1)
    t = e.issue(None, journey="ESF")
    clock.advance(120)
    e.call_next(2, C2)
    clock.advance(600)
    e.finish(t["id"], C2)
    create_user(hall.store, "boss", PASSWORD, "supervisor")
    c = make_hall.apps[-1].test_client()
    r = c.post("/api/login", json={"username": "boss", "password": PASSWORD})
    assert r.status_code == 200
    html = c.get("/supervisor/figures?from=2026-11-30").get_data(as_text=True)
    assert "一件事（多窗联办）" in html and "二手房交易" in html
    assert "1. 不动产登记 2分 / 10分" in html  # the step's wait / handling


# --- through the API ------------------------------------------------------------------------
def _login(app, username):
    c = app.test_client()
    r = c.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    return c


def test_the_api_of_journeys_chosen_calls_and_parking(make_hall, clock):
    make_hall()
    app = make_hall.apps[-1]
    kiosk = app.test_client()
    assert kiosk.get("/api/journeys").get_json()[0] == {
        "code": "ESF",
        "name": "二手房交易",
        "steps": ["BDC", "SB", "BDC"],
    }
    r = kiosk.post("/api/tickets", json={"journey": "ESF"})
    assert r.status_code == 201
    j = r.get_json()
    assert j["number"] == "A001" and j["journey"]["steps"][0]["state"] == "current"
    both = kiosk.post("/api/tickets", json={"journey": "ESF", "service": "SB"})
    assert both.status_code == 400
    assert kiosk.post("/api/tickets", json={"journey": "NOPE"}).status_code == 404
    assert kiosk.post("/api/tickets", json={}).status_code == 400
    sb = kiosk.post("/api/tickets", json={"service": "SB"}).get_json()

    c1 = _login(app, "c1")
    assert c1.post("/api/windows/1/open").status_code == 200
    no_reason = c1.post("/api/windows/1/call", json={"ticket": sb["id"]})
    assert no_reason.status_code == 400
    blank = c1.post("/api/windows/1/call", json={"ticket": sb["id"], "reason": " "})
    assert blank.status_code == 400
    other = c1.post("/api/windows/1/call", json={"ticket": j["id"], "reason": "帮忙"})
    assert other.status_code == 403  # window 1 does not serve BDC
    listed = c1.get("/api/windows/1/callable").get_json()
    assert [t["number"] for t in listed] == [sb["number"]]
    called = c1.post("/api/windows/1/call", json={"ticket": sb["id"], "reason": "预约到场"})
    assert called.status_code == 200 and called.get_json()["ticket"]["status"] == "called"
    parked = c1.post(f"/api/tickets/{sb['id']}/park", json={"reason": "复印证件"})
    assert parked.status_code == 200 and parked.get_json()["status"] == "parked"
    state = c1.get("/api/windows/1/state").get_json()
    assert state["current"] is None and state["parked"][0]["reason"] == "复印证件"
    assert c1.post(f"/api/tickets/{sb['id']}/resume").get_json()["status"] == "serving"
    assert c1.post(f"/api/tickets/{sb['id']}/resume").status_code == 409
    phone = kiosk.get(f"/t/{j['token']}").get_data(as_text=True)
    assert "一件事：二手房交易" in phone and 'class="p-step current"' in phone
