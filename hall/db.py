"""SQLite storage through sqlite-utils.

One connection per thread (sqlite3 connections must not be shared across threads
mid-transaction); WAL so readers never block the writer; busy_timeout so writers from
several processes queue instead of failing; BEGIN IMMEDIATE for every state change
because a deferred transaction that upgrades to a write fails under concurrent writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .schema import CORE_MIGRATIONS

MIGRATION_SET = "hall"

BUSY_TIMEOUT_MS = 30_000


def connect(path: str) -> sqlite_utils.Database:
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # isolation_level=None: Python never opens a transaction behind our back; we say
    # BEGIN IMMEDIATE ourselves, and sqlite-utils nests its own work in savepoints.
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn, execute_plugins=False)


def migrate(db: sqlite_utils.Database, face_migrations=()) -> None:
    """The core's migrations, then the faces' (hall/face.py), as one sqlite-utils
    migration set: a migration is known by its function name, whichever module holds it."""
    migrations = Migrations(MIGRATION_SET)
    for fn in (*CORE_MIGRATIONS, *face_migrations):
        migrations()(fn)
    migrations.apply(db)


def lock_path(db_path: str) -> str:
    """The lock file beside a database: every process that has the database open holds a
    shared flock on it; `python -m hall restore` needs it exclusively."""
    return os.path.abspath(db_path) + ".lock"


def hold_in_use(db_path: str) -> int | None:
    """Take a shared lock saying "this process uses the database" (None for :memory:).

    An flock belongs to the open file: the kernel drops it when the process ends, however
    it ends (a crash leaves no stale lock), and gunicorn's forked worker shares its
    master's. It waits while a restore holds the lock exclusively."""
    if db_path == ":memory:":
        return None
    os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One BEGIN IMMEDIATE transaction on db: committed, or rolled back on any error (a
    deferred transaction fails under concurrent writers when it upgrades to a write)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


class Store:
    """Hands each thread its own connection to one database file."""

    def __init__(self, path: str, face_migrations=()):
        self.path = path
        # Released when the store is garbage (tests make many) or the process ends.
        self._in_use = hold_in_use(path)
        weakref.finalize(self, _release, self._in_use)
        self._local = threading.local()
        # (owner thread, its connection), so close() knows whose connection it is
        self._all: list[tuple[threading.Thread, sqlite_utils.Database]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        with self._lock:
            db = connect(path)
            migrate(db, face_migrations)
            db.close()

    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
            me = threading.current_thread()
            with self._lock:
                # a connection this thread had before a close() is garbage now, and so
                # are those of threads that have ended (short-lived threads would
                # otherwise pile up open connections: a file descriptor or three each)
                ended = [d for t, d in self._all if t is not me and not t.is_alive()]
                self._all = [(t, d) for t, d in self._all if t is not me and t.is_alive()]
                self._all.append((me, db))
            for old in ended:
                with contextlib.suppress(Exception):
                    old.close()
        return db

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One state change: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        db = self.db()
        if db.conn.in_transaction:
            raise RuntimeError("nested write transaction")
        # Writers of this process queue on a lock, not on SQLite's busy handler: the
        # busy handler polls with sleeps of up to 100 ms, which under many concurrent
        # writer threads turned millisecond transactions into seconds-long waits.
        # (Other processes on the same file still meet busy_timeout.)
        with self._write_lock:
            with immediate(db):
                yield db

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended.

        A connection of a thread still running (a pad timer, a server thread) is only
        let go: closing it under a query running in that thread crashes the interpreter
        (a segfault in sqlite3); it closes itself when that thread drops it."""
        me = threading.current_thread()
        with self._lock:
            closable = [d for t, d in self._all if t is me or not t.is_alive()]
            self._all = []
        for db in closable:
            with contextlib.suppress(Exception):
                db.close()
        self._local = threading.local()
