"""Reading ID cards from a GA 467 module on a serial port (pyserial), and the loop that
watches a reader and hands each new card over.

The loop polls `find card` a few times a second. A card is read once while it lies on
the reader: the same card again only after it was lifted (a `find` that fails) or after
`repeat_seconds`. Whoever runs the loop (the server for a reader on its own port, the
local agent `python -m hall idcard-agent` on a kiosk machine) gets a CardText and must
turn it into the keyed hash and the masked number at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from . import ga467

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3


class CardReader:
    """One GA 467 module on a serial port."""

    def __init__(self, port: str, baudrate: int = 115200, timeout: float = 2.0, serial=None):
        self.port_name = port
        self.baudrate = baudrate
        self.timeout = timeout
        self._serial = serial

    def open(self):
        if self._serial is None:
            import serial  # pyserial

            self._serial = serial.Serial(
                self.port_name, self.baudrate, timeout=self.timeout, write_timeout=self.timeout
            )
        return self

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None

    def _ask(self, cmd, data: bytes = b"") -> bytes:
        self.open()
        self._serial.reset_input_buffer()
        self._serial.write(ga467.command(cmd, data))
        self._serial.flush()
        return ga467.read_frame(self._serial.read)

    def find(self) -> bool:
        sw = self._ask(ga467.FIND)[2]
        return sw == ga467.SW_FOUND

    def select(self) -> bool:
        return self._ask(ga467.SELECT)[2] == ga467.SW_OK

    def read_basic(self) -> ga467.CardText:
        payload = self._ask(ga467.READ_BASIC)
        if payload[2] != ga467.SW_OK:
            raise ga467.ProtocolError(f"read failed (status {payload[2]:02X})")
        return ga467.parse_basic(payload)

    def read_card(self) -> ga467.CardText | None:
        """find, select, read: the card on the reader, or None when there is none."""
        if not self.find():
            return None
        if not self.select():
            return None
        return self.read_basic()


class ReaderLoop:
    """Watch a reader in a thread; on_card(CardText) for each card laid on it."""

    def __init__(
        self,
        reader: CardReader,
        on_card: Callable[[ga467.CardText], None],
        repeat_seconds: float = 30.0,
        name: str = "idcard",
    ):
        self.reader = reader
        self.on_card = on_card
        self.repeat_seconds = repeat_seconds
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[str, float] | None = None
        self.reads = 0
        self.errors = 0

    def start(self) -> ReaderLoop:
        self._thread = threading.Thread(target=self.run, name=f"reader-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.reader.close()

    def poll_once(self) -> bool:
        """One poll: True when a new card was handed over."""
        card = self.reader.read_card()
        if card is None:
            self._last = None  # lifted: the same card may be read again
            return False
        now = time.monotonic()
        if (
            self._last
            and self._last[0] == card.number
            and now - self._last[1] < self.repeat_seconds
        ):
            return False
        self._last = (card.number, now)
        self.reads += 1
        self.on_card(card)
        return True

    def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except Exception as e:  # a reader unplugged, a garbled frame: keep trying
                self.errors += 1
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("ID card reader %s: %s", self.name, type(e).__name__)
                self.reader.close()
                self._stop.wait(min(5.0, POLL_SECONDS * failures))
                continue
            self._stop.wait(POLL_SECONDS)
