"""The county centre: its register of sites and keys, and the reception of batches.

`python -m hall site add ID --name NAME --level county|township|village` registers a
site and prints its key once (county/cli.py); the centre keeps the key to check the
signatures (the centre's database is as secret as the keys). `rotate` issues a new key
and keeps the old one valid for [county] key_grace_hours; `disable` refuses the site.

A batch is refused, and nothing of it kept, when its signature does not verify (a key
of another site, an altered body), its timestamp is outside the replay window, it
claims another site's data, its records are not in order, it leaves a gap after what
the centre acknowledged, or it was received already.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import timedelta

from hall.clock import from_iso, to_iso
from hall.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

from . import signing
from .replica import TABLES, BatchError
from .settings import SITE_ID

log = logging.getLogger(__name__)

LEVELS = ("county", "township", "village")
LEVEL_CN = {"county": "县级政务服务中心", "township": "乡镇便民服务中心", "village": "村便民服务站"}
MAX_RECORDS = 5000


# --- the register ----------------------------------------------------------------------
def _check_id(site_id: str) -> str:
    if not SITE_ID.fullmatch(site_id or ""):
        raise Invalid("站点编号须为小写字母、数字和-，最多32位 (site id: [a-z0-9-], up to 32)")
    return site_id


def add_site(hall, site_id: str, name: str, level: str) -> str:
    """Register a site; returns its key (shown once)."""
    _check_id(site_id)
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise Invalid("请填写站点名称，最多60字 (name required, up to 60 characters)")
    if level not in LEVELS:
        raise Invalid(f"级别须为{'、'.join(LEVELS)}之一 (level: county|township|village)")
    key = signing.new_key()

    def run(db, out):
        if list(db.query("SELECT 1 FROM county_sites WHERE id = ?", [site_id])):
            raise Conflict(f"站点{site_id}已登记 (site {site_id} exists)")
        now = hall.now_iso()
        db["county_sites"].insert(
            {
                "id": site_id,
                "name": name,
                "level": level,
                "key": key,
                "active": 1,
                "created_at": now,
                "changed_at": now,
                "acked_seq": 0,
            }
        )
        hall.engine.audit(db, None, "county_site_add", f"site:{site_id}", name=name, level=level)

    hall.engine.write(run)
    return key


def get_site(db, site_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM county_sites WHERE id = ?", [site_id]))
    return dict(rows[0]) if rows else None


def sites(hall) -> list[dict]:
    return [dict(r) for r in hall.store.db().query("SELECT * FROM county_sites ORDER BY rowid")]


def set_active(hall, site_id: str, active: bool) -> None:
    def run(db, out):
        if get_site(db, site_id) is None:
            raise NotFound(f"没有站点{site_id} (no site {site_id})")
        db.execute(
            "UPDATE county_sites SET active = ?, changed_at = ? WHERE id = ?",
            [int(active), hall.now_iso(), site_id],
        )
        hall.engine.audit(
            db, None, "county_site_enable" if active else "county_site_disable", f"site:{site_id}"
        )

    hall.engine.write(run)


def rotate(hall, site_id: str, grace_hours: float | None = None) -> str:
    """A new key; the old one stays valid for grace_hours ([county] key_grace_hours)."""
    grace = hall.cfg.sections["county"]["key_grace_hours"] if grace_hours is None else grace_hours
    key = signing.new_key()

    def run(db, out):
        site = get_site(db, site_id)
        if site is None:
            raise NotFound(f"没有站点{site_id} (no site {site_id})")
        until = to_iso(hall.clock.now() + timedelta(hours=grace)) if grace > 0 else None
        db.execute(
            "UPDATE county_sites SET key = ?, prev_key = ?, prev_key_until = ?, changed_at = ? "
            "WHERE id = ?",
            [key, site["key"] if until else None, until, hall.now_iso(), site_id],
        )
        hall.engine.audit(db, None, "county_site_rotate", f"site:{site_id}", grace_hours=grace)

    hall.engine.write(run)
    return key


# --- authentication of a request -----------------------------------------------------------
def authenticate(hall, method: str, path: str, headers, body: bytes) -> dict:
    """The site a signed request comes from, or Unauthorized/Forbidden."""
    site_id = headers.get(signing.SITE, "")
    ts = headers.get(signing.TIMESTAMP, "")
    sig = headers.get(signing.SIGNATURE, "")
    if not site_id or not ts or not sig:
        raise Unauthorized("缺少站点签名 (signed request required)")
    if not SITE_ID.fullmatch(site_id) or not re.fullmatch(r"\d{1,12}", ts):
        raise Unauthorized("站点签名格式错误 (malformed signature headers)")
    site = get_site(hall.store.db(), site_id)
    if site is None:
        raise Unauthorized(f"未登记的站点{site_id} (unknown site)")
    skew = hall.cfg.sections["county"]["clock_skew_seconds"]
    now = hall.clock.now()
    if abs(now.timestamp() - int(ts)) > skew:
        raise Unauthorized(
            f"请求时间与县中心相差超过{skew}秒，请校准站点时钟 (timestamp outside the "
            f"{skew} s window: clock wrong, or a replayed request)"
        )
    keys = [site["key"]]
    until = from_iso(site["prev_key_until"])
    if site["prev_key"] and until and now < until:
        keys.append(site["prev_key"])
    if not any(signing.verify(k, method, path, site_id, ts, body, sig) for k in keys):
        raise Unauthorized(
            "站点签名无效：密钥不符或内容被改动 (bad signature: wrong key or altered body)"
        )
    if not site["active"]:
        raise Forbidden(f"站点{site_id}已停用 (site disabled)")
    return site


# --- a batch ---------------------------------------------------------------------------------
def check_batch(site: dict, data: dict) -> list[dict]:
    """The batch's records, checked for shape and order (400/403 otherwise)."""
    if data.get("site") != site["id"]:
        raise Forbidden(
            f"批次属于站点{data.get('site')!r}，不是{site['id']} (batch is another site's data)"
        )
    records = data.get("records")
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise Invalid(f"records须为列表，最多{MAX_RECORDS}条 (records: a list)")
    prev = None
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise Invalid(f"第{i + 1}条记录格式错误 (record {i} is not an object)")
        seq, table, op = r.get("seq"), r.get("t"), r.get("op")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise Invalid(f"第{i + 1}条记录缺少序号 (record {i}: seq)")
        if prev is not None and seq != prev + 1:
            raise Invalid(
                f"记录序号须连续递增：{prev}之后是{seq} (records out of order: {seq} after {prev})"
            )
        prev = seq
        if table not in TABLES or op not in ("put", "add", "del"):
            raise Invalid(f"第{seq}条记录的表或操作未知 (record {seq}: unknown table or op)")
        if not isinstance(r.get("row"), dict) or not isinstance(r.get("pk"), str):
            raise Invalid(f"第{seq}条记录格式错误 (record {seq}: row/pk)")
        keys = TABLES[table][0]
        if op != "del" and any(k not in r["row"] for k in keys):
            raise Invalid(f"第{seq}条记录缺少主键 (record {seq}: key columns)")
    return records


class Reception:
    """Receives batches (the centre's side of county/shipper.py)."""

    def __init__(self, hall, replicas, on_applied=None):
        self.hall = hall
        self.replicas = replicas
        self.on_applied = on_applied or (lambda site, fresh, days: None)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, site_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(site_id, threading.Lock())

    def receive(self, site: dict, data: dict) -> dict:
        records = check_batch(site, data)
        site_id = site["id"]
        now = self.hall.now_iso()
        with self._lock(site_id):
            if not records:
                acked = self.replicas.acked(site_id)
                self._seen(site_id, now, acked, None)
                # A heartbeat: the row's link and longest wait are shown afresh.
                self.on_applied(site, [], set())
                return {"acked": acked, "applied": 0}
            try:
                _before, acked, fresh, days = self.replicas.apply(site_id, records)
            except BatchError as e:
                self._seen(site_id, now, e.acked, e.message)
                log.warning("county: batch of %s refused: %s", site_id, e.message)
                raise
            self._seen(site_id, now, acked, "", batch=True)
        try:
            self.on_applied(site, fresh, days)
        except Exception:  # the batch is in; a follow-on job failing must not lose it
            log.exception("county: after-batch work for %s failed", site_id)
        return {"acked": acked, "applied": len(fresh)}

    def _seen(self, site_id, now, acked, error, batch=False) -> None:
        def run(db, out):
            sets = ["last_seen_at = ?"]
            values: list = [now]
            if acked is not None:
                sets.append("acked_seq = ?")
                values.append(acked)
            if error is not None:
                sets.append("last_error = ?")
                values.append(error)
            if batch:
                sets.append("last_batch_at = ?")
                values.append(now)
            db.execute(
                f"UPDATE county_sites SET {', '.join(sets)} WHERE id = ?", [*values, site_id]
            )

        self.hall.engine.write(run)


def site_json(hall, site: dict) -> dict:
    """A site as `site list` and /api/county/sites show it (never its key)."""
    return {
        "id": site["id"],
        "name": site["name"],
        "level": site["level"],
        "level_name": LEVEL_CN.get(site["level"], site["level"]),
        "active": bool(site["active"]),
        "key_fingerprint": signing.fingerprint(site["key"]),
        "previous_key_until": hall.engine.read.local_iso(site["prev_key_until"]),
        "created_at": hall.engine.read.local_iso(site["created_at"]),
        "acked_seq": site["acked_seq"],
        "last_seen_at": hall.engine.read.local_iso(site["last_seen_at"]),
        "last_batch_at": hall.engine.read.local_iso(site["last_batch_at"]),
        "last_error": site["last_error"] or None,
    }


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
