"""Counter actions through the API and the engine: every action, pause/close rules,
who may act where, reload recovery, priority rules, the window state, reprint."""

from __future__ import annotations

import pytest

from hall.engine import Actor
from hall.errors import Conflict, Forbidden

from .conftest import issue, state_of


def call(c, window):
    r = c.post(f"/api/windows/{window}/call-next")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["ticket"]


def act(c, ticket_id, action, status=200, **body):
    r = c.post(f"/api/tickets/{ticket_id}/{action}", json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


# --- window: open / pause / resume / close ----------------------------------------
def test_open_pause_resume_close(clerk_at, kiosk):
    c = clerk_at(1)
    issue(kiosk, "SB")
    s = state_of(c, 1)
    assert s["state"] == "open" and s["mine"] and s["clerk"] == "clerk1"

    r = c.post("/api/windows/1/pause", json={"reason": "午休"})
    assert r.status_code == 200 and r.get_json()["state"] == "paused"
    s = state_of(c, 1)
    assert s["state"] == "paused" and s["pause_reason"] == "午休" and s["state_text"] == "暂停服务"
    # A paused window does not call; pausing twice is refused.
    r = c.post("/api/windows/1/call-next")
    assert r.status_code == 409 and "暂停" in r.get_json()["error"]
    assert c.post("/api/windows/1/pause", json={"reason": "临时离开"}).status_code == 409
    assert state_of(c, 1)["queue"]["total"] == 1  # nothing was taken

    # Resume (open again), then the call works.
    assert c.post("/api/windows/1/open").get_json()["state"] == "open"
    assert call(c, 1)["number"] == "B001"


def test_pause_reason_is_validated(clerk_at):
    c = clerk_at(1)
    r = c.post("/api/windows/1/pause", json={"reason": 5})
    assert r.status_code == 400
    r = c.post("/api/windows/1/pause", json={"reason": "很" * 60})
    assert r.status_code == 400
    assert state_of(c, 1)["state"] == "open"


def test_close_needs_the_ticket_in_hand_done_first(clerk_at, kiosk):
    c = clerk_at(1)
    issue(kiosk, "SB")
    t = call(c, 1)
    # Pausing with a ticket in hand is allowed (a clerk may step away mid-service) ...
    assert c.post("/api/windows/1/pause", json={"reason": "临时离开"}).status_code == 200
    # ... closing is not: finish or transfer it first.
    r = c.post("/api/windows/1/close")
    assert r.status_code == 409 and "B001" in r.get_json()["error"]
    act(c, t["id"], "finish")
    assert c.post("/api/windows/1/close").get_json()["state"] == "closed"
    assert c.post("/api/windows/1/close").status_code == 409  # already closed
    s = state_of(c, 1)
    assert s["state"] == "closed" and s["clerk"] is None and not s["mine"]
    # A closed window cannot call.
    assert c.post("/api/windows/1/call-next").status_code == 409


# --- every ticket action --------------------------------------------------------
def test_every_counter_action(clerk_at, staff, kiosk, clock, hall):
    c = clerk_at(1)
    guide = staff("guide")
    a, b, d = issue(kiosk, "SB"), issue(kiosk, "SB"), issue(kiosk, "YB")

    # 叫号
    t = call(c, 1)
    assert t["number"] == a["number"] and t["status"] == "called" and t["window"] == 1
    # 重呼: same ticket, announced again
    clock.advance(20)
    t2 = act(c, t["id"], "recall")
    assert t2["status"] == "called"
    s = state_of(c, 1)
    assert s["current"]["calls"] == 2 and s["current"]["last_called_at"].endswith("09:00:20+08:00")
    # Wrong state: cannot finish a waiting ticket, recall/start/no-show only when called.
    act(c, b["id"], "finish", status=409)
    # 开始办理
    clock.advance(10)
    t3 = act(c, t["id"], "start")
    assert t3["status"] == "serving"
    s = state_of(c, 1)
    assert s["current"]["timer_start"].endswith("09:00:30+08:00")
    assert s["current"]["timer_label"] == "办理计时"
    act(c, t["id"], "recall", status=409)
    act(c, t["id"], "no-show", status=409)
    act(c, t["id"], "start", status=409)
    # 办结
    clock.advance(300)
    assert act(c, t["id"], "finish")["status"] == "done"
    act(c, t["id"], "finish", status=409)

    # 过号, then the guide desk puts it back once (at the end of its queue)
    t = call(c, 1)
    assert t["number"] == b["number"]
    assert act(c, t["id"], "no-show")["status"] == "no_show"
    back = act(guide, t["id"], "requeue")
    assert back["status"] == "waiting" and back["requeues"] == 1

    # 转办 to a service: it goes to the head of that queue
    t = call(c, 1)
    assert t["number"] == d["number"]
    moved = act(c, t["id"], "transfer", service="GJJ", note="公积金提取")
    assert moved["status"] == "waiting" and moved["service"] == "GJJ"
    assert state_of(c, 1)["current"] is None

    # The requeued ticket comes round again (SB is primary here, GJJ secondary); a
    # second no-show cannot be put back (queue.requeue_limit = 1).
    t = call(c, 1)
    assert t["number"] == b["number"]
    act(c, t["id"], "no-show")
    r = guide.post(f"/api/tickets/{t['id']}/requeue")
    assert r.status_code == 409
    last = call(c, 1)  # the transferred ticket keeps its number, now as GJJ
    assert last["number"] == d["number"] and last["service"] == "GJJ"

    # 取消 a waiting ticket (guide desk)
    e = issue(kiosk, "YB")
    assert act(guide, e["id"], "cancel", reason="群众放弃")["status"] == "cancelled"

    # Unknown actions are 404, never 500.
    assert c.post(f"/api/tickets/{e['id']}/explode").status_code == 404
    assert c.post("/api/windows/1/explode").status_code == 404


def test_transfer_to_a_window_with_a_note(clerk_at, kiosk):
    c1 = clerk_at(1)
    c3 = clerk_at(3)
    issue(kiosk, "SB")
    issue(kiosk, "SB")
    first = issue(kiosk, "YB")
    t = call(c1, 1)
    act(c1, t["id"], "start")
    act(c1, t["id"], "transfer", window=3, note="需补充户口本")
    # Window 3 sees it first in its queue, marked as transferred, though B002 and C001
    # were waiting longer.
    s3 = state_of(c3, 3)
    assert s3["queue"]["next"][0]["number"] == "B001" and s3["queue"]["next"][0]["transferred"]
    assert s3["queue"]["transferred_in"] == 1
    # Counted once, under 转入本窗口, not again under its service.
    assert {x["code"]: x["waiting"] for x in s3["queue"]["services"]}["SB"] == 1
    assert s3["queue"]["total"] == 3
    # Window 1 does not get it.
    assert "B001" not in [x["number"] for x in state_of(c1, 1)["queue"]["next"]]
    got = call(c3, 3)
    assert got["number"] == "B001"
    cur = state_of(c3, 3)["current"]
    assert cur["transfer"]["note"] == "需补充户口本"
    assert cur["transfer"]["from_window_name"] == "1号综办窗口"
    assert first["number"] == "C001"
    # Transfer needs exactly one target; to the same window is refused.
    act(c3, got["id"], "transfer", status=400)
    act(c3, got["id"], "transfer", status=400, window=1, service="SB")
    act(c3, got["id"], "transfer", status=409, window=3)
    act(c3, got["id"], "transfer", status=400, window="3")
    act(c3, got["id"], "transfer", status=404, service="NOPE")


# --- who may act where -----------------------------------------------------------
def test_only_the_clerk_signed_in_at_a_window_acts_there(clerk_at, staff, kiosk):
    c1 = clerk_at(1)
    other = staff("clerk9")
    issue(kiosk, "SB")
    issue(kiosk, "SB")
    t = call(c1, 1)
    for action in ("recall", "start", "no-show", "finish"):
        r = other.post(f"/api/tickets/{t['id']}/{action}")
        assert r.status_code == 403, action
    r = other.post(f"/api/tickets/{t['id']}/transfer", json={"window": 3})
    assert r.status_code == 403
    for action in ("call-next", "pause", "close"):
        assert other.post(f"/api/windows/1/{action}").status_code == 403, action
    # Someone else cannot sign in to a window that is taken.
    r = other.post("/api/windows/1/open")
    assert r.status_code == 409 and "clerk1" in r.get_json()["error"]
    # Nothing changed.
    s = state_of(c1, 1)
    assert s["current"]["number"] == "B001" and s["current"]["status"] == "called"
    assert s["queue"]["total"] == 1
    # Not logged in at all: 401.
    assert kiosk.post("/api/windows/1/call-next").status_code == 401
    assert kiosk.post(f"/api/tickets/{t['id']}/finish").status_code == 401
    assert kiosk.get("/api/windows/1/state").status_code == 401


def test_one_window_at_a_time_and_window_limits(staff, clerk_at):
    c = clerk_at(1)
    r = c.post("/api/windows/3/open")
    assert r.status_code == 409 and "1号综办窗口" in r.get_json()["error"]
    limited = staff("clerk13", windows=(1, 3))
    r = limited.post("/api/windows/2/open")
    assert r.status_code == 403
    assert limited.post("/api/windows/3/open").status_code == 200
    me = limited.get("/api/counter/me").get_json()
    assert me["window"] == 3 and me["user"]["windows"] == [1, 3]
    allowed = {w["number"]: w["allowed"] for w in me["windows"]}
    assert allowed == {1: True, 2: False, 3: True, 4: False}
    taken = {w["number"]: w["taken"] for w in me["windows"]}
    assert taken[1] is True and taken[3] is False


def test_supervisor_force_sign_out(clerk_at, staff, kiosk):
    c = clerk_at(1)
    issue(kiosk, "SB")
    issue(kiosk, "SB")
    t = call(c, 1)
    # A clerk cannot force anyone out, not even at their own window.
    assert c.post("/api/windows/1/close", json={"force": True}).status_code == 403
    boss = staff("boss", role="supervisor")
    r = boss.post("/api/windows/1/close", json={"force": True})
    assert r.status_code == 200 and r.get_json()["state"] == "closed"
    s = state_of(c, 1)
    assert s["state"] == "closed" and not s["mine"] and s["current"] is None
    # The ticket in hand went back to the head of the queue, not lost.
    c3 = clerk_at(3)
    assert call(c3, 3)["number"] == t["number"]
    # The signed-out clerk can no longer act on window 1.
    assert c.post("/api/windows/1/call-next").status_code == 409


def test_engine_refuses_the_same_things(hall, kiosk, make_user):
    engine = hall.engine
    a = Actor("ea", "clerk")
    b = Actor("eb", "clerk", windows=(2,))
    issue(kiosk, "SB")
    engine.open_window(1, a)
    with pytest.raises(Forbidden):
        engine.open_window(1, b)  # not one of b's windows
    with pytest.raises(Conflict):
        engine.open_window(3, a)  # a is at window 1
    engine.pause_window(1, a, "午休")
    with pytest.raises(Conflict):
        engine.call_next(1, a)
    engine.open_window(1, a)
    t = engine.call_next(1, a)
    with pytest.raises(Forbidden):
        engine.finish(t["id"], Actor("ec", "clerk"))
    with pytest.raises(Conflict):
        engine.close_window(1, a)
    assert engine.finish(t["id"], a)["status"] == "done"
    assert engine.call_next(1, a) is None  # empty queue: None, not an error
    assert engine.close_window(1, a)["state"] == "closed"


# --- priority ------------------------------------------------------------------------
def test_priority_rules(kiosk, staff, clerk_at):
    # The kiosk (anonymous) cannot issue priority tickets.
    r = kiosk.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "老年人"}
    )
    assert r.status_code == 403
    guide = staff("guide")
    # Staff can, with a reason.
    r = guide.post("/api/tickets", json={"service": "SB", "priority": True})
    assert r.status_code == 400 and "原因" in r.get_json()["error"]
    r = guide.post(
        "/api/tickets", json={"service": "SB", "priority": True, "priority_reason": "  "}
    )
    assert r.status_code == 400
    for _ in range(3):
        issue(kiosk, "SB")
    issue(kiosk, "YB")
    r = guide.post(
        "/api/tickets", json={"service": "YB", "priority": True, "priority_reason": "残疾人"}
    )
    assert r.status_code == 201
    p = r.get_json()
    assert p["priority"] is True and p["number"] == "C002"
    c = clerk_at(1)
    s = state_of(c, 1)
    head = s["queue"]["next"][0]
    assert head["number"] == "C002" and head["priority"] is True
    # Called first at a window serving YB, though four tickets are older.
    t = call(c, 1)
    assert t["number"] == "C002"
    cur = state_of(c, 1)["current"]
    assert cur["priority"] is True and cur["priority_reason"] == "残疾人"
    # The reason is recorded on the ticket for staff.
    found = guide.get("/api/tickets?number=C002").get_json()[0]
    assert found["priority_reason"] == "残疾人" and found["source"] == "staff"
    # Then the normal order resumes.
    act(c, t["id"], "finish")
    assert call(c, 1)["number"] == "B001"


# --- the window state and reload recovery -----------------------------------------
def test_window_state_figures(clerk_at, kiosk, clock):
    c = clerk_at(1)
    tickets = [issue(kiosk, s) for s in ("SB", "YB", "SB", "GJJ", "SB", "SB", "SB", "SB", "SB")]
    clock.advance(125)
    t = call(c, 1)
    s = state_of(c, 1)
    cur = s["current"]
    assert (
        cur["number"] == "B001" and cur["waited_seconds"] == 125 and cur["waited_text"] == "02:05"
    )
    assert cur["status_text"] == "已叫号" and cur["timer_label"] == "叫号后"
    # The queue: counts per service of this window and the next numbers in call order.
    waiting = {x["code"]: x["waiting"] for x in s["queue"]["services"]}
    assert waiting == {"SB": 6, "YB": 1, "GJJ": 1}
    tiers = {x["code"]: x["tier"] for x in s["queue"]["services"]}
    assert tiers == {"SB": "primary", "YB": "primary", "GJJ": "secondary"}
    nxt = [x["number"] for x in s["queue"]["next"]]
    assert nxt == ["C001", "B002", "B003", "B004", "B005", "B006"]  # 6 = counter.next_numbers
    assert s["queue"]["total"] == 8
    # Finish at +4 min and +2 min: served 2, average 3 minutes.
    clock.advance(240)
    act(c, t["id"], "finish")
    t = call(c, 1)
    clock.advance(120)
    act(c, t["id"], "finish")
    stats = state_of(c, 1)["stats"]
    assert stats == {
        "served": 2,
        "avg_service_seconds": 180,
        "avg_service_text": "03:00",
        "no_show": 0,
    }
    # No ticket token anywhere in the state.
    text = c.get("/api/windows/1/state").get_data(as_text=True)
    assert all(x["token"] not in text for x in tickets)


def test_reload_recovery(app, clerk_at, staff, kiosk, clock):
    c = clerk_at(2)
    issue(kiosk, "BDC")
    issue(kiosk, "BDC")
    t = call(c, 2)
    clock.advance(30)
    act(c, t["id"], "start")
    clock.advance(95)
    before = state_of(c, 2)
    # The same clerk on a new browser (new session): the page renders window 2 as it is.
    again = staff("clerk2")
    page = again.get("/counter").get_data(as_text=True)
    assert "2号不动产窗口" in page and 'id="cur-number">A001<' in page
    assert "办理中" in page and 'data-start="2026-11-30T09:00:30+08:00"' in page
    after = state_of(again, 2)
    assert after == before
    assert after["current"]["status"] == "serving" and after["mine"]
    # A paused window stays paused across a reload.
    again.post("/api/windows/2/pause", json={"reason": "临时离开"})
    page = again.get("/counter").get_data(as_text=True)
    assert "暂停服务（临时离开）" in page


def test_state_endpoint_errors(staff, kiosk):
    c = staff("clerk1")
    assert c.get("/api/windows/99/state").status_code == 404
    assert c.get("/api/windows/0/state").status_code == 404
    assert c.get("/api/windows/abc/state").status_code == 404
    huge = "9" * 25
    assert c.get(f"/api/windows/{huge}/state").status_code == 404
    assert kiosk.get(f"/api/pad/{huge}").status_code == 404
    assert kiosk.get(f"/counter/pad/{huge}").status_code == 404
    assert kiosk.post(f"/api/pad/{huge}/rating", json={"score": 5}).status_code == 404
    assert kiosk.get("/api/counter/me").status_code == 401


def test_cli_user_limited_to_windows(app, tmp_path, monkeypatch, capsys):
    """`python -m hall user add NAME --role clerk --windows 1,3` limits the counter."""
    import io

    from hall import cli

    from ..conftest import PASSWORD, TEST_CONFIG, pair_pad

    monkeypatch.setenv("HALL_CONFIG", TEST_CONFIG)
    monkeypatch.setenv("HALL_DATABASE", str(tmp_path / "hall.sqlite3"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    args = ["user", "add", "wang", "--role", "clerk", "--windows", "1,3", "--staff-no", "C0007"]
    assert cli.main(args) == 0
    c = app.test_client()
    r = c.post("/api/login", json={"username": "wang", "password": PASSWORD})
    assert r.status_code == 200
    csrf = {"X-CSRF-Token": r.get_json()["csrf_token"]}
    me = c.get("/api/counter/me").get_json()
    assert me["user"]["staff_no"] == "C0007" and me["user"]["windows"] == [1, 3]
    assert c.post("/api/windows/2/open", headers=csrf, json={}).status_code == 403
    assert c.post("/api/windows/3/open", headers=csrf, json={}).status_code == 200
    assert pair_pad(app, 3).get("/api/pad/3").get_json()["staff_no"] == "C0007"


# --- pages ---------------------------------------------------------------------------
def test_pages_need_login_and_render_on_the_server(kiosk, staff, make_user):
    for path in ("/counter", "/counter/", "/counter/guide"):
        html = kiosk.get(path).get_data(as_text=True)
        assert 'id="login-form"' in html and "工作人员登录" in html
    c = staff("clerk13", windows=(1, 3))
    html = c.get("/counter").get_data(as_text=True)
    assert "请选择要签到的窗口" in html
    assert 'class="btn primary sign-in" data-window="1"' in html
    assert 'data-window="2"' in html and "无此窗口权限" in html
    assert 'class="btn primary sign-in" data-window="2"' not in html
    c.post("/api/windows/3/open")
    html = c.get("/counter").get_data(as_text=True)
    assert "3号综办窗口" in html and 'id="btn-call"' in html
    for label in ("叫号", "重呼", "过号", "办结", "转办", "开始办理", "签退", "F1", "小键盘1"):
        assert label in html
    # CSP: no inline script.
    assert "<script>" not in html
    guide = c.get("/counter/guide").get_data(as_text=True)
    assert "代群众取号" in guide and "绿色通道" in guide and "老年人" in guide


# --- reprint (the endpoint belongs to the kiosk face; the guide desk relies on it) ------
class FakePrintService:
    def __init__(self):
        self.slips = []

    def print(self, slip):
        from printer import PrintResult

        self.slips.append(slip)
        return PrintResult(True, None, "ok")


def test_reprint_from_the_guide_desk(hall, staff, kiosk, clerk_at):
    guide = staff("guide")
    t = issue(kiosk, "SB")
    hall.faces.interface("printers").clear()
    r = guide.post(f"/api/tickets/{t['id']}/reprint")
    assert r.status_code == 409 and "未配置打印机" in r.get_json()["error"]
    fake = FakePrintService()
    hall.faces.interface("printers")["K1"] = fake
    r = guide.post(f"/api/tickets/{t['id']}/reprint")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["printed"] is True and body["ticket"]["number"] == "B001"
    assert "token" not in body["ticket"]
    slip = fake.slips[0]
    assert slip.number == "B001" and slip.service_name == "社会保险"
    assert slip.qr_url == f"http://hall.test/t/{t['token']}"  # the paper carries the QR
    assert guide.post(f"/api/tickets/{t['id']}/reprint", json={"kiosk": "K9"}).status_code == 400
    assert guide.post("/api/tickets/9999/reprint").status_code == 404
    assert kiosk.post(f"/api/tickets/{t['id']}/reprint").status_code == 401
    c = clerk_at(1)
    got = call(c, 1)
    act(c, got["id"], "finish")
    assert guide.post(f"/api/tickets/{t['id']}/reprint").status_code == 409
