"""Gathering a site's records into its journal (county_outbox), in order, for the centre.

Each round reads the hall's tables in one read transaction (WAL: it never blocks a
writer) and appends what is new to county_outbox in one short write transaction, with
gap-free sequence numbers. What is gathered, in this order (a parent before its rows):

    site                 the hall's name and timezone
    services, windows,   rows whose content changed since last shipped (a digest per
    window_services,     row in county_seen); a row gone is shipped as a deletion
    users                (username, display name, role, active: never a password hash)
    tickets              every ticket with a new event, as it stands (never its token)
    ticket_events        append-only, by id
    ratings              the rating of a ticket rated (or timed out), or followed up
    rating_followups     append-only, by id (the supervisor face's 回访/整改/申诉 steps)
    county_ticket_matters  the catalogue matter chosen at the kiosk
    audit_log            window sign-ins, pauses and closes (the window sessions)
    face_figures         what the faces add to /api/stats (e.g. appointments) per day,
                         gathered less often (county/shipper.py)

No phone or ID number leaves a site: free text is passed through `redact` (mobile and
ID-card numbers masked), tokens and password hashes are never read, and columns a face
declares as personal data are reduced as they would be after their retention.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from hall.clock import to_iso
from hall.privacy import redact_numbers

#: (table, primary-key columns, columns shipped or None for all but DENY)
SNAPSHOT_TABLES = (
    ("services", ("code",), None),
    ("windows", ("number",), None),
    ("window_services", ("window", "service"), None),
    ("users", ("username",), ("username", "display_name", "role", "active")),
)
#: Columns that never leave a site, whatever the table.
DENY = {"token", "password_hash", "code_hash", "phone", "id_number", "id_card", "name_full"}
WINDOW_ACTIONS = ("open", "pause", "close", "force_close")
FIGURE_DAYS_BACK = 7
FIGURE_DAYS_AHEAD = 14


def redact(value):
    """Mobile and ID-card numbers in free text masked (13812345678 -> 138****5678):
    hall/privacy.py's rule, the one the purge applies."""
    return redact_numbers(value)


def clean(row: dict, table: str, personal: dict) -> dict:
    """A row as it may leave the site."""
    out = {}
    for key, value in row.items():
        if key in DENY:
            continue
        reduce = personal.get((table, key))
        if reduce is not None:
            value = reduce(value)
        out[key] = redact(value)
    return out


def digest(row: dict) -> str:
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def pk_of(row: dict, cols: tuple[str, ...]) -> str:
    return ":".join(str(row[c]) for c in cols)


def personal_columns(hall) -> dict:
    """(table, column) -> fn(value) -> what may leave: the personal data the core and
    the faces declare (hall/privacy.py), reduced as after its retention (a masked value,
    or nothing)."""
    from hall import privacy
    from hall.face import resolve

    out = {}
    for _owner, p in privacy.declared(hall):
        out[(p.table, p.column)] = resolve(p.reduce) if p.reduce else privacy.erase
    return out


class Gatherer:
    """Appends a site's new records to county_outbox (one instance per app)."""

    def __init__(self, hall, limit: int = 1000):
        self.hall = hall
        self.limit = limit
        self._tables: set[str] | None = None
        self._personal: dict | None = None

    # --- helpers ------------------------------------------------------------------------
    def tables(self, db) -> set[str]:
        if self._tables is None:
            self._tables = set(db.table_names())
        return self._tables

    def personal(self) -> dict:
        if self._personal is None:
            self._personal = personal_columns(self.hall)
        return self._personal

    @staticmethod
    def cursors(db) -> dict[str, str]:
        return {r["name"]: r["value"] for r in db.query("SELECT * FROM county_cursors")}

    # --- one round ----------------------------------------------------------------------
    def gather(self) -> int:
        """One round: the records that are new since the last one. Returns how many."""
        hall = self.hall
        db = hall.store.db()
        db.execute("BEGIN")  # one read snapshot (deferred: never takes the write lock)
        try:
            records, cursors, seen, gone = self._read(db)
        finally:
            db.execute("COMMIT")
        if not records and not cursors:
            return 0
        return self._append(records, cursors, seen, gone)

    def _read(self, db):
        cur = self.cursors(db)
        personal = self.personal()
        records: list[tuple[str, str, str, dict]] = []  # (table, op, pk, row)
        new_cursors: dict[str, str] = {}
        seen_updates: dict[tuple[str, str], str] = {}
        gone: list[tuple[str, str]] = []
        seen = {
            (r["tbl"], r["pk"]): r["digest"]
            for r in db.query("SELECT * FROM county_seen WHERE tbl NOT LIKE 'fig:%'")
        }

        def snapshot(table: str, pk: str, row: dict) -> None:
            d = digest(row)
            if seen.get((table, pk)) != d:
                records.append((table, "put", pk, row))
                seen_updates[(table, pk)] = d

        cfg = self.hall.cfg
        # What the figure code reads of the site's config: its timezone, and the names
        # of its 一件事 journeys ([[journeys]], hall/journeys.py).
        journeys = [
            {"code": j["code"], "name": j["name"], "steps": list(j.get("steps") or [])}
            for j in getattr(cfg, "journeys", [])
        ]
        snapshot(
            "site",
            "site",
            {"name": cfg.hall["name"], "timezone": cfg.hall["timezone"], "journeys": journeys},
        )
        for table, cols, keep in SNAPSHOT_TABLES:
            present = set()
            for r in db.query(f"SELECT * FROM {table}"):
                r = dict(r)
                if keep:
                    r = {k: r.get(k) for k in keep}
                row = clean(r, table, personal)
                pk = pk_of(r, cols)
                present.add(pk)
                snapshot(table, pk, row)
            for tbl, pk in seen:
                if tbl == table and pk not in present:
                    records.append((table, "del", pk, {}))
                    gone.append((table, pk))

        # Append-only logs, by id.
        events = [
            dict(r)
            for r in db.query(
                "SELECT * FROM ticket_events WHERE id > ? ORDER BY id LIMIT ?",
                [int(cur.get("ticket_events", 0)), self.limit],
            )
        ]
        matters = [
            dict(r)
            for r in db.query(
                "SELECT * FROM county_ticket_matters WHERE id > ? ORDER BY id LIMIT ?",
                [int(cur.get("county_ticket_matters", 0)), self.limit],
            )
        ]
        followups = []
        if "rating_followups" in self.tables(db):
            followups = [
                dict(r)
                for r in db.query(
                    "SELECT * FROM rating_followups WHERE id > ? ORDER BY id LIMIT ?",
                    [int(cur.get("rating_followups", 0)), self.limit],
                )
            ]
        audit_from = int(cur.get("audit_log", 0))
        audit = [
            dict(r)
            for r in db.query(
                "SELECT * FROM audit_log WHERE id > ? AND target LIKE 'window:%' "
                f"AND action IN ({', '.join('?' for _ in WINDOW_ACTIONS)}) ORDER BY id LIMIT ?",
                [audit_from, *WINDOW_ACTIONS, self.limit],
            )
        ]
        if len(audit) < self.limit:
            top = db.execute("SELECT MAX(id) FROM audit_log").fetchone()[0] or 0
            audit_to = max(top, audit_from)
        else:
            audit_to = audit[-1]["id"]

        # Tickets touched (before their events), ratings touched (after them).
        ticket_ids = sorted({e["ticket_id"] for e in events} | {m["ticket_id"] for m in matters})
        for t in self._rows(db, "tickets", "id", ticket_ids):
            records.append(("tickets", "put", str(t["id"]), clean(t, "tickets", personal)))
        for e in events:
            records.append(
                ("ticket_events", "add", str(e["id"]), clean(e, "ticket_events", personal))
            )
        rated = {e["ticket_id"] for e in events if e["kind"] in ("rated", "unrated")}
        rating_rows = self._rows(db, "ratings", "ticket_id", sorted(rated))
        have = {r["id"] for r in rating_rows}
        rating_rows += [
            r
            for r in self._rows(db, "ratings", "id", sorted({f["rating_id"] for f in followups}))
            if r["id"] not in have
        ]
        for r in sorted(rating_rows, key=lambda r: r["id"]):
            records.append(("ratings", "put", str(r["id"]), clean(r, "ratings", personal)))
        for f in followups:
            records.append(
                ("rating_followups", "add", str(f["id"]), clean(f, "rating_followups", personal))
            )
        for m in matters:
            records.append(
                (
                    "county_ticket_matters",
                    "add",
                    str(m["id"]),
                    clean(m, "county_ticket_matters", personal),
                )
            )
        for a in audit:
            records.append(("audit_log", "add", str(a["id"]), clean(a, "audit_log", personal)))

        if events:
            new_cursors["ticket_events"] = str(events[-1]["id"])
        if matters:
            new_cursors["county_ticket_matters"] = str(matters[-1]["id"])
        if followups:
            new_cursors["rating_followups"] = str(followups[-1]["id"])
        if audit_to != audit_from:
            new_cursors["audit_log"] = str(audit_to)
        return records, new_cursors, seen_updates, gone

    @staticmethod
    def _rows(db, table: str, col: str, values: list) -> list[dict]:
        out = []
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            out += [
                dict(r)
                for r in db.query(
                    f"SELECT * FROM {table} WHERE {col} IN ({', '.join('?' for _ in chunk)}) "
                    "ORDER BY id",
                    chunk,
                )
            ]
        return out

    def _append(self, records, cursors, seen, gone) -> int:
        at = to_iso(self.hall.clock.now())

        def run(db, out):
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM county_outbox").fetchone()[0]
            floor = int(self.cursors(db).get("pruned", 0))
            seq = max(seq, floor)
            for table, op, pk, row in records:
                seq += 1
                db.execute(
                    "INSERT INTO county_outbox (seq, tbl, op, pk, at, row) VALUES (?, ?, ?, ?, ?, ?)",
                    [seq, table, op, pk, at, json.dumps(row, ensure_ascii=False, sort_keys=True)],
                )
            for name, value in cursors.items():
                set_cursor(db, name, value)
            for (table, pk), d in seen.items():
                db.execute(
                    "INSERT INTO county_seen (tbl, pk, digest) VALUES (?, ?, ?) "
                    "ON CONFLICT (tbl, pk) DO UPDATE SET digest = excluded.digest",
                    [table, pk, d],
                )
            for table, pk in gone:
                db.execute("DELETE FROM county_seen WHERE tbl = ? AND pk = ?", [table, pk])
            return len(records)

        return self.hall.engine.write(run)

    # --- the faces' figures (e.g. appointments), per day --------------------------------
    def gather_figures(self, everything: bool = False) -> int:
        """The faces' /api/stats figures of the days around today (all days with tickets
        the first time), shipped when they changed. Runs the faces' own figure functions
        (as /api/stats does), outside any transaction of ours."""
        hall = self.hall
        figures = hall.faces.figures()
        if not figures:
            return 0
        today = hall.hours.local(hall.clock.now()).date()
        days = {today + timedelta(days=i) for i in range(-FIGURE_DAYS_BACK, FIGURE_DAYS_AHEAD + 1)}
        db = hall.store.db()
        if everything:
            from datetime import date

            days |= {
                date.fromisoformat(r["day"]) for r in db.query("SELECT DISTINCT day FROM tickets")
            }
        seen = {
            r["pk"]: r["digest"]
            for r in db.query("SELECT pk, digest FROM county_seen WHERE tbl = 'fig:face_figures'")
        }
        personal = self.personal()
        records, updates = [], {}
        for day in sorted(days):
            for key, fn in figures:
                value = fn(hall, day, day)
                row = clean(
                    {"day": day.isoformat(), "key": key, "value": value}, "face_figures", personal
                )
                pk = f"{day.isoformat()}:{key}"
                d = digest(row)
                if seen.get(pk) != d:
                    records.append(("face_figures", "put", pk, row))
                    updates[("fig:face_figures", pk)] = d
        if not records:
            return 0
        return self._append(records, {}, updates, [])


def set_cursor(db, name: str, value) -> None:
    db.execute(
        "INSERT INTO county_cursors (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [name, str(value)],
    )


def get_cursor(db, name: str, default=None):
    rows = list(db.query("SELECT value FROM county_cursors WHERE name = ?", [name]))
    return rows[0]["value"] if rows else default
