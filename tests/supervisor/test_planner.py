"""The staffing planner (排班预测): Erlang C, the forecast from the hall's log, the page,
the API, the XLSX export, the 临时增开窗口 alert and appointment slot capacities.

History is scripted on the test clock: Mondays 2026-11-09, 16 and 23 (and the days
between) with known arrivals; the planner then plans Monday 2026-11-30."""

from __future__ import annotations

import io
import math
from datetime import date

import pytest

from hall import erlang
from hall.engine import Actor
from supervisor import planner
from tests.conftest import local

CLERK = Actor("li", "clerk")
MONDAYS = [(2026, 11, 9), (2026, 11, 16), (2026, 11, 23)]


# --- Erlang C -----------------------------------------------------------------------------
def test_erlang_c_known_values():
    assert erlang.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1, rho 0.5, mean handling 10: mean wait rho/(1-rho) x 10 = 10
    assert erlang.mean_wait(0.05, 10, 1) == pytest.approx(10)
    assert erlang.mean_wait(0.2, 10, 2) == math.inf  # load 2 on 2 windows
    # service level: 1 - C e^{-(c-a) t / m}
    sl = erlang.service_level(0.05, 10, 1, 5)
    assert sl == pytest.approx(1 - 0.5 * math.exp(-0.5 * 5 / 10))


def test_servers_needed_is_the_fewest_that_meet_the_goal():
    rate, handling, target = 1.0, 8.0, 15.0  # 8 erlangs
    c = erlang.servers_needed(rate, handling, target, 0.85)
    assert erlang.service_level(rate, handling, c, target) >= 0.85
    assert erlang.service_level(rate, handling, c - 1, target) < 0.85
    assert erlang.servers_needed(0, handling, target, 0.85) == 0
    assert erlang.servers_needed(rate, handling, target, 0.95) >= c


# --- the forecast ---------------------------------------------------------------------------
def issue_at(hall, clock, day, hour, minute, service, n=1):
    for _ in range(n):
        clock.set(local(*day, hour, minute))
        hall.engine.issue(service)


def history(hall, clock, mondays=MONDAYS, tuesday=True):
    """Each Monday: 10 SB at 9:00-9:45, 4 SB at 14:00, 3 BDC at 10:00; the Tuesdays after
    the first two Mondays: 2 SB at 9:00 (a quiet day)."""
    for k, day in enumerate(mondays):
        for i in range(10):
            issue_at(hall, clock, day, 9, i * 4 + k, "SB")
        issue_at(hall, clock, day, 14, 5, "SB", 4)
        issue_at(hall, clock, day, 10, 10, "BDC", 3)
        if tuesday and k < 2:
            issue_at(hall, clock, (day[0], day[1], day[2] + 1), 9, 10, "SB", 2)


def test_forecast_from_the_same_weekday(hall, clock):
    history(hall, clock)
    clock.set(local(2026, 11, 29, 20, 0))  # Sunday evening: plan Monday
    fc = planner.forecast(hall, date(2026, 11, 30))
    assert "同为周一的3天" in fc["method"]
    assert fc["rates"][("SB", 9)] == pytest.approx(10)
    assert fc["rates"][("SB", 14)] == pytest.approx(4)
    assert fc["rates"][("BDC", 10)] == pytest.approx(3)
    assert ("SB", 11) not in fc["rates"]


def test_forecast_falls_back_to_the_profile_times_the_weekday(hall, clock):
    history(hall, clock, mondays=MONDAYS[2:], tuesday=False)
    issue_at(hall, clock, (2026, 11, 24), 9, 0, "SB", 6)  # a Tuesday: 6 at 9:00
    clock.set(local(2026, 11, 29, 20, 0))
    fc = planner.forecast(hall, date(2026, 11, 30))
    assert "工作日的时段分布" in fc["method"]
    # profile over Mon (17) and Tue (6) weighted by recency; Monday's share scales it up
    assert fc["rates"][("SB", 9)] > 6
    assert fc["rates"][("BDC", 10)] > 1.5


def test_a_holiday_has_no_forecast(hall, clock):
    history(hall, clock)
    fc = planner.forecast(hall, date(2026, 10, 1))  # a holiday in the test config
    assert fc["closed"] and fc["rates"] == {}


def test_bookings_already_made_raise_the_forecast(hall, clock):
    history(hall, clock)
    clock.set(local(2026, 11, 27, 10, 0))
    for i in range(5):
        hall.faces.state("appointments").book(
            service="BDC",
            date_text="2026-11-30",
            slot="10:00" if i < 4 else "10:30",  # 4 places a slot
            name="张三",
            phone=f"1380013800{i}",
        )
    fc = planner.forecast(hall, date(2026, 11, 30))
    assert fc["booked"][("BDC", 10)] == 5
    assert fc["rates"][("BDC", 10)] == pytest.approx(3 + 5)  # walk-ins plus bookings


# --- the plan ---------------------------------------------------------------------------------
def test_plan_needs_windows_where_the_forecast_is(hall, clock):
    history(hall, clock)
    clock.set(local(2026, 11, 29, 20, 0))
    p = planner.plan(hall, date(2026, 11, 30))
    sb = next(s for s in p["services"] if s["service"] == "SB")
    by_hour = {c["hour"]: c for c in sb["hours"]}
    # 10 SB an hour at 6 minutes each, 15-minute target at 85 %: Erlang C says 2
    assert by_hour[9]["needed"] == erlang.servers_needed(10 / 60, 6, 15, 0.85) == 2
    assert by_hour[11]["needed"] == 0
    # window 1 shares SB with YB, window 3 with YB and GJJ: 1/2 + 1/3 of a window
    assert sb["configured"] == pytest.approx(0.83)
    assert by_hour[9]["short"] and not by_hour[11]["short"]
    assert p["peak_needed"] >= 2 and not p["past"]
    nine = next(t for t in p["totals"] if t["hour"] == 9)
    assert nine["needed"] == 2 and nine["pooled_needed"] == 2  # only SB comes at 9


def test_a_past_day_shows_what_happened_and_the_forecast_error(hall, clock):
    history(hall, clock)
    clock.set(local(2026, 11, 30, 9, 0))
    hall.engine.open_window(1, CLERK)
    for i in range(12):
        issue_at(hall, clock, (2026, 11, 30), 9, i, "SB")
    clock.set(local(2026, 11, 30, 9, 20))
    t = hall.engine.call_next(1, CLERK)
    clock.set(local(2026, 11, 30, 12, 0))
    p = planner.plan(hall, date(2026, 11, 30))
    sb = next(s for s in p["services"] if s["service"] == "SB")
    cell = next(c for c in sb["hours"] if c["hour"] == 9)
    assert cell["actual"] == 12 and cell["forecast"] == pytest.approx(10)
    assert cell["avg_wait_min"] == 20.0 and cell["service_level"] == 0.0
    nine = next(t for t in p["totals"] if t["hour"] == 9)
    assert nine["open_windows"] == 1 and nine["abs_error"] == pytest.approx(2)
    assert p["forecast_mae_per_hour"] > 0
    assert t["number"] == "B001"


# --- the live alert ---------------------------------------------------------------------------
def test_alert_when_the_open_windows_cannot_clear_the_queue(hall, clock, boss):
    hall.engine.open_window(2, CLERK)  # BDC: 10 minutes, target 20 -> 2 within target
    assert planner.alerts(hall) == []
    for _ in range(2):
        hall.engine.issue("BDC")
    assert planner.alerts(hall) == []
    hall.engine.issue("BDC")
    (a,) = planner.alerts(hall)
    assert a["service"] == "BDC" and a["waiting"] == 3 and a["clearable"] == 2
    assert a["text"].startswith("临时增开窗口：不动产登记等候3人")
    assert boss.get("/api/planner/alerts").get_json()[0]["service"] == "BDC"
    board = boss.get("/supervisor").get_data(as_text=True)
    assert "临时增开窗口：不动产登记" in board


def test_no_open_window_for_a_waiting_service_is_an_alert(hall, clock):
    hall.engine.issue("CRJ")
    assert [a["service"] for a in planner.alerts(hall)] == ["CRJ"]


# --- page, API, export --------------------------------------------------------------------------
def test_planner_page_api_and_export(hall, clock, boss, client):
    history(hall, clock)
    clock.set(local(2026, 11, 29, 20, 0))
    html = boss.get("/supervisor/planner?date=2026-11-30").get_data(as_text=True)
    assert "2026-11-30 周一 排班预测" in html and 'class="mark"' in html
    assert 'data-service="SB"' in html and "Erlang C" in html
    assert "排班预测" in boss.get("/supervisor").get_data(as_text=True)  # in the nav
    j = boss.get("/api/planner?date=2026-11-30").get_json()
    assert j["date"] == "2026-11-30" and j["weekday"] == "周一"
    assert {s["service"] for s in j["services"]} >= {"SB", "BDC"}
    r = boss.get("/api/planner/export.xlsx?date=2026-11-30")
    assert r.status_code == 200 and r.mimetype.endswith("sheet")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["需要窗口", "预测到达", "明细", "说明"]
    ws = wb["需要窗口"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "社会保险")
    assert row[header.index("9时")] == 2
    assert boss.get("/api/planner?date=2026-13-01").status_code == 400
    assert client.get("/api/planner").status_code == 401
    assert "已显示默认日期" in boss.get("/supervisor/planner?date=x").get_data(as_text=True)


def test_clerks_cannot_see_the_planner(staff):
    clerk = staff("li", "clerk")
    assert clerk.get("/api/planner").status_code == 403
    assert clerk.get("/supervisor/planner").status_code == 403


def test_slot_capacities_from_the_forecast_move_bookings_off_the_peak(hall, clock, boss):
    history(hall, clock)
    clock.set(local(2026, 11, 27, 10, 0))  # Friday: set Monday's slots
    r = boss.post("/api/planner/appointments", json={"date": "2026-11-30"})
    assert r.status_code == 200, r.get_json()
    caps = r.get_json()["capacities"]
    # SB at 9:00 needs more than its windows: no places; at 11:00 nobody is expected
    assert caps["SB"]["09:00"] == 0 and caps["SB"]["09:30"] == 0
    assert caps["SB"]["11:00"] > caps["SB"]["09:00"]
    schedule = hall.faces.state("appointments")
    slots = {s["slot"]: s["left"] for s in schedule.slots("SB", date(2026, 11, 30))}
    assert slots["09:00"] == 0 and slots["11:00"] == caps["SB"]["11:00"]
    # past or malformed dates are refused, nothing changed
    assert boss.post("/api/planner/appointments", json={"date": "2026-11-27"}).status_code == 409
    assert boss.post("/api/planner/appointments", json={"date": "soon"}).status_code == 400
    db = hall.store.db()
    audit = db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'appointment_capacity'")
    assert audit.fetchone()[0] == 1
