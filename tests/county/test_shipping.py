"""Shipping a site's records to the centre (in-process: the site's shipper talks to the
centre app through its test client). The live-process tests are in test_live.py."""

from __future__ import annotations

import json
import re

from county import signing
from county.shipper import CountyLinkChanged
from tests.county.conftest import login, ship_all, without_generated_at
from tests.supervisor.conftest import NAMES, at, run_day

DAY = "2026-11-30"
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def scripted_site(make_site, clock):
    app, hall = make_site("xiang-01", level="township")
    from hall.auth import create_user

    for username, name in NAMES.items():
        create_user(hall.store, username, "x" * 12, "clerk", display_name=name)
    ids = run_day(hall, clock)
    return app, hall, ids


def test_a_sites_figures_for_a_day_are_the_same_at_the_centre(make_site, centre_app, clock):
    app, hall, ids = scripted_site(make_site, clock)
    boss = login(app, "boss", "supervisor")
    at(clock, 14, 0)
    r3 = ids["ratings"][3]
    assert (
        boss.post(
            f"/api/ratings/{r3}/follow-up", json={"action": "callback", "note": "已回访"}
        ).status_code
        == 200
    )
    at(clock, 15, 0)
    assert (
        boss.post(
            f"/api/ratings/{r3}/follow-up", json={"action": "rectified", "note": "已整改"}
        ).status_code
        == 200
    )
    r7 = ids["ratings"][7]
    assert (
        boss.post(
            f"/api/ratings/{r7}/follow-up", json={"action": "appeal", "note": "误评"}
        ).status_code
        == 200
    )
    ship_all(hall)

    site_figs = boss.get(f"/api/stats?from={DAY}&to={DAY}").get_json()
    county = login(centre_app, "county-boss", "supervisor")
    centre_figs = county.get(f"/api/county/sites/xiang-01/stats?from={DAY}&to={DAY}").get_json()
    assert site_figs["tickets"] == 8 and site_figs["ratings"]["appealed"] == 1
    assert site_figs["ratings"]["rectified_rate"] == 0.5
    assert without_generated_at(centre_figs) == without_generated_at(site_figs)


def test_the_overview_row_and_ranking_come_from_the_shipped_day(
    make_site, centre, centre_app, clock
):
    app, hall, _ = scripted_site(make_site, clock)
    ship_all(hall)
    county = login(centre_app, "county-boss", "supervisor")
    rows = county.get("/api/county/sites").get_json()
    row = next(r for r in rows if r["id"] == "xiang-01")
    assert row["tickets"] == 8 and row["served"] == 6 and row["bad_count"] == 3
    assert row["link"] == "online" and row["level"] == "township"
    rank = county.get(f"/api/county/ranking?from={DAY}&to={DAY}").get_json()
    site = rank["levels"][0]["sites"][0]
    site_figs = login(app, "boss2", "supervisor").get(f"/api/stats?from={DAY}&to={DAY}").get_json()
    for key in ("tickets", "served", "avg_wait_s", "service_level", "ratings"):
        assert site[key] == site_figs[key]
    depts = {d["department"]: d for d in rank["departments"]}
    for d in site_figs["by_department"]:
        assert depts[d["department"]]["avg_wait_s"] == d["avg_wait_s"]
        assert depts[d["department"]]["ratings"] == d["ratings"]


def _batch(hall, site_id, first=None):
    db = hall.store.db()
    rows = list(db.query("SELECT * FROM county_outbox ORDER BY seq"))
    records = [
        {
            "seq": r["seq"],
            "t": r["tbl"],
            "op": r["op"],
            "pk": r["pk"],
            "at": r["at"],
            "row": json.loads(r["row"]),
        }
        for r in rows
    ]
    return {"site": site_id, "records": records}


def _post(client, clock, site, key, body, path="/api/county/batches", raw=None, ts=None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    ts = ts if ts is not None else int(clock.now().timestamp())
    headers = signing.headers(key, "POST", path, site, ts, data)
    headers["Content-Type"] = "application/json"
    if raw is not None and body is not None:  # sign one body, send another (altered in transit)
        data = json.dumps(body, ensure_ascii=False).encode()
    return client.post(path, data=data, headers=headers)


def _centre_state(centre, site_id):
    st = centre.faces.state("county")
    with st.replicas.read(site_id) as db:
        counts = {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("tickets", "ticket_events", "ratings")
        }
    return st.replicas.acked(site_id), counts


def test_replayed_reordered_foreign_or_altered_batches_are_refused(
    make_site, centre, centre_app, clock, monkeypatch
):
    from county import centre as reg

    app, hall = make_site("xiang-01")
    key = __import__("os").environ["KEY_XIANG_01"]
    other_key = reg.add_site(centre, "xiang-02", "二号乡", "township")
    e = hall.engine
    for _ in range(3):
        e.issue("SB")
    st = hall.faces.state("county")
    st.shipper.gather()
    batch = _batch(hall, "xiang-01")
    assert len(batch["records"]) > 5
    c = centre_app.test_client()

    half = {"site": "xiang-01", "records": batch["records"][:4]}
    r = _post(c, clock, "xiang-01", key, half)
    assert r.status_code == 200 and r.get_json()["acked"] == 4
    before = _centre_state(centre, "xiang-01")

    # replayed: the same batch again
    r = _post(c, clock, "xiang-01", key, half)
    assert r.status_code == 409 and "已收到" in r.get_json()["error"] and r.get_json()["acked"] == 4
    # reordered
    rest = batch["records"][4:]
    swapped = {"site": "xiang-01", "records": [rest[1], rest[0], *rest[2:]]}
    r = _post(c, clock, "xiang-01", key, swapped)
    assert r.status_code == 400 and "连续递增" in r.get_json()["error"]
    # a gap after what the centre has
    r = _post(c, clock, "xiang-01", key, {"site": "xiang-01", "records": rest[1:]})
    assert r.status_code == 409 and "缺少第5" in r.get_json()["error"]
    # signed with another site's key
    r = _post(c, clock, "xiang-01", other_key, {"site": "xiang-01", "records": rest})
    assert r.status_code == 401 and "签名无效" in r.get_json()["error"]
    # another site's data, signed by that other site
    r = _post(c, clock, "xiang-02", other_key, {"site": "xiang-01", "records": rest})
    assert r.status_code == 403 and "another site" in r.get_json()["error"]
    # altered in transit: signed body differs from the body sent
    signed = json.dumps({"site": "xiang-01", "records": rest}, ensure_ascii=False).encode()
    tampered = {
        "site": "xiang-01",
        "records": [dict(rest[0], row={**rest[0]["row"], "number": "Z999"}), *rest[1:]],
    }
    r = _post(c, clock, "xiang-01", key, tampered, raw=signed)
    assert r.status_code == 401
    # a recording replayed later than the window
    r = _post(
        c,
        clock,
        "xiang-01",
        key,
        {"site": "xiang-01", "records": rest},
        ts=int(clock.now().timestamp()) - 3600,
    )
    assert r.status_code == 401 and "时间" in r.get_json()["error"]
    assert _centre_state(centre, "xiang-01") == before

    # the genuine rest is taken
    r = _post(c, clock, "xiang-01", key, {"site": "xiang-01", "records": rest})
    assert r.status_code == 200 and r.get_json()["acked"] == batch["records"][-1]["seq"]


def test_a_disabled_site_is_refused_and_a_rotated_key_takes_over(
    make_site, centre, centre_app, clock
):
    from county import centre as reg

    app, hall = make_site("xiang-01")
    key = __import__("os").environ["KEY_XIANG_01"]
    c = centre_app.test_client()
    empty = {"site": "xiang-01", "records": []}
    assert _post(c, clock, "xiang-01", key, empty).status_code == 200
    reg.set_active(centre, "xiang-01", False)
    r = _post(c, clock, "xiang-01", key, empty)
    assert r.status_code == 403 and "停用" in r.get_json()["error"]
    reg.set_active(centre, "xiang-01", True)
    new = reg.rotate(centre, "xiang-01", grace_hours=1)
    assert _post(c, clock, "xiang-01", new, empty).status_code == 200
    assert _post(c, clock, "xiang-01", key, empty).status_code == 200  # within the grace
    clock.advance(hours=2)
    assert _post(c, clock, "xiang-01", key, empty).status_code == 401
    reg.rotate(centre, "xiang-01", grace_hours=0)
    assert _post(c, clock, "xiang-01", new, empty).status_code == 401


def test_no_phone_or_id_number_leaves_the_site(make_site, clock, wire):
    app, hall, ids = scripted_site(make_site, clock)
    at(clock, 11, 0)
    clerk = login(app, "guide", "clerk")
    r = clerk.post(
        "/api/tickets",
        json={"service": "SB", "priority": True, "priority_reason": "老人 13812345678 陪同"},
    )
    assert r.status_code == 201
    token = r.get_json()["token"]
    # The citizen face's ID-card and phone tickets: the card number and the phone stay.
    from hall import idnumber

    card_no = idnumber.make("34082319900307123")
    kiosk = app.test_client()
    read = kiosk.post("/api/idcard/scan", json={"kiosk": "K1", "number": card_no}).get_json()
    assert (
        kiosk.post("/api/idcard/tickets", json={"card": read["card"], "service": "SB"}).status_code
        == 201
    )
    r = kiosk.post("/api/m/tickets", json={"service": "YB", "phone": "13712345678"})
    assert r.status_code == 201, r.get_json()
    boss = login(app, "boss", "supervisor")
    r3 = ids["ratings"][3]
    assert (
        boss.post(
            f"/api/ratings/{r3}/follow-up",
            json={"action": "callback", "note": "电话13912345678回访，身份证340722199001011234"},
        ).status_code
        == 200
    )
    ship_all(hall)
    shipped = b"".join(wire.sent).decode("utf-8")
    assert "回访" in shipped and "老人" in shipped  # the text went, masked
    assert MOBILE.findall(shipped) == []
    assert ID_NUMBER.findall(shipped) == []
    assert token not in shipped
    assert "139****5678" in shipped
    assert card_no not in shipped and idnumber.mask(card_no) not in shipped
    assert "13712345678" not in shipped and "137****5678" not in shipped


def test_while_the_centre_is_down_the_backlog_waits_and_arrives_in_order_once(
    make_site, centre, clock, wire
):
    app, hall = make_site("xiang-01")
    st = hall.faces.state("county")
    seen = []
    hall.bus.subscribe(lambda ev: seen.append(ev) if isinstance(ev, CountyLinkChanged) else None)
    e = hall.engine
    e.issue("SB")
    ship_all(hall)
    assert st.shipper.state == "online"
    wire.down = True
    for _ in range(5):
        e.issue("YB")
    st.shipper.round()
    assert st.shipper.state == "offline" and st.shipper.backlog() > 0
    assert seen[-1].state == "offline" and seen[-1].backlog > 0
    assert st.shipper.backoff >= 1
    status = st.shipper.status()
    assert status["state_name"] == "无法连接县中心" and "unreachable" in status["last_error"]
    board = (
        login(app, "boss", "supervisor").get("/supervisor/board/fragment").get_data(as_text=True)
    )
    assert 'id="county-link"' in board and "无法连接县中心" in board
    assert f"待上报 <b>{status['backlog']}</b> 条" in board
    wire.down = False
    ship_all(hall)
    assert st.shipper.state == "online" and st.shipper.backlog() == 0
    cst = centre.faces.state("county")
    with cst.replicas.read("xiang-01") as db:
        numbers = [r["number"] for r in db.query("SELECT number FROM tickets ORDER BY id")]
        events = [r["id"] for r in db.query("SELECT id FROM ticket_events ORDER BY id")]
    assert numbers == ["B001", "C001", "C002", "C003", "C004", "C005"]
    assert events == list(range(1, 7))


def test_the_catalogue_is_fetched_conditionally_and_offered_per_service(
    make_site, centre, clock, wire
):
    from county import catalogue as cat

    cat.save(
        centre,
        [
            {
                "code": "340722-SB-001",
                "name": "城乡居民养老保险参保登记",
                "department": "人社局",
                "levels": ["county", "township", "village"],
                "materials": ["居民身份证", "户口簿"],
                "legal_days": 20,
                "promised_days": 5,
                "fees": "",
            },
            {
                "code": "340722-BDC-001",
                "name": "不动产首次登记",
                "department": "自然资源局",
                "levels": ["county"],
                "materials": ["不动产权籍调查成果"],
                "legal_days": 30,
                "promised_days": 10,
            },
        ],
    )
    app, hall = make_site("xiang-01", offer={"SB": ["340722-SB-001", "340722-BDC-001"]})
    sh = hall.faces.state("county").shipper
    assert sh.refresh_catalogue(force=True) is True
    m = hall.faces.interface("matters")
    offered = m.offered("SB")
    # the township may not offer the county-level matter: the centre did not send it
    assert [x["code"] for x in offered] == ["340722-SB-001"]
    assert offered[0]["materials"] == ["居民身份证", "户口簿"] and offered[0]["promised_days"] == 5
    n = len(wire.sent)
    assert sh.refresh_catalogue(force=True) is False  # 304 Not Modified
    assert len(wire.sent) == n + 1
    cat.save(
        centre,
        [
            {
                "code": "340722-SB-001",
                "name": "城乡居民养老保险参保登记",
                "department": "人社局",
                "materials": ["居民身份证"],
                "legal_days": 20,
                "promised_days": 3,
            }
        ],
    )
    assert sh.refresh_catalogue(force=True) is True
    assert m.get("340722-SB-001")["version"] == 2 and m.get("340722-SB-001")["materials"] == [
        "居民身份证"
    ]


def test_the_centre_keeps_the_rankings_summaries_warm(make_site, centre, centre_app, clock):
    """The centre's background round (run here by hand): rows rebuilt, the days that
    records touched summarised, then every day of this and last month; a ranking then
    computes nothing, and a restart reads the summaries back from the copies."""
    app, hall, _ = scripted_site(make_site, clock)
    ship_all(hall)
    st = centre.faces.state("county")
    st.overview.thread.work()
    status = st.status()
    assert status["warming"] == 0 and status["dirty_rows"] == 0
    assert status["cached_days"] == 61  # Oct 1 .. Nov 30 (today is Mon 2026-11-30)
    computed = st.days.computed
    assert computed == 1  # the one day with tickets; the rest have none
    county = login(centre_app, "county-boss", "supervisor")
    rank = county.get("/api/county/ranking?from=2026-11-01&to=2026-11-30").get_json()
    assert rank["levels"][0]["sites"][0]["tickets"] == 8
    assert st.days.computed == computed
    # a fresh centre on the same database reads them back
    from county.figures import DayCache

    st.days = DayCache()
    rank2 = county.get("/api/county/ranking?from=2026-11-01&to=2026-11-30").get_json()
    assert rank2["levels"] == rank["levels"] and st.days.computed == 0


def test_more_sites_than_open_copies(make_site, centre, centre_app, clock, monkeypatch):
    """The centre keeps few copies open at once (county.replica.MAX_OPEN): sites beyond
    it are closed and opened again as needed, never under a reader."""
    import county.replica as replica

    monkeypatch.setattr(replica, "MAX_OPEN", 1)
    halls = []
    for i in range(3):
        _app, hall = make_site(f"xiang-0{i + 1}")
        for _ in range(i + 1):
            hall.engine.issue("SB")
        halls.append(hall)
    for hall in halls:
        ship_all(hall)
    st = centre.faces.state("county")
    open_now = [s for s in st.replicas._sites.values() if s.db is not None]
    assert len(open_now) <= 2
    county = login(centre_app, "county-boss", "supervisor")
    rows = {r["id"]: r for r in county.get("/api/county/sites").get_json()}
    assert [rows[f"xiang-0{i}"]["tickets"] for i in (1, 2, 3)] == [1, 2, 3]
    with st.replicas.read("xiang-01") as db:  # a reader keeps its copy open
        for other in ("xiang-02", "xiang-03"):
            assert st.replicas.acked(other) > 0
        assert db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1


def test_journeys_and_parked_tickets_count_the_same_at_the_centre(make_site, centre_app, clock):
    """一件事 journeys (named in the site's config) and 挂起 (parked) time: the figure code
    reads them at the centre as at the site."""
    from hall.engine import Actor

    journey = {"code": "ESF", "name": "二手房交易", "steps": ["BDC", "SB"]}
    app, hall = make_site("xiang-01", extra={"journeys": [journey]})
    e = hall.engine
    li, wang = Actor("li", "clerk"), Actor("wang", "clerk")
    e.open_window(1, li)
    e.open_window(2, wang)
    t = e.issue("BDC", journey="ESF")
    clock.advance(minutes=3)
    e.call_next(2, wang)
    clock.advance(minutes=2)
    e.park(t["id"], wang, "补材料")
    clock.advance(minutes=5)
    e.resume(t["id"], wang)
    clock.advance(minutes=4)
    e.finish(t["id"], wang, case_no="BJ-1")
    clock.advance(minutes=6)
    assert e.call_next(1, li)["id"] == t["id"]
    clock.advance(minutes=7)
    e.finish(t["id"], li, case_no="BJ-2")
    e.rate(t["id"], 4, channel="pad")
    ship_all(hall)
    day = "2026-11-30"
    site = login(app, "boss", "supervisor").get(f"/api/stats?from={day}&to={day}").get_json()
    county = login(centre_app, "cboss", "supervisor")
    at_centre = county.get(f"/api/county/sites/xiang-01/stats?from={day}&to={day}").get_json()
    assert site["journeys"] and site["journeys"][0]["name"] == "二手房交易"
    assert without_generated_at(at_centre) == without_generated_at(site)
    m = hall.faces.interface("matters").of_ticket(t["id"])
    assert m is None  # no catalogue matter; the case number is still kept for the province
    from county.province import ticket_matter

    assert ticket_matter(hall.store.db(), t["id"]) == (None, "BJ-2")


def test_a_site_restored_from_an_older_backup_ships_what_it_does_next(
    make_site, centre, clock, wire, tmp_path
):
    """The centre has records the restored site no longer has: the site's new records are
    numbered after them, so the centre applies them instead of taking them for old ones."""
    import shutil
    from pathlib import Path

    from hall import backup
    from tests.county.conftest import make_hall_app

    app, hall = make_site("xiang-01")
    db_path = hall.store.path
    hall.engine.issue("SB")
    ship_all(hall)
    copy = tmp_path / "old.sqlite3"
    backup.copy_to(db_path, copy)
    for _ in range(4):
        hall.engine.issue("SB")
    ship_all(hall)
    hall.store.close()
    # what `python -m hall restore` does (this process still holds the database's in-use
    # lock, which the command rightly refuses): the old copy in place, no WAL beside it
    for suffix in ("-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, db_path)

    app2 = make_hall_app(
        tmp_path,
        "xiang-01",
        clock,
        centre_url="http://centre.test",
        site_id="xiang-01",
        key_env="KEY_XIANG_01",
    )
    hall2 = app2.extensions["hall"]
    hall2.faces.state("county").shipper.transport = wire
    try:
        for _ in range(2):
            hall2.engine.issue("YB")
        ship_all(hall2)
        cst = centre.faces.state("county")
        with cst.replicas.read("xiang-01") as db:
            services = [r["service"] for r in db.query("SELECT service FROM tickets")]
        assert services.count("YB") == 2
    finally:
        hall2.store.close()
