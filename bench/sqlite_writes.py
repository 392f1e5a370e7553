"""How many ticket issues per second one SQLite file takes (the single-host limit).

    .venv/bin/python bench/sqlite_writes.py --processes 1 2 4 --seconds 5

Each process is what one `python -m hall serve` is to the database: its own connections,
its writer threads queued on the in-process lock, and BEGIN IMMEDIATE against the other
processes (busy_timeout). Every issue is the real engine transaction (number counter,
ticket row, issued event, WAL commit with synchronous=NORMAL) on a fresh database file
in a temporary directory. Prints one line per setting and, last, a JSON list.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONFIG = str(ROOT / "tests" / "hall_test.toml")
SERVICES = ["SB", "YB", "BDC", "GJJ"]


def _app(db_path: str):
    from hall import create_app

    return create_app(
        {
            "HALL_CONFIG": CONFIG,
            "HALL": {"hours": {"always_open": True}},
            "DATABASE": db_path,
            "NO_VOICE": True,
        }
    )


def worker(db_path: str, threads: int, start_at: float, seconds: float, out) -> None:
    hall = _app(db_path).extensions["hall"]
    latencies: list[float] = []
    lock = threading.Lock()

    def loop(i: int) -> None:
        mine = []
        while time.time() < start_at:
            time.sleep(0.001)
        n = 0
        while time.time() < start_at + seconds:
            t0 = time.perf_counter()
            hall.engine.issue(SERVICES[(i + n) % len(SERVICES)])
            mine.append(time.perf_counter() - t0)
            n += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(latencies)


def run(processes: int, threads: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "bench.sqlite3")
        _app(db_path).extensions["hall"].store.close()  # create and migrate once
        out: mp.Queue = mp.Queue()
        start_at = time.time() + 2.0  # every process set up before the clock starts
        procs = [
            mp.Process(target=worker, args=(db_path, threads, start_at, seconds, out))
            for _ in range(processes)
        ]
        for p in procs:
            p.start()
        latencies = [x for _ in procs for x in out.get()]
        for p in procs:
            p.join()
        latencies.sort()
        n = len(latencies)
        return {
            "processes": processes,
            "threads_per_process": threads,
            "seconds": seconds,
            "issues": n,
            "issues_per_s": round(n / seconds, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2) if n else None,
            "p99_ms": round(latencies[int(n * 0.99) - 1] * 1000, 2) if n else None,
        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--threads", type=int, default=4, help="writer threads per process")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args(argv)
    results = []
    for p in args.processes:
        r = run(p, args.threads, args.seconds)
        results.append(r)
        print(
            f"{r['processes']} process(es) x {r['threads_per_process']} threads: "
            f"{r['issues_per_s']:>7} issues/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms",
            flush=True,
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
