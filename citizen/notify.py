"""即将到号 messages: a phone number left for a ticket gets one message when [sms] ahead
people or fewer are before it, and one when it is called (with the window).

Nothing here runs in a request. The bus subscriber only wakes the sender thread; the
sender reads the ticket_events log from its cursor (so a restart or a missed wake-up
loses nothing), queues messages in sms_outbox (one row per ticket and kind, a unique
key: nothing is queued twice) and sends what is due through the channel, outside any
transaction. A failed send is tried again after retry_seconds, doubling up to ten
minutes, until the hall day ends; each failure is an SmsFailed event (supervisors see
it) and GET /api/sms lists them. A ticket finished, cancelled or transferred away stops
its subscription: what is still queued for it is dropped, and the check is repeated
just before each send.

A row is marked `sending` before the channel is asked and `sent` after. A row still
`sending` after the longest a send can take (lease_seconds) was left by a crash between
asking the channel and recording its answer: whether the citizen got it is not known.
When the channel gives the gateway the row's own message id (an http template with
{msgid}: the same id on every attempt, so a gateway that drops ids it has seen sends it
at most once), it is asked again: an outage or a crash delays it, loses nothing, sends
nothing twice. Otherwise (the modem, an http template without {msgid}) it is never asked
again: the row becomes `unknown`, an SmsFailed event (outcome "unknown") and a line of
GET /api/sms tell supervisors, who can check with the citizen or the gateway's records.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from datetime import timedelta

from hall import events as ev
from hall.clock import to_iso

from .channels import SendError, make_channel
from .events import SmsFailed

log = logging.getLogger(__name__)

PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
STOP_KINDS = {"finished": "办结", "cancelled": "取消", "transferred": "转办"}
MAX_BACKOFF = 600
LEASE_SECONDS = 120  # a row `sending` longer than this (or the channel's longest send
# and a minute) was left by a crash
INTERRUPTED_RETRY = (
    "发送中断，以同一消息编号重发 (interrupted while sending: asked again, same msgid)"
)
INTERRUPTED_UNKNOWN = "发送中断，不知是否送达，未重发，请核实 (interrupted while sending: outcome unknown, not resent)"
PHONE_INVALID = "请填写正确的11位手机号码 (phone must be a mainland mobile number)"


def normalize_phone(raw) -> str | None:
    if not isinstance(raw, str):
        return None
    phone = raw.strip().replace(" ", "").replace("-", "")
    return phone if PHONE_RE.fullmatch(phone) else None


def new_msgid() -> str:
    """A message's own id for the gateway: 16 hex digits, random (ids restarting with a
    restored database could collide with ones the gateway has seen)."""
    return secrets.token_hex(8)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else "****"


class Notifier:
    def __init__(self, hall, threaded: bool):
        self.hall = hall
        self.cfg = hall.cfg.sms
        self.channel = make_channel(self.cfg)
        self.threaded = threaded and self.channel.enabled
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one pass at a time in this process
        if self.enabled:
            self._start_cursor()

    def _start_cursor(self) -> None:
        """On the first start with a channel, what the log holds already is not news.
        Later starts keep the cursor (an aggregate SELECT gives its one row even when a
        WHERE leaves nothing to aggregate, hence OR IGNORE, not NOT EXISTS)."""

        def run(db, out):
            db.execute(
                "INSERT OR IGNORE INTO sms_cursor (name, last_event) "
                "SELECT 'sms', COALESCE(MAX(id), 0) FROM ticket_events"
            )

        self.hall.engine.write(run)

    @property
    def enabled(self) -> bool:
        return self.channel.enabled

    @property
    def lease_seconds(self) -> float:
        return max(LEASE_SECONDS, self.channel.max_seconds + 60)

    # --- subscribing ------------------------------------------------------------------
    def subscribe(self, db, ticket: dict, phone: str, origin: str) -> None:
        """Inside a transaction (the issue's, or its own): leave `phone` for `ticket`."""
        db.execute(
            "INSERT INTO sms_subscriptions (ticket_id, day, phone, origin, state, created_at) "
            "VALUES (?, ?, ?, ?, 'active', ?) ON CONFLICT (ticket_id) DO UPDATE SET "
            "phone = excluded.phone WHERE state = 'active'",
            [ticket["id"], ticket["day"], phone, origin, self.hall.now_iso()],
        )

    def subscribe_ticket(self, ticket_id: int, phone: str, origin: str) -> dict:
        """A phone number left after the ticket was taken (kiosk numpad, phone page)."""
        from hall.errors import Conflict, NotFound

        def run(db, out):
            t = self.hall.engine.read.ticket(db, ticket_id)
            if t is None:
                raise NotFound("没有这张票 (no such ticket)")
            if t["status"] not in ("waiting", "no_show"):
                raise Conflict("该号已叫号或已结束，无需提醒 (ticket is no longer waiting)")
            self.subscribe(db, t, phone, origin)
            return t

        t = self.hall.engine.write(run)
        self.wake()
        return t

    # --- the sender thread ------------------------------------------------------------
    def subscriber(self, event) -> None:
        if isinstance(event, ev.TicketEvent):
            self.wake()

    def wake(self) -> None:
        if self.threaded:
            self._ensure_thread()
            self._wake.set()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="sms", daemon=True)
                    self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.cfg["poll_seconds"])
            self._wake.clear()
            try:
                self.run_once()
            except Exception:
                log.exception("the SMS sender failed a pass")

    def run_once(self) -> dict:
        """One pass: read the log, queue what is due, send it. {queued, sent, failed}."""
        if not self.enabled:
            return {"queued": 0, "sent": 0, "failed": 0}
        with self._lock:
            queued = self._queue()
            sent, failed = self._send_due()
        return {"queued": queued, "sent": sent, "failed": failed}

    # --- queueing ---------------------------------------------------------------------
    def _text(self, key: str, **values) -> str:
        text = self.cfg[key]
        for k, v in values.items():
            text = text.replace("{" + k + "}", str(v))
        return self.cfg["signature"] + text

    def _queue(self) -> int:
        hall = self.hall
        read = hall.engine.read
        now = hall.clock.now()
        today = read.today()

        def run(db, out):
            n = 0
            row = db.execute("SELECT last_event FROM sms_cursor WHERE name = 'sms'").fetchone()
            cursor = row[0] if row else 0
            events = db.execute(
                "SELECT e.id, e.kind, e.window, e.details, s.ticket_id, s.phone FROM ticket_events e "
                "LEFT JOIN sms_subscriptions s ON s.ticket_id = e.ticket_id AND s.state = 'active' "
                "WHERE e.id > ? ORDER BY e.id LIMIT 5000",
                [cursor],
            ).fetchall()
            for eid, kind, window, _details, ticket_id, phone in events:
                cursor = eid
                if ticket_id is None:
                    continue
                if kind == "called":
                    t = read.ticket(db, ticket_id)
                    w = read.window(db, window) if window else None
                    svc = read.service(db, t["service"])
                    text = self._text(
                        "text_called",
                        number=t["number"],
                        service=svc["name"] if svc else t["service"],
                        window=window,
                        window_name=w["name"] if w else f"{window}号窗口",
                    )
                    n += self._insert(db, t, "called", phone, text, now)
                    # Called before the 即将到号 went out: that one is news no more.
                    db.execute(
                        "UPDATE sms_outbox SET status = 'dropped', last_error = '已叫号' "
                        "WHERE dedupe = ? AND status = 'pending'",
                        [f"t{ticket_id}:ahead"],
                    )
                elif kind in STOP_KINDS:
                    self._stop_ticket(db, ticket_id, STOP_KINDS[kind])
            db.execute("UPDATE sms_cursor SET last_event = ? WHERE name = 'sms'", [cursor])
            # 即将到号: waiting tickets with few enough people ahead, not yet told.
            for s in db.execute(
                "SELECT s.ticket_id, s.phone FROM sms_subscriptions s JOIN tickets t "
                "ON t.id = s.ticket_id WHERE s.state = 'active' AND s.day = ? AND "
                "t.status = 'waiting' AND NOT EXISTS (SELECT 1 FROM sms_outbox o "
                "WHERE o.dedupe = 't' || s.ticket_id || ':ahead')",
                [today],
            ).fetchall():
                t = read.ticket(db, s[0])
                ahead = read.ahead_of(db, t)
                if ahead > self.cfg["ahead"]:
                    continue
                svc = read.service(db, t["service"])
                text = self._text(
                    "text_ahead",
                    number=t["number"],
                    service=svc["name"] if svc else t["service"],
                    ahead=ahead,
                )
                n += self._insert(db, t, "ahead", s[1], text, now)
            return n

        return hall.engine.write(run)

    @staticmethod
    def _insert(db, t, kind, phone, text, now) -> int:
        return db.execute(
            "INSERT INTO sms_outbox (dedupe, ticket_id, kind, day, phone, text, status, "
            "attempts, next_at, created_at, msgid) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (dedupe) DO NOTHING",
            [
                f"t{t['id']}:{kind}",
                t["id"],
                kind,
                t["day"],
                phone,
                text,
                to_iso(now),
                to_iso(now),
                new_msgid(),
            ],
        ).rowcount

    @staticmethod
    def _stop_ticket(db, ticket_id: int, why: str) -> None:
        db.execute(
            "UPDATE sms_subscriptions SET state = 'stopped', stopped_reason = ? "
            "WHERE ticket_id = ? AND state = 'active'",
            [why, ticket_id],
        )
        db.execute(
            "UPDATE sms_outbox SET status = 'dropped', last_error = ? "
            "WHERE ticket_id = ? AND status = 'pending'",
            [f"已{why}", ticket_id],
        )

    def queue_code(self, phone: str, code: str) -> int:
        """A verification code for /m: sent at once by the next pass."""
        now = self.hall.clock.now()
        text = self._text("text_code", code=code)

        def run(db, out):
            return db.execute(
                "INSERT INTO sms_outbox (dedupe, kind, day, phone, text, status, attempts, "
                "next_at, created_at, msgid) VALUES (?, 'code', ?, ?, ?, 'pending', 0, ?, ?, ?)",
                [
                    f"code:{secrets.token_hex(8)}",  # no phone number in the key
                    self.hall.engine.read.today(),
                    phone,
                    text,
                    to_iso(now),
                    to_iso(now),
                    new_msgid(),
                ],
            ).lastrowid

        rowid = self.hall.engine.write(run)
        self.wake()
        return rowid

    # --- sending ----------------------------------------------------------------------
    def _claim(self) -> dict | None:
        hall = self.hall
        now = hall.clock.now()
        today = hall.engine.read.today()

        def run(db, out):
            self._recover(db, out, now)
            db.execute(
                "UPDATE sms_outbox SET status = 'failed' WHERE status = 'pending' AND day < ?",
                [today],
            )
            rows = db.execute(
                "SELECT o.id, o.ticket_id, o.kind, o.phone, o.text, o.attempts, t.status, "
                "t.number, s.state, o.msgid FROM sms_outbox o LEFT JOIN tickets t ON t.id = o.ticket_id "
                "LEFT JOIN sms_subscriptions s ON s.ticket_id = o.ticket_id "
                "WHERE o.status = 'pending' AND o.next_at <= ? ORDER BY o.id LIMIT 1",
                [to_iso(now)],
            ).fetchall()
            if not rows:
                return None
            oid, ticket_id, kind, phone, text, attempts, status, number, state, msgid = rows[0]
            stale = None
            if kind != "code":
                if state != "active":
                    stale = "提醒已停止"
                elif kind == "ahead" and status != "waiting":
                    stale = "已不在等候"
                elif kind == "called" and status not in ("called", "serving"):
                    stale = "已不在窗口"
            if stale:
                db.execute(
                    "UPDATE sms_outbox SET status = 'dropped', last_error = ? WHERE id = ?",
                    [stale, oid],
                )
                return {"skip": True}
            db.execute(
                "UPDATE sms_outbox SET status = 'sending', next_at = ? WHERE id = ?",
                [to_iso(now), oid],
            )
            return {
                "id": oid,
                "kind": kind,
                "phone": phone,
                "text": text,
                "attempts": attempts,
                "number": number,
                "msgid": msgid or "",
            }

        return hall.engine.write(run)

    def _recover(self, db, out, now) -> None:
        """Rows left `sending` past the lease: asked again when the gateway gets their
        msgid (it drops a repeat), else `unknown` and told to supervisors."""
        stuck = db.execute(
            "SELECT o.id, o.kind, o.attempts, t.number FROM sms_outbox o "
            "LEFT JOIN tickets t ON t.id = o.ticket_id WHERE o.status = 'sending' "
            "AND o.next_at < ? ORDER BY o.id",
            [to_iso(now - timedelta(seconds=self.lease_seconds))],
        ).fetchall()
        retry = self.channel.idempotent
        for oid, kind, attempts, number in stuck:
            db.execute(
                "UPDATE sms_outbox SET status = ?, attempts = ?, next_at = ?, last_error = ? "
                "WHERE id = ? AND status = 'sending'",
                [
                    "pending" if retry else "unknown",
                    attempts + 1,
                    to_iso(now),
                    INTERRUPTED_RETRY if retry else INTERRUPTED_UNKNOWN,
                    oid,
                ],
            )
            log.warning(
                "SMS %s (outbox %s) was interrupted while sending: %s",
                kind,
                oid,
                "asked again with its msgid" if retry else "outcome unknown, not resent",
            )
            if not retry:
                out.append(
                    SmsFailed(
                        at=to_iso(now),
                        outbox_id=oid,
                        number=number,
                        kind=kind,
                        attempts=attempts + 1,
                        error=INTERRUPTED_UNKNOWN,
                        outcome="unknown",
                    )
                )

    def _send_due(self) -> tuple[int, int]:
        sent = failed = 0
        for _ in range(1000):
            job = self._claim()
            if job is None:
                break
            if job.get("skip"):
                continue
            try:
                self.channel.send(job["phone"], job["text"], job["msgid"])
            except SendError as e:
                failed += 1
                self._failed(job, str(e))
                continue
            sent += 1
            self._done(job)
        return sent, failed

    def _done(self, job) -> None:
        now = self.hall.now_iso()

        def run(db, out):
            db.execute(
                "UPDATE sms_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [now, job["id"]],
            )

        self.hall.engine.write(run)

    def _failed(self, job, error: str) -> None:
        now = self.hall.clock.now()
        attempts = job["attempts"] + 1
        wait = min(MAX_BACKOFF, self.cfg["retry_seconds"] * 2 ** (attempts - 1))
        log.warning(
            "SMS %s (outbox %s) failed, attempt %d: %s", job["kind"], job["id"], attempts, error
        )

        def run(db, out):
            db.execute(
                "UPDATE sms_outbox SET status = 'pending', attempts = ?, next_at = ?, "
                "last_error = ? WHERE id = ?",
                [attempts, to_iso(now + timedelta(seconds=wait)), error, job["id"]],
            )
            out.append(
                SmsFailed(
                    at=to_iso(now),
                    outbox_id=job["id"],
                    number=job["number"],
                    kind=job["kind"],
                    attempts=attempts,
                    error=error,
                )
            )

        self.hall.engine.write(run)

    # --- supervisors ------------------------------------------------------------------
    def report(self, day: str | None = None) -> dict:
        """Counts by status and the failures of the day (phones masked)."""
        hall = self.hall
        day = day or hall.engine.read.today()
        db = hall.store.db()
        counts = {
            r["status"]: r["n"]
            for r in db.query(
                "SELECT status, COUNT(*) AS n FROM sms_outbox WHERE day = ? GROUP BY status", [day]
            )
        }
        problems = [
            {
                "id": r["id"],
                "kind": r["kind"],
                "number": r["number"],
                "phone": mask_phone(r["phone"]),
                "status": r["status"],
                "attempts": r["attempts"],
                "error": r["last_error"],
                "next_at": hall.engine.read.local_iso(r["next_at"]),
            }
            for r in db.query(
                "SELECT o.*, t.number FROM sms_outbox o LEFT JOIN tickets t ON t.id = o.ticket_id "
                "WHERE o.day = ? AND (o.status IN ('failed', 'unknown') OR (o.status IN "
                "('pending', 'sending') AND o.attempts > 0)) ORDER BY o.id DESC LIMIT 100",
                [day],
            )
        ]
        return {
            "channel": self.channel.name,
            "day": day,
            "counts": {
                k: counts.get(k, 0)
                for k in ("pending", "sending", "sent", "failed", "dropped", "unknown")
            },
            "problems": problems,
        }
