"""Fake devices on pseudo-terminals: a GA 467 ID-card module and a GSM modem, each
answering on the master side of os.openpty() like the real thing, so the hall's code
opens the slave side with pyserial as it would open /dev/ttyUSB0."""

from __future__ import annotations

import os
import threading
import tty

from citizen import ga467
from hall import idnumber


def card(number17: str, name: str = "张三", birth: str | None = None, **extra) -> dict:
    """A card's fields with a valid ID number made from 17 digits."""
    number = idnumber.make(number17)
    return {
        "name": name,
        "sex": "1",
        "ethnicity": "01",
        "birth": birth or number[6:14],
        "address": "安徽省铜陵市枞阳县枞阳镇达观路1号",
        "number": number,
        "authority": "枞阳县公安局",
        "valid_from": "20200101",
        "valid_to": "20400101",
        **extra,
    }


class PtyDevice:
    """A pty pair; `path` is the slave's device name for pyserial. Subclasses answer()."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = os.read(self.master, n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def _run(self):
        try:
            self.serve()
        except (OSError, EOFError, TimeoutError):
            pass

    def close(self):
        self._stop.set()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class FakeIdModule(PtyDevice):
    """A GA 467 security module with an optional card on it."""

    def __init__(self):
        super().__init__()
        self.card: dict | None = None
        self.commands: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def put(self, fields: dict | None) -> None:
        with self.lock:
            self.card = fields

    def lift(self) -> None:
        self.put(None)

    def serve(self):
        while not self._stop.is_set():
            payload = ga467.read_frame(self.read)
            cmd = (payload[0], payload[1])
            self.commands.append(cmd)
            with self.lock:
                present = self.card
            if cmd == ga467.FIND:
                self.write(ga467.answer(ga467.SW_FOUND if present else ga467.SW_NO_CARD))
            elif cmd == ga467.SELECT:
                self.write(ga467.answer(ga467.SW_OK if present else ga467.SW_SELECT_FAILED))
            elif cmd == ga467.READ_BASIC:
                if not present:
                    self.write(ga467.answer(0x41))  # read failed
                    continue
                text = ga467.build_text(**present)
                photo = bytes(range(256)) * 4  # a WLT photo the hall ignores
                lengths = bytes([0x01, 0x00, 0x04, 0x00])
                self.write(ga467.answer(ga467.SW_OK, lengths + text + photo))
            else:
                self.write(ga467.answer(0x21))  # unknown command


class FakeModem(PtyDevice):
    """A GSM modem: answers AT commands; AT+CMGS=<n> gets the `> ` prompt, then the PDU
    up to Ctrl-Z is kept in `pdus` and answered +CMGS: <ref> OK (or ERROR when
    `fail` is set)."""

    def __init__(self):
        super().__init__()
        self.pdus: list[str] = []
        self.commands: list[str] = []
        self.fail = False
        self.echo = True

    def serve(self):
        from citizen import pdu as pdu_mod

        buf = b""
        ref = 0
        while not self._stop.is_set():
            buf += os.read(self.master, 1024)
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                cmd = line.strip().decode("ascii", errors="replace")
                if not cmd:
                    continue
                self.commands.append(cmd)
                if self.echo:
                    self.write(line + b"\r")
                if cmd == "ATE0":
                    self.echo = False
                if cmd.startswith("AT+CMGS="):
                    self.write(b"\r\n> ")
                    while b"\x1a" not in buf:
                        buf += os.read(self.master, 1024)
                    body, buf = buf.split(b"\x1a", 1)
                    if self.fail:
                        self.write(b"\r\n+CMS ERROR: 38\r\n")
                        continue
                    hexpdu = body.decode("ascii").strip()
                    pdu_mod.decode(hexpdu)  # must parse
                    self.pdus.append(hexpdu)
                    ref += 1
                    self.write(f"\r\n+CMGS: {ref}\r\n\r\nOK\r\n".encode())
                elif cmd.startswith("AT"):
                    self.write(b"\r\nOK\r\n")

    def texts(self) -> list[tuple[str, str]]:
        """(phone, text) of every message, concatenated parts joined."""
        from citizen import pdu as pdu_mod

        out, parts = [], {}
        for p in self.pdus:
            d = pdu_mod.decode(p)
            if d["parts"] == 1:
                out.append((d["phone"], d["text"]))
                continue
            parts.setdefault(d["ref"], {})[d["part"]] = d
            if len(parts[d["ref"]]) == d["parts"]:
                got = parts.pop(d["ref"])
                out.append((d["phone"], "".join(got[k]["text"] for k in sorted(got))))
        return out
