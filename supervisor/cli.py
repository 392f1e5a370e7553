"""Supervisor commands for `python -m hall` (declared in supervisor/__init__.py).

- the demo hook: `python -m hall demo` seeds past days of activity on an empty database.
- `export`: write the figures (JSON), the tickets CSV or the XLSX report for a date range,
  e.g. from cron: `python -m hall export --from 2026-11-01 --to 2026-11-30 --xlsx nov.xlsx`.
"""

from __future__ import annotations

import json
import sys
from datetime import date


def demo_seed(hall) -> None:
    from .demo import seed

    n = seed(hall)
    if n:
        print(f"demo: seeded {n} tickets of past days (supervisor figures, ratings)")


def configure_export(parser) -> None:
    parser.add_argument("--from", dest="start", required=True, help="first day YYYY-MM-DD")
    parser.add_argument("--to", dest="end", help="last day YYYY-MM-DD (default: --from)")
    parser.add_argument("--csv", help="write the tickets CSV here")
    parser.add_argument("--xlsx", help="write the XLSX report here")


def run_export(args) -> int:
    from hall import stats

    from . import export

    try:
        start = date.fromisoformat(args.start)
        end = date.fromisoformat(args.end) if args.end else start
    except ValueError:
        print("error: dates must be YYYY-MM-DD", file=sys.stderr)
        return 2
    if end < start or (end - start).days > 366:
        print("error: --to must not be before --from, at most one year", file=sys.stderr)
        return 2
    from hall.cli import make_app

    app = make_app(args)
    hall = app.extensions["hall"]
    if args.csv:
        with open(args.csv, "wb") as f:
            f.write(export.tickets_csv(hall, start, end))
        print(f"wrote {args.csv}")
    if args.xlsx:
        with open(args.xlsx, "wb") as f:
            f.write(export.report_xlsx(hall, start, end))
        print(f"wrote {args.xlsx}")
    if not args.csv and not args.xlsx:
        print(json.dumps(stats.compute(hall, start, end), ensure_ascii=False, indent=1))
    return 0
