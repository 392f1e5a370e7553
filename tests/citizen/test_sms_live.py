"""On the production server (python -m hall serve): a gateway that hangs holds the
sender thread, never a clerk's call; once it answers, the queued messages go out."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.citizen.conftest import wait_for
from tests.conftest import LiveServer
from tests.counter.conftest import add_staff


class HangingGateway:
    def __init__(self):
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.texts: list[str] = []
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gw.arrived.set()
                gw.release.wait(60)
                gw.texts.append(body["content"])
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_hanging_gateway_never_blocks_a_call(tmp_path):
    gw = HangingGateway()
    server = LiveServer(
        tmp_path,
        settings={
            "sms": {
                "channel": "http",
                "http_url": gw.url,
                "http_timeout": 60.0,
                "signature": "",
                "ahead": 0,
                "poll_seconds": 0.5,
            }
        },
    ).start()
    try:
        add_staff(server, "clerk1")
        kiosk = server.session()
        r = kiosk.post(server.url + "/api/tickets", json={"service": "SB", "phone": "13812345678"})
        assert r.status_code == 201 and r.json()["sms"] is True
        assert gw.arrived.wait(30)  # the 即将到号 is being sent; the gateway holds it
        clerk = server.session("clerk1")
        assert clerk.post(server.url + "/api/windows/1/open").status_code == 200
        called = clerk.post(server.url + "/api/windows/1/call-next", timeout=20)
        assert called.status_code == 200 and called.json()["ticket"]["number"] == "B001"
        assert not gw.release.is_set() and gw.texts == []  # answered while the send hung
        gw.release.set()
        wait_for(lambda: len(gw.texts) == 2, timeout=30, what="both messages")
        assert gw.texts[1] == "请B001号到1号窗口办理（1号综办窗口）。"
    finally:
        gw.release.set()
        server.stop()
        gw.server.shutdown()
