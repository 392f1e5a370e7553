"""刷身份证取号: GA 467 frames, a fake module on a pseudo-terminal read by the server,
the per-person limit, 绿色通道 by age, and no full ID number anywhere."""

from __future__ import annotations

import logging

import pytest

from citizen import ga467
from citizen.cardreader import CardReader
from hall import idnumber
from hall.realtime import socketio
from tests.citizen.conftest import assert_nowhere, wait_for
from tests.citizen.fakes import FakeIdModule, card

YOUNG = "34082319900307123"  # born 1990-03-07: 36 in the test hall's 2026
OLD = "34082319460512456"  # born 1946-05-12: 80


def test_gb11643_check_digit_and_mask():
    assert idnumber.valid("11010519491231002X")  # the standard's own example
    assert not idnumber.valid("110105194912310021")  # wrong check digit
    assert not idnumber.valid("11010519491331002X")  # no 13th month
    assert not idnumber.valid("１１010519491231002X")  # full-width digits
    number = idnumber.make(YOUNG)
    assert idnumber.mask(number) == number[:4] + "*" * 10 + number[-4:]
    assert idnumber.mask("340823199003071234") == "3408**********1234"
    from datetime import date

    assert idnumber.age_on(idnumber.make(OLD), date(2026, 11, 30)) == 80
    # keyed: the same number gives the same key under one secret, another under another
    assert idnumber.key_of("a", number) == idnumber.key_of("a", number)
    assert idnumber.key_of("a", number) != idnumber.key_of("b", number)
    assert number not in idnumber.key_of("a", number)


def test_frames_are_ga467():
    assert ga467.command(ga467.FIND) == bytes.fromhex("AAAAAA9669000320 0122".replace(" ", ""))
    assert ga467.command(ga467.SELECT) == bytes.fromhex("AAAAAA96690003200221")
    assert ga467.command(ga467.READ_BASIC) == bytes.fromhex("AAAAAA96690003300132")
    payload = ga467.read_frame(iter_reader(b"\x00\x17" + ga467.answer(0x9F)))
    assert payload == b"\x00\x00\x9f"
    bad = bytearray(ga467.answer(0x90))
    bad[-1] ^= 1
    with pytest.raises(ga467.ProtocolError):
        ga467.read_frame(iter_reader(bytes(bad)))


def iter_reader(data: bytes):
    pos = [0]

    def read(n):
        out = data[pos[0] : pos[0] + n]
        pos[0] += n
        return out

    return read


def test_reader_reads_a_card_from_the_fake_module():
    module = FakeIdModule().start()
    reader = CardReader(module.path, timeout=2)
    try:
        assert reader.read_card() is None
        module.put(card(OLD, name="李秀英", sex="2"))
        c = reader.read_card()
        assert (c.name, c.sex, c.birth) == ("李秀英", "2", "19460512")
        assert c.number == idnumber.make(OLD)
        assert c.address.startswith("安徽省铜陵市")
        assert module.commands[-3:] == [ga467.FIND, ga467.SELECT, ga467.READ_BASIC]
        assert idnumber.make(OLD) not in repr(c)
    finally:
        reader.close()
        module.close()


def tap(module, sock, fields):
    """Lay a card on the reader; the kiosk page's `card` message."""
    module.put(fields)
    msg = wait_for(
        lambda: next((m for m in sock.get_received("/citizen") if m["name"] == "card"), None),
        what="the card message",
    )
    module.lift()
    wait_for(lambda: module.commands[-1:] == [ga467.FIND] and module.card is None, what="lift")
    return msg["args"][0]


def test_a_tap_issues_the_limit_refuses_and_an_elder_gets_priority(reader_hall, caplog):
    app, module, printer = reader_hall
    hall = app.extensions["hall"]
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    kiosk = socketio.test_client(app, namespace="/citizen", flask_test_client=client)
    assert kiosk.emit("join", {"kiosk": "K1"}, namespace="/citizen", callback=True)["ok"]
    board = socketio.test_client(app, namespace="/display", flask_test_client=client)

    young = tap(module, kiosk, card(YOUNG))
    assert young["masked"] == idnumber.mask(idnumber.make(YOUNG)) and not young["priority"]
    r = client.post(
        "/api/idcard/tickets", json={"card": young["card"], "service": "SB", "kiosk": "K1"}
    )
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["number"] == "B001" and first["printed"] is True and not first["priority"]

    # the same card again: refused with a clear message, and nothing is kept
    again = tap(module, kiosk, card(YOUNG))
    r = client.post(
        "/api/idcard/tickets", json={"card": again["card"], "service": "SB", "kiosk": "K1"}
    )
    assert r.status_code == 409
    assert "您今天已取过社会保险的号（B001）" in r.get_json()["error"]
    assert hall.engine.read.issued_today(hall.store.db(), "SB", "2026-11-30") == 1
    # ... a read is used once: the card read that got the refusal is still good for
    # another service, and a used read cannot be replayed
    r = client.post(
        "/api/idcard/tickets", json={"card": again["card"], "service": "YB", "kiosk": "K1"}
    )
    assert r.status_code == 201 and r.get_json()["number"] == "C001"
    r = client.post(
        "/api/idcard/tickets", json={"card": again["card"], "service": "GJJ", "kiosk": "K1"}
    )
    assert r.status_code == 404 and "重新刷卡" in r.get_json()["error"]

    # an 80-year-old's card: 绿色通道, the reason recorded as 老年人
    elder = tap(module, kiosk, card(OLD, name="李秀英"))
    assert elder["priority"] and elder["elder"]
    r = client.post(
        "/api/idcard/tickets", json={"card": elder["card"], "service": "SB", "kiosk": "K1"}
    )
    assert r.status_code == 201 and r.get_json()["priority"] is True
    row = hall.engine.read.ticket(hall.store.db(), r.get_json()["id"])
    assert row["priority"] == 1 and row["priority_reason"] == "老年人"

    # a clerk calls: the priority ticket first
    clerk = app.test_client()
    from hall.auth import create_user

    create_user(hall.store, "c1", "pw-long-enough-1", "clerk")
    csrf = clerk.post(
        "/api/login", json={"username": "c1", "password": "pw-long-enough-1"}
    ).get_json()["csrf_token"]
    clerk.post("/api/windows/1/open", headers={"X-CSRF-Token": csrf})
    called = clerk.post("/api/windows/1/call-next", headers={"X-CSRF-Token": csrf}).get_json()
    assert called["ticket"]["number"] == row["number"]

    # no full number anywhere: database file, logs, printed bytes, Socket.IO, exports
    wait_for(lambda: len(printer.jobs) >= 3, what="three printed tickets")
    traffic = repr(kiosk.get_received("/citizen")) + repr(board.get_received("/display"))
    for n in (idnumber.make(YOUNG), idnumber.make(OLD)):
        assert_nowhere(n, hall, caplog.text, printer.jobs, traffic)
        boss = app.test_client()
        create_user(hall.store, f"s{n[-4:]}", "pw-long-enough-1", "supervisor")
        boss.post("/api/login", json={"username": f"s{n[-4:]}", "password": "pw-long-enough-1"})
        for url in (
            "/api/export/tickets.csv?from=2026-11-30&to=2026-11-30",
            "/api/tickets?date=2026-11-30",
            "/api/audit",
        ):
            resp = boss.get(url)
            assert resp.status_code == 200, url
            assert n.encode() not in resp.data
    # the masked form is what stays, for the clerk
    masked = [r["id_masked"] for r in hall.store.db().query("SELECT id_masked FROM citizen_ids")]
    assert idnumber.mask(idnumber.make(YOUNG)) in masked


def test_keyboard_reader_number_is_checked(make_app):
    app = make_app()
    client = app.test_client()
    r = client.post("/api/idcard/scan", json={"kiosk": "K1", "number": "110105194912310021"})
    assert r.status_code == 404 and "身份证号码无效" in r.get_json()["error"]
    r = client.post("/api/idcard/scan", json={"kiosk": "K1", "number": "11010519491231002x"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["masked"] == "1101**********002X" and body["priority"] and body["elder"]
    assert "11010519491231002X" not in r.get_data(as_text=True)


def test_agent_needs_the_key(make_app):
    app = make_app({"idcard": {"agent_key": "k-123456"}})
    client = app.test_client()
    number = idnumber.make(YOUNG)
    r = client.post("/api/idcard/agent", json={"kiosk": "K1", "number": number})
    assert r.status_code == 403
    sock = socketio.test_client(app, namespace="/citizen", flask_test_client=client)
    sock.emit("join", {"kiosk": "K1"}, namespace="/citizen", callback=True)
    r = client.post(
        "/api/idcard/agent",
        json={"kiosk": "K1", "number": number},
        headers={"X-Agent-Key": "k-123456"},
    )
    assert r.status_code == 201 and number not in r.get_data(as_text=True)
    got = [m for m in sock.get_received("/citizen") if m["name"] == "card"]
    assert got and got[0]["args"][0]["masked"] == idnumber.mask(number)


def test_purge_erases_card_and_phone_data(make_app, clock):
    from hall import privacy

    app = make_app({"privacy": {"retention_days": 31}})
    hall = app.extensions["hall"]
    client = app.test_client()
    number = idnumber.make(YOUNG)
    read = client.post("/api/idcard/scan", json={"kiosk": "K1", "number": number}).get_json()
    r = client.post("/api/idcard/tickets", json={"card": read["card"], "service": "SB"})
    assert r.status_code == 201
    assert (
        client.post("/api/m/tickets", json={"service": "YB", "phone": "13812345678"}).status_code
        == 201
    )
    db = hall.store.db()
    assert db.execute("SELECT id_key FROM citizen_ids").fetchone()[0]
    clock.advance(days=33)
    out = privacy.purge(hall)
    assert out["changed"]["citizen_ids.id_key"] == 1 and out["changed"]["remote_tickets.phone"] == 1
    assert db.execute("SELECT id_key, id_masked FROM citizen_ids").fetchone() == ("", "")
    assert db.execute("SELECT phone FROM remote_tickets").fetchone() == ("",)
    data = open(hall.store.path, "rb").read()
    assert b"13812345678" not in data and idnumber.mask(number).encode() not in data
