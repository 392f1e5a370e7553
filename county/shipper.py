"""The site side: a background thread that gathers the site's records into its journal
and ships them to the county centre, and keeps the catalogue copy fresh.

It is started lazily in the serving process (like the kiosk's printer monitor: a thread
does not survive gunicorn's fork) and nothing of the hall waits on it: the engine's
transitions never touch the network, and the gathering reads in a read transaction and
writes its journal in one short transaction of its own.

Shipping: the journal rows after the sequence the centre acknowledged, in order, in
batches (at most [county] batch_size records, under 700 kB), each request signed with
the site's key (county/signing.py). The answer carries the centre's acknowledged
sequence, which is the only truth: a lost answer is resent, and the centre refuses it
as already received (409 with its `acked`), which moves the site on. While the centre
cannot be reached the thread backs off (1 s doubling to [county] max_backoff_seconds);
a refusal (bad signature, gap, ...) is logged, kept as the link's last error and shown
on the supervisor board (interface "county_link", event `county_link`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from hall.background import Periodic
from hall.events import Event

from . import signing
from .capture import Gatherer, get_cursor, set_cursor

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 700_000
FIGURES_EVERY = 60.0  # seconds between two gatherings of the faces' figures
PRUNE_AFTER_DAYS = 30
STATE_CN = {
    "off": "未接入县中心",
    "starting": "连接中",
    "online": "在线",
    "offline": "无法连接县中心",
    "refused": "县中心拒收",
}


@dataclass(frozen=True)
class CountyLinkChanged(Event):
    """The site's link to the county centre changed (state, backlog, last error): the
    supervisor board shows it (the broadcaster sends every event to /supervisor)."""

    NAME = "county_link"
    state: str
    state_name: str
    backlog: int
    last_shipped_at: str | None = None
    last_error: str | None = None


class Refused(Exception):
    def __init__(self, status: int, message: str, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body or {}


class Unreachable(Exception):
    pass


def urllib_transport(method: str, url: str, headers: dict, data: bytes | None, timeout: float):
    """One HTTP request: (status, headers, body). Network failures raise OSError."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except urllib.error.URLError as e:
        raise OSError(str(e.reason)) from None


class CentreClient:
    """Signed requests to the centre (urllib: no extra dependency; tests may pass
    another transport)."""

    def __init__(self, url: str, site: str, key: str, timeout: float, clock, transport=None):
        self.url = url.rstrip("/")
        self.site = site
        self.key = key
        self.timeout = timeout
        self.clock = clock
        self.transport = transport or urllib_transport

    def request(self, method: str, path: str, body: dict | None = None, headers=None):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        ts = int(self.clock.now().timestamp())
        h = {"Content-Type": "application/json", **(headers or {})}
        h.update(signing.headers(self.key, method, path, self.site, ts, data))
        try:
            status, rh, raw = self.transport(
                method, self.url + path, h, data if method != "GET" else None, self.timeout
            )
        except (OSError, TimeoutError) as e:
            raise Unreachable(str(e)) from None
        if status == 304:
            return 304, rh, {}
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"error": raw[:200].decode("utf-8", "replace")}
        if not isinstance(answer, dict):
            answer = {"error": str(answer)[:200]}
        if status >= 500:
            raise Unreachable(f"HTTP {status}: {answer.get('error', '')}")
        if status >= 400:
            raise Refused(status, str(answer.get("error") or f"HTTP {status}"), answer)
        return status, rh, answer


class Shipper:
    """One per app (the county face's state); `ensure_running()` starts the thread."""

    def __init__(self, hall, transport=None):
        self.hall = hall
        self.transport = transport
        self.cfg = hall.cfg.sections["county"]
        self.gatherer = Gatherer(hall)
        self.enabled = bool(self.cfg["centre_url"] and self.cfg["site_id"])
        self.state = "starting" if self.enabled else "off"
        self.since = hall.now_iso()
        self.last_error: str | None = None
        self.last_shipped_at: str | None = None
        self.last_ok_at: str | None = None
        self.acked: int | None = None
        self.backoff = 0.0
        self._gather_lock = threading.Lock()
        self._last_beat = 0.0
        self._last_figures = 0.0
        self._figures_all = True
        self._last_catalogue = 0.0
        self._published: tuple | None = None
        self.thread = Periodic("county-shipper", self.cfg["ship_interval_seconds"], self._work)

    # --- the thread -------------------------------------------------------------------
    def ensure_running(self) -> None:
        if self.enabled:
            self.thread.ensure_running()

    def stop(self, timeout: float = 10.0) -> None:
        self.thread.stop(timeout)

    def wake(self) -> None:
        """Ship soon (a new record): the thread's wait ends early."""
        self.thread.wake()

    def client(self) -> CentreClient:
        key = os.environ.get(self.cfg["key_env"], "")
        if not key:
            raise Refused(
                0, f"环境变量{self.cfg['key_env']}中没有站点密钥 (no site key in the environment)"
            )
        return CentreClient(
            self.cfg["centre_url"],
            self.cfg["site_id"],
            key,
            self.cfg["timeout_seconds"],
            self.hall.clock,
            self.transport,
        )

    def _work(self) -> float:
        """One round; the wait before the next: none when more is waiting, the backoff
        while the centre cannot be reached or refuses."""
        if self.round():
            return 0
        return self.backoff or self.cfg["ship_interval_seconds"]

    # --- one round (tests call it directly) ----------------------------------------------
    def gather(self) -> int:
        with self._gather_lock:
            n = self.gatherer.gather()
            now = time.monotonic()
            if now - self._last_figures >= FIGURES_EVERY or self._figures_all:
                n += self.gatherer.gather_figures(everything=self._figures_all)
                self._figures_all = False
                self._last_figures = now
            return n

    def round(self) -> bool:
        """Gather, then ship one batch. True when more is waiting (ship again at once)."""
        if self.enabled and self.acked is None:
            # What the centre has, before the first gathering of this process: after a
            # restore from an older backup the new records are then numbered after it
            # (_set_acked). Unreachable: gather all the same, the hall's work never waits.
            with contextlib.suppress(Unreachable, Refused):
                self._fetch_acked(self.client())
        try:
            self.gather()
        except Exception:
            log.exception("county: gathering records failed")
        if not self.enabled:
            return False
        self.refresh_catalogue()
        try:
            more = self.ship_once()
        except Unreachable as e:
            self._failed("offline", f"无法连接县中心 (centre unreachable: {e})")
            return False
        except Refused as e:
            if "acked" in e.body and isinstance(e.body["acked"], int):
                acked = e.body["acked"]
                if e.status == 409 and self.acked is not None and acked >= self.acked:
                    # Already received (our answer was lost): the centre moved on.
                    self._set_acked(acked)
                    self._ok()
                    return True
                self._set_acked(acked)
            self._failed("refused", e.message)
            log.warning("county centre refused the batch: %s", e.message)
            return False
        self._ok()
        return more

    def ship_once(self) -> bool:
        client = self.client()
        if self.acked is None:
            self._fetch_acked(client)
        rows, size = [], 0
        db = self.hall.store.db()
        for r in db.query(
            "SELECT * FROM county_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            [self.acked, self.cfg["batch_size"]],
        ):
            rec = {
                "seq": r["seq"],
                "t": r["tbl"],
                "op": r["op"],
                "pk": r["pk"],
                "at": r["at"],
                "row": json.loads(r["row"]),
            }
            size += len(r["row"]) + 80
            if rows and size > MAX_BATCH_BYTES:
                break
            rows.append(rec)
        now = time.monotonic()
        if (
            not rows
            and now - self._last_beat < self.cfg["heartbeat_seconds"]
            and self.state == "online"
        ):
            return False
        body = {"site": self.cfg["site_id"], "records": rows}
        _, _, answer = client.request("POST", "/api/county/batches", body)
        self._last_beat = now
        self._set_acked(int(answer.get("acked", self.acked)))
        if rows:
            self.last_shipped_at = self.hall.engine.read.local_iso(self.hall.now_iso())
            self.prune()
        return bool(rows) and self.backlog() > 0

    def _fetch_acked(self, client: CentreClient) -> None:
        _, _, answer = client.request("GET", "/api/county/ack")
        self._set_acked(int(answer.get("acked", 0)))

    def _set_acked(self, acked: int) -> None:
        if acked == self.acked:
            return
        self.acked = acked

        def run(db, out):
            set_cursor(db, "acked", acked)
            # The centre holds records beyond this site's journal: the site's database was
            # restored from an older backup. New records must be numbered after what the
            # centre has, or it would take them for ones it already applied and they would
            # never arrive (capture.py numbers from the "pruned" floor).
            top = db.execute("SELECT COALESCE(MAX(seq), 0) FROM county_outbox").fetchone()[0]
            top = max(top, int(get_cursor(db, "pruned", 0)))
            if acked > top:
                set_cursor(db, "pruned", acked)
                return top
            return None

        behind = self.hall.engine.write(run)
        if behind is not None:
            log.warning(
                "county: the centre has records up to %s, this site's journal ends at %s "
                "(restored from an older backup?): new records continue after %s",
                acked,
                behind,
                acked,
            )

    def prune(self) -> None:
        """Drop journal rows the centre has had for PRUNE_AFTER_DAYS (keeps seq going)."""
        from datetime import timedelta

        from hall.clock import to_iso

        cutoff = to_iso(self.hall.clock.now() - timedelta(days=PRUNE_AFTER_DAYS))

        def run(db, out):
            top = db.execute(
                "SELECT MAX(seq) FROM county_outbox WHERE seq <= ? AND at < ?", [self.acked, cutoff]
            ).fetchone()[0]
            if top:
                db.execute("DELETE FROM county_outbox WHERE seq <= ?", [top])
                set_cursor(db, "pruned", top)

        self.hall.engine.write(run)

    # --- state ----------------------------------------------------------------------------
    def backlog(self) -> int:
        db = self.hall.store.db()
        acked = self.acked
        if acked is None:
            acked = int(get_cursor(db, "acked", 0))
        return db.execute("SELECT COUNT(*) FROM county_outbox WHERE seq > ?", [acked]).fetchone()[0]

    def _ok(self) -> None:
        self.backoff = 0.0
        self.last_ok_at = self.hall.now_iso()
        if self.state != "online":
            self.state, self.since, self.last_error = "online", self.hall.now_iso(), None
            log.info("county link online (%s)", self.cfg["centre_url"])
        self.publish()

    def _failed(self, state: str, message: str) -> None:
        mx = self.cfg["max_backoff_seconds"]
        self.backoff = min(mx, max(1.0, self.backoff * 2))
        if state != self.state:
            self.since = self.hall.now_iso()
            if state == "offline":
                log.warning("county link offline: %s", message)
        self.state, self.last_error = state, message
        self.publish()

    def status(self) -> dict:
        """The "county_link" interface (hall/interfaces.py)."""
        read = self.hall.engine.read
        try:
            backlog = self.backlog()
        except Exception:
            backlog = None
        return {
            "enabled": self.enabled,
            "site_id": self.cfg["site_id"] or None,
            "centre_url": self.cfg["centre_url"] or None,
            "state": self.state,
            "state_name": STATE_CN.get(self.state, self.state),
            "since": read.local_iso(self.since),
            "backlog": backlog,
            "acked": self.acked,
            "last_shipped_at": self.last_shipped_at,
            "last_error": self.last_error,
            "retry_in_seconds": round(self.backoff, 1)
            if self.state in ("offline", "refused")
            else 0,
        }

    def publish(self) -> None:
        s = self.status()
        key = (s["state"], s["backlog"] == 0, s["last_error"])
        if key == self._published:
            return
        self._published = key
        self.hall.bus.publish(
            CountyLinkChanged(
                at=self.hall.engine.read.local_iso(self.hall.now_iso()),
                state=s["state"],
                state_name=s["state_name"],
                backlog=s["backlog"] or 0,
                last_shipped_at=s["last_shipped_at"],
                last_error=s["last_error"],
            )
        )

    # --- the catalogue ----------------------------------------------------------------------
    def refresh_catalogue(self, force: bool = False) -> bool | None:
        """Ask the centre for the catalogue with the ETag we have (304: unchanged).
        Returns True when it changed, False when not, None when it could not ask."""
        now = time.monotonic()
        if not force and now - self._last_catalogue < self.cfg["catalogue_refresh_seconds"]:
            return False
        self._last_catalogue = now
        from .catalogue import store_site_copy

        db = self.hall.store.db()
        etag = get_cursor(db, "catalogue_etag")
        try:
            status, headers, answer = self.client().request(
                "GET", "/api/county/catalogue", headers={"If-None-Match": etag} if etag else None
            )
        except (Unreachable, Refused) as e:
            log.info("county: catalogue not refreshed: %s", e)
            self._last_catalogue = now - self.cfg["catalogue_refresh_seconds"] + 30
            return None
        if status == 304:
            return False
        store_site_copy(
            self.hall, answer.get("matters") or [], headers.get("ETag") or headers.get("Etag")
        )
        return True
