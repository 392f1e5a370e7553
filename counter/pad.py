"""The 评价器 (rating pad) facing the citizen at each window.

The pad is a public, anonymous tablet. It never holds a ticket token: it reaches the
ticket through its window. Guards, all checked on the server:

- only the ticket most recently finished at that window (ticket_events 'finished');
- only within ratings.pad_timeout_seconds after it was finished;
- only once (no rating row yet; the engine enforces one rating per ticket in its
  transaction, so two taps racing each other cannot both count);
- optionally only from the pad's own address (counter.pad_addresses).

When the timeout passes with no rating, the ticket is recorded as unrated (score None,
channel "timeout"): never defaulted to good. A server-side timer does it (PadTimer),
and every pad request sweeps too, so a restart or a lost timer only delays it.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
import weakref
from datetime import timedelta

from hall import events as ev
from hall.clock import from_iso, to_iso
from hall.errors import Conflict
from hall.realtime import Message
from hall.vocabulary import BAD_SCORES, SCORES_CN

log = logging.getLogger(__name__)

PAD = "/pad"
SCORES = SCORES_CN
BAD = BAD_SCORES  # 差评: a reason is required


def room_of(window: int) -> str:
    return f"pad:{window}"


def timeout_seconds(hall) -> int:
    return max(1, int(hall.cfg.ratings["pad_timeout_seconds"]))


def last_finished(db, window: int) -> dict | None:
    """The ticket most recently finished at this window (from the append-only log)."""
    rows = list(
        db.query(
            "SELECT t.*, e.at AS finished_event_at FROM ticket_events e JOIN tickets t "
            "ON t.id = e.ticket_id WHERE e.kind = 'finished' AND e.window = ? "
            "ORDER BY e.id DESC LIMIT 1",
            [window],
        )
    )
    return rows[0] if rows else None


def pending(hall, db, window: int) -> dict | None:
    """The ticket the pad at this window may rate now, with its deadline; else None."""
    t = last_finished(db, window)
    if t is None or t["status"] != "done":
        return None
    if list(db.query("SELECT 1 FROM ratings WHERE ticket_id = ?", [t["id"]])):
        return None
    finished = from_iso(t["finished_event_at"])
    expires = finished + timedelta(seconds=timeout_seconds(hall))
    now = hall.clock.now()
    if now >= expires:
        return None
    return {"ticket": t, "finished_at": finished, "expires_at": expires, "now": now}


def pad_state(hall, window: int) -> dict | None:
    """Everything the pad shows. No token, no citizen data: a number and a service."""
    db = hall.store.db()
    read = hall.engine.read
    w = read.window(db, window)
    if w is None or not w["active"]:
        return None
    staff_no = ""
    if w["clerk"] and w["state"] != "closed":
        rows = list(db.query("SELECT staff_no FROM users WHERE username = ?", [w["clerk"]]))
        staff_no = (rows[0]["staff_no"] or "") if rows else ""
    p = pending(hall, db, window)
    prompt = None
    if p:
        t = p["ticket"]
        svc = read.service(db, t["service"])
        remaining = max(0, (p["expires_at"] - p["now"]).total_seconds())
        prompt = {
            "ticket_id": t["id"],
            "number": t["number"],
            "service_name": svc["name"] if svc else t["service"],
            "finished_at": read.local_iso(to_iso(p["finished_at"])),
            "expires_at": read.local_iso(to_iso(p["expires_at"])),
            "remaining_seconds": round(remaining, 1),
        }
    return {
        "window": w["number"],
        "window_name": w["name"],
        "state": w["state"],
        "pause_reason": w["pause_reason"] or "",
        "staff_no": staff_no,
        "signed_in": bool(w["clerk"]) and w["state"] != "closed",
        "prompt": prompt,
        "reasons": list(hall.cfg.ratings["reasons"]),
        "timeout_seconds": timeout_seconds(hall),
        "now": read.local_iso(hall.now_iso()),
    }


def rate_at_pad(hall, window: int, score: int, reasons, comment: str, ticket_id=None) -> dict:
    db = hall.store.db()
    p = pending(hall, db, window)
    if p is None:
        raise Conflict("当前没有待评价的服务，或评价已超时 (nothing to rate at this window now)")
    t = p["ticket"]
    if ticket_id is not None and ticket_id != t["id"]:
        raise Conflict("评价已过期，请重新评价 (the pad showed another ticket)")
    return hall.engine.rate(t["id"], score, reasons, comment, channel="pad")


SWEEP_DAYS = 2  # how far back a sweep looks (after a restart or downtime)


def sweep(hall, limit: int = 200) -> list[int]:
    """Record as unrated every finished ticket whose pad time is over and nobody rated."""
    db = hall.store.db()
    now = hall.clock.now()
    cutoff = to_iso(now - timedelta(seconds=timeout_seconds(hall)))
    since = to_iso(now - timedelta(days=SWEEP_DAYS))
    ids = [
        r["id"]
        for r in db.query(
            "SELECT t.id FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id "
            "WHERE t.status = 'done' AND t.window IS NOT NULL AND r.id IS NULL "
            "AND t.finished_at <= ? AND t.finished_at >= ? ORDER BY t.finished_at LIMIT ?",
            [cutoff, since, limit],
        )
    ]
    done = []
    for ticket_id in ids:
        try:
            hall.engine.rate(ticket_id, None, channel="timeout")
            done.append(ticket_id)
        except Conflict:
            pass  # rated (or recorded) meanwhile
    return done


class PadTimer:
    """One daemon thread per hall that sweeps when a pad's time runs out.

    It holds the hall weakly: when a (test) app goes away, the thread ends.
    """

    MARGIN = 0.3  # seconds after the deadline, so the sweep finds it due

    def __init__(self, hall):
        self._hall = weakref.ref(hall)
        self._heap: list[float] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, seconds: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, time.monotonic() + seconds + self.MARGIN)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pad-timer", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._heap:
                        self._thread = None
                        return
                    wait = self._heap[0] - time.monotonic()
                    if wait <= 0:
                        while self._heap and self._heap[0] <= time.monotonic():
                            heapq.heappop(self._heap)
                        break
                    self._cond.wait(min(wait, 5.0))
            hall = self._hall()
            if hall is None:
                return
            try:
                sweep(hall)
            except Exception:
                log.exception("pad timeout sweep failed")
            del hall


def schedule_sweeps(hall):
    """Event-bus subscriber: when a ticket is finished, sweep once its pad time is over
    (so a pad nobody touches records the ticket as unrated)."""
    timer = PadTimer(hall)

    def handle(event: ev.Event) -> None:
        if isinstance(event, ev.TicketFinished):
            timer.schedule(timeout_seconds(hall))

    return handle


def routes(hall):
    """Broadcaster route: the rating prompt (and its end) to the window's pad, as a
    state (the pad shows the latest one)."""

    def messages(event: ev.Event) -> list[Message]:
        window = None
        if isinstance(event, (ev.TicketFinished, ev.TicketRated)):
            window = event.window
        elif isinstance(event, ev.WindowChanged):
            window = event.number
        if not window:
            return []
        return [
            Message(
                PAD,
                "state",
                lambda: pad_state(hall, window),
                to=room_of(window),
                key=("pad", window),
            )
        ]

    return messages
