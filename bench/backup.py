"""How long a backup (VACUUM INTO + integrity_check) and a personal-data purge take on a
database holding a year of a busy hall.

    .venv/bin/python bench/backup.py [--days 250] [--per-day 800]

Fills a temporary database with synthetic tickets (each with 4 events and a rating) and
appointments, then times hall.backup.take and hall.privacy.purge. Prints a line per step;
the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall import backup, create_app, privacy  # noqa: E402
from hall.clock import FrozenClock  # noqa: E402
from tests.conftest import TEST_CONFIG, local  # noqa: E402


def fill(hall, days: int, per_day: int) -> int:
    start = date(2026, 1, 5)
    n = 0
    with hall.store.write() as db:
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            for i in range(per_day):
                at = f"{day}T01:{i % 60:02d}:00.000+00:00"
                tid = db.execute(
                    "INSERT INTO tickets (day, number, prefix, seq, service, status, token, "
                    "issued_at, queued_at, finished_at, window, clerk) "
                    "VALUES (?, ?, 'B', ?, 'SB', 'done', ?, ?, ?, ?, 1, 'clerk1')",
                    [day, f"B{i + 1:03d}", i + 1, f"tok-{d}-{i}", at, at, at],
                ).lastrowid
                for kind in ("issued", "called", "serving", "finished"):
                    db.execute(
                        "INSERT INTO ticket_events (ticket_id, kind, window, at, details) "
                        "VALUES (?, ?, 1, ?, '{}')",
                        [tid, kind, at],
                    )
                db.execute(
                    "INSERT INTO ratings (ticket_id, score, reasons, comment, channel, window, "
                    "rated_at, status) VALUES (?, 4, '[]', ?, 'pad', 1, ?, 'none')",
                    [tid, "请回电13812345678" if i % 20 == 0 else "", at],
                )
                if i % 10 == 0:
                    db.execute(
                        "INSERT INTO appointments (code, service, date, slot, name, phone, "
                        "status, created_at) VALUES (?, 'SB', ?, '09:00', '张三丰', ?, "
                        "'missed', ?)",
                        [f"C{d:04d}{i:04d}", day, f"139{d:04d}{i:04d}", at],
                    )
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--per-day", type=int, default=800)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(local(2026, 12, 30, 3, 0))
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "DATABASE": f"{tmp}/hall.sqlite3",
                "CLOCK": clock,
                "TESTING": True,
                "NO_VOICE": True,
            }
        )
        hall = app.extensions["hall"]
        t0 = time.perf_counter()
        tickets = fill(hall, args.days, args.per_day)
        print(f"filled {tickets} tickets in {time.perf_counter() - t0:.1f} s", flush=True)
        t0 = time.perf_counter()
        row = backup.take(hall)
        backup_s = time.perf_counter() - t0
        assert row["ok"], row
        print(f"backup: {row['size'] / 1e6:.1f} MB in {backup_s:.2f} s", flush=True)
        t0 = time.perf_counter()
        result = privacy.purge(hall)
        purge_s = time.perf_counter() - t0
        print(f"purge: {result['changed']} in {purge_s:.2f} s", flush=True)
        hall.store.close()
        print(
            json.dumps(
                {
                    "tickets": tickets,
                    "backup_mb": round(row["size"] / 1e6, 1),
                    "backup_s": round(backup_s, 2),
                    "purge_s": round(purge_s, 2),
                    "purged_rows": sum(result["changed"].values()),
                }
            )
        )


if __name__ == "__main__":
    main()
