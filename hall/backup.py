"""Backups of the hall's database while it runs, and restoring one.

A backup is SQLite's `VACUUM INTO` a new file, not the online backup API
(sqlite3.Connection.backup):

- it reads the database in one read transaction, so the copy is one consistent moment
  (every transaction committed before it started, nothing half-done), and in WAL mode
  writers go on meanwhile. The backup API copies page by page; in steps, any write by
  another connection restarts it from the beginning (a busy hall would never finish),
  and in one step it is the same read transaction as VACUUM INTO anyway;
- the copy is rebuilt, not copied: no free pages, so personal data already erased
  (hall/privacy.py) is not carried into backups from the free space of the file, and the
  copy is as small as the data.

The copy is written under a temporary name, checked (`PRAGMA integrity_check`, and that
it is a hall database), then renamed; every attempt is a row in `backups` (what
/api/health and the supervisor board show). The folder keeps the newest `backup.keep`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from .clock import from_iso, to_iso
from .db import lock_path

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"hall-\d{8}-\d{6}(-\d+)?\.sqlite3")
STALE_AFTER = timedelta(days=1)  # the board warns when the last good backup is older


class BackupError(Exception):
    """A readable reason (Chinese first) why a backup or a restore did not happen."""


def folder(cfg, db_path: str) -> Path:
    """[backup] dir, or backups/ beside the database; relative paths are from the
    database's folder."""
    base = Path(db_path).resolve().parent
    configured = cfg.backup["dir"]
    return (base / configured).resolve() if configured else base / "backups"


def check_file(path: str | os.PathLike) -> str | None:
    """None when the file is a sound hall database; else what is wrong."""
    path = str(path)
    if not os.path.isfile(path):
        return f"文件不存在 (no such file: {path})"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as e:
        return f"无法打开 (cannot open: {e})"
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            detail = "; ".join(str(r[0]) for r in rows[:5])
            return f"完整性检查未通过 (integrity_check: {detail})"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = {"_sqlite_migrations", "tickets", "ticket_events", "services"} - tables
        if missing:
            return f"不是大厅数据库 (not a hall database: no {', '.join(sorted(missing))})"
    except sqlite3.DatabaseError as e:
        return f"不是有效的数据库 (not a database: {e})"
    finally:
        conn.close()
    return None


def _target(directory: Path, when: datetime) -> Path:
    stem = f"hall-{when:%Y%m%d-%H%M%S}"
    target = directory / f"{stem}.sqlite3"
    n = 1
    while target.exists():
        target = directory / f"{stem}-{n}.sqlite3"
        n += 1
    return target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_to(db_path: str, target: Path) -> None:
    """VACUUM INTO a temporary file beside target, check it, rename it into place."""
    partial = target.with_name(target.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("VACUUM INTO ?", [str(partial)])
    finally:
        conn.close()
    try:
        problem = check_file(partial)
        if problem:
            raise BackupError(problem)
        _fsync(partial)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in the folder (only files named like
    ours: a file someone put there is never touched)."""
    ours = sorted(
        (p for p in directory.iterdir() if NAME_RE.fullmatch(p.name)),
        key=lambda p: (p.stat().st_mtime, p.name),
    )
    gone = ours[:-keep] if keep > 0 else []
    for p in gone:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return gone


def take(hall, dest: str | os.PathLike | None = None, trigger: str = "command") -> dict:
    """Back up the hall's database now; record the attempt. dest: a file, or a folder
    (default: the backup folder, which is then pruned to backup.keep). Returns the
    `backups` row; its `ok` says whether it worked (the error is in `error`)."""
    store = hall.store
    started = hall.clock.now()
    local = started.astimezone(hall.cfg.tz)
    row = {"started_at": to_iso(started), "trigger": trigger, "ok": 0}
    pruning = None
    try:
        if store.path == ":memory:":
            raise BackupError("内存数据库无法备份 (an in-memory database has no file)")
        if dest is None:
            directory = folder(hall.cfg, store.path)
            pruning = directory
            directory.mkdir(parents=True, exist_ok=True)
            target = _target(directory, local)
        else:
            dest = Path(dest).resolve()
            if dest.is_dir():
                target = _target(dest, local)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():
                    raise BackupError(f"目标文件已存在 (target exists: {dest})")
                target = dest
        if target.resolve() == Path(store.path).resolve():
            raise BackupError("不能备份到数据库本身 (the target is the database itself)")
        row["path"] = str(target)
        copy_to(store.path, target)
        row["size"] = target.stat().st_size
        row["ok"] = 1
    except (BackupError, OSError, sqlite3.Error) as e:
        row["error"] = str(e)[:500]
        log.error("backup failed: %s", e)
    row["finished_at"] = to_iso(hall.clock.now())
    with store.write() as db:
        row["id"] = db["backups"].insert(row).last_pk
    if row["ok"] and pruning is not None:
        try:
            prune(pruning, hall.cfg.backup["keep"])
        except OSError as e:
            log.warning("pruning old backups failed: %s", e)
    return row


def status(hall, db=None) -> dict:
    """The last backup and whether it is a worry (what /api/health and the board show):
    {last: {at, ok, size, error} | None, last_ok_at, stale, warning}."""
    db = db or hall.store.db()
    rows = list(db.query("SELECT * FROM backups ORDER BY id DESC LIMIT 1"))
    good = list(db.query("SELECT finished_at FROM backups WHERE ok = 1 ORDER BY id DESC LIMIT 1"))
    read = hall.engine.read
    last = None
    if rows:
        r = rows[0]
        last = {
            "at": read.local_iso(r["finished_at"] or r["started_at"]),
            "ok": bool(r["ok"]),
            "size": r["size"],
            "trigger": r["trigger"],
            "error": r["error"] or "",
        }
    last_ok = from_iso(good[0]["finished_at"]) if good else None
    stale = last_ok is None or hall.clock.now() - last_ok > STALE_AFTER
    warning = ""
    if last is not None and not last["ok"]:
        warning = "最近一次备份失败"
    elif last_ok is None:
        warning = "尚无备份"
    elif stale:
        warning = "超过一天没有成功备份"
    return {
        "last": last,
        "last_ok_at": read.local_iso(to_iso(last_ok)) if last_ok else None,
        "stale": stale,
        "warning": warning,
    }


# --- restore ------------------------------------------------------------------------
def restore(db_path: str, source: str | os.PathLike, now: datetime) -> dict:
    """Put the backup `source` in place of the database at db_path.

    Refused while any process has the database open (a running server holds a shared
    flock on `<database>.lock` for its whole life; the kernel drops it when the process
    dies, so a crashed server never blocks a restore). The source must pass the same
    checks as a fresh backup. The replaced database (with its WAL folded in) is kept
    aside as `<database>.replaced-<time>`. Returns {restored, from, replaced}."""
    db_path = os.path.abspath(db_path)
    source = os.path.abspath(source)
    if source == db_path:
        raise BackupError("备份文件就是数据库本身 (the backup is the database itself)")
    problem = check_file(source)
    if problem:
        raise BackupError(f"备份文件不可用：{problem}")
    os.makedirs(os.path.dirname(db_path), exist_ok=True)
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                "数据库正在使用中，请先停止大厅服务 "
                "(the database is in use by a running hall process: stop it first)"
            ) from None
        # Held until the end: a server starting now waits for the restore to finish.
        replaced = None
        if os.path.exists(db_path):
            replaced = f"{db_path}.replaced-{now:%Y%m%d-%H%M%S}"
            _fold_wal(db_path)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db_path + suffix):
                    os.replace(db_path + suffix, replaced + suffix)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(db_path + suffix)
        partial = db_path + ".restoring"
        shutil.copyfile(source, partial)
        _fsync(Path(partial))
        os.replace(partial, db_path)
        problem = check_file(db_path)
        if problem:  # pragma: no cover - the copy of a checked file
            raise BackupError(f"恢复后的数据库不可用：{problem}")
        return {"restored": db_path, "from": source, "replaced": replaced}
    finally:
        os.close(fd)


def _fold_wal(db_path: str) -> None:
    """Checkpoint the database being replaced, so what it had committed (even by a
    server that crashed) is inside the file kept aside. A broken one is kept as is."""
    try:
        conn = sqlite3.connect(db_path, timeout=5, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error as e:
        log.warning("could not checkpoint %s before replacing it: %s", db_path, e)
