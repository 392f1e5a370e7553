"""Who may see what: clerks get 403, anonymous users 401 (API) or the login page."""

from __future__ import annotations

import pytest

MANAGER_API = [
    "/api/stats",
    "/api/export/tickets.csv",
    "/api/export/report.xlsx",
    "/api/ratings",
    "/api/ratings?bad=1",
    "/api/audit",
    "/api/supervisor/board",
]
ADMIN_API = ["/api/admin/services", "/api/admin/windows", "/api/admin/users"]
MANAGER_PAGES = [
    "/supervisor",
    "/supervisor/board/fragment",
    "/supervisor/figures",
    "/supervisor/figures/windows",
    "/supervisor/ranking",
    "/supervisor/ratings",
    "/supervisor/audit",
    "/supervisor/report",
]
ADMIN_PAGES = ["/supervisor/admin/services", "/supervisor/admin/windows", "/supervisor/admin/users"]
WRITES = [
    ("/api/ratings/1/follow-up", {"action": "callback", "note": "x"}),
    ("/api/admin/services", {"code": "X", "name": "x", "department": "x", "prefix": "X"}),
    ("/api/admin/services/SB", {"name": "x"}),
    ("/api/admin/windows", {"number": 8, "services": ["SB"]}),
    ("/api/admin/windows/1", {"name": "x"}),
    ("/api/admin/users", {"username": "xx", "password": "long-enough-1", "role": "admin"}),
    ("/api/admin/users/boss", {"role": "admin"}),
]


@pytest.mark.parametrize("url", MANAGER_API + ADMIN_API)
def test_anonymous_api_is_401(client, url):
    r = client.get(url)
    assert r.status_code == 401
    assert r.get_json()["error"]


@pytest.mark.parametrize("url", MANAGER_PAGES + ADMIN_PAGES)
def test_anonymous_pages_go_to_the_login_page(client, url):
    r = client.get(url)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/supervisor/login?next=")
    login = client.get(r.headers["Location"])
    assert login.status_code == 200
    assert "大厅管理登录" in login.get_data(as_text=True)


def test_clerks_get_403_everywhere(staff):
    clerk = staff("li", "clerk")
    for url in MANAGER_API + ADMIN_API:
        assert clerk.get(url).status_code == 403, url
    for url in MANAGER_PAGES + ADMIN_PAGES:
        r = clerk.get(url)
        assert r.status_code == 403, url
        assert "无权限" in r.get_data(as_text=True)
    for url, body in WRITES:
        assert clerk.post(url, json=body).status_code == 403, url


def test_supervisors_see_figures_but_not_admin(staff):
    boss = staff("boss", "supervisor")
    for url in MANAGER_API:
        assert boss.get(url).status_code == 200, url
    for url in MANAGER_PAGES:
        assert boss.get(url).status_code == 200, url
    for url in ADMIN_API:
        assert boss.get(url).status_code == 403, url
    for url in ADMIN_PAGES:
        assert boss.get(url).status_code == 403, url
    for url, body in WRITES[1:]:
        assert boss.post(url, json=body).status_code == 403, url
    # the admin links are not even offered
    page = boss.get("/supervisor").get_data(as_text=True)
    assert "统计分析" in page and "用户管理" not in page


def test_admins_see_everything(staff):
    admin = staff("root", "admin")
    for url in MANAGER_API + ADMIN_API + MANAGER_PAGES + ADMIN_PAGES:
        assert admin.get(url).status_code == 200, url
    assert "用户管理" in admin.get("/supervisor").get_data(as_text=True)


def test_login_page_keeps_next_local_only(client, staff):
    page = client.get("/supervisor/login?next=https://evil.example/x").get_data(as_text=True)
    assert 'data-next="/supervisor"' in page
    page = client.get("/supervisor/login?next=//evil.example").get_data(as_text=True)
    assert 'data-next="/supervisor"' in page
    page = client.get("/supervisor/login?next=/supervisor/ratings").get_data(as_text=True)
    assert 'data-next="/supervisor/ratings"' in page
    boss = staff("boss", "supervisor")
    r = boss.get("/supervisor/login?next=/supervisor/ranking")
    assert r.status_code == 302 and r.headers["Location"] == "/supervisor/ranking"


def test_supervisor_socket_namespace_refuses_clerks(app, staff):
    from hall.realtime import socketio

    boss = staff("boss", "supervisor")
    clerk = staff("li", "clerk")
    ok = socketio.test_client(app, namespace="/supervisor", flask_test_client=boss.client)
    assert ok.is_connected("/supervisor")
    assert any(m["name"] == "snapshot" for m in ok.get_received("/supervisor"))
    ok.disconnect(namespace="/supervisor")
    no = socketio.test_client(app, namespace="/supervisor", flask_test_client=clerk.client)
    assert not no.is_connected("/supervisor")
