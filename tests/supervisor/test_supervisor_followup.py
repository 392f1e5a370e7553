"""好差评 follow-up: the ratings list, open -> called back -> rectified / appealed,
working-day deadlines, overdue flags, the audit trail, and bad requests."""

from __future__ import annotations

import json

import pytest

from hall import create_app
from tests.conftest import TEST_CONFIG, local

from .conftest import DAY, LI, at


def test_bad_ratings_list_shape_and_statuses(day, boss):
    r = boss.get("/api/ratings?bad=1")
    assert r.status_code == 200
    items = r.get_json()
    assert isinstance(items, list)
    # newest first: T8 (10:36:30), T7 (10:16), T3 (09:25:30)
    assert [i["number"] for i in items] == ["C002", "B004", "A001"]
    t8, t7, t3 = items
    assert {
        k: t3[k]
        for k in (
            "id",
            "number",
            "service",
            "window",
            "clerk",
            "score",
            "reasons",
            "comment",
            "rated_at",
            "status",
            "deadline",
        )
    } == {
        "id": day["ratings"][3],
        "number": "A001",
        "service": "BDC",
        "window": 2,
        "clerk": "wang",
        "score": 2,
        "reasons": ["效率低"],
        "comment": "",
        "rated_at": "2026-11-30T09:25:30+08:00",
        "status": "rectified",
        # 10 working days after Monday 30 Nov: Tue 1 ... Fri 4, Mon 7 ... Fri 11, Mon 14
        "deadline": "2026-12-14",
    }
    assert t3["callback_deadline"] == "2026-12-01"  # 1 working day
    assert [h["action"] for h in t3["history"]] == ["callback", "rectified"]
    assert t3["history"][0]["note"] == "已电话回访"
    assert t3["history"][0]["at"] == "2026-11-30T14:00:00+08:00"
    assert t3["history"][1]["actor"] == "boss"
    assert (t7["status"], t7["comment"], t7["score"]) == ("appealed", "窗口人员玩手机", 1)
    assert t7["history"][0]["note"] == "误评：市民确认误触"  # the reason is kept
    assert (t8["status"], t8["window"], t8["clerk"]) == ("open", 1, "li")
    assert t8["overdue"] is None


def test_filters(day, boss):
    def numbers(query):
        r = boss.get("/api/ratings" + query)
        assert r.status_code == 200, r.get_json()
        return [i["number"] for i in r.get_json()]

    assert numbers("?bad=1&status=open") == ["C002"]
    assert numbers("?bad=1&status=open,called_back") == ["C002"]
    assert numbers("?bad=1&status=appealed") == ["B004"]
    assert numbers("?status=none") == ["D001", "B002", "B001"]  # nothing to follow up
    assert numbers("") == ["C002", "B004", "D001", "A001", "B002", "B001"]  # incl. unrated D001
    assert numbers("?bad=1&from=2026-12-01") == []
    assert numbers("?bad=1&service=YB") == ["C002"]


def test_callback_then_rectified_moves_through_the_states(day, boss, clock, hall):
    rid = day["ratings"][8]
    at(clock, 16, 0)
    r = boss.post(f"/api/ratings/{rid}/follow-up", json={"action": "rectified", "note": "跳过回访"})
    assert r.status_code == 409
    assert "回访" in r.get_json()["error"]
    r = boss.post(
        f"/api/ratings/{rid}/follow-up", json={"action": "callback", "note": "已联系市民"}
    )
    assert r.status_code == 200
    assert (r.get_json()["status"], r.get_json()["status_name"]) == ("called_back", "已回访·整改中")
    r = boss.post(f"/api/ratings/{rid}/follow-up", json={"action": "callback", "note": "again"})
    assert r.status_code == 409  # not twice
    at(clock, 16, 30)
    r = boss.post(
        f"/api/ratings/{rid}/follow-up", json={"action": "rectified", "note": "补发告知单"}
    )
    assert r.status_code == 200 and r.get_json()["status"] == "rectified"
    for action in ("callback", "rectified", "appeal"):
        r = boss.post(f"/api/ratings/{rid}/follow-up", json={"action": action, "note": "x"})
        assert r.status_code == 409, action
    # the rating row itself
    row = hall.store.db()["ratings"].get(rid)
    assert row["status"] == "rectified"
    # every step is in the audit log, with who, when and the note
    audit = list(
        hall.store.db().query(
            "SELECT * FROM audit_log WHERE target = ? ORDER BY id", [f"rating:{rid}"]
        )
    )
    assert [a["action"] for a in audit] == ["rating_callback", "rating_rectified"]
    assert [a["actor"] for a in audit] == ["boss", "boss"]
    assert audit[1]["at"].startswith("2026-11-30T08:30:00")  # 16:30 hall time, stored in UTC
    details = json.loads(audit[1]["details"])
    assert (details["note"], details["number"], details["from_status"]) == (
        "补发告知单",
        "C002",
        "called_back",
    )


def test_rectified_rate_moves_with_the_follow_up(day, boss, clock):
    def rectified_rate():
        return boss.get(f"/api/stats?from={DAY}").get_json()["ratings"]["rectified_rate"]

    assert rectified_rate() == 0.5  # T3 of T3 and T8
    rid = day["ratings"][8]
    boss.post(f"/api/ratings/{rid}/follow-up", json={"action": "callback", "note": "a"})
    boss.post(f"/api/ratings/{rid}/follow-up", json={"action": "rectified", "note": "b"})
    assert rectified_rate() == 1.0


def test_appeal_removes_the_rating_from_the_figures(day, boss):
    before = boss.get(f"/api/stats?from={DAY}").get_json()["ratings"]
    rid = day["ratings"][8]
    r = boss.post(f"/api/ratings/{rid}/follow-up", json={"action": "appeal", "note": "恶意差评"})
    assert r.status_code == 200 and r.get_json()["status"] == "appealed"
    after = boss.get(f"/api/stats?from={DAY}").get_json()["ratings"]
    assert (before["count"], before["bad_count"], before["appealed"]) == (4, 2, 1)
    # left: T1 5, T2 4, T3 2 (rectified)
    assert (after["count"], after["bad_count"], after["appealed"]) == (3, 1, 2)
    assert after["good_rate"] == round(2 / 3, 4)
    assert after["rectified_rate"] == 1.0
    assert after["avg_score"] == round(11 / 3, 4)


@pytest.mark.parametrize(
    "body, status",
    [
        ({"action": "delete", "note": "x"}, 400),
        ({"action": "callback"}, 400),  # a note is required
        ({"action": "callback", "note": "   "}, 400),
        ({"action": "callback", "note": "x" * 501}, 400),
        ({"action": 3, "note": "x"}, 400),
        ({"note": "x"}, 400),
    ],
)
def test_bad_follow_up_requests(day, boss, body, status):
    r = boss.post(f"/api/ratings/{day['ratings'][8]}/follow-up", json=body)
    assert r.status_code == status
    assert r.get_json()["error"]


def test_follow_up_of_unknown_or_good_rating(day, boss, hall):
    r = boss.post("/api/ratings/99999/follow-up", json={"action": "callback", "note": "x"})
    assert r.status_code == 404
    good = next(hall.store.db().query("SELECT id FROM ratings WHERE score = 5"))["id"]
    r = boss.post(f"/api/ratings/{good}/follow-up", json={"action": "callback", "note": "x"})
    assert r.status_code == 409
    r = boss.post(
        f"/api/ratings/{good}/follow-up",
        data="not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400


def test_bad_list_arguments(boss):
    for q in ("?status=lost", "?bad=yes", "?from=2026-02-30", "?limit=0", "?limit=x"):
        r = boss.get("/api/ratings" + q)
        assert r.status_code == 400, q


def test_overdue_flags(day, boss, clock, staff):
    """T8 (open, rated Mon 30 Nov): callback due Tue 1 Dec, rectification Mon 14 Dec."""
    at(clock, 9, 0, date=(2026, 12, 1))
    boss = staff("boss", "supervisor")
    t8 = boss.get("/api/ratings?bad=1&status=open").get_json()[0]
    assert t8["overdue"] is None  # the callback day itself is in time
    at(clock, 9, 0, date=(2026, 12, 2))
    boss = staff("boss", "supervisor")
    assert boss.get("/api/ratings?bad=1&overdue=1").get_json()[0]["overdue"] == "callback"
    boss.post(
        f"/api/ratings/{t8['id']}/follow-up", json={"action": "callback", "note": "迟到的回访"}
    )
    assert boss.get("/api/ratings?bad=1&overdue=1").get_json() == []
    at(clock, 9, 0, date=(2026, 12, 15))
    boss = staff("boss", "supervisor")
    late = boss.get("/api/ratings?bad=1&overdue=1").get_json()
    assert [(i["number"], i["overdue"]) for i in late] == [("C002", "rectify")]
    # the board flags it too
    board = boss.get("/api/supervisor/board").get_json()
    assert board["overdue"] == 1
    assert any(a["kind"] == "overdue" and "C002" in a["text"] for a in board["alerts"])


def test_deadlines_skip_weekends_holidays_and_count_workdays(tmp_path, clock):
    """Rated Friday 4 Dec 2026: callback 1 working day, rectify 3 (config), with a holiday
    on Monday 7 Dec and an extra working Saturday 12 Dec."""
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "d.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
            "HALL": {
                "hours": {"holidays": ["2026-12-07"], "workdays": ["2026-12-12"]},
                "ratings": {"callback_days": 1, "rectify_days": 5},
            },
        }
    )
    hall = app.extensions["hall"]
    try:
        clock.set(local(2026, 12, 4, 16, 0))
        hall.engine.open_window(1, LI)
        tid = hall.engine.issue("SB")["id"]
        hall.engine.call_next(1, LI)
        hall.engine.finish(tid, LI)
        hall.engine.rate(tid, 1, ["态度不好"])
        from hall.auth import create_user

        create_user(hall.store, "boss", "correct-horse-42", "supervisor")
        c = app.test_client()
        c.post("/api/login", json={"username": "boss", "password": "correct-horse-42"})
        item = c.get("/api/ratings?bad=1").get_json()[0]
        # Mon 7 is a holiday: the callback is due Tue 8
        assert item["callback_deadline"] == "2026-12-08"
        # 5 working days: Tue 8, Wed 9, Thu 10, Fri 11, Sat 12 (a working Saturday)
        assert item["deadline"] == "2026-12-12"
    finally:
        hall.store.close()


def test_bad_rating_is_an_alert_on_the_board(hall, clock, boss):
    hall.engine.open_window(1, LI)
    tid = hall.engine.issue("SB")["id"]
    hall.engine.call_next(1, LI)
    hall.engine.finish(tid, LI)
    hall.engine.rate(tid, 2, ["多次跑腿"], "第三次来了")
    board = boss.get("/api/supervisor/board").get_json()
    alert = next(a for a in board["alerts"] if a["kind"] == "bad_rating")
    assert "B001" in alert["text"] and "多次跑腿" in alert["text"]
    assert board["bad_open"] == 1 and board["today"]["ratings"]["bad_count"] == 1


def test_follow_up_actor_must_be_a_manager(day, staff):
    clerk = staff("li")
    r = clerk.post(
        f"/api/ratings/{day['ratings'][8]}/follow-up",
        json={"action": "appeal", "note": "我觉得不公平"},
    )
    assert r.status_code == 403


def test_follow_up_needs_csrf(day, app, boss):
    r = boss.client.post(
        f"/api/ratings/{day['ratings'][8]}/follow-up", json={"action": "callback", "note": "x"}
    )
    assert r.status_code == 403
