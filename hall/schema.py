"""The database schema, as sqlite-utils migrations.

Append new migrations at the end; never edit one that has shipped. A face declares its
own migrations (Face.migrations); they run after these, in the same migration set
("hall"), by function name: never rename one. Times are UTC ISO
text (see clock.to_iso); a "day" is the hall-local date YYYY-MM-DD.
"""

from __future__ import annotations


def m001_core(db):
    db["services"].create(
        {
            "code": str,
            "name": str,
            "department": str,
            "prefix": str,
            "target_wait_minutes": int,
            "daily_quota": int,
            "service_minutes": float,
            "matters": str,  # JSON list
            "active": int,
            "sort": int,
            "config_hash": str,
            "updated_at": str,
        },
        pk="code",
        not_null={"name", "department", "prefix"},
        defaults={"active": 1, "daily_quota": 0, "target_wait_minutes": 15, "matters": "[]"},
    )
    db["windows"].create(
        {
            "number": int,
            "name": str,
            "state": str,  # open | paused | closed
            "clerk": str,  # username signed in, or NULL
            "pause_reason": str,
            "state_since": str,
            "active": int,
            "config_hash": str,
        },
        pk="number",
        not_null={"name", "state"},
        defaults={"state": "closed", "active": 1},
    )
    # Many-to-many: tier 1 = primary, 2 = secondary.
    db["window_services"].create(
        {"window": int, "service": str, "tier": int},
        pk=("window", "service"),
        foreign_keys=[("window", "windows", "number"), ("service", "services", "code")],
    )
    db["users"].create(
        {
            "id": int,
            "username": str,
            "password_hash": str,
            "role": str,  # clerk | supervisor | admin
            "display_name": str,
            "staff_no": str,
            "windows": str,  # JSON list of window numbers a clerk may use; [] = any
            "active": int,
            "created_at": str,
        },
        pk="id",
        not_null={"username", "password_hash", "role"},
        defaults={"windows": "[]", "active": 1},
    )
    db["users"].create_index(["username"], unique=True)
    db["sessions"].create(
        {
            "sid": str,
            "user_id": int,
            "csrf_token": str,
            "created_at": str,
            "expires_at": str,
            "address": str,
        },
        pk="sid",
        foreign_keys=[("user_id", "users", "id")],
    )
    db["login_failures"].create({"id": int, "username": str, "address": str, "at": str}, pk="id")
    db["login_failures"].create_index(["at"])
    db["counters"].create({"day": str, "prefix": str, "last": int}, pk=("day", "prefix"))
    db["tickets"].create(
        {
            "id": int,
            "day": str,
            "number": str,
            "prefix": str,
            "seq": int,
            "service": str,
            "status": str,  # waiting | called | serving | done | no_show | cancelled
            "priority": int,
            "priority_reason": str,
            "lane": int,  # order within a queue: 0 transferred to the head, 1 booked, 2 walk-in
            "queued_at": str,  # when it (re)entered its current queue
            "target_window": int,  # transferred to this window
            "token": str,
            "issued_at": str,
            "called_at": str,  # first call
            "last_called_at": str,
            "serving_at": str,
            "finished_at": str,
            "window": int,  # window now (or last) handling it
            "clerk": str,
            "requeues": int,
            "source": str,  # kiosk | staff | appointment
            "kiosk": str,
            "issued_by": str,
            "appointment_id": int,
            "printed": int,
        },
        pk="id",
        not_null={"day", "number", "service", "status", "token", "issued_at", "queued_at"},
        defaults={"priority": 0, "lane": 2, "requeues": 0, "priority_reason": ""},
        foreign_keys=[("service", "services", "code")],
    )
    db["tickets"].create_index(["day", "number"], unique=True)
    db["tickets"].create_index(["token"], unique=True)
    db["tickets"].create_index(["status", "service"])
    db["tickets"].create_index(["day", "service"])
    db["ticket_events"].create(
        {
            "id": int,
            "ticket_id": int,
            "kind": str,
            "window": int,
            "actor": str,
            "at": str,
            "details": str,  # JSON
        },
        pk="id",
        not_null={"ticket_id", "kind", "at"},
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db["ticket_events"].create_index(["ticket_id"])
    db["ticket_events"].create_index(["at"])
    # The event log is append-only: figures are computed from it.
    db.execute(
        "CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events "
        "BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events "
        "BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END"
    )
    db["ratings"].create(
        {
            "id": int,
            "ticket_id": int,
            "score": int,  # 1..5, NULL when unrated
            "reasons": str,  # JSON list
            "comment": str,
            "channel": str,  # pad | qr | timeout
            "window": int,
            "clerk": str,
            "service": str,
            "rated_at": str,
            "status": str,  # none | open | called_back | rectified | appealed
            "deadline": str,
        },
        pk="id",
        not_null={"ticket_id"},
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db["ratings"].create_index(["ticket_id"], unique=True)
    db["ratings"].create_index(["rated_at"])
    db["audit_log"].create(
        {
            "id": int,
            "at": str,
            "actor": str,
            "action": str,
            "target": str,
            "details": str,  # JSON
        },
        pk="id",
        not_null={"at", "action"},
    )
    db["audit_log"].create_index(["at"])


def m010_client_tickets(db):
    """Tickets taken per client address per day and service, without a login: the daily
    cap per client and the supervisors' warning about one client taking many."""
    db["client_tickets"].create(
        {"day": str, "address": str, "service": str, "issued": int},
        pk=("day", "address", "service"),
        not_null={"issued"},
    )


def m011_ops(db):
    """Backups, the server's daily jobs, and the addresses staff signed in from."""
    # One row per backup attempt (python -m hall backup, or the daily one).
    db["backups"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "path": str,
            "size": int,
            "ok": int,
            "error": str,
            "trigger": str,  # command | daily
        },
        pk="id",
        not_null={"started_at", "ok"},
    )
    db["backups"].create_index(["started_at"])
    # A daily job claims its day here first, so several server processes on one
    # database run it once (INSERT OR IGNORE on the key).
    db["daily_jobs"].create(
        {"job": str, "day": str, "started_at": str, "finished_at": str, "result": str},
        pk=("job", "day"),
    )
    # Addresses a user signed in from successfully: login throttling never slows these.
    db["login_addresses"].create(
        {"username": str, "address": str, "last_ok_at": str}, pk=("username", "address")
    )
    db["login_failures"].create_index(["username", "at"])


def m012_ticket_arrived(db):
    """Tickets taken away from the hall (线上取号) may have to check in before they are
    called: arrived = 0 until then (every other ticket is issued arrived)."""
    db["tickets"].add_column("arrived", int, not_null_default=1)


def m013_flow(db):
    """Clerk skills, parked (挂起) tickets and 一件事 journeys (docs/flow.md)."""
    # JSON list of service codes a clerk is qualified for beyond the window's own.
    db["users"].add_column("skills", str, not_null_default="[]")
    # A journey ticket carries its own plan (the steps as issued), so a later config
    # change cannot re-route a ticket already in the hall.
    db["tickets"].add_column("journey", str)
    db["tickets"].add_column("journey_steps", str)  # JSON list of service codes
    db["tickets"].add_column("step", int, not_null_default=0)  # index into journey_steps
    db["tickets"].add_column("parked_at", str)


def m014_queue_counts(db):
    """Figures kept up to date as tickets move, so that a request costs the same with
    2,000 tickets waiting as with none (issue 13): the waiting count per day and service,
    the numbers issued per day and service (daily_quota counts them: the service a ticket
    was issued for, so a transfer neither frees nor uses a number), and a queue version
    that every change of who waits where bumps, except a plain walk-in issue (it queues
    behind everyone and moves nobody, unless a window takes its service before another
    one: hall/estimate.py keeps its forecast over it).

    SQLite triggers keep them, in the transaction of the change itself, whichever process
    or code path writes. A new column that changes a ticket's place in a queue must be
    added to the queue version's trigger below (in a new migration)."""
    db.execute(
        "CREATE TABLE waiting_counts (day TEXT NOT NULL, service TEXT NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (day, service))"
    )
    db.execute(
        "CREATE TABLE issued_counts (day TEXT NOT NULL, service TEXT NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (day, service))"
    )
    db.execute(
        "CREATE TABLE queue_version (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "version INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO queue_version (id, version) VALUES (1, 0)")
    db.execute(
        "INSERT INTO waiting_counts (day, service, n) SELECT day, service, COUNT(*) "
        "FROM tickets WHERE status = 'waiting' GROUP BY day, service"
    )
    db.execute(
        "INSERT INTO issued_counts (day, service, n) SELECT t.day, COALESCE((SELECT "
        "json_extract(e.details, '$.from_service') FROM ticket_events e WHERE e.ticket_id = "
        "t.id AND e.kind IN ('transferred', 'advanced') ORDER BY e.id LIMIT 1), t.service) AS s, "
        "COUNT(*) "
        "FROM tickets t WHERE t.source != 'transfer' GROUP BY t.day, s"
    )

    def add(table: str, day: str, service: str, delta: int) -> str:
        return (
            f"INSERT INTO {table} (day, service, n) VALUES ({day}, {service}, {delta}) "
            f"ON CONFLICT (day, service) DO UPDATE SET n = n + ({delta});"
        )

    bump = "UPDATE queue_version SET version = version + 1 WHERE id = 1;"
    db.execute(
        "CREATE TRIGGER tickets_waiting_insert AFTER INSERT ON tickets "
        "WHEN NEW.status = 'waiting' BEGIN "
        + add("waiting_counts", "NEW.day", "NEW.service", 1)
        + " END"
    )
    db.execute(
        "CREATE TRIGGER tickets_issued_insert AFTER INSERT ON tickets "
        "WHEN COALESCE(NEW.source, '') != 'transfer' BEGIN "
        + add("issued_counts", "NEW.day", "NEW.service", 1)
        + " END"
    )
    db.execute(
        "CREATE TRIGGER tickets_waiting_leave AFTER UPDATE OF status, service, day ON tickets "
        "WHEN OLD.status = 'waiting' BEGIN "
        + add("waiting_counts", "OLD.day", "OLD.service", -1)
        + " END"
    )
    db.execute(
        "CREATE TRIGGER tickets_waiting_enter AFTER UPDATE OF status, service, day ON tickets "
        "WHEN NEW.status = 'waiting' BEGIN "
        + add("waiting_counts", "NEW.day", "NEW.service", 1)
        + " END"
    )
    db.execute(
        "CREATE TRIGGER tickets_waiting_delete AFTER DELETE ON tickets "
        "WHEN OLD.status = 'waiting' BEGIN "
        + add("waiting_counts", "OLD.day", "OLD.service", -1)
        + " END"
    )
    # The queue version: anything that moves a ticket in or out of a queue, or changes
    # which windows take it and how fast, except a plain walk-in joining the end. (A
    # walk-in of a service that a window takes before another, secondary there, does
    # move the other's tickets back: it counts.)
    db.execute(
        "CREATE TRIGGER queue_version_ticket_insert AFTER INSERT ON tickets WHEN "
        "NEW.priority != 0 OR NEW.lane != 2 OR NEW.target_window IS NOT NULL OR "
        "NEW.status != 'waiting' OR EXISTS (SELECT 1 FROM window_services a JOIN "
        "window_services b ON b.window = a.window WHERE a.service = NEW.service AND "
        f"a.tier = 1 AND b.tier != 1) BEGIN {bump} END"
    )
    db.execute(
        "CREATE TRIGGER queue_version_ticket_update AFTER UPDATE OF status, service, day, "
        "priority, lane, queued_at, target_window, window, last_called_at, finished_at, "
        "arrived, parked_at, step, journey_steps "
        f"ON tickets BEGIN {bump} END"
    )
    db.execute(
        f"CREATE TRIGGER queue_version_ticket_delete AFTER DELETE ON tickets BEGIN {bump} END"
    )
    # Clerk skills: under queue.policy = "balanced" a window takes those services too.
    db.execute(
        f"CREATE TRIGGER queue_version_user_skills AFTER UPDATE OF skills ON users BEGIN {bump} END"
    )
    for table in ("windows", "window_services", "services"):
        for op in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER queue_version_{table}_{op.lower()} AFTER {op} ON {table} "
                f"BEGIN {bump} END"
            )
    # A new walk-in's place: the waiting tickets behind it (none, for the newest) are a
    # short range of this index.
    db.execute(
        "CREATE INDEX idx_tickets_queue ON tickets (day, service, status, priority, lane, "
        "queued_at, id)"
    )


#: The core's migrations, in order (hall.db.migrate adds the faces' after them).
CORE_MIGRATIONS = (
    m001_core,
    m010_client_tickets,
    m011_ops,
    m012_ticket_arrived,
    m013_flow,
    m014_queue_counts,
)
