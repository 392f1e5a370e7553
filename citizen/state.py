"""The citizen face's state (hall.faces.state("citizen")): the SMS sender, the serial
ID-card readers the server watches itself, and the limiters of its public endpoints."""

from __future__ import annotations

import logging

from hall.ratelimit import RateLimiter

from . import cards
from .cardreader import CardReader, ReaderLoop
from .notify import Notifier

log = logging.getLogger(__name__)


class Citizen:
    def __init__(self, app, hall):
        self.hall = hall
        self.secret = app.config["SECRET_KEY"]
        self.notifier = Notifier(hall, threaded=not app.testing)
        exempt = hall.cfg.security["rate_limit_exempt"]
        self.scan_limiter = RateLimiter(30, 60.0, exempt)
        self.code_limiter = RateLimiter(3, 600.0, exempt)
        self.arrive_limiter = RateLimiter(10, 60.0, exempt)
        self.help_limiter = RateLimiter(6, 60.0, exempt)
        self.loops: list[ReaderLoop] = []
        for r in hall.cfg.arrays.get("card_readers", []):
            if r["kind"] == "serial":
                self.loops.append(self._watch(r))

    def _watch(self, r: dict) -> ReaderLoop:
        kiosk = r["kiosk"]

        def on_card(card):
            try:
                cards.read(self.hall, kiosk, card.number, self.secret, via="serial")
            except Exception as e:  # an invalid number on a card: say so, never the number
                log.warning("ID card at kiosk %s refused: %s", kiosk, type(e).__name__)

        loop = ReaderLoop(CardReader(r["port"], r["baudrate"]), on_card, name=kiosk)
        return loop.start()

    def stop(self) -> None:
        for loop in self.loops:
            loop.stop()
        self.notifier.stop()


def setup(app, hall) -> Citizen:
    return Citizen(app, hall)


def of(hall) -> Citizen:
    return hall.faces.state("citizen")


def subscriber(hall):
    def fn(event):
        state = of(hall)
        if state is not None:
            state.notifier.subscriber(event)

    return fn
