"""Every rating to the provincial 好差评 platform, through one small adapter.

    [province] adapter = "none" | "http-json"

Where: the county centre sends the ratings of every site (from the sites' copies);
a site without a centre ([county] centre_url empty) sends its own. Each rating is put
in county_province once (its idempotency key `site:day:number` is the primary key) by
a feed that follows a cursor in the same transaction, so a crash re-feeds and nothing
is queued twice. A sender thread posts the pending ones; a rating is marked delivered
only after the platform said so, so a crash or an outage mid-delivery sends it again
with the same key (at least once; a platform that honours the key sees it once).
Failures back off ([province] interval_seconds doubling to max_backoff_seconds); after
[province] max_attempts a rating waits for a supervisor's 重试 on /county/province.

The payload carries what the national scheme asks: the matter (事项编码), the case
number (办件编号, typed or scanned at 办结; optional), the site and the window, the
five-level score, and for a 差评 the reason in the national categories. 评价内容 is
not added to or cut: the hall's own reasons are mapped onto the categories (CATEGORIES,
DEFAULT_MAP, [province] reason_map); the hall's words go along as they were chosen.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.request
from datetime import timedelta

from hall.background import Periodic
from hall.clock import to_iso
from hall.vocabulary import BAD_SCORES, SCORES_CN

from .capture import get_cursor, redact, set_cursor

log = logging.getLogger(__name__)

#: The national 评价内容 of on-the-spot (线下) service (GB/T 39734-2020 and the national
#: 好差评 scheme, 国办发〔2019〕51号): overall satisfaction, and three indicators a 差评
#: is given under. A province that versions its own list sets reason_map onto these.
CATEGORIES = {
    "服务态度": "service_attitude",
    "服务效率": "service_efficiency",
    "服务水平": "service_quality",
    "整体满意度": "overall",
}
#: The hall's default 差评 reasons ([ratings] reasons) onto the national categories.
DEFAULT_MAP = {
    "态度不好": "服务态度",
    "效率低": "服务效率",
    "等候时间太长": "服务效率",
    "材料要求不清": "服务水平",
    "多次跑腿": "服务水平",
    "其他": "整体满意度",
}
FALLBACK = "整体满意度"
BATCH = 50
STATE_CN = {"pending": "待发送", "delivered": "已送达", "failed": "发送失败，待人工重试"}


class DeliveryError(Exception):
    pass


def categories_for(reasons: list[str], reason_map: dict) -> list[dict]:
    """The national categories of a 差评's reasons (each once, in the reasons' order)."""
    mapping = {**DEFAULT_MAP, **reason_map}
    out = []
    for r in reasons or [FALLBACK]:
        name = mapping.get(r, FALLBACK)
        if name not in [c["name"] for c in out]:
            out.append({"code": CATEGORIES[name], "name": name})
    return out


# --- adapters ----------------------------------------------------------------------------
class HttpJson:
    """POST the payload as JSON; `Idempotency-Key` header and the key in the body; the
    credential from the environment as a Bearer token. 2xx (and 409, "already have it")
    is delivered; anything else is an error to retry."""

    name = "http-json"

    def __init__(self, url: str, token: str, timeout: float):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, payload: dict, key: str) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                r.read()
        except urllib.error.HTTPError as e:
            if e.code == 409:
                return
            body = e.read()[:200].decode("utf-8", "replace")
            raise DeliveryError(f"HTTP {e.code} {body}".strip()) from None
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise DeliveryError(f"无法连接省平台 ({getattr(e, 'reason', e)})") from None


def make_adapter(cfg):
    p = cfg.sections["province"]
    if p["adapter"] == "http-json":
        return HttpJson(p["url"], os.environ.get(p["credentials_env"], ""), p["timeout_seconds"])
    return None


# --- the payload ----------------------------------------------------------------------------
def ticket_matter(db, ticket_id: int) -> tuple[str | None, str | None]:
    """(matter code, case number) of a ticket: what the clerk gave at 办结, else the
    walk-in's, else the matter chosen at the kiosk."""
    matter = case = None
    for e in db.query(
        "SELECT details FROM ticket_events WHERE ticket_id = ? "
        "AND kind IN ('issued', 'advanced', 'finished') "
        "ORDER BY id",
        [ticket_id],
    ):
        d = json.loads(e["details"] or "{}")
        matter = d.get("matter") or matter
        case = d.get("case_no") or case
    if matter is None:
        rows = list(
            db.query("SELECT matter FROM county_ticket_matters WHERE ticket_id = ?", [ticket_id])
        )
        matter = rows[0]["matter"] if rows else None
    return matter, case


def payload(db, rating: dict, site: dict, read, catalogue, cfg) -> dict:
    """What the platform gets for one rating (never a phone or ID number)."""
    t = list(
        db.query(
            "SELECT id, day, number, service, finished_at FROM tickets WHERE id = ?",
            [rating["ticket_id"]],
        )
    )[0]
    svc = list(
        db.query(
            "SELECT name, department FROM services WHERE code = ?",
            [rating["service"] or t["service"]],
        )
    )
    win = (
        list(db.query("SELECT name FROM windows WHERE number = ?", [rating["window"]]))
        if rating["window"]
        else []
    )
    code, case = ticket_matter(db, t["id"])
    m = catalogue(code) if code else None
    reasons = json.loads(rating["reasons"] or "[]")
    bad = rating["score"] in BAD_SCORES
    p = cfg.sections["province"]
    return {
        "idempotency_key": f"{site['id']}:{t['day']}:{t['number']}",
        "region": p["region"] or None,
        "site": {"id": site["id"], "name": site["name"], "level": site.get("level")},
        "window": {"number": rating["window"], "name": win[0]["name"] if win else None},
        "matter": {
            "code": code,
            "name": (m or {}).get("name"),
            "department": (m or {}).get("department") or (svc[0]["department"] if svc else None),
        }
        if code
        else None,
        "case_no": case,
        "service": {"code": rating["service"], "name": svc[0]["name"] if svc else None},
        "department": svc[0]["department"] if svc else None,
        "score": rating["score"],
        "score_name": SCORES_CN.get(rating["score"]),
        "bad": bad,
        "categories": categories_for(reasons, p["reason_map"]) if bad else [],
        "reasons": reasons if bad else [],
        "comment": redact(rating["comment"] or ""),
        "channel": rating["channel"],
        "rated_at": read.local_iso(rating["rated_at"]),
        "served_at": read.local_iso(t["finished_at"]),
        "ticket": {"day": t["day"], "number": t["number"]},
    }


def enqueue(db, items: list[dict], now: str) -> int:
    n = 0
    for p in items:
        n += db.execute(
            "INSERT OR IGNORE INTO county_province (key, site_id, ticket_id, rated_at, payload, "
            "state, attempts, next_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
            [
                p["idempotency_key"],
                p["site"]["id"],
                p.pop("_ticket_id"),
                p["rated_at"],
                json.dumps(p, ensure_ascii=False),
                now,
                now,
            ],
        ).rowcount
    return n


# --- feeds ----------------------------------------------------------------------------------
def feed_local(hall, catalogue) -> int:
    """A site without a centre: its own ratings, by the ticket_events id of 'rated'."""
    site = {
        "id": hall.cfg.sections["county"]["site_id"] or "local",
        "name": hall.cfg.hall["name"],
        "level": None,
    }
    read = hall.engine.read

    def run(db, out):
        cursor = int(get_cursor(db, "province_fed", 0))
        events = list(
            db.query(
                "SELECT id, ticket_id FROM ticket_events WHERE id > ? AND kind = 'rated' ORDER BY id LIMIT 500",
                [cursor],
            )
        )
        items = []
        for e in events:
            rows = list(
                db.query(
                    "SELECT * FROM ratings WHERE ticket_id = ? AND score IS NOT NULL",
                    [e["ticket_id"]],
                )
            )
            if rows:
                items.append(
                    {
                        **payload(db, dict(rows[0]), site, read, catalogue, hall.cfg),
                        "_ticket_id": e["ticket_id"],
                    }
                )
        if events:
            set_cursor(db, "province_fed", events[-1]["id"])
        return enqueue(db, items, hall.now_iso())

    return hall.engine.write(run)


def feed_site(state, site: dict) -> int:
    """The centre: the ratings a site's shipped records brought, after the cursor."""
    hall = state.hall
    name = f"province_fed:{site['id']}"
    cursor = int(get_cursor(hall.store.db(), name, 0))
    from .figures import site_hall

    with state.replicas.read(site["id"]) as rdb:
        log_rows = list(
            rdb.query(
                "SELECT seq, pk FROM county_replica_log WHERE tbl = 'ratings' AND seq > ? ORDER BY seq LIMIT 2000",
                [cursor],
            )
        )
        if not log_rows:
            return 0
        read = site_hall(state, site, rdb).engine.read
        items, done = [], set()
        for r in log_rows:
            if r["pk"] in done:
                continue
            done.add(r["pk"])
            rows = list(
                rdb.query(
                    "SELECT * FROM ratings WHERE id = ? AND score IS NOT NULL", [int(r["pk"])]
                )
            )
            if rows:
                items.append(
                    {
                        **payload(rdb, dict(rows[0]), site, read, state.catalogue.get, hall.cfg),
                        "_ticket_id": rows[0]["ticket_id"],
                    }
                )
    top = log_rows[-1]["seq"]

    def run(db, out):
        n = enqueue(db, items, hall.now_iso())
        set_cursor(db, name, top)
        return n

    return hall.engine.write(run)


# --- the sender -----------------------------------------------------------------------------
class Sender:
    """Posts pending ratings ([province] interval_seconds); started lazily like the
    shipper. `feed()` is what fills the queue (the centre: every site; a site: itself)."""

    def __init__(self, hall, adapter, feed):
        self.hall = hall
        self.adapter = adapter
        self.feed = feed
        self.cfg = hall.cfg.sections["province"]
        self._send_lock = threading.Lock()
        self._stopping = False
        self.thread = Periodic("province-sender", self.cfg["interval_seconds"], self._work)

    def ensure_running(self) -> None:
        if self.adapter is not None:
            self.thread.ensure_running()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self.thread.stop(timeout)

    def wake(self) -> None:
        self.thread.wake()

    def _work(self) -> None:
        try:
            self.feed()
        except Exception:
            log.exception("province: feeding ratings failed")
        self.send_due()

    def send_due(self) -> dict:
        """Send every pending rating that is due; returns counts."""
        counts = {"delivered": 0, "failed": 0}
        if self.adapter is None:
            return counts
        with self._send_lock:
            while not self._stopping:
                now = self.hall.now_iso()
                rows = list(
                    self.hall.store.db().query(
                        "SELECT * FROM county_province WHERE state = 'pending' AND next_at <= ? "
                        "ORDER BY created_at, key LIMIT ?",
                        [now, BATCH],
                    )
                )
                if not rows:
                    break
                for r in rows:
                    ok = self._send_one(dict(r))
                    counts["delivered" if ok else "failed"] += 1
                    if not ok:
                        # The platform is down, most likely for all: try the rest later.
                        return counts
        return counts

    def _send_one(self, r: dict) -> bool:
        hall = self.hall
        try:
            self.adapter.send(json.loads(r["payload"]), r["key"])
        except DeliveryError as e:
            error = str(e)[:300]
            attempts = r["attempts"] + 1
            first = self.cfg["interval_seconds"]
            wait = min(self.cfg["max_backoff_seconds"], first * 2 ** (attempts - 1))
            state = "failed" if attempts >= self.cfg["max_attempts"] else "pending"
            next_at = to_iso(hall.clock.now() + timedelta(seconds=wait))

            def fail(db, out):
                db.execute(
                    "UPDATE county_province SET attempts = ?, state = ?, next_at = ?, last_error = ? "
                    "WHERE key = ? AND state = 'pending'",
                    [attempts, state, next_at, error, r["key"]],
                )

            hall.engine.write(fail)
            log.warning("province: rating %s not delivered (try %s): %s", r["key"], attempts, error)
            return False

        def done(db, out):
            db.execute(
                "UPDATE county_province SET state = 'delivered', delivered_at = ?, attempts = ?, "
                "last_error = NULL WHERE key = ?",
                [hall.now_iso(), r["attempts"] + 1, r["key"]],
            )

        hall.engine.write(done)
        return True


def retry(hall, key: str, actor) -> dict:
    """A supervisor's 重试: a failed (or waiting) rating is due now again."""
    from hall.errors import Conflict, NotFound

    def run(db, out):
        rows = list(db.query("SELECT * FROM county_province WHERE key = ?", [key]))
        if not rows:
            raise NotFound("没有这条评价的报送记录 (no such delivery)")
        if rows[0]["state"] == "delivered":
            raise Conflict("已送达，无需重试 (already delivered)")
        db.execute(
            "UPDATE county_province SET state = 'pending', next_at = ?, attempts = 0 WHERE key = ?",
            [hall.now_iso(), key],
        )
        hall.engine.audit(db, actor, "province_retry", f"province:{key}")
        return dict(list(db.query("SELECT * FROM county_province WHERE key = ?", [key]))[0])

    return hall.engine.write(run)


def delivery_json(hall, r: dict) -> dict:
    p = json.loads(r["payload"])
    read = hall.engine.read
    return {
        "key": r["key"],
        "site_id": r["site_id"],
        "site_name": p["site"]["name"],
        "number": p["ticket"]["number"],
        "day": p["ticket"]["day"],
        "score": p["score"],
        "score_name": p["score_name"],
        "categories": [c["name"] for c in p["categories"]],
        "matter": (p["matter"] or {}).get("code"),
        "case_no": p["case_no"],
        "state": r["state"],
        "state_name": STATE_CN.get(r["state"], r["state"]),
        "attempts": r["attempts"],
        "last_error": r["last_error"],
        "next_at": read.local_iso(r["next_at"]) if r["state"] == "pending" else None,
        "delivered_at": read.local_iso(r["delivered_at"]),
        "rated_at": p["rated_at"],
    }


def summary(hall) -> dict:
    db = hall.store.db()
    counts = {
        r["state"]: r["n"]
        for r in db.query("SELECT state, COUNT(*) AS n FROM county_province GROUP BY state")
    }
    problems = [
        delivery_json(hall, dict(r))
        for r in db.query(
            "SELECT * FROM county_province WHERE state = 'failed' OR (state = 'pending' AND attempts > 0) "
            "ORDER BY created_at LIMIT 200"
        )
    ]
    return {
        "adapter": hall.cfg.sections["province"]["adapter"],
        "pending": counts.get("pending", 0),
        "delivered": counts.get("delivered", 0),
        "failed": counts.get("failed", 0),
        "problems": problems,
    }
