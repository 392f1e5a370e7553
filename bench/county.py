"""The county network under a county's load: ingestion at the centre, catch-up after a
day offline, and the month's county ranking.

    python bench/county.py --sites 250 --days 30 [--threads 16] [--variants 8]

The county (docs/county.md): one county hall (config.toml), 20 township centres
(county/demo_data/township_a.toml), the rest village points (village.toml). Each
site's past `--days` calendar days (its working days) are played through the real engine
with the demo profile (supervisor/demo.py: arrivals at 27 % of the open windows'
capacity, recalls, no-shows, transfers, ratings, follow-ups), on a frozen clock ending
the day before "today" (2026-12-01). Townships and villages are `--variants` seeded
halls each, copied (a copy is another site with the same records); each site's records
are gathered into its journal (county/capture.py) once.

Then a real centre (`python -m hall serve`, the county face, the 250 sites registered)
receives, over loopback HTTP, signed batches of 500 records from `--threads` senders:

1. history: every site's records but its last day (ingestion rate, records/s);
2. a day offline: every site's last day at once, as when the link comes back
   (catch-up time until the centre acknowledged every site's last record);
3. the month's county ranking (GET /api/county/ranking for the month: sites within
   their level, departments county-wide) as a running centre answers it: once its
   background work has settled (each site-day summarised once after its records
   arrived), right after the day's catch-up (the last day's summaries computed in the
   request), and after a restart of the centre (the summaries are kept in the copies).

Prints a table and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from county import signing  # noqa: E402
from hall import create_app  # noqa: E402
from hall.clock import FrozenClock  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 1)
DATA = ROOT / "county" / "demo_data"
BATCH = 500
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def working_days(hall, days: int) -> int:
    n, d = 0, TODAY - timedelta(days=1)
    for _ in range(days):
        if hall.hours.is_working_day(d):
            n += 1
        d -= timedelta(days=1)
    return n


def seeded_site(path: Path, config: str, days: int, seed_value: int, overrides=None) -> dict:
    """A site database with `days` of history, its records gathered; returns counts."""
    from supervisor.demo import seed

    clock = FrozenClock(datetime.combine(TODAY, datetime.min.time().replace(hour=8), tzinfo=TZ))
    hall_over = {"hall": {"faces": ["county"]}, **(overrides or {})}
    app = create_app(
        {
            "HALL_CONFIG": config,
            "HALL": hall_over,
            "DATABASE": str(path),
            "CLOCK": clock,
            "NO_VOICE": True,
        }
    )
    hall = app.extensions["hall"]
    tickets = seed(hall, days=working_days(hall, days), seed_value=seed_value)
    shipper = hall.faces.state("county").shipper
    # Rounds of 100 events keep the journal in the order things happened (a running
    # site gathers every 2 s), so the last day's records are at its end.
    shipper.gatherer.limit = 100
    t0 = time.perf_counter()
    records = 0
    while True:
        n = shipper.gatherer.gather()
        records += n
        if not n:
            break
    records += shipper.gatherer.gather_figures(everything=True)
    gather_s = time.perf_counter() - t0
    hall.store.close()
    return {"tickets": tickets, "records": records, "gather_s": gather_s}


def outbox(path: Path) -> tuple[list[dict], int]:
    """(records, index of the first record of the last day)."""
    import sqlite3

    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT seq, tbl, op, pk, at, row FROM county_outbox ORDER BY seq"
    ).fetchall()
    con.close()
    records = [
        {"seq": s, "t": t, "op": o, "pk": p, "at": a, "row": json.loads(r)}
        for s, t, o, p, a, r in rows
    ]
    last_day = max(r["row"]["day"] for r in records if r["t"] == "tickets")
    split = next(
        i for i, r in enumerate(records) if r["t"] == "tickets" and r["row"]["day"] == last_day
    )
    return records, split


class Centre:
    def __init__(self, folder: Path):
        self.folder = folder
        self.db = folder / "centre.sqlite3"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.cookie = None

    def env(self):
        env = dict(os.environ)
        env.update(
            HALL_CONFIG=str(DATA / "centre.toml"),
            HALL_DATABASE=str(self.db),
            HALL_SECRET_KEY="bench-secret",
            HALL_SETTINGS=json.dumps({"hall": {"public_url": self.url}}),
            PYTHONPATH=str(ROOT),
        )
        return env

    def start(self):
        log = open(self.folder / "centre.log", "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hall",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--threads",
                "64",
            ],
            cwd=str(ROOT),
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("centre did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        self.proc = None

    def login(self):
        body = json.dumps({"username": "bench", "password": PASSWORD}).encode()
        req = urllib.request.Request(
            self.url + "/api/login", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req) as r:
            self.cookie = r.headers["Set-Cookie"].split(";")[0]

    def get(self, path):
        req = urllib.request.Request(self.url + path, headers={"Cookie": self.cookie})
        with urllib.request.urlopen(req, timeout=300) as r:
            return json.loads(r.read())


def post_batch(centre: Centre, site: str, key: str, records: list[dict]) -> float:
    body = json.dumps({"site": site, "records": records}, ensure_ascii=False).encode()
    h = signing.headers(key, "POST", "/api/county/batches", site, int(time.time()), body)
    h["Content-Type"] = "application/json"
    req = urllib.request.Request(
        centre.url + "/api/county/batches", data=body, headers=h, method="POST"
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        answer = json.loads(r.read())
    assert answer["acked"] == records[-1]["seq"], answer
    return time.perf_counter() - t0


def ship(centre, sites, part: str, threads: int) -> dict:
    """Every site's records (part "history" or "last"), `threads` senders at once."""
    latencies, lock = [], threading.Lock()
    total = 0

    def one(site):
        nonlocal total
        recs = (
            site["records"][: site["split"]]
            if part == "history"
            else site["records"][site["split"] :]
        )
        for i in range(0, len(recs), BATCH):
            dt = post_batch(centre, site["id"], site["key"], recs[i : i + BATCH])
            with lock:
                latencies.append(dt)
                total += len(recs[i : i + BATCH])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, sites))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "records": total,
        "batches": len(latencies),
        "seconds": round(elapsed, 2),
        "records_per_s": round(total / elapsed, 1),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "batch_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1),
    }


def settle(centre, timeout=600):
    """Wait until the centre has computed the ranking's summaries of every day that
    records arrived for (its background work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = centre.get("/api/county/status")
        if not st["warming"] and not st["dirty_rows"]:
            return st
        time.sleep(0.2)
    raise RuntimeError("the centre did not settle")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=250)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--townships", type=int, default=20)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--variants", type=int, default=8)
    ap.add_argument("--keep", help="keep the databases in this folder")
    args = ap.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="county-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> int:
    n_town = min(args.townships, max(0, args.sites - 1))
    n_village = max(0, args.sites - 1 - n_town)
    plan = [("county", "xian", str(ROOT / "config.toml"), 1)]
    plan.append(("township", "zhen", str(DATA / "township_a.toml"), n_town))
    plan.append(("village", "cun", str(DATA / "village.toml"), n_village))
    print(
        f"county bench: 1 county hall, {n_town} townships, {n_village} villages, {args.days} days"
    )
    t0 = time.perf_counter()
    sites, gathered = [], {"records": 0, "seconds": 0.0}
    tickets = 0
    for level, prefix, config, count in plan:
        if not count:
            continue
        k = 1 if level == "county" else min(args.variants, count)
        variants = []
        for v in range(k):
            path = tmp / "variants" / f"{prefix}-{v}.sqlite3"
            path.parent.mkdir(parents=True, exist_ok=True)
            info = seeded_site(
                path, config, args.days, 2026 + 17 * v, {"voice": {"enabled": False}}
            )
            gathered["records"] += info["records"]
            gathered["seconds"] += info["gather_s"]
            variants.append((path, info))
        for i in range(count):
            path, info = variants[i % k]
            records, split = outbox(path)
            tickets += info["tickets"]
            sites.append(
                {"id": f"{prefix}-{i + 1:03d}", "level": level, "records": records, "split": split}
            )
    seed_s = time.perf_counter() - t0
    print(f"seeded {tickets} tickets at {len(sites)} sites in {seed_s:.1f} s")

    centre = Centre(tmp)
    app = create_app(
        {"HALL_CONFIG": str(DATA / "centre.toml"), "DATABASE": str(centre.db), "NO_VOICE": True}
    )
    hall = app.extensions["hall"]
    from county import centre as reg
    from hall.auth import create_user

    for s in sites:
        s["key"] = reg.add_site(hall, s["id"], s["id"], s["level"])
    create_user(hall.store, "bench", PASSWORD, "supervisor")
    hall.store.close()
    centre.start()
    centre.login()
    month = (TODAY - timedelta(days=args.days), TODAY - timedelta(days=1))
    q = f"/api/county/ranking?from={month[0]}&to={month[1]}"
    try:
        history = ship(centre, sites, "history", args.threads)
        print(f"history: {history}")
        _, warm_history_s = timed(lambda: settle(centre))
        _, first_s = timed(lambda: centre.get(q))
        catchup = ship(centre, sites, "last", args.threads)
        print(f"a day offline: {catchup}")
        _, right_after_s = timed(lambda: centre.get(q))
        _, warm_day_s = timed(lambda: settle(centre))
        ranking, warm_s = timed(lambda: centre.get(q))
        _, warm2_s = timed(lambda: centre.get(q))
        centre.stop()
        centre.start()
        centre.login()
        _, restart_s = timed(lambda: centre.get(q))
        settle(centre)
        _, restart2_s = timed(lambda: centre.get(q))
    finally:
        centre.stop()
    ranked = sum(len(lv["sites"]) for lv in ranking["levels"])
    result = {
        "sites": len(sites),
        "days": args.days,
        "tickets": tickets,
        "records": history["records"] + catchup["records"],
        "gather_records_per_s": round(gathered["records"] / gathered["seconds"], 1),
        "ingest_records_per_s": history["records_per_s"],
        "ingest_batches": history["batches"],
        "ingest_batch_p50_ms": history["batch_p50_ms"],
        "ingest_batch_p99_ms": history["batch_p99_ms"],
        "day_offline_records": catchup["records"],
        "day_offline_catchup_s": catchup["seconds"],
        "warm_after_history_s": warm_history_s,
        "ranking_after_history_s": first_s,
        "ranking_right_after_catchup_s": right_after_s,
        "warm_after_catchup_s": warm_day_s,
        "ranking_s": warm_s,
        "ranking_again_s": warm2_s,
        "ranking_after_restart_s": restart_s,
        "ranking_after_restart_settled_s": restart2_s,
        "ranked_sites": ranked,
        "departments": len(ranking["departments"]),
        "threads": args.threads,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print()
    print(
        f"{'ingestion (history)':<36} {result['ingest_records_per_s']:>10} records/s  "
        f"(batch p50 {result['ingest_batch_p50_ms']} ms, p99 {result['ingest_batch_p99_ms']} ms)"
    )
    print(
        f"{'catch-up after a day offline':<36} {result['day_offline_catchup_s']:>10} s  "
        f"({result['day_offline_records']} records from {len(sites)} sites)"
    )
    print(
        f"{'month ranking (running centre)':<36} {result['ranking_s']:>10} s  (again {warm2_s} s)"
    )
    print(
        f"{'month ranking right after catch-up':<36} {right_after_s:>10} s  (settled in {warm_day_s} s)"
    )
    print(
        f"{'month ranking right after a restart':<36} {result['ranking_after_restart_s']:>10} s  "
        f"(settled: {restart2_s} s)"
    )
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
