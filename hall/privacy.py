"""Citizens' personal data is kept no longer than needed.

Every face declares the columns where it keeps a citizen's personal data
(`Face.personal_data`, hall.face.PersonalData); the core declares its own below. Once
[privacy] retention_days have passed since a row's date, `purge` reduces each such value
to what may stay (a masked phone 138****5678, a masked name 张*, or nothing) in one
transaction. Figures never read these columns, so they do not change.

The database is left without the old values in its bytes: the purge runs with SQLite's
secure_delete (freed space is zeroed) and then truncates the WAL, whose old frames would
still hold them. Backups are rebuilt by VACUUM INTO (hall/backup.py), so they carry no
free pages either; backups older than the purge still hold the data until they are
pruned ([backup] keep).
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from .face import PersonalData, resolve

log = logging.getLogger(__name__)

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")


def erase(value):
    """Nothing stays (the column keeps "", for NOT NULL columns)."""
    return ""


def redact_numbers(value):
    """Free text stays, but mobile and ID-card numbers in it are masked
    (13812345678 -> 138****5678; 18-character ID numbers keep 3 + 4 characters)."""
    if not isinstance(value, str):
        return value
    value = ID_NUMBER.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), value)
    return MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), value)


#: The core's own tables: what a citizen may have typed into a 好差评 comment, and what
#: staff may have noted about a call-back (copied into the audit log's details).
CORE = (
    PersonalData(
        "ratings",
        "comment",
        "rated_at",
        "hall.privacy:redact_numbers",
        "好差评 comments: phone and ID numbers a citizen typed are masked.",
    ),
    PersonalData(
        "audit_log",
        "details",
        "at",
        "hall.privacy:redact_numbers",
        "Audit details (e.g. a call-back note): phone and ID numbers are masked.",
    ),
)


def declared(hall) -> list[tuple[str, PersonalData]]:
    """(owner, declaration) for the core and every installed face."""
    return [("hall", p) for p in CORE] + hall.faces.personal_data()


def check(entries) -> None:
    for owner, p in entries:
        for name in (p.table, p.column, p.since):
            if not IDENT.fullmatch(name):
                raise ValueError(f"{owner}: personal_data names {name!r}, not a column name")


def cutoff_day(hall, now=None) -> date:
    """Rows dated before this hall-local day are past their retention."""
    now = now or hall.clock.now()
    return hall.hours.local(now).date() - timedelta(days=hall.cfg.privacy["retention_days"])


def purge(hall, now=None, actor=None) -> dict:
    """Reduce every declared personal field past its retention; returns
    {"cutoff": day, "changed": {"table.column": rows}}. One transaction; audited."""
    entries = declared(hall)
    check(entries)
    now = now or hall.clock.now()
    cutoff = cutoff_day(hall, now).isoformat()
    changed: dict[str, int] = {}
    store = hall.store
    conn = store.db()
    conn.execute("PRAGMA secure_delete = ON")
    try:
        with store.write() as db:
            for _owner, p in entries:
                fn = resolve(p.reduce) if p.reduce else erase
                rows = db.execute(
                    f'SELECT rowid, "{p.column}" FROM "{p.table}" WHERE "{p.since}" < ? '
                    f'AND "{p.column}" IS NOT NULL AND "{p.column}" != \'\'',
                    [cutoff],
                ).fetchall()
                n = 0
                for rowid, value in rows:
                    reduced = fn(value)
                    if reduced != value:
                        db.execute(
                            f'UPDATE "{p.table}" SET "{p.column}" = ? WHERE rowid = ?',
                            [reduced, rowid],
                        )
                        n += 1
                changed[f"{p.table}.{p.column}"] = n
            hall.engine.audit(db, actor, "privacy_purge", "personal_data", now, cutoff=cutoff)
    finally:
        conn.execute("PRAGMA secure_delete = OFF")
    # The WAL still holds the pages as they were before: fold it in and empty it.
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except Exception as e:  # a busy reader: the next checkpoint will do it
        log.warning("checkpoint after purge failed: %s", e)
    log.info("personal data before %s reduced: %s", cutoff, changed)
    return {"cutoff": cutoff, "changed": changed}


def last_purge(hall, db=None) -> str | None:
    """When personal data was last purged (hall-local ISO), or None."""
    db = db or hall.store.db()
    rows = list(
        db.query("SELECT at FROM audit_log WHERE action = 'privacy_purge' ORDER BY id DESC LIMIT 1")
    )
    return hall.engine.read.local_iso(rows[0]["at"]) if rows else None
