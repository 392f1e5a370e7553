"""Admin: services, windows, users from the API; validated, effective at once, audited."""

from __future__ import annotations

import json

import pytest

from hall.engine import Actor
from tests.conftest import PASSWORD


def audit(hall, action):
    return [
        {**dict(a), "details": json.loads(a["details"])}
        for a in hall.store.db().query(
            "SELECT * FROM audit_log WHERE action = ? ORDER BY id", [action]
        )
    ]


# --- services -----------------------------------------------------------------------
def test_create_service_and_issue_at_once(admin, hall, client):
    r = admin.post(
        "/api/admin/services",
        json={
            "code": "SW",
            "name": "税务办理",
            "department": "税务局",
            "prefix": "G",
            "target_wait_minutes": 25,
            "matters": ["发票领用", "申报缴税"],
        },
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["matters"] == ["发票领用", "申报缴税"]
    # the kiosk's service list and the engine see it without a restart
    codes = [s["code"] for s in client.get("/api/services").get_json()]
    assert "SW" in codes
    t = client.post("/api/tickets", json={"service": "SW"})
    assert t.status_code == 201 and t.get_json()["number"] == "G001"
    [entry] = audit(hall, "service_create")
    assert (entry["actor"], entry["target"]) == ("root", "service:SW")
    assert entry["details"]["values"]["name"] == "税务办理"


def test_update_service_is_logged_with_old_and_new(admin, hall, client):
    r = admin.post("/api/admin/services/SB", json={"target_wait_minutes": 10, "name": "社保业务"})
    assert r.status_code == 200
    assert client.get("/api/services").get_json()[1]["name"] == "社保业务"
    [entry] = audit(hall, "service_update")
    assert entry["details"]["changes"] == {
        "target_wait_minutes": [15, 10],
        "name": ["社会保险", "社保业务"],
    }
    # closing a service stops new tickets at once
    assert (
        admin.client.patch(
            "/api/admin/services/SB", json={"active": False}, headers={"X-CSRF-Token": admin.csrf}
        ).status_code
        == 200
    )
    assert client.post("/api/tickets", json={"service": "SB"}).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"code": "X1", "name": "n", "department": "d", "prefix": "a"},  # prefix A-Z
        {"code": "X1", "name": "n", "department": "d", "prefix": "AB"},
        {"code": "bad code!", "name": "n", "department": "d", "prefix": "X"},
        {"code": "X1", "name": "", "department": "d", "prefix": "X"},
        {"code": "X1", "department": "d", "prefix": "X"},  # name missing
        {"code": "X1", "name": "n", "department": "d", "prefix": "X", "target_wait_minutes": -1},
        {"code": "X1", "name": "n", "department": "d", "prefix": "X", "target_wait_minutes": "9"},
        {"code": "X1", "name": "n", "department": "d", "prefix": "X", "daily_quota": True},
        {"code": "X1", "name": "n", "department": "d", "prefix": "X", "matters": "一项"},
        {"code": "X1", "name": "n", "department": "d", "prefix": "X", "colour": "red"},
        {"code": "X1", "name": "n" * 51, "department": "d", "prefix": "X"},
    ],
)
def test_service_validation(admin, hall, body):
    r = admin.post("/api/admin/services", json=body)
    assert r.status_code == 400, body
    assert r.get_json()["error"]
    assert not audit(hall, "service_create")


def test_service_conflicts_and_unknown(admin):
    assert (
        admin.post(
            "/api/admin/services",
            json={"code": "SB", "name": "n", "department": "d", "prefix": "X"},
        ).status_code
        == 409
    )
    assert admin.post("/api/admin/services/NOPE", json={"name": "x"}).status_code == 404
    assert admin.post("/api/admin/services/SB", json={}).status_code == 400
    assert admin.post("/api/admin/services/SB", json={"code": "YB"}).status_code == 400


# --- windows ------------------------------------------------------------------------
def test_window_services_change_takes_effect_at_once(admin, hall, client):
    clerk = Actor("wang", "clerk")
    hall.engine.open_window(2, clerk)  # window 2 serves BDC only
    sb = client.post("/api/tickets", json={"service": "SB"}).get_json()
    assert hall.engine.call_next(2, clerk) is None
    r = admin.post("/api/admin/windows/2", json={"services": ["BDC"], "secondary": ["SB"]})
    assert r.status_code == 200
    assert r.get_json()["secondary"] == ["SB"]
    assert hall.engine.call_next(2, clerk)["number"] == sb["number"]  # no restart needed
    [entry] = audit(hall, "window_update")
    assert entry["details"]["changes"] == {"secondary": [[], ["SB"]]}


def test_create_window(admin, hall, client):
    r = admin.post(
        "/api/admin/windows",
        json={"number": 9, "name": "9号综办窗口", "services": ["SB", "YB"], "secondary": ["GJJ"]},
    )
    assert r.status_code == 201, r.get_json()
    windows = {w["number"]: w for w in client.get("/api/windows").get_json()}
    assert windows[9]["name"] == "9号综办窗口" and windows[9]["state"] == "closed"
    assert windows[9]["services"] == ["SB", "YB"]
    assert audit(hall, "window_create")[0]["target"] == "window:9"
    assert (
        admin.post("/api/admin/windows", json={"number": 9, "services": ["SB"]}).status_code == 409
    )


@pytest.mark.parametrize(
    "body",
    [
        {"services": []},
        {"services": ["NOPE"]},
        {"services": ["SB"], "secondary": ["SB"]},
        {"services": "SB"},
        {"active": "no"},
        {"name": ""},
        {"number": 5},
    ],
)
def test_window_validation(admin, body):
    r = admin.post("/api/admin/windows/1", json=body)
    assert r.status_code == 400, body


def test_a_window_in_use_cannot_be_deactivated(admin, hall):
    hall.engine.open_window(1, Actor("li", "clerk"))
    r = admin.post("/api/admin/windows/1", json={"active": False})
    assert r.status_code == 409
    hall.engine.close_window(1, Actor("li", "clerk"))
    assert admin.post("/api/admin/windows/1", json={"active": False}).status_code == 200
    assert 1 not in [w["number"] for w in admin.get("/api/windows").get_json()]


# --- users --------------------------------------------------------------------------
def test_create_clerk_bound_to_a_window(admin, app, hall):
    r = admin.post(
        "/api/admin/users",
        json={
            "username": "xiaoli",
            "password": "long-enough-1",
            "role": "clerk",
            "display_name": "小李",
            "windows": [3],
        },
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["windows"] == [3]
    assert "password_hash" not in r.get_json()
    c = app.test_client()
    login = c.post("/api/login", json={"username": "xiaoli", "password": "long-enough-1"})
    assert login.status_code == 200
    csrf = {"X-CSRF-Token": login.get_json()["csrf_token"]}
    assert c.post("/api/windows/1/open", json={}, headers=csrf).status_code == 403
    assert c.post("/api/windows/3/open", json={}, headers=csrf).status_code == 200
    [entry] = audit(hall, "user_create")
    assert "long-enough-1" not in json.dumps(entry)
    assert "password_hash" not in entry["details"]["values"]


def test_deactivate_and_password_change_end_sessions(admin, staff, hall, app):
    clerk = staff("li")
    assert clerk.get("/api/me").status_code == 200
    r = admin.post("/api/admin/users/li", json={"active": False})
    assert r.status_code == 200
    assert clerk.get("/api/me").status_code == 401
    assert (
        app.test_client()
        .post("/api/login", json={"username": "li", "password": PASSWORD})
        .status_code
        == 401
    )
    admin.post("/api/admin/users/li", json={"active": True, "password": "a-new-password"})
    assert (
        app.test_client()
        .post("/api/login", json={"username": "li", "password": "a-new-password"})
        .status_code
        == 200
    )
    changes = [e["details"]["changes"] for e in audit(hall, "user_update")]
    assert changes[0] == {"active": [1, 0]}
    assert changes[1]["password"] == "(已修改)" and "a-new-password" not in json.dumps(changes)


def test_role_change_takes_effect_at_once(admin, staff):
    clerk = staff("li")
    assert clerk.get("/api/stats").status_code == 403
    admin.post("/api/admin/users/li", json={"role": "supervisor"})
    assert clerk.get("/api/stats").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "a", "password": "long-enough-1", "role": "clerk"},  # too short
        {"username": "ok_name", "password": "short", "role": "clerk"},
        {"username": "ok_name", "password": "long-enough-1", "role": "boss"},
        {"username": "ok_name", "password": "long-enough-1", "role": "clerk", "windows": [99]},
        {"username": "ok_name", "password": "long-enough-1", "role": "clerk", "windows": ["1"]},
        {"username": "ok_name", "password": "long-enough-1"},
        {"username": "ok_name", "password": "long-enough-1", "role": "clerk", "is_root": True},
    ],
)
def test_user_validation(admin, body):
    assert admin.post("/api/admin/users", json=body).status_code == 400, body


def test_admin_cannot_lock_themselves_out(admin):
    assert admin.post("/api/admin/users/root", json={"active": False}).status_code == 403
    assert admin.post("/api/admin/users/root", json={"role": "clerk"}).status_code == 403
    assert admin.post("/api/admin/users/root", json={"display_name": "管理员"}).status_code == 200
    assert admin.post("/api/admin/users/nobody", json={"display_name": "x"}).status_code == 404
    dup = {"username": "root", "password": "long-enough-1", "role": "clerk"}
    assert admin.post("/api/admin/users", json=dup).status_code == 409


def test_lists(admin):
    assert [s["code"] for s in admin.get("/api/admin/services").get_json()] == [
        "BDC",
        "SB",
        "YB",
        "GJJ",
        "CRJ",
    ]
    assert [w["number"] for w in admin.get("/api/admin/windows").get_json()] == [1, 2, 3, 4]
    users = admin.get("/api/admin/users").get_json()
    assert [u["username"] for u in users] == ["root"]
    assert "password_hash" not in users[0]
