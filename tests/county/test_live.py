"""The county network with real processes over loopback: a centre and a site, each a
`python -m hall serve` (tests/conftest.py LiveServer), shipping over HTTP; a fake
provincial platform (a small HTTP server in this process)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from county import signing
from tests.conftest import ROOT, LiveServer

pytestmark = pytest.mark.slow

FAST_SITE = {"ship_interval_seconds": 0.2, "heartbeat_seconds": 0.5, "max_backoff_seconds": 1.0}


def wait_for(fn, timeout=40.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (requests.RequestException, ValueError, KeyError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def add_site(centre: LiveServer, site_id: str, level="township", name=None) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hall",
            "site",
            "add",
            site_id,
            "--name",
            name or f"{site_id}中心",
            "--level",
            level,
        ],
        cwd=str(ROOT),
        env=centre.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def start_centre(tmp_path, **settings) -> LiveServer:
    d = tmp_path / "centre"
    d.mkdir()
    county = {"offline_after_seconds": 3, **settings.pop("county", {})}
    env = settings.pop("env", None) or {}
    return LiveServer(
        d, settings={"hall": {"faces": ["county"]}, "county": county, **settings}, extra_env=env
    ).start()


def start_site(tmp_path, centre, site_id, key, name="site") -> LiveServer:
    d = tmp_path / name
    d.mkdir()
    return LiveServer(
        d,
        settings={
            "hall": {"faces": ["county"]},
            "county": {"centre_url": centre.url, "site_id": site_id, **FAST_SITE},
        },
        extra_env={"HALL_COUNTY_KEY": key},
    ).start()


def serve(site, clerk, n, rate=None):
    """n tickets issued, called, finished at window 1 (rated if rate)."""
    kiosk = requests.Session()
    for _ in range(n):
        t = kiosk.post(site.url + "/api/tickets", json={"service": "SB"}).json()
        got = clerk.post(site.url + "/api/windows/1/call-next").json()["ticket"]
        assert got["number"] == t["number"]
        assert clerk.post(
            site.url + f"/api/tickets/{got['id']}/finish", json={"case_no": f"BJ-{t['number']}"}
        ).ok
        if rate:
            r = kiosk.post(site.url + f"/api/tickets/{t['token']}/rating", json=rate)
            assert r.status_code == 201, r.text


def ids_of(path, sql):
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute(sql)]
    finally:
        con.close()


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.stop()


def test_a_site_ships_the_centre_stops_and_the_backlog_arrives_in_order_once(tmp_path, servers):
    centre = start_centre(tmp_path)
    servers.append(centre)
    key = add_site(centre, "xiang-01")
    site = start_site(tmp_path, centre, "xiang-01", key)
    servers.append(site)
    clerk = site.session("li", "clerk")
    assert clerk.post(site.url + "/api/windows/1/open").ok
    serve(site, clerk, 3, rate={"score": 5})
    boss = centre.session("cboss", "supervisor")

    def row():
        return next(
            r for r in boss.get(centre.url + "/api/county/sites").json() if r["id"] == "xiang-01"
        )

    wait_for(lambda: row()["served"] == 3, what="3 served at the centre")
    assert row()["link"] == "online"

    centre.stop()
    serve(site, clerk, 4, rate={"score": 2, "reasons": ["效率低"]})
    sboss = site.session("sboss", "supervisor")
    link = wait_for(
        lambda: (lambda s: s if s["state"] == "offline" and s["backlog"] > 0 else None)(
            sboss.get(site.url + "/api/county/link").json()
        ),
        what="the site to see the centre gone",
    )
    assert link["state_name"] == "无法连接县中心" and link["last_error"]

    centre.start()
    wait_for(
        lambda: sboss.get(site.url + "/api/county/link").json()["backlog"] == 0,
        what="backlog shipped",
    )
    wait_for(lambda: row()["served"] == 7, what="7 served at the centre")
    replica = tmp_path / "centre" / "live-county" / "xiang-01.sqlite3"
    for table in ("ticket_events", "tickets", "ratings"):
        sql = f"SELECT id FROM {table} ORDER BY id"
        assert ids_of(replica, sql) == ids_of(site.db_path, sql), table
    day = sboss.get(site.url + "/api/stats").json()["from"]
    site_figs = sboss.get(site.url + f"/api/stats?from={day}&to={day}").json()
    centre_figs = boss.get(
        centre.url + f"/api/county/sites/xiang-01/stats?from={day}&to={day}"
    ).json()
    site_figs.pop("generated_at"), centre_figs.pop("generated_at")
    assert centre_figs == site_figs and site_figs["ratings"]["bad_count"] == 4


def test_the_live_centre_refuses_replayed_reordered_foreign_and_altered_batches(tmp_path, servers):
    centre = start_centre(tmp_path)
    servers.append(centre)
    key = add_site(centre, "xiang-01")
    other = add_site(centre, "xiang-02")
    # The site's records, gathered by a site that has no centre to ship to (yet).
    d = tmp_path / "site"
    d.mkdir()
    site = LiveServer(
        d, settings={"hall": {"faces": ["county"]}, "county": {"site_id": "xiang-01"}}
    )
    site.start()
    servers.append(site)
    for _ in range(3):
        requests.post(site.url + "/api/tickets", json={"service": "SB"}).raise_for_status()
    site.stop()
    from hall import create_app

    app = create_app(
        {
            "HALL_CONFIG": site.config,
            "HALL": {"hall": {"faces": ["county"]}, "hours": {"always_open": True}},
            "DATABASE": site.db_path,
        }
    )
    app.extensions["hall"].faces.state("county").shipper.gather()
    con = sqlite3.connect(site.db_path)
    records = [
        {"seq": s, "t": t, "op": o, "pk": p, "at": a, "row": json.loads(r)}
        for s, t, o, p, a, r in con.execute(
            "SELECT seq, tbl, op, pk, at, row FROM county_outbox ORDER BY seq"
        )
    ]
    con.close()
    app.extensions["hall"].store.close()

    def post(site_id, k, body, sent=None, ts=None):
        data = json.dumps(body, ensure_ascii=False).encode()
        h = signing.headers(k, "POST", "/api/county/batches", site_id, ts or int(time.time()), data)
        h["Content-Type"] = "application/json"
        return requests.post(centre.url + "/api/county/batches", data=sent or data, headers=h)

    boss = centre.session("cboss", "supervisor")

    def centre_state():
        return boss.get(centre.url + "/api/county/sites/xiang-01/stats").json()["tickets"], [
            r["id"] for r in boss.get(centre.url + "/api/county/sites").json()
        ]

    first = {"site": "xiang-01", "records": records[:3]}
    assert post("xiang-01", key, first).json()["acked"] == 3
    before = centre_state()
    rest = records[3:]
    refusals = [
        post("xiang-01", key, first),  # replayed
        post(
            "xiang-01", key, {"site": "xiang-01", "records": [rest[1], rest[0], *rest[2:]]}
        ),  # reordered
        post("xiang-01", other, {"site": "xiang-01", "records": rest}),  # another site's key
        post("xiang-02", other, {"site": "xiang-01", "records": rest}),  # another site's data
        post(  # altered in transit
            "xiang-01",
            key,
            {"site": "xiang-01", "records": rest},
            sent=json.dumps({"site": "xiang-01", "records": rest[:-1]}).encode(),
        ),
        post("xiang-01", key, {"site": "xiang-01", "records": rest}, ts=int(time.time()) - 3600),
    ]
    assert [r.status_code for r in refusals] == [409, 400, 401, 403, 401, 401]
    assert all(r.json()["error"] for r in refusals)
    assert centre_state() == before
    ok = post("xiang-01", key, {"site": "xiang-01", "records": rest})
    assert ok.status_code == 200 and ok.json()["acked"] == len(records)
    assert centre_state()[0] == 3


def test_every_rating_reaches_the_province_once_across_an_outage_and_a_centre_restart(
    tmp_path, servers, province
):
    centre = start_centre(
        tmp_path,
        province={
            "adapter": "http-json",
            "url": province.url,
            "credentials_env": "PROV_TOKEN",
            "interval_seconds": 0.2,
            "max_backoff_seconds": 1.0,
        },
        env={"PROV_TOKEN": "tok"},
    )
    servers.append(centre)
    key = add_site(centre, "xiang-01")
    site = start_site(tmp_path, centre, "xiang-01", key)
    servers.append(site)
    clerk = site.session("li", "clerk")
    assert clerk.post(site.url + "/api/windows/1/open").ok
    boss = centre.session("cboss", "supervisor")

    serve(site, clerk, 1, rate={"score": 5})
    wait_for(lambda: len(province.accepted) == 1, what="the first rating delivered")

    province.mode = "down"
    serve(site, clerk, 1, rate={"score": 1, "reasons": ["态度不好"]})
    problem = wait_for(
        lambda: boss.get(centre.url + "/api/county/province").json()["problems"],
        what="the failure to show",
    )[0]
    assert problem["state"] == "pending" and "503" in problem["last_error"]

    province.mode = "hang"  # the next try is taken by the platform, then the centre dies
    assert province.hanging.wait(30), "the centre did not try again"
    centre.stop(kill=True)
    province.mode = "up"
    province.release.set()
    centre.start()
    wait_for(
        lambda: boss.get(centre.url + "/api/county/province").json()["delivered"] == 2,
        what="both delivered",
    )

    keys = sorted(province.accepted)
    assert len(keys) == 2 and all(k.startswith("xiang-01:") for k in keys)
    # the rating taken during the crash came again with its key, and counted once
    assert len(province.duplicates) == 1 and province.duplicates[0] in keys
    bad = province.accepted[province.duplicates[0]]
    assert bad["score"] == 1 and [c["name"] for c in bad["categories"]] == ["服务态度"]
    assert bad["case_no"].startswith("BJ-")
    assert set(province.auth) == {"Bearer tok"}
