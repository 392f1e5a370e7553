"""The staffing planner's forecast against simulated history.

    python bench/planner.py [--config config.toml] [--weeks 6] [--days 10] [--seed 1]
                            [--load 0.85] [--staffing]

Simulated history: `--weeks` weeks of working days before Monday 2026-11-30 (and up to
it), each day's arrivals drawn as in bench/simulate.py (hourly profile with the morning
peak, Poisson per service, load `--load`) with a weekday factor (Monday busiest, Friday
quietest: WEEKDAY_FACTOR) and its own random stream. Every arrival is issued through
the real engine on a frozen clock (the planner reads the hall's own log); nobody is
called, since the forecast only needs the arrivals.

For each of the last `--days` working days, the planner forecasts the day from the days
before it only (supervisor/planner.py) and the forecast is compared with what the log
then holds for that day: per hour of the day, the hall's arrivals (all services) and
every service's; the error is reported as the mean absolute error per hour (arrivals)
and as a share of the actual arrivals. A naive forecast (the same weekday a week
before) is shown beside it, and the Poisson floor: the error even the true hourly rate
would make on a Poisson count (sqrt(2 x rate / pi)).

--staffing also plays Monday 2026-11-30 through the engine twice: with the configured
windows and with the windows the planner recommends for each hour (bench/simlib.py),
and prints both days' service levels.

Prints a table and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import simlib  # noqa: E402  (bench/ is this script's folder)

from hall import config as config_mod  # noqa: E402
from hall import create_app  # noqa: E402
from hall.clock import FrozenClock  # noqa: E402

WEEKDAY_FACTOR = {0: 1.15, 1: 1.0, 2: 0.95, 3: 1.0, 4: 0.9}
LAST_DAY = date(2026, 11, 30)


def working_days(hall, first: date, last: date) -> list[date]:
    out, d = [], first
    while d <= last:
        if hall.hours.is_working_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def issue_history(hall, clock, cfg, days: list[date], seed: int, load: float) -> int:
    """Issue every simulated arrival of these days through the engine."""
    from hall.errors import Conflict

    n = 0
    for d in days:
        arrivals = simlib.build_day(
            cfg,
            seed,
            load,
            arrivals_seed=seed * 100000 + d.toordinal(),
            factor=WEEKDAY_FACTOR.get(d.weekday(), 1.0),
        )
        opening = datetime.combine(d, hall.hours.open, tzinfo=hall.cfg.tz)
        for a in arrivals:
            clock.set(opening + timedelta(minutes=a.at))
            try:
                hall.engine.issue(a.service)
                n += 1
            except Conflict:
                pass  # a daily quota (出入境) used up: not in the log, as in a hall
    return n


def hour_totals(cells: dict) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for (_, h), v in cells.items():
        out[h] += v
    return out


def main(argv=None) -> int:
    from supervisor import planner

    p = argparse.ArgumentParser(description="The planner's forecast against simulated history.")
    p.add_argument("--config", default=str(simlib.ROOT / "config.toml"))
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--days", type=int, default=10, help="working days forecast and checked")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--load", type=float, default=0.85)
    p.add_argument("--staffing", action="store_true", help="also play the recommended windows")
    args = p.parse_args(argv)

    cfg = config_mod.load(args.config)
    tmp = Path(tempfile.mkdtemp(prefix="hall-plan-"))
    first = LAST_DAY - timedelta(weeks=args.weeks) + timedelta(days=1)
    clock = FrozenClock(datetime.combine(first, datetime.min.time(), tzinfo=cfg.tz))
    app = create_app(
        {
            "HALL_CONFIG": args.config,
            "HALL": {"hours": {"always_open": False}, "server": {"message_queue": ""}},
            "DATABASE": str(tmp / "plan.sqlite3"),
            "CLOCK": clock,
            "NO_VOICE": True,
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    days = working_days(hall, first, LAST_DAY)
    issued = issue_history(hall, clock, cfg, days, args.seed, args.load)
    checked = days[-args.days :]
    by_hour: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    service_errors, naive_errors, total_actual, total_error = [], [], 0.0, 0.0
    per_day = []
    for d in checked:
        clock.set(datetime.combine(d, hall.hours.open, tzinfo=cfg.tz))
        fc = planner.forecast(hall, d)
        actual = {k: float(sum(v)) for k, v in planner.entries(hall, d, d).get(d, {}).items()}
        week_before = d - timedelta(days=7)
        naive = {
            k: float(sum(v))
            for k, v in planner.entries(hall, week_before, week_before).get(week_before, {}).items()
        }
        f_h, a_h, n_h = hour_totals(fc["rates"]), hour_totals(actual), hour_totals(naive)
        for h, _ in planner.plan_hours(hall):
            by_hour[h].append((f_h.get(h, 0.0), a_h.get(h, 0.0), n_h.get(h, 0.0)))
        for key in set(actual) | set(fc["rates"]):
            service_errors.append(abs(fc["rates"].get(key, 0.0) - actual.get(key, 0.0)))
            naive_errors.append(abs(naive.get(key, 0.0) - actual.get(key, 0.0)))
        err = sum(abs(f_h.get(h, 0.0) - a_h.get(h, 0.0)) for h in set(f_h) | set(a_h))
        total_error += err
        total_actual += sum(a_h.values())
        per_day.append((d, fc["method"], sum(f_h.values()), sum(a_h.values()), err))

    print(
        f"forecast vs simulated history: {len(days)} working days ({issued} tickets), "
        f"{len(checked)} days checked, config {args.config}"
    )
    print(f"{'day':<12}{'forecast':>9}{'actual':>8}{'|err|/h':>9}  method")
    for d, method, f, a, err in per_day:
        print(f"{d.isoformat():<12}{f:>9.0f}{a:>8.0f}{err / len(by_hour):>9.1f}  {method}")
    print(
        f"\n{'hour':<6}{'forecast':>9}{'actual':>8}{'MAE':>7}{'MAPE':>7}{'naive MAE':>11}"
        f"{'Poisson floor':>15}"
    )
    hours_json = []
    for h in sorted(by_hour):
        rows = by_hour[h]
        mae = sum(abs(f - a) for f, a, _ in rows) / len(rows)
        naive = sum(abs(n - a) for _, a, n in rows) / len(rows)
        act = sum(a for _, a, _ in rows) / len(rows)
        fcm = sum(f for f, _, _ in rows) / len(rows)
        mape = 100 * mae / act if act else 0.0
        # Even the true rate misses a Poisson count by sqrt(2 rate / pi) on average.
        floor = math.sqrt(2 * act / math.pi)
        print(f"{h:<6}{fcm:>9.1f}{act:>8.1f}{mae:>7.1f}{mape:>6.0f}%{naive:>11.1f}{floor:>15.1f}")
        hours_json.append(
            {
                "hour": h,
                "forecast": round(fcm, 1),
                "actual": round(act, 1),
                "mae": round(mae, 2),
                "mape_pct": round(mape, 1),
                "naive_mae": round(naive, 2),
                "poisson_floor": round(floor, 2),
            }
        )
    out = {
        "days_history": len(days),
        "days_checked": len(checked),
        "tickets": issued,
        "hall_mae_per_hour": round(sum(h["mae"] for h in hours_json) / len(hours_json), 2),
        "hall_error_pct": round(100 * total_error / total_actual, 1) if total_actual else None,
        "poisson_floor_per_hour": round(
            sum(h["poisson_floor"] for h in hours_json) / len(hours_json), 2
        ),
        "naive_mae_per_hour": round(sum(h["naive_mae"] for h in hours_json) / len(hours_json), 2),
        "service_hour_mae": round(sum(service_errors) / len(service_errors), 2),
        "naive_service_hour_mae": round(sum(naive_errors) / len(naive_errors), 2),
        "by_hour": hours_json,
        "weeks": args.weeks,
        "seed": args.seed,
        "load": args.load,
    }
    print(
        f"\nhall arrivals per hour: MAE {out['hall_mae_per_hour']} ({out['hall_error_pct']}% of "
        f"the arrivals; same day last week: {out['naive_mae_per_hour']}; Poisson floor "
        f"{out['poisson_floor_per_hour']}); per service and "
        f"hour: MAE {out['service_hour_mae']} (naive {out['naive_service_hour_mae']})"
    )
    hall.store.close()
    if args.staffing:
        out.update(staffing(args, cfg))
    print(json.dumps(out, ensure_ascii=False))
    return 0


def staffing(args, cfg) -> dict:
    """Monday 2026-11-30 with the configured windows, then with the recommended ones."""
    from supervisor import planner

    history = [
        simlib.build_day(cfg, args.seed, args.load, arrivals_seed=args.seed * 1000 + d)
        for d in range(1, 6)
    ]
    day = simlib.build_day(cfg, args.seed, args.load)
    keep = Path(tempfile.mkdtemp(prefix="hall-plan-day-"))
    before = simlib.figures(simlib.run_day(args.config, day, history=history, keep=keep).outcomes)
    opening, _ = simlib.open_minutes(cfg)
    app = create_app(
        {
            "HALL_CONFIG": args.config,
            "DATABASE": str(keep / "sim.sqlite3"),
            "CLOCK": FrozenClock(opening),
            "NO_VOICE": True,
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    result = planner.plan(hall, opening.date())
    hall.store.close()
    minutes = dict(planner.plan_hours(hall))
    window_hours = {
        "configured": len(cfg.windows) * sum(minutes.values()) / 60,
        "recommended": sum(t["needed"] * minutes[t["hour"]] / 60 for t in result["totals"]),
        "pooled": sum(t["pooled_needed"] * minutes[t["hour"]] / 60 for t in result["totals"]),
    }
    windows, schedule = simlib.staffed_windows(planner.schedule(result))
    after = simlib.figures(
        simlib.run_day(args.config, day, windows=windows, schedule=schedule).outcomes
    )
    print(
        f"Monday with the configured {len(cfg.windows)} windows: service level "
        f"{before['service_level']:.0%}, mean wait {before['mean_wait_min']:.1f} min; with "
        f"the recommended windows (peak {len(windows)}): {after['service_level']:.0%}, "
        f"{after['mean_wait_min']:.1f} min (goal {result['goal']:.0%}); window-hours: "
        f"configured {window_hours['configured']:.0f}, recommended (each service its own "
        f"queue) {window_hours['recommended']:.0f}, if every window served every service "
        f"{window_hours['pooled']:.0f}"
    )
    return {
        "configured_service_level": before["service_level"],
        "configured_mean_wait_min": before["mean_wait_min"],
        "recommended_service_level": after["service_level"],
        "recommended_mean_wait_min": after["mean_wait_min"],
        "recommended_peak_windows": len(windows),
        "window_hours": {k: round(v, 1) for k, v in window_hours.items()},
        "pooled_peak_windows": max(t["pooled_needed"] for t in result["totals"]),
        "goal": result["goal"],
    }


if __name__ == "__main__":
    sys.exit(main())
