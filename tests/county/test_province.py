"""Ratings to the provincial 好差评 platform (a fake receiver over loopback; the centre
and the site in this process). The restart mid-delivery is in test_live.py."""

from __future__ import annotations

import pytest

from county import catalogue as cat
from county.province import categories_for
from hall.engine import Actor
from tests.county.conftest import login, make_hall_app, ship_all

LI = Actor("li", "clerk")
MATTER = {
    "code": "340722-SB-001",
    "name": "城乡居民养老保险参保登记",
    "department": "人社局",
    "materials": ["居民身份证", "户口簿"],
    "legal_days": 20,
    "promised_days": 5,
}


def _centre(tmp_path, clock, province, monkeypatch, **province_cfg):
    from hall import create_app
    from tests.conftest import TEST_CONFIG

    monkeypatch.setenv("PROV_TOKEN", "s3cret-token")
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {
                "hall": {"faces": ["county"]},
                "province": {
                    "adapter": "http-json",
                    "url": province.url,
                    "credentials_env": "PROV_TOKEN",
                    "region": "340722",
                    "max_attempts": 3,
                    "interval_seconds": 0.01,
                    **province_cfg,
                },
            },
            "DATABASE": str(tmp_path / "pcentre" / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    return app


def _serve_and_rate(hall, score, reasons=(), case_no=None, matter=None):
    e = hall.engine
    t = e.issue("SB")
    e.call_next(1, LI)
    e.finish(t["id"], LI, case_no=case_no, matter=matter)
    e.rate(t["id"], score, list(reasons), channel="pad")
    return t


def test_every_rating_reaches_the_province_once_across_an_outage(
    tmp_path, clock, province, monkeypatch
):
    from county import centre as reg
    from tests.county.conftest import Wire

    centre_app = _centre(tmp_path, clock, province, monkeypatch)
    centre = centre_app.extensions["hall"]
    cat.save(centre, [MATTER])
    key = reg.add_site(centre, "xiang-01", "一号乡便民服务中心", "township")
    monkeypatch.setenv("KEY_X1", key)
    site_app = make_hall_app(
        tmp_path, "site", clock, centre_url="http://c.test", site_id="xiang-01", key_env="KEY_X1"
    )
    site = site_app.extensions["hall"]
    site.faces.state("county").shipper.transport = Wire(centre_app)
    site.engine.open_window(1, LI)
    t1 = _serve_and_rate(site, 5, case_no="BJ-2026-0001", matter="340722-SB-001")
    t2 = _serve_and_rate(site, 2, ["效率低", "材料要求不清"])
    ship_all(site)
    sender = centre.faces.state("county").sender
    sender.feed()
    assert sender.send_due() == {"delivered": 2, "failed": 0}
    k1, k2 = "xiang-01:2026-11-30:B001", "xiang-01:2026-11-30:B002"
    assert set(province.accepted) == {k1, k2}
    p1 = province.accepted[k1]
    assert p1["idempotency_key"] == k1 and p1["region"] == "340722"
    assert p1["matter"] == {
        "code": "340722-SB-001",
        "name": "城乡居民养老保险参保登记",
        "department": "人社局",
    }
    assert p1["case_no"] == "BJ-2026-0001"
    assert p1["site"]["name"] == "一号乡便民服务中心" and p1["window"]["number"] == 1
    assert p1["score"] == 5 and p1["categories"] == [] and not p1["bad"]
    p2 = province.accepted[k2]
    assert p2["bad"] and p2["score_name"] == "不满意"
    assert [c["name"] for c in p2["categories"]] == ["服务效率", "服务水平"]
    assert province.auth == ["Bearer s3cret-token"] * 2
    assert (t1["number"], t2["number"]) == ("B001", "B002")

    # The platform is down: tries back off, then wait for a supervisor.
    province.mode = "down"
    _serve_and_rate(site, 4)
    ship_all(site)
    sender.feed()
    boss = login(centre_app, "boss", "supervisor")
    for _ in range(3):
        sender.send_due()
        clock.advance(seconds=60)
    summary = boss.get("/api/county/province").get_json()
    assert summary["failed"] == 1 and summary["delivered"] == 2
    problem = summary["problems"][0]
    assert (
        problem["state"] == "failed" and "503" in problem["last_error"] and problem["attempts"] == 3
    )
    sender.send_due()
    assert len(province.attempts) == 5  # no more tries once failed

    province.mode = "up"
    r = boss.post(f"/api/county/province/{problem['key']}/retry")
    assert r.status_code == 200 and r.get_json()["state"] == "pending"
    assert boss.post(f"/api/county/province/{problem['key']}/retry").status_code == 200
    sender.send_due()
    assert boss.post(f"/api/county/province/{problem['key']}/retry").status_code == 409
    assert sorted(province.accepted) == sorted([k1, k2, "xiang-01:2026-11-30:B003"])
    assert province.duplicates == []
    # feeding again (a restart) queues nothing twice
    centre.faces.state("county").feed_all()
    assert sender.send_due() == {"delivered": 0, "failed": 0}


def test_a_site_without_a_centre_sends_its_own_ratings(tmp_path, clock, province, monkeypatch):
    monkeypatch.setenv("PROV_TOKEN", "t")
    from hall import create_app
    from tests.conftest import TEST_CONFIG

    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "HALL": {
                "hall": {"faces": ["county"]},
                "county": {"site_id": "lone-hall"},
                "province": {
                    "adapter": "http-json",
                    "url": province.url,
                    "credentials_env": "PROV_TOKEN",
                    "reason_map": {"效率低": "服务态度"},
                },
            },
            "DATABASE": str(tmp_path / "lone" / "hall.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    hall.engine.open_window(1, LI)
    _serve_and_rate(hall, 1, ["效率低"])
    sender = hall.faces.state("county").sender
    sender.feed()
    assert sender.send_due()["delivered"] == 1
    p = province.accepted["lone-hall:2026-11-30:B001"]
    assert p["score"] == 1 and [c["name"] for c in p["categories"]] == ["服务态度"]
    assert p["site"]["name"] == "测试政务服务大厅"


def test_reasons_map_onto_the_national_categories():
    assert [c["name"] for c in categories_for(["态度不好"], {})] == ["服务态度"]
    assert [c["name"] for c in categories_for(["某本地原因"], {})] == ["整体满意度"]
    assert [c["code"] for c in categories_for(["某本地原因"], {"某本地原因": "服务效率"})] == [
        "service_efficiency"
    ]
    assert [c["name"] for c in categories_for([], {})] == ["整体满意度"]


def test_a_reason_map_onto_an_unknown_category_stops_start_up(tmp_path):
    from hall import create_app
    from hall.config import ConfigError
    from tests.conftest import TEST_CONFIG

    with pytest.raises(ConfigError, match="national category"):
        create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": {"hall": {"faces": ["county"]}, "province": {"reason_map": {"慢": "速度"}}},
                "DATABASE": str(tmp_path / "x.sqlite3"),
            }
        )
