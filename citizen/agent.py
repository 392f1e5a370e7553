"""`python -m hall idcard-agent`: on a kiosk machine with a GA 467 reader, read each
card laid on it and report it to the hall server (POST /api/idcard/agent with the
hall's [idcard] agent_key). The kiosk's page then shows the card. The number is sent
once, to the hall's own server on the LAN, and never written anywhere here."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import urllib.error
import urllib.request

from .cardreader import CardReader, ReaderLoop

log = logging.getLogger(__name__)


def configure(parser) -> None:
    parser.add_argument("--port", required=True, help="serial port of the reader")
    parser.add_argument("--kiosk", required=True, help="this kiosk's id ([[kiosks]] id)")
    parser.add_argument("--server", default="http://127.0.0.1:5000", help="hall server URL")
    parser.add_argument("--baudrate", type=int, default=115200)
    parser.add_argument(
        "--key-env", default="HALL_AGENT_KEY", help="environment variable holding the agent key"
    )


def post_card(server: str, kiosk: str, key: str, number: str, timeout: float = 5.0) -> int:
    body = json.dumps({"kiosk": kiosk, "number": number}).encode()
    req = urllib.request.Request(
        server.rstrip("/") + "/api/idcard/agent",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Agent-Key": key},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def run(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    key = os.environ.get(args.key_env, "")
    if not key:
        print(f"set the agent key in ${args.key_env} (the hall's [idcard] agent_key)")
        return 2

    def on_card(card):
        try:
            status = post_card(args.server, args.kiosk, key, card.number)
        except OSError as e:
            log.warning("card not reported: %s", type(e).__name__)
            return
        log.info("card reported to the hall: %s", status)

    loop = ReaderLoop(CardReader(args.port, args.baudrate), on_card, name=args.kiosk).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    loop.stop()
    return 0
