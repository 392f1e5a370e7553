"""Backups while the hall runs, their record and folder, and restoring one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

from hall import backup, create_app
from hall.scheduler import Scheduler, default_jobs

from ..conftest import PASSWORD, ROOT, TEST_CONFIG, LiveServer, local


def ids_in(path) -> set[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM tickets")}
    finally:
        conn.close()


def integrity(path) -> list:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def run_cli(env: dict, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hall", *args],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def stats_of(session, url: str, day: str) -> dict:
    r = session.get(f"{url}/api/stats?from={day}&to={day}", timeout=30)
    r.raise_for_status()
    figures = r.json()
    figures.pop("generated_at")
    return figures


def test_backup_under_load_then_restore_and_serve_it(tmp_path):
    live = LiveServer(tmp_path / "a", settings={"security": {"ticket_rate_limit_per_minute": 0}})
    (tmp_path / "a").mkdir()
    live.start()
    try:
        issued: list[tuple[float, int]] = []  # (time the answer came back, ticket id)
        lock = threading.Lock()
        stop = threading.Event()
        errors: list[str] = []

        def kiosk():
            s = requests.Session()
            for _ in range(400):  # bounded: a kiosk takes at most 400 numbers
                if stop.is_set():
                    return
                r = s.post(live.url + "/api/tickets", json={"service": "SB"}, timeout=30)
                if r.status_code != 201:
                    errors.append(r.text)
                    return
                with lock:
                    issued.append((time.monotonic(), r.json()["id"]))

        threads = [threading.Thread(target=kiosk) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(issued) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(issued) >= 40, errors
        target = tmp_path / "mid.sqlite3"
        started = time.monotonic()
        with lock:
            before = {i for at, i in issued if at < started}
        done = run_cli(live.env(), "backup", str(target))
        with lock:
            during = len(issued) - len(before)
        stop.set()
        for t in threads:
            t.join(60)
        assert errors == []
        assert "integrity_check ok" in done.stdout
        # Tickets kept coming while the copy was taken, and the copy is sound and holds
        # every ticket whose answer had come back before the backup started.
        assert during > 0
        assert integrity(target) == [("ok",)]
        assert before <= ids_in(target)
        assert backup.check_file(target) is None

        # The day goes on: a clerk serves some of the numbers; then a backup of the quiet
        # hall is restored into a new folder and served there.
        clerk = live.session("clerk1", role="clerk")
        assert clerk.post(live.url + "/api/windows/1/open").status_code == 200
        for _ in range(3):
            t = clerk.post(live.url + "/api/windows/1/call-next").json()["ticket"]
            assert clerk.post(f"{live.url}/api/tickets/{t['id']}/finish").ok
        sup = live.session("sup", role="supervisor")
        day = clerk.get(live.url + "/api/tickets?status=done").json()[0]["day"]
        quiet = tmp_path / "quiet.sqlite3"
        run_cli(live.env(), "backup", str(quiet))
        original = stats_of(sup, live.url, day)

        other = LiveServer(tmp_path / "b")
        (tmp_path / "b").mkdir()
        restored = run_cli(other.env(), "restore", str(quiet))
        assert "restored" in restored.stdout
        other.start()
        try:
            s = requests.Session()
            r = s.post(other.url + "/api/login", json={"username": "sup", "password": PASSWORD})
            r.raise_for_status()
            figures = stats_of(s, other.url, day)
            assert figures == original
            assert figures["tickets"] >= len(before) and figures["served"] == 3
        finally:
            other.stop()
    finally:
        live.stop()


def test_restore_is_refused_while_the_database_is_in_use_but_not_after_a_crash(tmp_path):
    live = LiveServer(tmp_path).start()
    try:
        requests.post(live.url + "/api/tickets", json={"service": "SB"}, timeout=10)
        copy = tmp_path / "copy.sqlite3"
        run_cli(live.env(), "backup", str(copy))
        refused = run_cli(live.env(), "restore", str(copy), check=False)
        assert refused.returncode == 1
        assert "数据库正在使用中" in refused.stderr
        assert ids_in(live.db_path)  # nothing was touched
        # The server dies without cleaning up: its lock goes with it.
        live.stop(kill=True)
        done = run_cli(live.env(), "restore", str(copy))
        assert "replaced database is kept as" in done.stdout
        aside = [p for p in os.listdir(tmp_path) if p.startswith("live.sqlite3.replaced-")]
        assert aside, os.listdir(tmp_path)
        assert backup.check_file(tmp_path / aside[0]) is None
        live.start()
        r = requests.get(live.url + "/api/services", timeout=10)
        assert r.status_code == 200
    finally:
        live.stop()


def test_restore_checks_the_file(tmp_path, app, hall):
    target = str(tmp_path / "elsewhere" / "hall.sqlite3")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(backup.BackupError, match="不是有效的数据库|无法打开"):
        backup.restore(target, junk, hall.clock.now())
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.close()
    with pytest.raises(backup.BackupError, match="不是大厅数据库"):
        backup.restore(target, other, hall.clock.now())
    with pytest.raises(backup.BackupError, match="文件不存在"):
        backup.restore(target, tmp_path / "missing.sqlite3", hall.clock.now())
    assert not os.path.exists(target)
    # This test's own app has its database open: restoring over it is refused.
    good = backup.take(hall, tmp_path / "good.sqlite3")
    assert good["ok"]
    with pytest.raises(backup.BackupError, match="数据库正在使用中"):
        backup.restore(hall.store.path, good["path"], hall.clock.now())
    backup.restore(target, good["path"], hall.clock.now())
    assert backup.check_file(target) is None


def test_backups_are_recorded_and_the_folder_keeps_the_newest(tmp_path, clock):
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {"backup": {"keep": 2, "dir": "kept"}},
            "DATABASE": str(tmp_path / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        assert backup.status(hall)["warning"] == "尚无备份"
        rows = []
        for _ in range(4):
            rows.append(backup.take(hall))
            clock.advance(60)
        assert all(r["ok"] for r in rows)
        folder = tmp_path / "kept"
        assert sorted(os.listdir(folder)) == sorted(os.path.basename(r["path"]) for r in rows[2:])
        stored = list(hall.store.db().query("SELECT * FROM backups ORDER BY id"))
        assert [r["ok"] for r in stored] == [1, 1, 1, 1]
        assert stored[-1]["size"] == os.path.getsize(rows[-1]["path"]) > 0
        st = backup.status(hall)
        assert st["last"]["ok"] is True and st["stale"] is False and st["warning"] == ""
        # A failed attempt is recorded with its reason, and the board is told.
        failed = backup.take(hall, rows[-1]["path"])
        assert failed["ok"] == 0 and "目标文件已存在" in failed["error"]
        st = backup.status(hall)
        assert st["last"]["ok"] is False and st["warning"] == "最近一次备份失败"
        assert sorted(os.listdir(folder)) == sorted(os.path.basename(r["path"]) for r in rows[2:])
        backup.take(hall)
        clock.advance(days=1, minutes=1)
        assert backup.status(hall)["warning"] == "超过一天没有成功备份"
    finally:
        hall.store.close()


def test_the_server_backs_up_daily_once_across_processes(tmp_path, clock):
    """The scheduler thread starts at the first request (never at create_app, which runs
    before gunicorn forks), runs the day's purge and backup once the time has come, and a
    second process on the same database does not run them again."""
    clock.set(local(2026, 11, 30, 1, 0))

    def make():
        return create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": {"backup": {"at": "02:30"}, "privacy": {"at": "02:15"}},
                "DATABASE": str(tmp_path / "hall.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
                "HALL_SCHEDULER": True,
            }
        )

    app = make()
    hall = app.extensions["hall"]
    scheduler = app.extensions["hall_scheduler"]
    try:
        # The time of day, on a scheduler of its own (no thread).
        manual = Scheduler(hall, default_jobs(hall.cfg))
        assert manual.due(hall) == []  # 01:00: nothing due yet
        clock.set(local(2026, 11, 30, 2, 20))
        assert [j.name for j, _ in manual.due(hall)] == ["purge"]
        # The served process: the thread starts at the first request and runs what is
        # due (catching up on a time it was down for).
        clock.set(local(2026, 11, 30, 3, 0))
        assert not scheduler.running
        app.test_client().get("/api/services")
        assert scheduler.running
        deadline = time.monotonic() + 30
        done = []
        while time.monotonic() < deadline:
            done = list(hall.store.db().query("SELECT * FROM daily_jobs WHERE finished_at"))
            if len(done) == 2:
                break
            time.sleep(0.05)
        assert sorted(r["job"] for r in done) == ["backup", "purge"]
        assert backup.status(hall)["last"]["trigger"] == "daily"
        assert len(os.listdir(tmp_path / "backups")) == 1
        # Another server process on the same database: nothing left to do today ...
        assert manual.run_due() == []
        # ... and tomorrow it is whoever comes first.
        scheduler.stop()
        clock.set(local(2026, 12, 1, 3, 0))
        assert sorted(manual.run_due()) == ["backup", "purge"]
        assert scheduler.run_due() == []
        assert len(os.listdir(tmp_path / "backups")) == 2
    finally:
        scheduler.stop()
        hall.store.close()


def test_scheduler_is_off_under_testing(app, client):
    client.get("/api/services")
    assert not app.extensions["hall_scheduler"].running
