"""What one request costs by how many tickets wait (in-process, Flask test client).

    .venv/bin/python bench/cost.py --waiting 0,100,2000 --samples 200

For each queue length W: a fresh hall (bench/load.py's config: 10 windows open), W tickets
issued over the services, then --samples times POST /api/tickets (each adds one more
waiting ticket) and GET /api/services, timed one by one, with the SQL statements each
runs. The point (issue 13): the cost must not grow with W. Prints one JSON line per W and
a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_app(tmp: Path, windows: int):
    from bench.hallserver import bench_config
    from hall.app import create_app

    config = tmp / "bench.toml"
    config.write_text(bench_config(windows, 8, False), encoding="utf-8")
    return create_app(
        {
            "HALL_CONFIG": str(config),
            "DATABASE": str(tmp / "cost.sqlite3"),
            "SECRET_KEY": "bench",
            "NO_VOICE": True,
            "HALL": {
                "hours": {"always_open": True},
                "security": {"ticket_rate_limit_per_minute": 0, "ticket_daily_cap_per_client": 0},
                "voice": {"enabled": False},
            },
        }
    )


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return 0.0
    return v[min(len(v) - 1, max(0, int(round(q / 100 * len(v) + 0.5)) - 1))]


def run(waiting: int, samples: int, windows: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hall-cost-"))
    app = make_app(tmp, windows)
    hall = app.extensions["hall"]
    db = hall.store.db()
    services = [s["code"] for s in hall.engine.read.services(db)]
    with hall.store.write() as w:  # the windows are open, as in a working hall
        w.execute("UPDATE windows SET state = 'open', state_since = ?", [hall.now_iso()])
    for i in range(waiting):
        hall.engine.issue(services[i % len(services)], source="kiosk")
    client = app.test_client()
    statements = {"n": 0}

    def trace(_sql):
        statements["n"] += 1

    db.conn.set_trace_callback(trace)
    issue_ms, issue_sql, services_ms, services_sql = [], [], [], []
    for i in range(samples):
        statements["n"] = 0
        t0 = time.perf_counter()
        r = client.post("/api/tickets", json={"service": services[i % len(services)]})
        issue_ms.append((time.perf_counter() - t0) * 1000)
        issue_sql.append(statements["n"])
        assert r.status_code == 201, r.get_data(as_text=True)
        statements["n"] = 0
        t0 = time.perf_counter()
        r = client.get("/api/services")
        services_ms.append((time.perf_counter() - t0) * 1000)
        services_sql.append(statements["n"])
        assert r.status_code == 200
    db.conn.set_trace_callback(None)
    hall.store.close()
    return {
        "waiting": waiting,
        "samples": samples,
        "issue_p50_ms": round(pct(issue_ms, 50), 2),
        "issue_p99_ms": round(pct(issue_ms, 99), 2),
        "issue_sql": pct(issue_sql, 50),
        "services_p50_ms": round(pct(services_ms, 50), 2),
        "services_p99_ms": round(pct(services_ms, 99), 2),
        "services_sql": pct(services_sql, 50),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--waiting", default="0,100,2000", help="queue lengths, comma-separated")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--windows", type=int, default=10)
    args = p.parse_args(argv)
    rows = []
    for w in [int(x) for x in args.waiting.split(",")]:
        rows.append(run(w, args.samples, args.windows))
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"bench": "cost", "date": time.strftime("%Y-%m-%d"), "rows": rows}))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HALL_SECRET_KEY", "bench")
    sys.exit(main())
