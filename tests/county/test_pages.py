"""County pages, the village point, the catalogue on the kiosk and the phone page
(in-process; the browser tests are in test_browser.py)."""

from __future__ import annotations

import io

from county import catalogue as cat
from hall.engine import Actor
from tests.county.conftest import login, ship_all
from tests.test_frontend import assert_base

MATTER = {
    "code": "340722-SB-001",
    "name": "城乡居民基本养老保险参保登记",
    "department": "县人力资源和社会保障局",
    "materials": ["居民身份证原件", "户口簿原件", "一寸免冠照片"],
    "legal_days": 20,
    "promised_days": 1,
    "fees": "",
}


def test_the_county_pages_extend_the_base_and_ask_for_a_login(make_site, centre_app, clock):
    app, hall = make_site("xiang-01")
    hall.engine.issue("SB")
    ship_all(hall)
    anon = centre_app.test_client()
    r = anon.get("/county")
    assert r.status_code == 401 and "登录" in r.get_data(as_text=True)
    clerk = login(centre_app, "c1", "clerk")
    assert clerk.get("/county").status_code == 403
    boss = login(centre_app, "boss", "supervisor")
    for url in ("/county", "/county/ranking", "/county/ratings", "/county/province"):
        r = boss.get(url)
        assert r.status_code == 200, url
        assert_base(r.get_data(as_text=True), url)
    html = boss.get("/county").get_data(as_text=True)
    assert 'id="site-xiang-01"' in html and "/static/vendor/socket.io.min.js" in html
    assert "乡镇便民服务中心" in html
    assert "socket.io" not in boss.get("/county/ranking").get_data(as_text=True)


def test_the_month_export_has_the_sites_departments_and_bad_ratings(make_site, centre_app, clock):
    from openpyxl import load_workbook

    from tests.county.test_shipping import scripted_site

    app, hall, _ = scripted_site(make_site, clock)
    ship_all(hall)
    boss = login(centre_app, "boss", "supervisor")
    r = boss.get("/api/county/export.xlsx?month=2026-11")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["站点排名", "部门排名", "差评跟进", "说明"]
    sites = list(wb["站点排名"].values)
    assert sites[1][2] == "xiang-01" and sites[1][4] == 8  # tickets
    bad = list(wb["差评跟进"].values)
    assert len(bad) == 1 + 3 and {row[6] for row in bad[1:]} == {"不满意", "非常不满意"}
    assert boss.get("/api/county/export.xlsx?month=2026-13").status_code == 400


def test_a_village_visit_is_recorded_served_rated_and_counted(make_site, centre, centre_app, clock):
    cat.save(centre, [{**MATTER, "levels": ["village"]}])
    app, hall = make_site(
        "cun-01", level="village", offer={"SB": ["340722-SB-001"]}, point_service="SB"
    )
    hall.faces.state("county").shipper.refresh_catalogue(force=True)
    clerk = login(app, "duty", "clerk")
    page = clerk.get("/county/point").get_data(as_text=True)
    assert_base(page, "/county/point")
    assert "签到开窗" in page
    assert clerk.post("/api/windows/1/open").status_code == 200
    page = clerk.get("/county/point").get_data(as_text=True)
    assert "登记来访" in page and MATTER["name"] in page
    r = clerk.post("/api/county/visits", json={"window": 1, "matter": "340722-SB-001"})
    assert r.status_code == 201, r.get_json()
    visit = r.get_json()
    assert visit["status"] == "serving" and visit["number"] == "B001"
    assert visit["matter"]["materials"] == MATTER["materials"]
    assert clerk.post("/api/county/visits", json={"window": 1}).status_code == 409  # one at a time
    assert clerk.post("/api/county/visits", json={"window": 1, "matter": "nope"}).status_code == 400
    page = clerk.get("/county/point").get_data(as_text=True)
    assert "正在办理" in page and "居民身份证原件" in page
    clock.advance(minutes=6)
    r = clerk.post(f"/api/tickets/{visit['id']}/finish", json={"case_no": "CUN-2026-7"})
    assert r.status_code == 200
    page = clerk.get("/county/point").get_data(as_text=True)
    assert "请群众对本次服务进行评价" in page and "data:image/png;base64," in page
    other = login(app, "other", "clerk")
    assert (
        other.post(f"/api/county/visits/{visit['id']}/rating", json={"score": 5}).status_code == 403
    )
    r = clerk.post(
        f"/api/county/visits/{visit['id']}/rating", json={"score": 2, "reasons": ["效率低"]}
    )
    assert r.status_code == 201 and r.get_json()["channel"] == "pad"
    assert "登记来访" in clerk.get("/county/point").get_data(as_text=True)
    # the visit counts like a ticket, here and at the centre
    boss = login(app, "boss", "supervisor")
    figs = boss.get("/api/stats?from=2026-11-30&to=2026-11-30").get_json()
    assert figs["tickets"] == 1 and figs["served"] == 1 and figs["avg_wait_s"] == 0.0
    assert figs["avg_service_s"] == 360.0 and figs["ratings"]["bad_count"] == 1
    ship_all(hall)
    cboss = login(centre_app, "cboss", "supervisor")
    at_centre = cboss.get("/api/county/sites/cun-01/stats?from=2026-11-30&to=2026-11-30").get_json()
    assert at_centre["served"] == 1 and at_centre["ratings"]["bad_count"] == 1
    m = hall.faces.interface("matters").of_ticket(visit["id"])
    assert m["code"] == "340722-SB-001" and m["case_no"] == "CUN-2026-7"


def test_a_walk_in_can_be_skipped_for_rating_and_needs_the_window(make_site, clock):
    app, hall = make_site("cun-02", level="village")
    e = hall.engine
    li = Actor("li", "clerk")
    from hall.errors import Conflict

    try:
        e.walk_in(1, li)
    except Conflict as x:
        assert "未签到" in x.message
    else:  # pragma: no cover - the engine must refuse
        raise AssertionError("a walk-in at a closed window was accepted")
    clerk = login(app, "li", "clerk")
    clerk.post("/api/windows/1/open")
    t = clerk.post("/api/county/visits", json={"window": 1}).get_json()
    clerk.post(f"/api/tickets/{t['id']}/finish")
    r = clerk.post(f"/api/county/visits/{t['id']}/rating", json={"skip": True})
    assert r.status_code == 201 and r.get_json()["score"] is None


def test_the_kiosk_shows_a_matters_materials_before_the_number(make_site, centre, clock, tmp_path):
    cat.save(centre, [MATTER])
    app, hall = make_site("xiang-01", offer={"SB": ["340722-SB-001"]})
    hall.faces.state("county").shipper.refresh_catalogue(force=True)
    c = app.test_client()
    html = c.get("/kiosk/K1?service=SB").get_data(as_text=True)
    assert MATTER["name"] in html and "所需材料" in html
    html = c.get("/kiosk/K1?service=SB&matter=340722-SB-001").get_data(as_text=True)
    assert_base(html, "materials screen")
    for m in MATTER["materials"]:
        assert m in html
    assert "承诺时限" in html and "不收费" in html
    r = c.post("/kiosk/K1", data={"service": "SB", "matter": "340722-SB-001"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "取号成功" in html and "请备齐以下材料" in html
    tid = hall.store.db().execute("SELECT MAX(id) FROM tickets").fetchone()[0]
    assert hall.faces.interface("matters").of_ticket(tid)["code"] == "340722-SB-001"
    token = hall.store.db().execute("SELECT token FROM tickets WHERE id = ?", [tid]).fetchone()[0]
    phone = c.get(f"/t/{token}").get_data(as_text=True)
    assert MATTER["name"] in phone and "户口簿原件" in phone


def test_the_printed_ticket_carries_the_materials(make_site, centre, clock):
    from printer import TicketSlip
    from printer.render import render_ticket

    slip = TicketSlip(
        hall_name="汤沟镇便民服务中心",
        number="B001",
        service_name="社会保险",
        waiting_ahead=0,
        eta_minutes=0,
        issued_at=clock.now(),
        qr_url="http://hall.test/t/x",
        footer="",
        materials=tuple(f"材料{i}" for i in range(8)),
    )
    assert slip.materials_lines[0] == "请备齐以下材料："
    assert slip.materials_lines[1:7] == [f"{i}. 材料{i - 1}" for i in range(1, 7)]
    assert slip.materials_lines[-1] == "等8项，扫码查看全部"
    plain = render_ticket(TicketSlip(**{**slip.__dict__, "materials": ()}))
    assert render_ticket(slip).height > plain.height
