"""The centre's copy of each site: one SQLite file per site with a hall's own schema,
filled from the shipped records, so the hall's own figure code runs on it unchanged
(`SiteHall` gives hall.stats.compute what it reads of a hall).

Applying a batch is one transaction on the site's copy that also moves its acknowledged
sequence (county_cursors "acked"): a batch is in, wholly, or not at all, and a batch
already applied is recognised by its sequence numbers. Figures of a day are therefore
those of the site as soon as the site's records of that day have arrived.

One connection per site, used under the site's lock (readers and the writer take
turns: a day's figures take milliseconds); at most MAX_OPEN files are open at once.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlite_utils

from hall.db import BUSY_TIMEOUT_MS, immediate, migrate
from hall.queries import Reader

from .capture import get_cursor, set_cursor

MAX_OPEN = 64
SAFE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")

#: table -> (primary-key columns of a shipped record's pk, how records apply)
TABLES = {
    "services": (("code",), "upsert"),
    "windows": (("number",), "upsert"),
    "window_services": (("window", "service"), "upsert"),
    "users": (("username",), "upsert"),
    "tickets": (("id",), "upsert"),
    "ticket_events": (("id",), "insert"),
    "ratings": (("id",), "upsert"),
    "rating_followups": (("id",), "insert"),
    "county_ticket_matters": (("id",), "insert"),
    "audit_log": (("id",), "insert"),
    "face_figures": (("day", "key"), "figures"),
    "site": ((), "site"),
}


class BatchError(Exception):
    """A batch the centre refuses (nothing of it is kept)."""

    def __init__(self, status: int, message: str, acked: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.acked = acked


def _connect(path: str) -> sqlite_utils.Database:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    # A copy follows its site: a row may arrive before a row it points to (a service
    # renamed, a window removed); the site's own database enforced the keys.
    conn.execute("PRAGMA foreign_keys = OFF")
    return sqlite_utils.Database(conn, execute_plugins=False)


class _Site:
    def __init__(self, path: str):
        self.path = path
        self.lock = threading.RLock()
        self.users = 0  # threads in read()/write() of this copy (never closed under them)
        self.db: sqlite_utils.Database | None = None
        self.columns: dict[str, list[str]] = {}


class Replicas:
    """The centre's site copies (county face state on a centre)."""

    def __init__(self, folder: str, migrations):
        self.folder = folder
        self.migrations = list(migrations)
        self._sites: OrderedDict[str, _Site] = OrderedDict()
        self._lock = threading.Lock()
        self._migrated: set[str] = set()

    def path(self, site_id: str) -> str:
        if not SAFE_ID.fullmatch(site_id):
            raise ValueError(f"bad site id {site_id!r}")
        return os.path.join(self.folder, f"{site_id}.sqlite3")

    def exists(self, site_id: str) -> bool:
        return os.path.exists(self.path(site_id))

    def _site(self, site_id: str) -> _Site:
        with self._lock:
            s = self._sites.get(site_id)
            if s is None:
                s = self._sites[site_id] = _Site(self.path(site_id))
            self._sites.move_to_end(site_id)
            return s

    def _open(self, s: _Site) -> sqlite_utils.Database:
        if s.db is None:
            os.makedirs(self.folder, exist_ok=True)
            s.db = _connect(s.path)
            if s.path not in self._migrated:  # once per file and process
                migrate(s.db, self.migrations)
                self._migrated.add(s.path)
            self._close_idle()
        return s.db

    def _close_idle(self) -> None:
        with self._lock:
            open_sites = [(k, s) for k, s in self._sites.items() if s.db is not None]
        for _key, s in open_sites[: max(0, len(open_sites) - MAX_OPEN)]:
            if s.users == 0 and s.lock.acquire(blocking=False):
                try:
                    if s.db is not None:
                        s.db.close()
                        s.db = None
                finally:
                    s.lock.release()

    @contextmanager
    def _use(self, site_id: str):
        s = self._site(site_id)
        with self._lock:
            s.users += 1
        try:
            with s.lock:
                yield s
        finally:
            with self._lock:
                s.users -= 1

    @contextmanager
    def read(self, site_id: str):
        with self._use(site_id) as s:
            yield self._open(s)

    @contextmanager
    def write(self, site_id: str):
        with self._use(site_id) as s:
            db = self._open(s)
            with immediate(db):
                yield db

    def acked(self, site_id: str) -> int:
        with self.read(site_id) as db:
            return int(get_cursor(db, "acked", 0))

    def columns(self, site_id: str, db, table: str) -> list[str]:
        s = self._site(site_id)
        cols = s.columns.get(table)
        if cols is None:
            cols = s.columns[table] = [c.name for c in db[table].columns]
        return cols

    def close(self) -> None:
        with self._lock:
            sites = list(self._sites.values())
        for s in sites:
            with s.lock:
                if s.db is not None:
                    s.db.close()
                    s.db = None

    # --- applying a batch ------------------------------------------------------------------
    def apply(self, site_id: str, records: list[dict]) -> tuple[int, int, list[dict], set[str]]:
        """Apply the records after the acknowledged sequence, in one transaction.
        Returns (acked before, acked after, the records applied, the days of the
        tickets they touched). Raises BatchError for a gap or a batch already received
        (nothing changes)."""
        first, last = records[0]["seq"], records[-1]["seq"]
        with self.write(site_id) as db:
            acked = int(get_cursor(db, "acked", 0))
            if last <= acked:
                raise BatchError(
                    409,
                    f"该批次已收到（已确认至第{acked}条）(batch already received: acked {acked})",
                    acked,
                )
            if first > acked + 1:
                raise BatchError(
                    409,
                    f"缺少第{acked + 1}至{first - 1}条记录 (gap: records {acked + 1}-{first - 1} "
                    f"missing)",
                    acked,
                )
            fresh = [r for r in records if r["seq"] > acked]
            for rec in fresh:
                self._apply_one(site_id, db, rec)
            set_cursor(db, "acked", last)
            days = touched_days(db, fresh)
            # The ranking's summaries of those days are stale now (figures.DayCache).
            if "*" in days:
                db.execute("DELETE FROM county_day_cache")
            elif days:
                marks = ", ".join("?" for _ in days)
                db.execute(f"DELETE FROM county_day_cache WHERE day IN ({marks})", list(days))
        return acked, last, fresh, days

    def _apply_one(self, site_id: str, db, rec: dict) -> None:
        table, op, row = rec["t"], rec["op"], rec["row"]
        keys, how = TABLES[table]
        if how == "site":
            for k in ("name", "timezone"):
                set_cursor(db, f"site_{k}", row.get(k) or "")
            set_cursor(
                db, "site_journeys", json.dumps(row.get("journeys") or [], ensure_ascii=False)
            )
            return
        if how == "figures":
            db.execute(
                "INSERT INTO county_face_figures (day, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (day, key) DO UPDATE SET value = excluded.value",
                [row["day"], row["key"], json.dumps(row.get("value"), ensure_ascii=False)],
            )
            return
        if op == "del":
            values = rec["pk"].split(":")
            where = " AND ".join(f'"{k}" = ?' for k in keys)
            db.execute(f'DELETE FROM "{table}" WHERE {where}', values)
            return
        cols = [c for c in self.columns(site_id, db, table) if c in row]
        row = {c: row[c] for c in cols}
        if table == "tickets":
            # The token is the citizen's key: it never leaves the site; the copy needs a
            # unique, unusable stand-in.
            row["token"] = f"~{site_id}~{row['id']}"
            cols = list(row)
        elif table == "users":
            row["password_hash"] = "!"  # nobody logs in to a copy
            cols = list(row)
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        values = [_sql(row[c]) for c in cols]
        if how == "insert":
            db.execute(f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})', values)
        else:
            conflict = ", ".join(f'"{k}"' for k in keys)
            updates = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c not in keys)
            db.execute(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) '
                f"DO {'UPDATE SET ' + updates if updates else 'NOTHING'}",
                values,
            )
        if table in ("ratings", "rating_followups"):
            pk = str(row["id"] if table == "ratings" else row["rating_id"])
            db.execute(
                "INSERT INTO county_replica_log (seq, tbl, pk) VALUES (?, 'ratings', ?)",
                [rec["seq"], pk],
            )


def touched_days(db, records: list[dict]) -> set[str]:
    """The days (of the tickets) whose figures these records may change."""
    days, tickets, ratings = set(), set(), set()
    for r in records:
        row = r["row"]
        if r["t"] == "tickets" and row.get("day"):
            days.add(row["day"])
        elif r["t"] in ("ticket_events", "ratings", "county_ticket_matters"):
            if row.get("ticket_id") is not None:
                tickets.add(row["ticket_id"])
        elif r["t"] == "rating_followups" and row.get("rating_id") is not None:
            ratings.add(row["rating_id"])
        elif r["t"] == "services":
            days.add("*")  # departments and target waits of every day
    if ratings:
        marks = ", ".join("?" for _ in ratings)
        tickets |= {
            r["ticket_id"]
            for r in db.query(f"SELECT ticket_id FROM ratings WHERE id IN ({marks})", list(ratings))
        }
    tickets = list(tickets)
    for i in range(0, len(tickets), 500):
        chunk = tickets[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        days |= {
            r["day"]
            for r in db.query(f"SELECT DISTINCT day FROM tickets WHERE id IN ({marks})", chunk)
        }
    return days


def _sql(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value


# --- a site's copy as a hall, for the hall's own figure code ---------------------------------
class _OneDB:
    def __init__(self, db):
        self._db = db

    def db(self):
        return self._db


class _SiteFaces:
    """What stats.compute asks of hall.faces: the faces' figures, here as the site shipped
    them per day (county_face_figures). One day: the site's value; several days: the
    counts added up, ratios left out (None) (they need the site's own records)."""

    def __init__(self, db):
        self._db = db

    def figures(self):
        keys = [
            r["key"]
            for r in self._db.query("SELECT DISTINCT key FROM county_face_figures ORDER BY key")
        ]
        return [(k, self._figure(k)) for k in keys]

    def _figure(self, key):
        def fn(_hall, start, end):
            rows = [
                json.loads(r["value"])
                for r in self._db.query(
                    "SELECT value FROM county_face_figures WHERE key = ? AND day >= ? AND day <= ? "
                    "ORDER BY day",
                    [key, start.isoformat(), end.isoformat()],
                )
            ]
            if start == end:
                return rows[0] if rows else None
            return merge_values(rows)

        return fn

    def installed(self, name):
        return False

    def state(self, name):
        return None

    def interface(self, name):
        return None


def merge_values(values: list):
    """Counts added up through nested dicts; anything else (a rate) is None."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if all(isinstance(v, dict) for v in values):
        keys = []
        for v in values:
            keys += [k for k in v if k not in keys]
        return {k: merge_values([v[k] for v in values if k in v]) for k in keys}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return sum(values)
    return None


class SiteConfig:
    """What the figure code reads of a site's config, as the site shipped it."""

    def __init__(self, tz_name: str, name: str, journeys: list[dict]):
        self.tz = ZoneInfo(tz_name)
        self.hall = {"timezone": tz_name, "name": name}
        self.journeys = journeys

    def journey(self, code: str) -> dict | None:
        return next((j for j in self.journeys if j["code"] == code), None)


class SiteHall:
    """The part of a hall that hall.stats reads, over a site's copy: its database, its
    timezone, the centre's clock."""

    def __init__(self, db, clock, site_id: str, tz_name: str | None = None, name: str = ""):
        tz_name = tz_name or get_cursor(db, "site_timezone") or "Asia/Shanghai"
        name = name or get_cursor(db, "site_name") or site_id
        self.site_id = site_id
        self.cfg = SiteConfig(tz_name, name, json.loads(get_cursor(db, "site_journeys") or "[]"))
        self.store = _OneDB(db)
        self.clock = clock
        self.engine = SimpleNamespace(read=Reader(self.cfg, clock, None))
        self.faces = _SiteFaces(db)

    def now_iso(self) -> str:
        from hall.clock import to_iso

        return to_iso(self.clock.now())
