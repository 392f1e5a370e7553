"""Kiosk check-in: the window edges to the second, lanes, order of calls, refusals."""

from __future__ import annotations

from tests.conftest import local


def _book_four_at_ten(h):
    return [h.booked(slot="10:00", phone=f"1390000000{i}") for i in range(4)]


def test_check_in_window_edges_to_the_second(h, clock):
    # Slot 10:00, checkin_early 30, checkin_late 15: on time from 09:30:00 to 10:15:00.
    a, b, c, d = _book_four_at_ten(h)

    clock.set(local(2026, 12, 1, 9, 29, 59))
    r = h.check_in(a)
    assert r.status_code == 409
    assert "签到尚未开始，请于09:30后签到" in r.get_json()["error"]
    assert h.booking(a)["status"] == "booked"
    assert h.hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0

    clock.set(local(2026, 12, 1, 9, 30, 0))
    r = h.check_in(a)
    assert r.status_code == 201
    body = r.get_json()
    assert body["late"] is False and body["number"] == "B001" and body["token"]
    assert h.ticket(body["id"])["lane"] == 1
    assert h.ticket(body["id"])["source"] == "appointment"

    clock.set(local(2026, 12, 1, 10, 15, 0))
    r = h.check_in(b)
    assert r.status_code == 201 and r.get_json()["late"] is False
    assert h.ticket(r.get_json()["id"])["lane"] == 1
    assert h.client.get(f"/api/appointments/{d}").get_json()["status"] == "booked"

    clock.set(local(2026, 12, 1, 10, 15, 1))
    assert h.client.get(f"/api/appointments/{d}").get_json()["status"] == "missed"
    r = h.check_in(c)
    assert r.status_code == 201
    body = r.get_json()
    assert body["late"] is True
    assert h.ticket(body["id"])["lane"] == 2  # an ordinary walk-in ticket
    row = h.booking(c)
    assert (row["status"], row["late"], row["ticket_id"]) == ("checked_in", 1, body["id"])
    assert h.client.get(f"/api/appointments/{c}").get_json()["late"] is True


def test_booked_ticket_is_called_after_priority_and_before_earlier_walk_ins(h, clock):
    code = h.booked(slot="09:00")
    clock.set(local(2026, 12, 1, 8, 40))
    w1 = h.walk_in().get_json()["number"]
    w2 = h.walk_in().get_json()["number"]
    guide = h.staff("guide")
    r = guide.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "老年人"}
    )
    prio = r.get_json()["number"]
    clock.set(local(2026, 12, 1, 8, 45))
    booked = h.check_in(code).get_json()
    assert booked["waiting_ahead"] == 1  # only the priority ticket
    clerk = h.clerk_at(1)
    calls = []
    for _ in range(4):
        t = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
        calls.append(t["number"])
        clerk.post(f"/api/tickets/{t['id']}/finish")
    assert calls == [prio, booked["number"], w1, w2]


def test_a_late_check_in_queues_behind_earlier_walk_ins(h, clock):
    code = h.booked(slot="09:00")
    clock.set(local(2026, 12, 1, 9, 20))
    w1 = h.walk_in().get_json()
    late = h.check_in(code).get_json()
    assert late["late"] is True and late["waiting_ahead"] == 1
    clerk = h.clerk_at(1)
    assert clerk.post("/api/windows/1/call-next").get_json()["ticket"]["number"] == w1["number"]


def test_check_in_twice_cancelled_unknown_and_wrong_day(h, clock):
    a = h.booked(slot="09:00", phone="13900000001")
    b = h.booked(slot="09:00", phone="13900000002")
    tomorrow = h.booked(date="2026-12-02", slot="09:00", phone="13900000003")
    h.cancel(b)
    clock.set(local(2026, 12, 1, 9, 0))
    first = h.check_in(a)
    assert first.status_code == 201
    r = h.check_in(a)
    assert r.status_code == 409
    assert "已签到" in r.get_json()["error"] and first.get_json()["number"] in r.get_json()["error"]
    r = h.check_in(b)
    assert r.status_code == 409 and "已取消" in r.get_json()["error"]
    r = h.check_in(tomorrow)
    assert r.status_code == 409 and "2026-12-02 周三 08:30" in r.get_json()["error"]
    assert h.check_in("ZZZZZZZZ").status_code == 404
    assert h.check_in("x" * 60).status_code == 404
    # The day after, an unused booking can no longer be checked in.
    yesterday = h.booked(date="2026-12-02", slot="16:00", phone="13900000004")
    clock.set(local(2026, 12, 3, 9, 0))
    r = h.check_in(yesterday)
    assert r.status_code == 409 and "已过" in r.get_json()["error"]
    assert h.booking(yesterday)["status"] == "missed"
    tickets = h.hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    assert tickets == 1


def test_scanner_and_typed_codes_are_normalised(h, clock):
    codes = [h.booked(phone=f"1390000000{i}") for i in range(3)]
    clock.set(local(2026, 12, 1, 9, 0))
    assert h.check_in(codes[0].lower()).status_code == 201
    spaced = f"{codes[1][:4]} {codes[1][4:]}"
    assert h.check_in(spaced).status_code == 201
    url = f"http://hall.test/book/{codes[2]}"
    r = h.client.post("/kiosk/checkin", data={"code": url})
    assert r.status_code == 200 and "B003" in r.get_data(as_text=True)


def test_check_in_before_the_hall_opens_says_when_it_opens(h, clock):
    # The 08:30 slot's check-in opens at 08:00, but the hall opens at 08:30.
    code = h.booked(slot="08:30")
    clock.set(local(2026, 12, 1, 8, 10))
    r = h.check_in(code)
    assert r.status_code == 409
    assert "08:30" in r.get_json()["error"]
    assert h.booking(code)["status"] == "booked"
    clock.set(local(2026, 12, 1, 8, 30))
    assert h.check_in(code).status_code == 201


def test_check_in_response_is_a_ticket_without_personal_data(h, clock):
    code = h.booked(name="欧阳娜娜")
    clock.set(local(2026, 12, 1, 9, 0))
    body = h.check_in(code, kiosk="K1").get_json()
    text = str(body)
    assert "欧阳" not in text and "13812345678" not in text and "5678" not in text
    assert body["appointment"]["code"] == code
    follow = h.client.get(f"/api/tickets/{body['token']}")
    assert follow.status_code == 200 and follow.get_json()["number"] == body["number"]
    row = h.booking(code)
    assert row["kiosk"] == "K1"
    assert h.audit("appointment_checkin")[0]["target"] == f"appointment:{code}"


def test_check_in_runs_the_printers_after_issue_hooks(h, clock):
    seen = []

    def hook(ctx):
        seen.append((ctx.ticket["number"], ctx.kiosk))
        return {"printed": True}

    h.hall.faces.add_issue_hook("test", hook)
    code = h.booked()
    clock.set(local(2026, 12, 1, 9, 0))
    body = h.check_in(code, kiosk="K1").get_json()
    assert body["printed"] is True
    assert seen == [(body["number"], "K1")]
    assert h.check_in(code, kiosk="K9").status_code == 400  # unknown kiosk


def test_check_in_rolls_back_when_the_booking_was_used_meanwhile(h, clock):
    """The ticket and the booking change in one transaction: a lost race issues nothing."""
    code = h.booked()
    clock.set(local(2026, 12, 1, 9, 0))
    bookings = h.hall.faces.state("appointments")
    real_issue = h.hall.engine.issue

    def racing_issue(*args, **kwargs):
        with h.hall.store.write() as w:  # another kiosk checks in first
            w.execute("UPDATE appointments SET status = 'checked_in' WHERE code = ?", [code])
        return real_issue(*args, **kwargs)

    h.hall.engine.issue = racing_issue
    try:
        r = h.check_in(code)
    finally:
        h.hall.engine.issue = real_issue
    assert r.status_code == 409
    db = h.hall.store.db()
    assert db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0
    assert bookings.get(code)["ticket_id"] is None
