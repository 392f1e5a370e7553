"""The command line: init, settings, and the demo a new user starts with."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import requests

from .conftest import ROOT, TEST_CONFIG, free_port


def run(args, tmp_path, **kw):
    env = {**os.environ, "HALL_CONFIG": TEST_CONFIG, "HALL_DATABASE": str(tmp_path / "c.db")}
    return subprocess.run(
        [sys.executable, "-m", "hall", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        **kw,
    )


def test_init_creates_the_database(tmp_path):
    r = run(["init"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "services: 5, windows: 4" in r.stdout
    assert (tmp_path / "c.db").exists() and (tmp_path / "secret_key").exists()
    again = run(["init"], tmp_path)  # idempotent
    assert again.returncode == 0


def test_usage_errors(tmp_path):
    assert run([], tmp_path).returncode == 2
    assert run(["user", "add", "x"], tmp_path).returncode == 2  # --role is required


def test_demo_serves_the_demo_hall_with_printed_accounts(tmp_path):
    port = free_port()
    env = {**os.environ, "HALL_DATABASE": str(tmp_path / "demo.sqlite3")}
    env.pop("HALL_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Open http://" in line:
                break
        out = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in out
        accounts = dict(re.findall(r"^\s+(\w+)\s+(?:clerk|supervisor|admin)\s+(\S+)$", out, re.M))
        assert {"admin", "supervisor", "clerk1"} <= set(accounts)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        services = requests.get(base + "/api/services", timeout=5).json()
        assert len(services) >= 12  # the shipped county hall
        assert all(s["open"] for s in services if s["daily_quota"] is None)  # any hour
        r = requests.post(
            base + "/api/login", json={"username": "supervisor", "password": accounts["supervisor"]}
        )
        assert r.status_code == 200 and r.json()["role"] == "supervisor"
        t = requests.post(base + "/api/tickets", json={"service": "BDC"}, timeout=10)
        assert t.status_code == 201 and re.fullmatch(r"A\d{3}", t.json()["number"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
