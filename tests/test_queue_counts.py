"""The figures kept up to date as tickets move (schema.m014_queue_counts): the waiting
count per service, the numbers issued per service (daily quota), and the queue version
the wait forecast is keyed on. A request reads them instead of counting the queue."""

from __future__ import annotations

import sqlite_utils

from hall import create_app
from hall.db import connect, migrate
from hall.engine import Actor

from .conftest import TEST_CONFIG

CLERK = Actor("clerk1", "clerk")
BOSS = Actor("boss", "supervisor")


def version(db) -> int:
    return db.execute("SELECT version FROM queue_version").fetchone()[0]


def test_an_existing_hall_gets_its_counts_when_it_upgrades(tmp_path, clock):
    """A database from before the counts (m011): the migration counts what is there."""
    path = str(tmp_path / "old.sqlite3")
    app = create_app({"HALL_CONFIG": TEST_CONFIG, "DATABASE": path, "CLOCK": clock})
    hall = app.extensions["hall"]
    e = hall.engine
    e.open_window(1, CLERK)
    for code in ("SB", "SB", "YB", "CRJ"):
        e.issue(code)
    t = e.call_next(1, CLERK)  # the first SB
    e.transfer(t["id"], CLERK, service="YB")  # still a number of SB, now waiting for YB
    hall.store.close()

    # back to before m012: drop what it made, forget that it ran
    db = sqlite_utils.Database(path)
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'tickets_%' "
        "OR name LIKE 'queue_version_%')"
    ).fetchall():
        db.execute(f"DROP TRIGGER {name}")
    for table in ("waiting_counts", "issued_counts", "queue_version"):
        db.execute(f"DROP TABLE {table}")
    db.execute("DROP INDEX idx_tickets_queue")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_queue_counts'")
    db.close()

    db = connect(path)
    migrate(db)
    day = "2026-11-30"
    counts = {r["service"]: r["n"] for r in db.query("SELECT * FROM waiting_counts")}
    assert counts == {"SB": 1, "YB": 2, "CRJ": 1}
    issued = {r["service"]: r["n"] for r in db.query("SELECT * FROM issued_counts")}
    assert issued == {"SB": 2, "YB": 1, "CRJ": 1}
    assert [r["day"] for r in db.query("SELECT DISTINCT day FROM waiting_counts")] == [day]
    db.close()


def test_what_moves_the_queue_changes_the_version_and_a_walk_in_does_not(hall):
    e = hall.engine
    db = hall.store.db()
    v = version(db)
    e.issue("BDC")  # a walk-in behind everyone: no window prefers BDC over another
    assert version(db) == v
    e.issue("SB")  # window 3 takes SB before BDC (secondary there): BDC's wait moves
    assert version(db) == v + 1
    e.issue("BDC", priority=True, priority_reason="老年人", actor=BOSS)  # jumps ahead
    assert version(db) == v + 2
    e.open_window(2, Actor("clerk2", "clerk"))
    assert version(db) > v + 2
    v = version(db)
    e.call_next(2, Actor("clerk2", "clerk"))
    assert version(db) > v


def test_a_new_walk_ins_place_and_the_services_counts(hall, client):
    e = hall.engine
    read = e.read
    db = hall.store.db()
    for _ in range(3):
        e.issue("SB")
    e.issue("SB", priority=True, priority_reason="军人", actor=BOSS)
    body = client.post("/api/tickets", json={"service": "SB"}).get_json()
    assert body["waiting_ahead"] == 4  # three walk-ins and the priority ticket
    services = {s["code"]: s for s in client.get("/api/services").get_json()}
    assert services["SB"]["waiting"] == 5
    assert read.waiting_counts(db)["SB"] == 5
    # the quota counts numbers issued (CRJ: 3 a day), whatever happens to them after
    for _ in range(3):
        e.issue("CRJ")
    crj = {s["code"]: s for s in client.get("/api/services").get_json()}["CRJ"]
    assert crj["remaining"] == 0 and crj["open"] is False
