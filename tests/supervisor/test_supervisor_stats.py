"""GET /api/stats on the scripted day (see conftest.py): every figure checked to the second.

Expected values are worked out by hand from the script's times, never by calling the
code under test.
"""

from __future__ import annotations

from .conftest import DAY, LI, WANG, at


def ratings(
    count=0,
    unrated=0,
    good=None,
    bad=0,
    bad_rate=None,
    rectified=None,
    avg=None,
    appealed=0,
    scores=None,
):
    s = {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0}
    s.update(scores or {})
    return {
        "count": count,
        "unrated": unrated,
        "good_rate": good,
        "bad_count": bad,
        "bad_rate": bad_rate,
        "rectified_rate": rectified,
        "avg_score": avg,
        "appealed": appealed,
        "scores": s,
    }


def figs(
    tickets=0,
    called=0,
    served=0,
    no_show=0,
    no_show_rate=None,
    cancelled=0,
    transferred=0,
    waits=(None, None, None, None),
    service=None,
    level=None,
    r=None,
):
    avg, median, p90, top = waits
    return {
        "tickets": tickets,
        "called": called,
        "served": served,
        "no_show": no_show,
        "no_show_rate": no_show_rate,
        "cancelled": cancelled,
        "transferred": transferred,
        "avg_wait_s": avg,
        "median_wait_s": median,
        "p90_wait_s": p90,
        "max_wait_s": top,
        "avg_service_s": service,
        "service_level": level,
        "ratings": r or ratings(),
    }


FIGURE_KEYS = list(figs())


def only_figures(item: dict) -> dict:
    return {k: item[k] for k in FIGURE_KEYS}


# Waits (first call - issue): T1 250, T2 390, T3 210, T4 1080, T5 1260, T7 45, T8 600.
# Targets: SB, YB, GJJ 15 min (900 s); BDC 20 min (1200 s): T4 and T5 are late.
# Service (finish - last call): T1 480 (from the recall), T2 420, T3 900, T5 240, T7 600, T8 360.
# Ratings: T1 5, T2 4, T3 2 rectified, T5 unrated, T7 1 appealed (left out), T8 2 open.
HALL = figs(
    tickets=8,
    called=7,  # all but T6 (cancelled while waiting)
    served=6,  # T1 T2 T3 T5 T7 T8
    no_show=2,  # T3 (later served) and T4
    no_show_rate=round(2 / 7, 4),
    cancelled=1,
    transferred=1,
    waits=(round((250 + 390 + 210 + 1080 + 1260 + 45 + 600) / 7, 1), 390.0, 1260.0, 1260.0),
    service=round((480 + 420 + 900 + 240 + 600 + 360) / 6, 1),
    level=round(5 / 7, 4),
    r=ratings(
        count=4,
        unrated=1,
        good=0.5,
        bad=2,
        bad_rate=0.5,
        rectified=0.5,
        avg=round((5 + 4 + 2 + 2) / 4, 4),
        appealed=1,
        scores={"5": 1, "4": 1, "2": 2},
    ),
)

BY_SERVICE = {
    # SB: issued T1 T2 T6 T7; called under SB: T1, T2 (before its transfer), T7;
    # served under SB: T1, T7; T2 transferred out; waits 250, 390, 45.
    "SB": figs(
        tickets=4,
        called=3,
        served=2,
        no_show=0,
        no_show_rate=0.0,
        cancelled=1,
        transferred=1,
        waits=(round((250 + 390 + 45) / 3, 1), 250.0, 390.0, 390.0),
        service=round((480 + 600) / 2, 1),
        level=1.0,
        r=ratings(count=1, good=1.0, bad_rate=0.0, avg=5.0, appealed=1, scores={"5": 1}),
    ),
    # YB: issued T4 T8; called under YB: T2 (after the transfer), T4, T8; T4 no-show;
    # served T2, T8; waits 1080 (late), 600; ratings T2 4, T8 2 (open).
    "YB": figs(
        tickets=2,
        called=3,
        served=2,
        no_show=1,
        no_show_rate=round(1 / 3, 4),
        waits=(840.0, 840.0, 1080.0, 1080.0),
        service=round((420 + 360) / 2, 1),
        level=0.5,
        r=ratings(
            count=2, good=0.5, bad=1, bad_rate=0.5, rectified=0.0, avg=3.0, scores={"4": 1, "2": 1}
        ),
    ),
    "BDC": figs(
        tickets=1,
        called=1,
        served=1,
        no_show=1,
        no_show_rate=1.0,
        waits=(210.0, 210.0, 210.0, 210.0),
        service=900.0,
        level=1.0,
        r=ratings(count=1, good=0.0, bad=1, bad_rate=1.0, rectified=1.0, avg=2.0, scores={"2": 1}),
    ),
    "GJJ": figs(
        tickets=1,
        called=1,
        served=1,
        no_show_rate=0.0,
        waits=(1260.0, 1260.0, 1260.0, 1260.0),
        service=240.0,
        level=0.0,
        r=ratings(unrated=1),
    ),
    "CRJ": figs(),
}

BY_WINDOW = {
    # window 1 (li): called T1, T2, T4, T8; first calls T1 250, T4 1080, T8 600;
    # finished T1 480, T2 420, T8 360; ratings T1 5, T2 4, T8 2.
    1: figs(
        tickets=4,
        called=4,
        served=3,
        no_show=1,
        no_show_rate=0.25,
        waits=(round((250 + 1080 + 600) / 3, 1), 600.0, 1080.0, 1080.0),
        service=round((480 + 420 + 360) / 3, 1),
        level=round(2 / 3, 4),
        r=ratings(
            count=3,
            good=round(2 / 3, 4),
            bad=1,
            bad_rate=round(1 / 3, 4),
            rectified=0.0,
            avg=round(11 / 3, 4),
            scores={"5": 1, "4": 1, "2": 1},
        ),
    ),
    # window 2 (wang): T3, called twice, a no-show then served.
    2: figs(
        tickets=1,
        called=1,
        served=1,
        no_show=1,
        no_show_rate=1.0,
        waits=(210.0, 210.0, 210.0, 210.0),
        service=900.0,
        level=1.0,
        r=ratings(count=1, good=0.0, bad=1, bad_rate=1.0, rectified=1.0, avg=2.0, scores={"2": 1}),
    ),
    # window 3 (zhao): first calls T2 390, T5 1260, T7 45; transferred T2 out;
    # finished T5 240, T7 600; T5 unrated, T7 appealed.
    3: figs(
        tickets=3,
        called=3,
        served=2,
        no_show_rate=0.0,
        transferred=1,
        waits=(round((390 + 1260 + 45) / 3, 1), 390.0, 1260.0, 1260.0),
        service=round((240 + 600) / 2, 1),
        level=round(2 / 3, 4),
        r=ratings(unrated=1, appealed=1),
    ),
    4: figs(),
}

BY_HOUR = {
    # 9:00-9:59: T1..T6
    9: figs(
        tickets=6,
        called=5,
        served=4,
        no_show=2,
        no_show_rate=0.4,
        cancelled=1,
        transferred=1,
        waits=(round((250 + 390 + 210 + 1080 + 1260) / 5, 1), 390.0, 1260.0, 1260.0),
        service=round((480 + 420 + 900 + 240) / 4, 1),
        level=0.6,
        r=ratings(
            count=3,
            unrated=1,
            good=round(2 / 3, 4),
            bad=1,
            bad_rate=round(1 / 3, 4),
            rectified=1.0,
            avg=round(11 / 3, 4),
            scores={"5": 1, "4": 1, "2": 1},
        ),
    ),
    # 10:00-10:59: T7, T8
    10: figs(
        tickets=2,
        called=2,
        served=2,
        no_show_rate=0.0,
        waits=(322.5, 322.5, 600.0, 600.0),
        service=round((600 + 360) / 2, 1),
        level=1.0,
        r=ratings(
            count=1,
            good=0.0,
            bad=1,
            bad_rate=1.0,
            rectified=0.0,
            avg=2.0,
            appealed=1,
            scores={"2": 1},
        ),
    ),
}


def get_stats(client, **args):
    r = client.get("/api/stats", query_string=args)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_hall_figures_of_the_scripted_day(day, boss):
    s = get_stats(boss, **{"from": DAY, "to": DAY})
    assert s["from"] == DAY and s["to"] == DAY
    assert only_figures(s) == HALL


def test_figures_per_service(day, boss):
    s = get_stats(boss, **{"from": DAY})
    got = {item["service"]: item for item in s["by_service"]}
    assert [item["service"] for item in s["by_service"]] == ["BDC", "SB", "YB", "GJJ", "CRJ"]
    for code, expected in BY_SERVICE.items():
        assert only_figures(got[code]) == expected, code
    assert got["SB"]["name"] == "社会保险"
    assert got["SB"]["department"] == "人社局"
    assert got["BDC"]["target_wait_minutes"] == 20
    # every ticket belongs to exactly one service: the hall's totals add up
    assert sum(i["tickets"] for i in s["by_service"]) == HALL["tickets"]


def test_figures_per_window_and_clerk(day, boss):
    s = get_stats(boss, **{"from": DAY})
    windows = {item["window"]: item for item in s["by_window"]}
    assert sorted(windows) == [1, 2, 3, 4]
    for number, expected in BY_WINDOW.items():
        assert only_figures(windows[number]) == expected, number
    assert windows[1]["name"] == "1号综办窗口"
    clerks = {item["clerk"]: item for item in s["by_clerk"]}
    assert [item["clerk"] for item in s["by_clerk"]] == ["li", "wang", "zhao"]
    assert clerks["li"]["name"] == "李丽"
    # each clerk stayed at one window all day: the same figures
    for clerk, number in (("li", 1), ("wang", 2), ("zhao", 3)):
        assert only_figures(clerks[clerk]) == BY_WINDOW[number], clerk


def test_figures_per_hour_and_day(day, boss):
    s = get_stats(boss, **{"from": DAY})
    assert [h["hour"] for h in s["by_hour"]] == [9, 10]
    for h in s["by_hour"]:
        assert only_figures(h) == BY_HOUR[h["hour"]], h["hour"]
    assert [d["day"] for d in s["by_day"]] == [DAY]
    assert only_figures(s["by_day"][0]) == HALL
    assert s["by_weekday_hour"] == [
        {"weekday": 0, "hour": 9, "tickets": 6},
        {"weekday": 0, "hour": 10, "tickets": 2},
    ]


def test_figures_per_department_follow_an_admin_change(day, boss, admin):
    """YB moved into 人社局 (no restart): the department sums SB and YB."""
    r = admin.post("/api/admin/services/YB", json={"department": "人社局"})
    assert r.status_code == 200, r.get_json()
    s = get_stats(boss, **{"from": DAY})
    assert [d["department"] for d in s["by_department"]] == [
        "自然资源局",
        "人社局",
        "公积金中心",
        "公安局",
    ]
    dept = {d["department"]: d for d in s["by_department"]}
    assert dept["人社局"]["services"] == ["SB", "YB"]
    # SB + YB: called {T1, T2, T7} | {T2, T4, T8}; waits 250, 390, 45, 1080, 600
    assert only_figures(dept["人社局"]) == figs(
        tickets=6,
        called=5,
        served=4,
        no_show=1,
        no_show_rate=0.2,
        cancelled=1,
        transferred=1,
        waits=(round((250 + 390 + 45 + 1080 + 600) / 5, 1), 390.0, 1080.0, 1080.0),
        service=round((480 + 600 + 420 + 360) / 4, 1),
        level=0.8,
        r=ratings(
            count=3,
            good=round(2 / 3, 4),
            bad=1,
            bad_rate=round(1 / 3, 4),
            rectified=0.0,
            avg=round(11 / 3, 4),
            appealed=1,
            scores={"5": 1, "4": 1, "2": 1},
        ),
    )
    assert only_figures(dept["自然资源局"]) == BY_SERVICE["BDC"]
    assert only_figures(dept["公积金中心"]) == BY_SERVICE["GJJ"]
    assert only_figures(dept["公安局"]) == BY_SERVICE["CRJ"]


def test_dates_are_hall_local_days(day, hall, clock, staff):
    """A ticket on Tuesday is outside Monday's figures and inside a two-day range."""
    at(clock, 9, 0, date=(2026, 12, 1))
    tid = hall.engine.issue("BDC")["id"]
    at(clock, 9, 5, date=(2026, 12, 1))
    assert hall.engine.call_next(2, WANG)["id"] == tid
    boss = staff("boss", "supervisor")  # yesterday's session has expired
    monday = get_stats(boss, **{"from": DAY, "to": DAY})
    assert only_figures(monday) == HALL
    tuesday = get_stats(boss, **{"from": "2026-12-01"})
    assert (tuesday["tickets"], tuesday["called"], tuesday["max_wait_s"]) == (1, 1, 300.0)
    both = get_stats(boss, **{"from": DAY, "to": "2026-12-01"})
    assert both["tickets"] == 9 and both["called"] == 8
    assert both["max_wait_s"] == 1260.0
    assert [d["day"] for d in both["by_day"]] == [DAY, "2026-12-01"]
    # no parameters: today (Tuesday in the hall)
    assert get_stats(boss)["tickets"] == 1


def test_an_empty_day_has_no_figures_not_zero_rates(hall, boss):
    s = get_stats(boss, **{"from": "2026-11-29"})
    assert only_figures(s) == figs()
    assert s["by_clerk"] == [] and s["by_hour"] == []


def test_a_ticket_still_waiting_counts_but_has_no_wait(hall, clock, boss):
    hall.engine.issue("SB")
    at(clock, 9, 30)
    s = get_stats(boss)
    assert (s["tickets"], s["called"], s["avg_wait_s"], s["service_level"]) == (1, 0, None, None)


def test_bad_date_arguments_are_400(boss):
    for args in (
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"from": DAY, "to": "2026-11-01"},
        {"from": "2025-01-01", "to": "2026-11-30"},
    ):
        r = boss.get("/api/stats", query_string=args)
        assert r.status_code == 400, args
        assert "error" in r.get_json()


def test_wait_within_target_counts_to_the_second(hall, clock, boss):
    """A wait of exactly the target is within it; one second more is not."""
    hall.engine.open_window(1, LI)
    first = hall.engine.issue("SB")["id"]  # 09:00:00
    at(clock, 9, 15)  # SB target 15 min: exactly 900 s
    assert hall.engine.call_next(1, LI)["id"] == first
    hall.engine.finish(first, LI)
    second = hall.engine.issue("SB")["id"]  # 09:15:00
    at(clock, 9, 30, 1)  # 901 s
    assert hall.engine.call_next(1, LI)["id"] == second
    s = get_stats(boss)
    assert s["service_level"] == 0.5
    assert (s["avg_wait_s"], s["max_wait_s"]) == (900.5, 901.0)
