"""预约签到 by ID card: an ID number given at booking is kept only as its keyed hash and
masked form; the card tapped at a kiosk (a GA 467 module on a pseudo-terminal, or a
keyboard-mode reader through the API) inside the booking's check-in window checks the
booking in; a card without a booking takes an ordinary number; no full ID number in the
database, the logs, the printed bytes or the Socket.IO traffic; the retention purge
erases it."""

from __future__ import annotations

import logging

from hall import idnumber, privacy
from hall.realtime import socketio
from tests.citizen.fakes import card
from tests.citizen.test_idcard import tap
from tests.conftest import local

BOOKED = "34082319900307123"  # born 1990: 36, no priority
WALKER = "34082319851111222"  # no booking
SECRET = "citizen-test-secret"  # tests/citizen/conftest.py make_app


def number(seventeen: str) -> str:
    return idnumber.make(seventeen)


def book(client, id_number=None, slot="10:00", phone="13812345678", service="SB", **extra):
    body = {
        "service": service,
        "date": "2026-12-01",
        "slot": slot,
        "name": "张三丰",
        "phone": phone,
        **extra,
    }
    if id_number is not None:
        body["id_number"] = id_number
    return client.post("/api/appointments", json=body)


def booking_row(hall, code) -> dict:
    return next(iter(hall.store.db().query("SELECT * FROM appointments WHERE code = ?", [code])))


def test_booking_keeps_only_the_keyed_hash_and_the_masked_number(make_app):
    app = make_app()
    hall = app.extensions["hall"]
    client = app.test_client()
    full = number(BOOKED)
    r = book(client, id_number=full)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["id_masked"] == idnumber.mask(full) and body["notify"] is True
    assert full not in r.get_data(as_text=True)
    row = booking_row(hall, body["code"])
    assert row["id_key"] == idnumber.key_of(SECRET, full)
    assert row["id_masked"] == "3408**********" + full[-4:]
    # the holder of the code sees the masked number, never the number
    page = client.get(f"/book/{body['code']}").get_data(as_text=True)
    assert idnumber.mask(full) in page and full not in page
    # a wrong check digit is refused, nothing kept
    bad = full[:17] + ("0" if full[17] != "0" else "1")
    r = book(client, id_number=bad, phone="13900000001")
    assert r.status_code == 404 and "身份证号码无效" in r.get_json()["error"]
    r = book(client, id_number="3408231990", phone="13900000001")
    assert r.status_code == 400 and "身份证号码无效" in r.get_json()["error"]
    # one booking per ID number per day, whatever the phone
    r = book(client, id_number=full, phone="13900000002", slot="11:00")
    assert r.status_code == 409 and "该身份证" in r.get_json()["error"]
    # without a number a booking is as before
    r = book(client, phone="13900000003")
    assert r.status_code == 201 and r.get_json()["id_masked"] is None
    # the booking page's form takes it too, and does not echo it back on an error
    r = client.post(
        "/book",
        data={
            "service": "YB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "李四",
            "phone": "13900000004",
            "id_number": number(WALKER),
            "notify": ["0"],
        },
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    row = next(
        iter(hall.store.db().query("SELECT * FROM appointments WHERE phone = '13900000004'"))
    )
    assert row["id_masked"] == idnumber.mask(number(WALKER)) and row["notify"] == 0
    r = client.post(
        "/book",
        data={
            "service": "YB",
            "date": "2026-12-01",
            "slot": "09:00",
            "name": "王五",
            "phone": "139",
            "id_number": number(BOOKED),
        },
    )
    assert r.status_code == 400 and number(BOOKED) not in r.get_data(as_text=True)


def test_a_tap_on_the_serial_reader_checks_the_booking_in(reader_hall, clock, caplog):
    from tests.citizen.conftest import assert_nowhere, wait_for

    app, module, printer = reader_hall
    hall = app.extensions["hall"]
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    code = book(client, id_number=number(BOOKED)).get_json()["code"]
    clock.set(local(2026, 12, 1, 9, 40))  # the 10:00 slot's check-in window is open
    kiosk = socketio.test_client(app, namespace="/citizen", flask_test_client=client)
    assert kiosk.emit("join", {"kiosk": "K1"}, namespace="/citizen", callback=True)["ok"]
    board = socketio.test_client(app, namespace="/display", flask_test_client=client)

    # the booked citizen taps the card: the kiosk page posts the read (idcard.js) and
    # gets the booking's ticket, not a choice of services
    read = tap(module, kiosk, card(BOOKED))
    r = client.post("/kiosk/card", data={"card": read["card"], "kiosk": "K1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="e-number">B001<' in page and "预约签到成功（10:00 社会保险）" in page
    row = booking_row(hall, code)
    assert row["status"] == "checked_in" and row["kiosk"] == "K1" and not row["late"]
    t = hall.engine.read.ticket(hall.store.db(), row["ticket_id"])
    assert (t["number"], t["source"], t["lane"]) == ("B001", "appointment", 1)
    audit = list(
        hall.store.db().query(
            "SELECT details FROM audit_log WHERE action = ?", ["appointment_checkin"]
        )
    )
    assert '"via": "card"' in audit[0]["details"]
    wait_for(lambda: printer.jobs, what="the printed ticket")
    # the read is used up: posting it again checks in nothing more
    r = client.post("/kiosk/card", data={"card": read["card"], "kiosk": "K1"})
    assert r.status_code == 404 and "重新刷卡" in r.get_data(as_text=True)

    # a card with no booking: the services screen, then an ordinary number
    other = tap(module, kiosk, card(WALKER, name="李四"))
    r = client.post("/kiosk/card", data={"card": other["card"], "kiosk": "K1"})
    page = r.get_data(as_text=True)
    assert 'id="e-card"' in page and "e-number" not in page and "预约" not in page
    r = client.post(
        "/kiosk/elder", data={"card": other["card"], "kiosk": "K1", "service": "SB", "elder": "0"}
    )
    assert 'id="e-number">B002<' in r.get_data(as_text=True)
    t2 = next(iter(hall.store.db().query("SELECT * FROM tickets WHERE number = 'B002'")))
    assert (t2["source"], t2["lane"]) == ("kiosk", 2)

    # the booked citizen again: the booking is used, so the card takes an ordinary number
    # (the check-in counts for the per-person limit of its service)
    again = tap(module, kiosk, card(BOOKED))
    r = client.post("/kiosk/card", data={"card": again["card"], "kiosk": "K1"})
    assert 'id="e-card"' in r.get_data(as_text=True)
    r = client.post(
        "/api/idcard/tickets", json={"card": again["card"], "service": "SB", "kiosk": "K1"}
    )
    assert r.status_code == 409 and "您今天已取过社会保险的号（B001）" in r.get_json()["error"]

    # no full ID number anywhere: the database, the logs, the printed bytes, Socket.IO
    wait_for(lambda: len(printer.jobs) >= 2, what="two printed tickets")
    traffic = repr(kiosk.get_received("/citizen")) + repr(board.get_received("/display"))
    for n in (number(BOOKED), number(WALKER)):
        assert_nowhere(n, hall, caplog.text, printer.jobs, traffic)


def test_keyboard_reader_check_in_through_the_api(make_app, clock):
    app = make_app()
    hall = app.extensions["hall"]
    client = app.test_client()
    full = number(BOOKED)
    code = book(client, id_number=full).get_json()["code"]
    walk_code = book(client, phone="13900000009", slot="10:00").get_json()["code"]

    def scan(n):
        r = client.post("/api/idcard/scan", json={"kiosk": "K1", "number": n})
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    # too early: the card says when check-in opens, and takes an ordinary number
    clock.set(local(2026, 12, 1, 9, 0))
    read = scan(full)
    assert read["booking"]["state"] == "early" and read["booking"]["checkin_opens"] == "09:30"
    assert "code" not in read["booking"]
    r = client.post("/api/idcard/check-in", json={"card": read["card"], "kiosk": "K1"})
    assert r.status_code == 409 and "请于09:30后签到" in r.get_json()["error"]
    page = client.post("/kiosk/card", data={"card": read["card"], "kiosk": "K1"})
    assert "请于09:30后刷卡签到" in page.get_data(as_text=True)
    assert booking_row(hall, code)["status"] == "booked"

    # in the window: checked in, the same ticket the code would give
    clock.set(local(2026, 12, 1, 9, 30))
    read = scan(full)
    assert read["booking"]["state"] == "due" and read["booking"]["service_name"] == "社会保险"
    r = client.post("/api/idcard/check-in", json={"card": read["card"], "kiosk": "K1"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["number"] == "B001" and body["late"] is False and body["token"]
    assert body["appointment"] == {
        "service": "SB",
        "date": "2026-12-01",
        "slot": "10:00",
        "status": "checked_in",
    }
    assert booking_row(hall, code)["ticket_id"] == body["id"]
    ids = list(hall.store.db().query("SELECT * FROM citizen_ids"))
    assert [(r["ticket_id"], r["id_masked"]) for r in ids] == [(body["id"], idnumber.mask(full))]
    # the code of the same booking now says it is checked in
    r = client.post(f"/api/appointments/{code}/check-in", json={})
    assert r.status_code == 409 and "已签到，号码B001" in r.get_json()["error"]
    # a card with no booking
    read = scan(number(WALKER))
    assert read["booking"] is None
    r = client.post("/api/idcard/check-in", json={"card": read["card"]})
    assert r.status_code == 404 and "没有预约" in r.get_json()["error"]
    # the booking made without an ID number is untouched by any card
    assert booking_row(hall, walk_code)["status"] == "booked"


def test_taking_the_booked_service_with_the_card_checks_in(make_app, clock):
    app = make_app()
    hall = app.extensions["hall"]
    client = app.test_client()
    full = number(BOOKED)
    code = book(client, id_number=full, service="YB").get_json()["code"]
    clock.set(local(2026, 12, 1, 9, 50))
    read = client.post("/api/idcard/scan", json={"number": full}).get_json()
    # another service: the citizen's choice, an ordinary number; the booking stays
    r = client.post("/api/idcard/tickets", json={"card": read["card"], "service": "SB"})
    assert r.status_code == 201 and "appointment" not in r.get_json()
    assert booking_row(hall, code)["status"] == "booked"
    read = client.post("/api/idcard/scan", json={"number": full}).get_json()
    r = client.post("/api/idcard/tickets", json={"card": read["card"], "service": "YB"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["appointment"]["status"] == "checked_in" and body["number"] == "C001"
    assert hall.engine.read.ticket(hall.store.db(), body["id"])["lane"] == 1
    assert booking_row(hall, code)["ticket_id"] == body["id"]


def test_late_card_takes_an_ordinary_number(make_app, clock):
    app = make_app()
    hall = app.extensions["hall"]
    client = app.test_client()
    full = number(BOOKED)
    code = book(client, id_number=full).get_json()["code"]
    clock.set(local(2026, 12, 1, 10, 15, 1))
    read = client.post("/api/idcard/scan", json={"number": full}).get_json()
    assert read["booking"]["state"] == "late"
    page = client.post("/kiosk/card", data={"card": read["card"]}).get_data(as_text=True)
    assert "已过签到时间，可取普通号排队" in page and 'id="e-card"' in page
    r = client.post("/api/idcard/check-in", json={"card": read["card"]})
    assert r.status_code == 409 and "已过签到时间" in r.get_json()["error"]
    assert booking_row(hall, code)["status"] == "missed"


def test_purge_erases_the_booking_id_number(make_app, clock):
    app = make_app({"privacy": {"retention_days": 31}})
    hall = app.extensions["hall"]
    full = number(BOOKED)
    code = book(app.test_client(), id_number=full).get_json()["code"]
    clock.advance(days=40)
    out = privacy.purge(hall)
    assert out["changed"]["appointments.id_key"] == 1
    assert out["changed"]["appointments.id_masked"] == 1
    row = booking_row(hall, code)
    assert (row["id_key"], row["id_masked"]) == ("", "")
    assert row["phone"] == "138****5678"
    data = open(hall.store.path, "rb").read()
    assert idnumber.mask(full).encode() not in data
    assert idnumber.key_of(SECRET, full).encode() not in data


def test_the_check_in_screen_takes_the_id_number_for_the_code(make_app, clock):
    app = make_app(
        {
            "kiosks": [{"id": "K1", "name": "自助区1号机"}, {"id": "K2", "name": "自助区2号机"}],
            "card_readers": [
                {"kiosk": "K1", "kind": "keyboard"},
                {"kiosk": "K2", "kind": "agent"},
            ],
        }
    )
    hall = app.extensions["hall"]
    client = app.test_client()
    full = number(BOOKED)
    code = book(client, id_number=full).get_json()["code"]
    # a keyboard-mode reader types into the code field: the number stands for the code
    clock.set(local(2026, 12, 1, 9, 0))
    r = client.post("/kiosk/checkin", data={"kiosk": "K1", "code": full})
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "签到尚未开始，请于09:30后签到" in page and full not in page
    clock.set(local(2026, 12, 1, 9, 35))
    r = client.post("/kiosk/checkin", data={"kiosk": "K1", "code": full})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="ticket-number">B001<' in page and full not in page
    assert booking_row(hall, code)["status"] == "checked_in"
    r = client.post("/kiosk/checkin", data={"kiosk": "K1", "code": full})
    assert r.status_code == 409 and "已签到，号码B001" in r.get_data(as_text=True)
    r = client.post("/kiosk/checkin", data={"kiosk": "K1", "code": number(WALKER)})
    assert r.status_code == 404 and "该身份证今天没有预约" in r.get_data(as_text=True)
    # the screens say so; an agent reader's card comes through the citizen face's script
    page = client.get("/kiosk/checkin?kiosk=K1").get_data(as_text=True)
    assert "或刷身份证" in page and "idcard.js" not in page
    page = client.get("/kiosk/checkin?kiosk=K2").get_data(as_text=True)
    assert 'data-idcard="agent"' in page and "/citizen/static/idcard.js" in page
    assert "或刷身份证" not in client.get("/kiosk/checkin").get_data(as_text=True)
