"""Slots, booking rules, cancellation and the no-show limit, on the test clock.

The clock starts on Monday 2026-11-30 09:00 (hall open 08:30-17:30, Mon-Fri).
"""

from __future__ import annotations

import re

import pytest

from appointments.booking import ALPHABET
from tests.conftest import local

from .conftest import PHONE


# --- slots ------------------------------------------------------------------------------
def test_slots_run_from_opening_and_the_last_one_ends_by_closing(h):
    r = h.slots("2026-12-01")
    assert r.status_code == 200
    slots = r.get_json()
    assert [s["slot"] for s in slots][:3] == ["08:30", "09:00", "09:30"]
    assert slots[-1]["slot"] == "17:00" and slots[-1]["end"] == "17:30"
    assert len(slots) == 18
    assert all(s["left"] == 4 for s in slots)


@pytest.mark.parametrize(
    "minutes, count, last, end",
    [(60, 9, "16:30", "17:30"), (40, 13, "16:30", "17:10"), (540, 1, "08:30", "17:30")],
)
def test_a_slot_that_would_run_past_closing_is_not_offered(make_hall, minutes, count, last, end):
    h = make_hall(appointments={"slot_minutes": minutes})
    slots = h.slots("2026-12-01").get_json()
    assert len(slots) == count
    assert (slots[-1]["slot"], slots[-1]["end"]) == (last, end)


def test_no_slots_on_weekends_and_holidays_but_on_extra_workdays(make_hall):
    h = make_hall(hours={"holidays": ["2026-12-02"], "workdays": ["2026-12-05"]})
    assert h.slots("2026-12-02").get_json() == []  # Wednesday, holiday
    assert h.slots("2026-12-06").get_json() == []  # Sunday
    assert len(h.slots("2026-12-05").get_json()) == 18  # Saturday made a working day
    r = h.book(date="2026-12-02")
    assert r.status_code == 400 and "不办公" in r.get_json()["error"]


def test_days_ahead_count_working_days(make_hall):
    h = make_hall(hours={"holidays": ["2026-12-02"], "workdays": ["2026-12-05"]})
    days = h.client.get("/api/appointments/days").get_json()
    # 1..5 working days after Monday 30 Nov: the holiday is skipped, the workday counts.
    assert days == ["2026-12-01", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-07"]
    assert h.slots("2026-12-08").status_code == 400
    assert h.book(date="2026-12-08").status_code == 400
    assert h.book(date="2026-12-07").status_code == 201


def test_dates_outside_the_window_are_refused(h):
    # Default window: 1 to 5 working days ahead = Tue 1 Dec .. Mon 7 Dec.
    assert h.book(date="2026-11-30").status_code == 400  # today, days_ahead_min = 1
    assert h.book(date="2026-11-27").status_code == 400  # past
    r = h.book(date="2026-12-08")
    assert r.status_code == 400
    assert "2026-12-01" in r.get_json()["error"] and "2026-12-07" in r.get_json()["error"]
    assert h.book(date="2026-12-07", phone="13900000001").status_code == 201
    assert h.slots("2026-11-30").status_code == 400
    assert h.slots("2026-12-08").status_code == 400


def test_slot_query_validation(h):
    assert h.client.get("/api/appointments/slots?date=2026-12-01").status_code == 400
    assert h.client.get("/api/appointments/slots?service=SB").status_code == 400
    assert h.slots("2026-13-01").status_code == 400
    assert h.slots("2026-12-01", service="NOPE").status_code == 404


# --- booking ----------------------------------------------------------------------------
def test_booking_gives_a_short_unguessable_code_and_takes_a_place(h):
    r = h.book()
    assert r.status_code == 201
    body = r.get_json()
    assert re.fullmatch(f"[{ALPHABET}]{{8}}", body["code"])
    assert body["status"] == "booked"
    assert body["phone"] == "138****5678"
    assert "张三丰" not in str(body)
    assert body["checkin_opens"] == "2026-12-01T08:30:00+08:00"
    assert body["checkin_closes"] == "2026-12-01T09:15:00+08:00"
    nine = next(s for s in h.slots().get_json() if s["slot"] == "09:00")
    assert nine["left"] == 3
    codes = {h.booked(phone=f"1390000000{i}") for i in range(3)}
    assert len(codes | {body["code"]}) == 4


def test_a_full_slot_is_refused_and_a_cancellation_frees_a_place(make_hall):
    h = make_hall(appointments={"slot_capacity": 2})
    first = h.booked(phone="13900000001")
    h.booked(phone="13900000002")
    r = h.book(phone="13900000003")
    assert r.status_code == 409 and "约满" in r.get_json()["error"]
    nine = next(s for s in h.slots().get_json() if s["slot"] == "09:00")
    assert nine["left"] == 0
    # Other services and other slots are separate.
    assert h.book(phone="13900000003", service="YB").status_code == 201
    assert h.book(phone="13900000004", slot="09:30").status_code == 201
    assert h.cancel(first).status_code == 200
    nine = next(s for s in h.slots().get_json() if s["slot"] == "09:00")
    assert nine["left"] == 1
    assert h.book(phone="13900000005").status_code == 201


def test_one_booking_per_phone_per_day(h):
    code = h.booked()
    r = h.book(slot="14:00", service="YB")
    assert r.status_code == 409 and "每人每天限约一次" in r.get_json()["error"]
    assert h.book(date="2026-12-02").status_code == 201
    h.cancel(code)
    assert h.book(slot="14:00").status_code == 201


@pytest.mark.parametrize(
    "phone",
    [
        "12812345678",
        "10812345678",
        "1381234567",
        "138123456789",
        "23812345678",
        "1381234567a",
        "+8613812345678",
        "",
        "１３８１２３４５６７８",
        "138１２３４５６７８",
    ],
)
def test_only_mainland_mobile_numbers(h, phone):
    r = h.book(phone=phone)
    assert r.status_code == 400, phone


@pytest.mark.parametrize("phone", ["13012345678", "19912345678", "138 1234 5678"])
def test_valid_mobile_numbers(h, phone):
    r = h.book(phone=phone)
    assert r.status_code == 201
    assert r.get_json()["phone"].startswith(phone[:3]) and "****" in r.get_json()["phone"]


@pytest.mark.parametrize(
    "body",
    [
        {"date": "2026-12-01", "slot": "09:00", "name": "张三", "phone": PHONE},
        {"service": "SB", "slot": "09:00", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "09:00", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "09:00", "name": "  ", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "09:00", "name": "张" * 21, "phone": PHONE},
        {"service": "SB", "date": "12/01/2026", "slot": "09:00", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "9:00", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "09:15", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "17:30", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": "25:00", "name": "张三", "phone": PHONE},
        {"service": "SB", "date": "2026-12-01", "slot": 900, "name": "张三", "phone": PHONE},
        {"service": ["SB"], "date": "2026-12-01", "slot": "09:00", "name": "张三", "phone": PHONE},
    ],
)
def test_bad_booking_input_is_400(h, body):
    r = h.client.post("/api/appointments", json=body)
    assert r.status_code == 400, body
    assert r.get_json()["error"]


def test_broken_body_and_unknown_service(h):
    r = h.client.post("/api/appointments", data="{nope", content_type="application/json")
    assert r.status_code == 400
    assert h.client.post("/api/appointments", json=[1]).status_code == 400
    assert h.book(service="NOPE").status_code == 404


def test_a_slot_can_be_booked_until_on_time_check_in_is_no_longer_possible(make_hall, clock):
    # Same-day booking; the 09:00 slot's on-time check-in ends at 09:15.
    h = make_hall(appointments={"days_ahead_min": 0})
    eight_thirty = next(s for s in h.slots("2026-11-30").get_json() if s["slot"] == "08:30")
    assert eight_thirty == {"slot": "08:30", "end": "09:00", "left": 0, "over": True}
    r = h.book(date="2026-11-30", slot="08:30")
    assert r.status_code == 409 and "时段已过" in r.get_json()["error"]
    clock.set(local(2026, 11, 30, 9, 14, 59))
    assert h.book(date="2026-11-30", slot="09:00", phone="13900000001").status_code == 201
    clock.set(local(2026, 11, 30, 9, 15, 0))
    r = h.book(date="2026-11-30", slot="09:00", phone="13900000002")
    assert r.status_code == 409
    nine = next(s for s in h.slots("2026-11-30").get_json() if s["slot"] == "09:00")
    assert nine["left"] == 0 and nine["over"] is True


def test_booking_is_rate_limited_per_address(make_hall):
    h = make_hall(appointments={"book_rate_limit_per_hour": 2, "slot_capacity": 10})
    assert h.book(phone="13900000001").status_code == 201
    assert h.book(phone="13900000002").status_code == 201
    r = h.book(phone="13900000003")
    assert r.status_code == 429


# --- cancel -----------------------------------------------------------------------------
def test_cancel_until_the_slot_starts(h, clock):
    a = h.booked(phone="13900000001")
    b = h.booked(phone="13900000002")
    clock.set(local(2026, 12, 1, 8, 59, 59))
    r = h.cancel(a.lower())
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert h.cancel(a).status_code == 409  # twice
    clock.set(local(2026, 12, 1, 9, 0, 0))
    r = h.cancel(b)
    assert r.status_code == 409 and "已开始" in r.get_json()["error"]
    assert h.booking(b)["status"] == "booked"
    assert h.cancel("ZZZZZZZZ").status_code == 404
    assert h.cancel("not-a-code!").status_code == 404
    assert [a["action"] for a in h.audit("appointment_cancel")] == ["appointment_cancel"]


# --- missed bookings and the no-show limit ----------------------------------------------
def test_a_booking_becomes_missed_when_its_check_in_window_has_passed(h, clock):
    code = h.booked()
    clock.set(local(2026, 12, 1, 9, 15, 0))
    assert h.client.get(f"/api/appointments/{code}").get_json()["status"] == "booked"
    clock.set(local(2026, 12, 1, 9, 15, 1))
    assert h.client.get(f"/api/appointments/{code}").get_json()["status"] == "missed"
    assert len(h.audit("appointment_missed")) == 1
    # Marking is idempotent.
    h.client.get(f"/api/appointments/{code}")
    assert len(h.audit("appointment_missed")) == 1


def test_more_than_no_show_limit_missed_bookings_in_30_days_refuse_booking(h, clock):
    # Limit 2: two misses may still book, a third miss stops booking for 30 days.
    h.booked(date="2026-12-01")
    h.booked(date="2026-12-02")
    clock.set(local(2026, 12, 2, 10, 0))
    code = h.booked(date="2026-12-03")  # 2 missed = the limit: still allowed
    assert h.booking(code)["status"] == "booked"
    clock.set(local(2026, 12, 3, 10, 0))
    r = h.book(date="2026-12-04")
    assert r.status_code == 403
    assert "失约3次" in r.get_json()["error"]
    assert h.book(date="2026-12-04", phone="13900000009").status_code == 201  # others may
    # The 1 Dec miss counts until 31 Dec (30 days back), then drops out.
    clock.set(local(2026, 12, 31, 10, 0))
    assert h.book(date="2027-01-04").status_code == 403
    clock.set(local(2027, 1, 1, 10, 0))
    assert h.book(date="2027-01-04").status_code == 201


def test_no_show_limit_zero_refuses_after_one_miss(make_hall, clock):
    h = make_hall(appointments={"no_show_limit": 0})
    h.booked(date="2026-12-01")
    clock.set(local(2026, 12, 1, 10, 0))
    assert h.book(date="2026-12-02").status_code == 403


def test_a_late_check_in_is_not_a_miss(h, clock):
    h.booked(date="2026-12-01")
    h.booked(date="2026-12-02")
    c = h.booked(date="2026-12-03")
    clock.set(local(2026, 12, 3, 10, 0))  # two missed, the third comes late
    r = h.check_in(c)
    assert r.status_code == 201 and r.get_json()["late"] is True
    assert h.book(date="2026-12-04").status_code == 201


def test_always_open_halls_offer_slots_round_the_clock_every_day(make_hall):
    h = make_hall(hours={"always_open": True}, appointments={"slot_minutes": 60})
    saturday = h.slots("2026-12-05").get_json()
    assert len(saturday) == 24
    assert (saturday[0]["slot"], saturday[-1]["slot"], saturday[-1]["end"]) == (
        "00:00",
        "23:00",
        "24:00",
    )
    days = h.client.get("/api/appointments/days").get_json()
    assert days == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]
