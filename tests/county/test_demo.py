"""`python -m hall county-demo`: a centre and four sites on loopback, past days seeded,
shipping live, every URL printed; a kill stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, free_port_run

pytestmark = pytest.mark.slow


def test_the_county_demo_starts_a_centre_and_its_sites_shipping(tmp_path):
    base = free_port_run(5)  # the centre's, then its four sites'
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALL_")}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "demo.out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hall",
            "county-demo",
            "--base-port",
            str(base),
            "--dir",
            str(tmp_path / "d"),
        ],
        cwd=str(ROOT),
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while "Ctrl-C stops everything" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.5)
        out = log.read_text()
        centre = f"http://127.0.0.1:{base}"
        assert f"{centre}/county" in out
        for i, name in enumerate(
            ("县政务服务中心", "汤沟镇便民服务中心", "横埠镇便民服务中心", "白柳村为民服务站"), 1
        ):
            assert name in out and f"http://127.0.0.1:{base + i}/" in out
        assert f"http://127.0.0.1:{base + 4}/county/point" in out
        password = re.search(r"county \(supervisor\)  (\S+)", out).group(1)
        s = requests.Session()
        s.post(
            centre + "/api/login", json={"username": "county", "password": password}
        ).raise_for_status()

        today = __import__("datetime").date.today()
        month_ago = today - __import__("datetime").timedelta(days=30)

        def shipped():
            rank = s.get(centre + f"/api/county/ranking?from={month_ago}&to={today}").json()
            rows = {x["site"]: x for lv in rank["levels"] for x in lv["sites"]}
            return len(rows) == 4 and all(x["tickets"] > 0 for x in rows.values())

        while not shipped():
            assert time.monotonic() < deadline, "the seeded days did not reach the centre"
            time.sleep(0.5)
        sites = {r["id"]: r for r in s.get(centre + "/api/county/sites").json()}
        assert {r["link"] for r in sites.values()} == {"online"}
        assert s.get(centre + "/api/county/catalogue").json()["count"] >= 10
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    # every process it started is gone
    time.sleep(1)
    left = subprocess.run(
        ["pgrep", "-f", f"--port {base + 1}"], capture_output=True, text=True
    ).stdout
    assert left.strip() == ""
