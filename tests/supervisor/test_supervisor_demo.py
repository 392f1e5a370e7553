"""The demo seed: past days of real engine activity, so the demo's pages show figures."""

from __future__ import annotations

import hall.cli as hall_cli
from supervisor.demo import seed


def test_seed_fills_past_working_days_through_the_engine(hall, boss):
    n = seed(hall)
    assert n > 150
    db = hall.store.db()
    days = [r["day"] for r in db.query("SELECT DISTINCT day FROM tickets ORDER BY day")]
    # the clock says Monday 30 Nov 2026: the four working days before it
    assert days == ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
    s = boss.get("/api/stats?from=2026-11-24&to=2026-11-27").get_json()
    assert s["tickets"] == n
    assert s["served"] > 0.8 * n and s["no_show"] > 0 and s["transferred"] > 0
    assert s["avg_wait_s"] > 0 and 0 < s["service_level"] <= 1
    r = s["ratings"]
    assert r["count"] > 0 and r["unrated"] > 0 and r["bad_count"] > 0
    assert 0 < r["rectified_rate"] < 1  # some 差评 fixed, some still open
    assert len({c["clerk"] for c in s["by_clerk"]}) >= 3
    assert len([d for d in s["by_department"] if d["tickets"]]) >= 4
    # every day ends clean: windows closed, nobody left waiting
    assert {w["state"] for w in db.query("SELECT state FROM windows")} == {"closed"}
    assert db.execute("SELECT COUNT(*) FROM tickets WHERE status = 'waiting'").fetchone()[0] == 0
    # follow-ups went through the audited steps
    steps = db.execute("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'rating_%'").fetchone()[0]
    assert steps > 0
    # seeded staff exist but cannot log in until an admin sets a password
    r = boss.client.post("/api/login", json={"username": "wangfang", "password": "anything-123"})
    assert r.status_code == 401


def test_seed_only_runs_on_an_empty_database(hall, client):
    client.post("/api/tickets", json={"service": "SB"})
    assert seed(hall) == 0
    assert hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1


def test_seed_is_registered_for_python_m_hall_demo(hall):
    from hall.face import declaration, resolve

    face = declaration("supervisor")  # python -m hall demo runs every face's demo hook
    hook = resolve(face.demo)
    hook(hall)
    assert hall.store.db().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] > 0
    parser = hall_cli.build_parser(face.commands)  # the hook does not break the command line
    args = parser.parse_args(["export", "--from", "2026-11-24"])
    assert args.command == "export"
