"""Opening hours, holidays and daily quotas as the kiosk and the ticket API see them.

The test hall: open Mon-Fri 08:30-17:30; 出入境证件 (CRJ, prefix J) has daily_quota = 3.
"""

from __future__ import annotations

import pytest

from tests.conftest import local


# --- hours and holidays -----------------------------------------------------------------
def test_tickets_refused_at_closing_time_with_the_next_opening(h, clock):
    clock.set(local(2026, 11, 30, 17, 29, 59))
    assert h.walk_in().status_code == 201
    assert h.service("SB")["open"] is True
    clock.set(local(2026, 11, 30, 17, 30, 0))
    r = h.walk_in()
    assert r.status_code == 409
    assert "下次开放时间：2026-12-01 周二 08:30" in r.get_json()["error"]
    svc = h.service("SB")
    assert svc["open"] is False
    assert svc["closed_reason"] == "现在不在办理时间，下次开放时间：2026-12-01 周二 08:30"


def test_before_opening_the_message_names_this_mornings_opening(h, clock):
    clock.set(local(2026, 12, 1, 8, 29, 59))
    r = h.walk_in()
    assert r.status_code == 409 and "2026-12-01 周二 08:30" in r.get_json()["error"]
    clock.set(local(2026, 12, 1, 8, 30, 0))
    assert h.walk_in().status_code == 201


def test_friday_evening_and_holidays_point_to_the_next_working_day(make_hall, clock):
    h = make_hall(hours={"holidays": ["2026-12-07"], "workdays": []})
    clock.set(local(2026, 12, 4, 18, 0))  # Friday evening; Monday 7 Dec is a holiday
    r = h.walk_in()
    assert r.status_code == 409 and "2026-12-08 周二 08:30" in r.get_json()["error"]
    clock.set(local(2026, 12, 7, 10, 0))  # on the holiday itself
    assert h.walk_in().status_code == 409
    assert "2026-12-08 周二 08:30" in h.service("SB")["closed_reason"]


def test_an_extra_workday_opens_on_a_weekend(make_hall, clock):
    h = make_hall(hours={"workdays": ["2026-12-05"]})
    clock.set(local(2026, 12, 5, 10, 0))
    assert h.walk_in().status_code == 201
    clock.set(local(2026, 12, 6, 10, 0))
    r = h.walk_in()
    assert r.status_code == 409 and "2026-12-07 周一 08:30" in r.get_json()["error"]


# --- daily quota ------------------------------------------------------------------------
def test_quota_edge_at_the_last_number(h):
    assert h.service("CRJ")["remaining"] == 3
    assert h.walk_in("CRJ").status_code == 201
    assert h.walk_in("CRJ").status_code == 201
    svc = h.service("CRJ")
    assert (svc["open"], svc["remaining"], svc["closed_reason"]) == (True, 1, "")
    last = h.walk_in("CRJ")
    assert last.status_code == 201 and last.get_json()["number"] == "J003"
    svc = h.service("CRJ")
    assert (svc["open"], svc["remaining"], svc["closed_reason"]) == (False, 0, "今日号已取完")
    r = h.walk_in("CRJ")
    assert r.status_code == 409 and "今日号已取完" in r.get_json()["error"]
    # Staff cannot go round it either; other services are unaffected.
    assert h.staff("guide").post("/api/tickets", json={"service": "CRJ"}).status_code == 409
    assert h.walk_in("SB").status_code == 201


def test_quota_starts_again_the_next_day(h, clock):
    for _ in range(3):
        h.walk_in("CRJ")
    assert h.walk_in("CRJ").status_code == 409
    clock.set(local(2026, 12, 1, 8, 30))
    assert h.service("CRJ")["remaining"] == 3
    assert h.walk_in("CRJ").get_json()["number"] == "J001"


def test_a_transfer_neither_frees_nor_uses_a_quota_number(h):
    for _ in range(3):
        h.walk_in("CRJ")
    clerk = h.clerk_at(4)
    t = clerk.post("/api/windows/4/call-next").get_json()["ticket"]
    r = clerk.post(f"/api/tickets/{t['id']}/transfer", json={"service": "SB"})
    assert r.status_code == 200
    # The transferred J001 was a CRJ number: the quota stays used up.
    assert h.service("CRJ")["remaining"] == 0
    assert h.walk_in("CRJ").status_code == 409
    # And a ticket transferred into CRJ does not take one of its numbers.
    h2_ticket = h.walk_in("SB").get_json()
    c1 = h.clerk_at(1)
    called = c1.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == "J001"  # the transferred ticket is at the head
    c1.post(f"/api/tickets/{called['id']}/finish")
    called = c1.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == h2_ticket["number"]
    c1.post(f"/api/tickets/{called['id']}/transfer", json={"service": "CRJ"})
    assert h.service("CRJ")["remaining"] == 0
    assert h.service("SB")["remaining"] is None  # SB has no quota


def test_transfer_into_a_quota_service_keeps_its_numbers(h):
    h.walk_in("CRJ")
    sb = h.walk_in("SB").get_json()
    c1 = h.clerk_at(1)
    called = c1.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == sb["number"]
    c1.post(f"/api/tickets/{called['id']}/transfer", json={"service": "CRJ"})
    assert h.service("CRJ")["remaining"] == 2


@pytest.fixture
def same_day(make_hall):
    """Bookings for today allowed, so quota and check-in meet on one day."""
    return make_hall(appointments={"days_ahead_min": 0})


def test_booked_check_in_is_honoured_when_the_quota_is_used_up(same_day, clock):
    h = same_day
    code = h.booked(date="2026-11-30", slot="09:30", service="CRJ")
    for _ in range(3):
        h.walk_in("CRJ")
    assert h.service("CRJ")["remaining"] == 0
    r = h.check_in(code)
    assert r.status_code == 201 and r.get_json()["late"] is False
    assert r.get_json()["number"] == "J004"


def test_booked_check_ins_count_towards_the_quota(same_day, clock):
    h = same_day
    code = h.booked(date="2026-11-30", slot="09:30", service="CRJ")
    h.check_in(code)
    h.walk_in("CRJ")
    svc = h.service("CRJ")
    assert (svc["remaining"], svc["open"]) == (1, True)
    assert h.walk_in("CRJ").status_code == 201
    assert h.walk_in("CRJ").status_code == 409


def test_a_late_check_in_is_an_ordinary_ticket_and_respects_the_quota(same_day, clock):
    h = same_day
    code = h.booked(date="2026-11-30", slot="09:30", service="CRJ")
    for _ in range(3):
        h.walk_in("CRJ")
    clock.set(local(2026, 11, 30, 9, 45, 1))
    r = h.check_in(code)
    assert r.status_code == 409 and "今日号已取完" in r.get_json()["error"]
    assert h.booking(code)["status"] == "missed"
    assert h.booking(code)["ticket_id"] is None


def test_kiosk_offers_booking_when_the_quota_is_used_up(h):
    for _ in range(3):
        h.walk_in("CRJ")
    assert h.service("CRJ")["open"] is False
    page = h.client.get("/book?service=CRJ")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<option value="CRJ" selected>' in html
    slots = h.slots("2026-12-01", service="CRJ").get_json()
    assert slots and all(s["left"] == 4 for s in slots)
