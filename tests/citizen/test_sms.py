"""即将到号 messages through a fake HTTP gateway and a fake GSM modem on a pty: exactly
one 即将到号 and one called message per ticket, the right Chinese text, none after a
cancel or a transfer, and an outage that delays but loses nothing."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from citizen import pdu
from tests.citizen.fakes import FakeModem

PHONE = "13812345678"
SIGN = "【测试大厅】"


class Gateway:
    """A fake SMS gateway: records each POST; `down` answers 503."""

    def __init__(self):
        self.messages: list[dict] = []
        self.down = False
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if gw.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                gw.messages.append(
                    {"body": json.loads(body.decode("utf-8")), "type": self.headers["Content-Type"]}
                )
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"code": "OK"}')

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self):
        return [(m["body"]["mobile"], m["body"]["content"]) for m in self.messages]

    def close(self):
        self.server.shutdown()


@pytest.fixture
def gateway():
    gw = Gateway()
    yield gw
    gw.close()


def http_app(make_app, gateway):
    return make_app(
        {
            "sms": {
                "channel": "http",
                "http_url": gateway.url,
                "http_success": "OK",
                "signature": SIGN,
                "ahead": 1,
                "retry_seconds": 30,
            }
        }
    )


def sender(app):
    return app.extensions["hall"].faces.state("citizen").notifier


def take(client, service="SB", phone=PHONE):
    r = client.post(
        "/api/tickets", json={"service": service, **({"phone": phone} if phone else {})}
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_one_ahead_and_one_called_message_per_ticket(make_app, gateway, clerk_at_app):
    app = http_app(make_app, gateway)
    client = app.test_client()
    take(client, phone=None)  # B001
    take(client, phone=None)  # B002
    mine = take(client)  # B003, 2 ahead
    assert mine["sms"] is True
    notifier = sender(app)
    notifier.run_once()
    assert gateway.texts() == []  # 2 ahead > 1
    clerk = clerk_at_app(app, 1)
    clerk.post("/api/windows/1/call-next")  # B001
    notifier.run_once()
    assert gateway.texts() == [
        (PHONE, f"{SIGN}您的排队号B003（社会保险）前面还有1人，请回到大厅留意叫号。")
    ]
    # nothing twice: more passes, more events
    notifier.run_once()
    clerk.post(f"/api/tickets/{1}/finish")
    clerk.post("/api/windows/1/call-next")  # B002: 0 ahead now
    notifier.run_once()
    assert len(gateway.texts()) == 1
    clerk.post("/api/tickets/2/finish")
    called = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert called["number"] == "B003"
    clerk.post(f"/api/tickets/{called['id']}/recall")  # 重呼: no second message
    notifier.run_once()
    notifier.run_once()
    assert gateway.texts()[1:] == [(PHONE, f"{SIGN}请B003号到1号窗口办理（1号综办窗口）。")]
    assert gateway.messages[0]["type"].startswith("application/json")
    assert notifier.report()["counts"]["sent"] == 2


def test_none_after_cancel_or_transfer(make_app, gateway, clerk_at_app, staff_of):
    app = http_app(make_app, gateway)
    client = app.test_client()
    moved = take(client, "YB", phone="13900000002")  # C001: 0 ahead
    take(client, phone=None)  # B001
    gone = take(client, phone="13900000001")  # B002: 1 ahead -> would be told
    sup = staff_of(app, "sup", "supervisor")
    assert sup.post(f"/api/tickets/{gone['id']}/cancel").status_code == 200
    # C001 is called and transferred before the sender ran: its called message is
    # dropped (it was moved away), and so is its 即将到号
    clerk = clerk_at_app(app, 3)
    t = clerk.post("/api/windows/3/call-next").get_json()["ticket"]
    assert t["number"] == moved["number"] == "C001"
    assert (
        clerk.post(f"/api/tickets/{t['id']}/transfer", json={"service": "GJJ"}).status_code == 200
    )
    sender(app).run_once()
    assert gateway.texts() == []
    clerk4 = clerk_at_app(app, 1)
    clerk4.post("/api/windows/1/call-next")
    sender(app).run_once()
    assert gateway.texts() == []
    report = sender(app).report()
    assert report["counts"]["sent"] == 0


def test_a_gateway_outage_delays_but_loses_nothing(make_app, gateway, clock, clerk_at_app):
    app = http_app(make_app, gateway)
    hall = app.extensions["hall"]
    failures = []
    hall.bus.subscribe(lambda e: failures.append(e) if e.NAME == "sms_failed" else None)
    client = app.test_client()
    mine = take(client)  # B001, 0 ahead: 即将到号 due at once
    gateway.down = True
    notifier = sender(app)
    assert notifier.run_once()["failed"] == 1
    assert failures and failures[0].number == mine["number"]
    report = notifier.report()
    assert (
        report["problems"][0]["phone"] == "138****5678" and "503" in report["problems"][0]["error"]
    )
    clerk = clerk_at_app(app, 1)
    clerk.post("/api/windows/1/call-next")
    notifier.run_once()  # the called message is not due before... it is new: tried, fails
    assert gateway.texts() == []
    gateway.down = False
    notifier.run_once()  # the retries are not due yet
    assert gateway.texts() == []
    clock.advance(seconds=70)
    notifier.run_once()
    texts = [t for _, t in gateway.texts()]
    # the 即将到号 was overtaken by the call: dropped; the called message is delivered
    assert texts == [f"{SIGN}请B001号到1号窗口办理（1号综办窗口）。"]
    sup_report = notifier.report()
    assert sup_report["counts"]["sent"] == 1 and sup_report["counts"]["pending"] == 0


def test_outage_of_a_waiting_ticket_is_retried(make_app, gateway, clock):
    app = http_app(make_app, gateway)
    take(app.test_client())
    gateway.down = True
    notifier = sender(app)
    notifier.run_once()
    gateway.down = False
    clock.advance(seconds=31)
    notifier.run_once()
    assert [p for p, _ in gateway.texts()] == [PHONE]
    clock.advance(seconds=600)
    notifier.run_once()
    assert len(gateway.texts()) == 1


def test_modem_sends_pdu_ucs2(make_app, clerk_at_app):
    modem = FakeModem().start()
    try:
        app = make_app(
            {"sms": {"channel": "modem", "modem_port": modem.path, "signature": SIGN, "ahead": 0}}
        )
        client = app.test_client()
        take(client)
        notifier = sender(app)
        notifier.run_once()
        assert modem.texts() == [
            ("86" + PHONE, f"{SIGN}您的排队号B001（社会保险）前面还有0人，请回到大厅留意叫号。")
        ]
        assert "AT+CMGF=0" in modem.commands and "ATE0" in modem.commands
        clerk_at_app(app, 1).post("/api/windows/1/call-next")
        notifier.run_once()
        notifier.run_once()
        assert [t for _, t in modem.texts()][1:] == [
            f"{SIGN}请B001号到1号窗口办理（1号综办窗口）。"
        ]
        modem.fail = True
        take(client, "YB", phone="13700000000")
        assert notifier.run_once()["failed"] == 1
        modem.fail = False
    finally:
        modem.close()


def test_long_text_is_split_and_joined():
    text = "请" * 100 + "。"
    parts = pdu.encode(PHONE, text, ref=7)
    assert len(parts) == 2
    assert "".join(pdu.decode(p)["text"] for _, p in parts) == text
    for length, p in parts:
        assert length == len(p) // 2 - 1  # AT+CMGS counts the TPDU without the SMSC


def test_leaving_a_phone_after_the_ticket(make_app, gateway):
    app = http_app(make_app, gateway)
    client = app.test_client()
    t = take(client, phone=None)
    r = client.post("/api/sms/subscribe", json={"token": t["token"], "phone": "12345"})
    assert r.status_code == 400 and "手机号码" in r.get_json()["error"]
    r = client.post("/api/sms/subscribe", json={"token": t["token"], "phone": "139 0000 1111"})
    assert r.status_code == 200 and r.get_json()["phone"] == "139****1111"
    sender(app).run_once()
    assert [p for p, _ in gateway.texts()] == ["13900001111"]


def test_no_channel_no_phone(make_app):
    app = make_app()
    client = app.test_client()
    t = take(client)
    assert t["sms"] is False
    r = client.post("/api/sms/subscribe", json={"token": t["token"], "phone": PHONE})
    assert r.status_code == 409 and "未开通短信提醒" in r.get_json()["error"]


def test_phone_page_offers_and_takes_a_number(make_app, gateway):
    app = http_app(make_app, gateway)
    client = app.test_client()
    t = take(client, phone=None)
    page = client.get(f"/t/{t['token']}").get_data(as_text=True)
    assert 'id="p-sms-btn"' in page and 'action="/m/notify"' in page
    r = client.post("/m/notify", data={"ticket": t["token"], "phone": "123"})
    assert r.status_code == 400 and "11位手机号码" in r.get_data(as_text=True)
    r = client.post("/m/notify", data={"ticket": t["token"], "phone": "13900001111"})
    assert r.status_code == 200 and "139****1111" in r.get_data(as_text=True)
    sender(app).run_once()
    assert [p for p, _ in gateway.texts()] == ["13900001111"]
    # without a channel the phone page offers nothing
    plain = make_app()
    t2 = plain.test_client().post("/api/tickets", json={"service": "SB"}).get_json()
    assert "p-sms-btn" not in plain.test_client().get(f"/t/{t2['token']}").get_data(as_text=True)
