"""A message whose send was interrupted (the process died between asking the channel and
recording its answer): with {msgid} in the http template the restarted sender asks the
gateway again with the same id, and a gateway that drops ids it has seen delivers it
once; without it (and for the modem) the message is `unknown`, never sent again, and
supervisors see it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.citizen.fakes import FakeModem

PHONE = "13812345678"
BODY_WITH_ID = '{"mobile": "{phone}", "content": "{text}", "out_id": "{msgid}"}'


class DedupGateway:
    """A gateway that takes a client message id (body `out_id`) and sends each id once:
    a repeated id is answered OK and not sent again. `delivered` is what phones got."""

    def __init__(self):
        self.requests: list[dict] = []
        self.delivered: list[tuple[str, str]] = []
        self.seen: set[str] = set()
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                query = parse_qs(urlparse(self.path).query)
                gw.requests.append(
                    {"body": body, "query": query, "header": self.headers.get("X-Msg-Id")}
                )
                msgid = body.get("out_id")
                if not msgid or msgid not in gw.seen:
                    gw.seen.add(msgid)
                    gw.delivered.append((body["mobile"], body["content"]))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"code": "OK"}')

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def gw():
    g = DedupGateway()
    yield g
    g.close()


class Crash(BaseException):
    """The process dies (not an Exception: nothing on the way catches it)."""


def crash(*a, **kw):
    raise Crash


def settings(gw, body=None, **sms):
    out = {"channel": "http", "http_url": gw.url, "http_success": "OK", "ahead": 3, **sms}
    if body:
        out["http_body"] = body
    return {"sms": out}


def notifier(app):
    return app.extensions["hall"].faces.state("citizen").notifier


def outbox(app) -> list[dict]:
    return list(app.extensions["hall"].store.db().query("SELECT * FROM sms_outbox ORDER BY id"))


def restart(make_app, app, conf):
    """The same database under a new app: a new sender, as after a restart."""
    return make_app(conf, DATABASE=app.extensions["hall"].store.path)


def test_with_msgid_an_interrupted_send_is_asked_again_and_delivered_once(
    make_app, gw, clock, staff_of
):
    conf = settings(
        gw,
        BODY_WITH_ID,
        http_url=gw.url + "?id={msgid}",
        http_headers={"X-Msg-Id": "{msgid}"},
    )
    app = make_app(conf)
    assert notifier(app).channel.idempotent
    client = app.test_client()
    assert client.post("/api/tickets", json={"service": "SB", "phone": PHONE}).status_code == 201
    # the gateway takes the message, the process dies before it records the answer
    notifier(app)._done = crash
    with pytest.raises(Crash):
        notifier(app).run_once()
    assert len(gw.delivered) == 1
    (row,) = outbox(app)
    assert row["status"] == "sending" and len(row["msgid"]) == 16
    first = gw.requests[0]
    assert first["body"]["out_id"] == row["msgid"]
    assert first["query"]["id"] == [row["msgid"]] and first["header"] == row["msgid"]

    again = restart(make_app, app, conf)
    sender = notifier(again)
    sender.run_once()  # within the lease the send may still be under way: left alone
    assert len(gw.requests) == 1 and outbox(again)[0]["status"] == "sending"
    clock.advance(seconds=sender.lease_seconds + 1)
    sender.run_once()
    (row,) = outbox(again)
    assert row["status"] == "sent" and row["attempts"] == 2
    # asked twice with the same id; the citizen got it once
    assert [r["body"]["out_id"] for r in gw.requests] == [row["msgid"]] * 2
    assert gw.delivered == [(PHONE, gw.delivered[0][1])]
    assert "前面还有0人" in gw.delivered[0][1]
    sup = staff_of(again, "sup", "supervisor").get("/api/sms").get_json()
    assert sup["counts"]["sent"] == 1 and sup["counts"]["unknown"] == 0

    # died after claiming, before asking: the gateway never saw it; sent after restart
    client = again.test_client()
    client.post("/api/tickets", json={"service": "YB", "phone": "13900000001"})
    sender.channel.send = crash
    with pytest.raises(Crash):
        sender.run_once()
    assert len(gw.requests) == 2
    third = restart(make_app, again, conf)
    clock.advance(seconds=notifier(third).lease_seconds + 1)
    notifier(third).run_once()
    assert [p for p, _ in gw.delivered] == [PHONE, "13900000001"]
    assert [r["status"] for r in outbox(third)] == ["sent", "sent"]


def test_without_msgid_an_interrupted_send_is_unknown_and_shown(make_app, gw, clock, staff_of):
    conf = settings(gw)  # the default body: no {msgid}
    app = make_app(conf)
    assert not notifier(app).channel.idempotent
    client = app.test_client()
    t = client.post("/api/tickets", json={"service": "SB", "phone": PHONE}).get_json()
    notifier(app)._done = crash
    with pytest.raises(Crash):
        notifier(app).run_once()
    assert len(gw.requests) == 1

    again = restart(make_app, app, conf)
    hall = again.extensions["hall"]
    seen = []
    hall.bus.subscribe(lambda e: seen.append(e) if e.NAME == "sms_failed" else None)
    clock.advance(seconds=notifier(again).lease_seconds + 1)
    for _ in range(3):
        notifier(again).run_once()
        clock.advance(seconds=700)
    assert len(gw.requests) == 1  # never asked twice
    (row,) = outbox(again)
    assert row["status"] == "unknown"
    assert "不知是否送达" in row["last_error"]
    assert [(e.outcome, e.number) for e in seen] == [("unknown", t["number"])]
    report = staff_of(again, "sup", "supervisor").get("/api/sms").get_json()
    assert report["counts"]["unknown"] == 1
    (problem,) = report["problems"]
    assert problem["status"] == "unknown" and problem["phone"] == "138****5678"
    assert problem["number"] == t["number"] and "不知是否送达" in problem["error"]


def test_modem_interrupted_send_is_unknown(make_app, clock):
    modem = FakeModem().start()
    try:
        conf = {"sms": {"channel": "modem", "modem_port": modem.path, "ahead": 3}}
        app = make_app(conf)
        app.test_client().post("/api/tickets", json={"service": "SB", "phone": PHONE})
        notifier(app)._done = crash
        with pytest.raises(Crash):
            notifier(app).run_once()
        assert len(modem.texts()) == 1
        notifier(app).channel.close()
        again = restart(make_app, app, conf)
        clock.advance(seconds=notifier(again).lease_seconds + 1)
        notifier(again).run_once()
        assert len(modem.texts()) == 1
        assert outbox(again)[0]["status"] == "unknown"
    finally:
        modem.close()
