"""The display rules run on the server only: a display asks for its `view` and draws it.

display/pages.py (board, queue_rows, zone_windows, announcements) is the one copy of the
rules; the page is rendered from hall_view/window_view and the /display namespace sends the
same views in every snapshot a display asks for."""

from __future__ import annotations

import json

from tests.conftest import ROOT
from tests.display.test_display_pages import call_next, events, issue

HALL_VIEW = {"view": {"kind": "hall", "group": "service"}}


def ask(d, data):
    return d.emit("snapshot", data, namespace="/display", callback=True)


def test_view_board_newest_first_one_line_per_ticket_and_window(client, clerk_at, display_client):
    for s in ("SB", "SB", "BDC", "SB"):
        issue(client, s)
    c1, c2 = clerk_at(1), clerk_at(2)
    first = call_next(c1, 1)  # B001 at 1
    bdc = call_next(c2, 2)  # A001 at 2
    c1.post(f"/api/tickets/{first['id']}/finish")
    second = call_next(c1, 1)  # B002 at 1
    assert c1.post(f"/api/tickets/{second['id']}/recall").status_code == 200  # to the top
    assert c2.post(f"/api/tickets/{bdc['id']}/recall").status_code == 200  # and then this one

    d = display_client(auth=HALL_VIEW)
    (snap,) = events(d, "snapshot")
    v = snap["view"]
    assert v["latest"]["number"] == bdc["number"] and v["latest"]["recall"] is True
    assert [c["number"] for c in v["recent"]] == [second["number"], first["number"]]
    assert [c["recall"] for c in v["recent"]] == [True, False]
    # the page shows the same board the socket sends
    html = client.get("/display").get_data(as_text=True)
    latest = html.split('id="d-latest-body"')[1].split("</section>")[0]
    assert bdc["number"] in latest and "重呼" in latest
    recent = html.split('id="d-recent"')[1].split("</ol>")[0]
    assert recent.index(second["number"]) < recent.index(first["number"])
    assert recent.count(second["number"]) == 1  # the recall did not add a line

    # announce: every call (recalls too), oldest first
    assert [c["id"] for c in v["announce"]] == sorted(c["id"] for c in snap["calls"])
    assert len(v["announce"]) == 5


def test_view_queue_rows_zone_and_group(client, clerk_at, display_client):
    for s in ("SB", "BDC", "BDC", "YB"):
        issue(client, s)
    d = display_client()
    events(d)
    v = ask(d, {"services": ["BDC", "YB"], "view": {"kind": "hall", "group": "department"}})["view"]
    assert v["queue"] == [{"label": "自然资源局", "waiting": 2}, {"label": "医保局", "waiting": 1}]
    assert v["queue_size"] == "few"
    zone = {w["number"] for w in v["windows"]}
    every = {w["number"] for w in ask(d, HALL_VIEW)["view"]["windows"]}
    assert zone and zone < every  # only the windows that serve the zone's services
    assert all({"BDC", "YB"} & set(w["services"] + w["secondary"]) for w in v["windows"])
    by_service = ask(d, HALL_VIEW)["view"]["queue"]
    assert [r["label"] for r in by_service][:2] == ["不动产登记", "社会保险"]
    assert sum(r["waiting"] for r in by_service) == 4
    # a group the display does not know: the hall's default
    assert ask(d, {"view": {"kind": "hall", "group": "x"}})["view"]["queue"] == by_service


def test_view_of_a_window_screen(client, clerk_at, display_client):
    issue(client, "BDC")
    issue(client, "SB")
    c2 = clerk_at(2)
    t = call_next(c2, 2)
    call_next(clerk_at(1), 1)
    d = display_client(auth={"view": {"kind": "window", "window": 2}})
    (snap,) = events(d, "snapshot")
    v = snap["view"]
    assert v["window"]["number"] == 2 and v["window"]["current"]["number"] == t["number"]
    assert "clerk" not in v["window"]
    assert v["services_text"].startswith("办理业务：不动产登记")
    assert [c["window"] for c in v["announce"]] == [2]  # only its own calls
    for bad in ({"kind": "window", "window": 99}, {"kind": "window", "window": "2"}):
        got = ask(d, {"view": bad})
        assert got.get("view") is None  # no such window / malformed: no view, no error
    assert "view" not in ask(d, {})  # without a view request: the plain public snapshot


def test_view_announces_nothing_older_than_replay_seconds(client, clerk_at, clock, display_client):
    """A screen back after a long outage shows the old calls but does not speak them."""
    issue(client, "BDC")
    issue(client, "BDC")
    c2 = clerk_at(2)
    old = call_next(c2, 2)
    c2.post(f"/api/tickets/{old['id']}/finish")
    clock.advance(301)  # [display] replay_seconds = 300
    new = call_next(c2, 2)
    d = display_client(auth=HALL_VIEW)
    (snap,) = events(d, "snapshot")
    assert [c["number"] for c in snap["view"]["announce"]] == [new["number"]]
    assert [c["number"] for c in snap["view"]["recent"]] == [old["number"]]


def test_no_person_or_token_in_a_view(app, client, make_user, display_client):
    from tests.conftest import PASSWORD

    make_user("wangfang", "clerk", display_name="王芳", staff_no="C0301")
    token = issue(client, "BDC")["token"]
    c = app.test_client()
    r = c.post("/api/login", json={"username": "wangfang", "password": PASSWORD})
    headers = {"X-CSRF-Token": r.get_json()["csrf_token"]}
    assert c.post("/api/windows/2/open", headers=headers).status_code == 200
    assert c.post("/api/windows/2/call-next", headers=headers).status_code == 200
    d = display_client(auth=HALL_VIEW)
    got = events(d) + [ask(d, {"view": {"kind": "window", "window": 2}})]
    text = json.dumps(got, ensure_ascii=False)
    assert "A001" in text  # real data
    for secret in ("wangfang", "王芳", "C0301", token):
        assert secret not in text, secret
    assert '"clerk"' not in text and '"actor"' not in text


def test_display_js_has_no_copy_of_the_rules():
    """display.js draws the server's view: no board, queue or zone rule of its own."""
    js = (ROOT / "display/static/display.js").read_text(encoding="utf-8")
    for rule in (
        "function board",
        "function queueRows",
        "function zoneWindows",
        "function relevant",
    ):
        assert rule not in js, rule
    assert "replay" not in js  # the age limit of announcements is the server's too
    pages = (ROOT / "display/pages.py").read_text(encoding="utf-8")
    assert "mirrors" not in pages
