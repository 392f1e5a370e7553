"""SMS channels behind one interface: Channel.send(phone, text, msgid) raises SendError
on a failure (the outbox tries again later) and returns on success.

msgid is the outbox row's own message id, the same on every attempt. A channel is
`idempotent` when the gateway is given it (the http channel with {msgid} in its body,
URL or a header): a gateway that drops a message id it has already taken can then be
asked again safely when the hall does not know whether a send went through (a crash
between asking and recording the answer). Other channels (the modem, an http gateway
without {msgid}) are never asked twice for one message: such a message is `unknown`.

    none    no messages (the kiosk and /m do not ask for a phone number)
    http    a generic SMS gateway on the hall's network: URL, body template, signature
    modem   a GSM modem on a serial port: AT commands, PDU mode, UCS-2 (Chinese)
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from . import pdu

log = logging.getLogger(__name__)


MSGID = "{msgid}"


class SendError(Exception):
    pass


class Channel:
    name = "none"
    enabled = False
    idempotent = False  # the gateway is given msgid and drops one it has seen
    max_seconds = 0.0  # the longest one send may take (a row `sending` longer was left)

    def send(self, phone: str, text: str, msgid: str = "") -> None:
        raise SendError("no SMS channel configured")

    def close(self) -> None:
        pass


class HttpChannel(Channel):
    """POST the body template, with {phone} {text} {sign} {msgid} filled in, to the
    gateway ({msgid} may also be in the URL or a header's value)."""

    name = "http"
    enabled = True

    def __init__(self, cfg: dict):
        self.url = cfg["http_url"]
        self.body = cfg["http_body"]
        self.content_type = cfg["http_content_type"]
        self.headers = dict(cfg["http_headers"])
        self.success = cfg["http_success"]
        self.timeout = float(cfg["http_timeout"])
        self.max_seconds = self.timeout
        self.sign = cfg["signature"]
        self.idempotent = (
            MSGID in self.body
            or MSGID in self.url
            or any(MSGID in str(v) for v in self.headers.values())
        )

    def _fill(self, phone: str, text: str, msgid: str = "") -> bytes:
        if "json" in self.content_type:

            def esc(v):
                return json.dumps(v, ensure_ascii=False)[1:-1]
        elif "x-www-form-urlencoded" in self.content_type:

            def esc(v):
                return urllib.parse.quote_plus(v, encoding="utf-8")
        else:

            def esc(v):
                return v

        # {msgid} first: a text that happens to hold "{msgid}" stays as it is
        body = self.body.replace(MSGID, esc(msgid))
        for key, value in (("phone", phone), ("text", text), ("sign", self.sign)):
            body = body.replace("{" + key + "}", esc(value))
        return body.encode("utf-8")

    def send(self, phone: str, text: str, msgid: str = "") -> None:
        ctype = self.content_type
        if "charset" not in ctype:
            ctype += "; charset=utf-8"
        headers = {k: str(v).replace(MSGID, msgid) for k, v in self.headers.items()}
        req = urllib.request.Request(
            self.url.replace(MSGID, urllib.parse.quote(msgid, safe="")),
            data=self._fill(phone, text, msgid),
            method="POST",
            headers={"Content-Type": ctype, **headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = resp.read(65536).decode("utf-8", errors="replace")
        except urllib.error.HTTPError as e:
            raise SendError(f"网关返回{e.code} (gateway answered {e.code})") from None
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise SendError(
                f"网关无法连接 (gateway unreachable: {type(reason).__name__})"
            ) from None
        if self.success and self.success not in answer:
            raise SendError(f"网关拒绝 (gateway refused: {answer[:80]})")


class ModemChannel(Channel):
    """A GSM modem: ATE0, AT+CMGF=0 (PDU mode), then AT+CMGS=<length>, the PDU and
    Ctrl-Z for each part. One message at a time (a lock); the port stays open."""

    name = "modem"
    enabled = True
    PROMPT_SECONDS = 10.0
    SEND_SECONDS = 60.0
    # A message of up to four parts (67 characters each) at the longest waits.
    max_seconds = 4 * (PROMPT_SECONDS + SEND_SECONDS)

    def __init__(self, cfg: dict, serial=None):
        self.port = cfg["modem_port"]
        self.baudrate = cfg["modem_baudrate"]
        self._serial = serial
        self._ready = False
        self._lock = threading.Lock()

    def _open(self):
        if self._serial is None:
            import serial  # pyserial

            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.2, write_timeout=5)
            self._ready = False
        return self._serial

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:
                pass
        self._serial = None
        self._ready = False

    def _wait(self, ser, until: tuple[bytes, ...], seconds: float) -> bytes:
        """Read until one of `until` or ERROR appears; the text read."""
        buf = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            buf += ser.read(256)
            if any(u in buf for u in until):
                return buf
            if b"ERROR" in buf:
                tail = buf.decode("ascii", errors="replace").strip().splitlines()[-1:]
                raise SendError(f"调制解调器报错 (modem: {' '.join(tail)})")
        raise SendError("调制解调器无应答 (modem did not answer)")

    def _at(self, ser, cmd: str, until=(b"OK",), seconds=5.0) -> bytes:
        ser.write(cmd.encode("ascii") + b"\r")
        return self._wait(ser, until, seconds)

    def send(self, phone: str, text: str, msgid: str = "") -> None:
        with self._lock:
            try:
                ser = self._open()
                if not self._ready:
                    ser.reset_input_buffer()
                    self._at(ser, "AT")
                    self._at(ser, "ATE0")
                    self._at(ser, "AT+CMGF=0")
                    self._ready = True
                for length, hexpdu in pdu.encode(phone, text):
                    self._at(ser, f"AT+CMGS={length}", until=(b">",), seconds=self.PROMPT_SECONDS)
                    ser.write(hexpdu.encode("ascii") + b"\x1a")
                    self._wait(ser, (b"+CMGS:",), self.SEND_SECONDS)
            except SendError:
                self.close()
                raise
            except Exception as e:  # the port vanished, a USB modem re-plugged
                self.close()
                raise SendError(f"调制解调器端口错误 (modem port: {type(e).__name__})") from None


def make_channel(sms: dict) -> Channel:
    if sms["channel"] == "http":
        return HttpChannel(sms)
    if sms["channel"] == "modem":
        return ModemChannel(sms)
    return Channel()
