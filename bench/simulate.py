"""A simulated hall day through the real engine, on the test clock.

    python bench/simulate.py --seed 1 [--config config.toml] [--load 0.85] [--cv 0.5]
                             [--history-days 5] [--policy configured|balanced]
                             [--skills demo|all] [--journeys 0.1]

The day (Monday 2026-11-30, the config's opening hours) is generated from the seed:

- arrivals: a non-homogeneous Poisson process per service, from an hourly profile with
  the morning peak (HOURLY_PROFILE); each service's daily volume is `--load` (default
  0.85) times what its windows can handle at its true handling time (a window's minutes
  split evenly over its primary services): the window plan fits the demand, and the
  morning peak runs above capacity;
- handling times: lognormal per service (CV `--cv`, default 0.5); the true mean is the
  config's service_minutes times a per-service factor in [0.85, 1.2], so the estimator
  has to learn it: from the --history-days working days played before on the same
  database (default 5, a hall that has run a week: same services and handling times,
  other arrivals), or, with --history-days 0, from the day itself (a brand-new hall);
- 5% of the called citizens do not come (the clerk recalls after 1 minute and marks the
  no-show after 2); 2% of the tickets are 绿色通道 priority tickets issued by staff;
  4% of the 综合受理-type tickets (services of windows with several primary services) and
  1% of the others are transferred to another service after 40% of their handling;
- one clerk per window (engine Actor), each window opens at opening time and calls the
  next ticket whenever it is free; tickets issued before closing are all served.

Figures are of the measured day only.

Everything goes through hall.engine (issue, call_next, recall, no_show, transfer,
finish) and the predicted wait at issue is the `eta_minutes` of the ticket's ticket_json,
i.e. what the kiosk prints. The actual wait is first call minus issue.

The same arrivals and handling times are then replayed with two other window plans:

- pooled: every window serves every service, one FIFO queue (the 一窗受理 ideal);
- dedicated: no 综合窗口 at all - every window serves exactly one service; the windows are
  handed out to the services in proportion to their offered work (arrivals x mean
  handling time), at least one window each (largest remainder), as in a hall where each
  department keeps its own counters.

--policy balanced plays the measured day with queue.policy = "balanced" and each
window's clerk (sim<n>) qualified as --skills says (demo: the services of the window's
departments plus 综合受理, hall/skills.py; all: every service), and replays the same day
with the configured plan beside it (mean, p90, max, service level; vs_pooled_pct is the
balanced mean wait against the pooled FIFO replay's), and the skill-restricted FIFO
reference: each window serves, oldest ticket first, every service it may serve under the
balanced policy (its primary and secondary services and its clerk's skills), ignoring
targets and primary before secondary - what the skill graph allows a first-come order
(skill_fifo_*; skill_fifo_vs_pooled_pct).

--journeys S turns a share S of the arrivals into 一件事 journeys of the config's
[[journeys]] (drawn from a stream of their own: the rest of the day is unchanged), each
step with its own handling time; the day is replayed with each step as a separate
ticket taken when the step before is done (the hall without 一件事), and both visits'
total time (issue to last 办结) are printed.

The model lives in bench/simlib.py (shared with bench/planner.py and the planner's
tests).

erlang_c_mean_wait_min is the M/M/c mean wait with c = all windows, the day's mean
arrival rate and the mean handling time (stationary; the morning peak is above it).

Prints per-service figures and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simlib  # noqa: E402  (bench/ is on the path: this script's folder)
from simlib import (  # noqa: E402
    HISTORY_DAYS_DEFAULT,
    build_day,
    dedicated_windows,
    demo_skills,
    figures,
    journey_figures,
    open_minutes,
    pad,
    pooled_windows,
    run_day,
    skill_fifo_windows,
)

from hall import config as config_mod  # noqa: E402
from hall.erlang import mean_wait as erlang_c_wait  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Simulate a hall day through the real engine.")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--config", default=str(ROOT / "config.toml"))
    p.add_argument(
        "--load",
        type=float,
        default=0.85,
        help="daily demand as a share of what the windows can handle",
    )
    p.add_argument(
        "--cv",
        type=float,
        default=simlib.DEFAULT_CV,
        help="coefficient of variation of the handling times",
    )
    p.add_argument(
        "--no-compare", action="store_true", help="skip the pooled and dedicated replays"
    )
    p.add_argument(
        "--history-days",
        type=int,
        default=HISTORY_DAYS_DEFAULT,
        help="working days the hall ran before (same services and handling times, other "
        "arrivals) on the same database, so that the estimate learns from a past as in a "
        f"running hall (default {HISTORY_DAYS_DEFAULT}; 0 = a brand-new hall)",
    )
    p.add_argument(
        "--policy",
        choices=["configured", "balanced"],
        default="configured",
        help="queue.policy of the measured day (balanced: each window's clerk has the "
        "demo's skills, and the configured plan is replayed beside it)",
    )
    p.add_argument(
        "--skills",
        choices=["demo", "all"],
        default="demo",
        help="clerk skills: demo = each window's departments plus 综合受理 (hall/skills.py); "
        "all = every clerk qualified for every service (a fully cross-trained hall)",
    )
    p.add_argument(
        "--journeys",
        type=float,
        default=0.0,
        help="share of arrivals that are 一件事 journeys of the config's [[journeys]] "
        "(the same day is replayed with their steps as separate tickets)",
    )
    args = p.parse_args(argv)
    simlib.CV = args.cv

    cfg = config_mod.load(args.config)
    arrivals = build_day(cfg, args.seed, args.load, journeys=args.journeys)
    history = [
        build_day(cfg, args.seed, args.load, arrivals_seed=args.seed * 1000 + d)
        for d in range(1, args.history_days + 1)
    ]
    _, length = open_minutes(cfg)
    skills = demo_skills(cfg)
    if args.skills == "all":
        every = [s["code"] for s in cfg.services if s["active"]]
        skills = {n: every for n in skills}
    day = run_day(args.config, arrivals, history=history, policy=args.policy, skills=skills)
    overall = figures(day.outcomes)

    names = {s["code"]: s["name"] for s in cfg.services}
    by_service = defaultdict(list)
    for o in day.outcomes:
        by_service[o.service].append(o)
    print(
        f"simulated day: seed {args.seed}, load {args.load}, policy {args.policy}, "
        f"config {args.config}"
    )
    print(
        f"{len(arrivals)} arrivals, {len(cfg.windows)} windows, "
        f"last ticket finished {day.last_finish / 60:.1f} h after opening "
        f"({day.seconds:.1f} s wall)"
    )
    head = f"{pad('service', 24)}{'n':>5}{'mean':>7}{'p90':>7}{'max':>7}{'SL':>6}{'ETA MAE':>9}{'bias':>7}"
    print(head)
    print("-" * len(head))
    rows = [
        (f"{s['code']} {names[s['code']]}", figures(by_service[s["code"]]))
        for s in cfg.services
        if s["code"] in by_service
    ]
    for label, f in [*rows, ("all", overall)]:
        if label == "all":
            print("-" * len(head))
        print(
            f"{pad(label, 24)}{f['tickets']:>5}{f['mean_wait_min']:>7.1f}{f['p90_wait_min']:>7.1f}"
            f"{f['max_wait_min']:>7.1f}{f['service_level']:>6.0%}{f['eta_mae_min']:>9.1f}"
            f"{f['eta_bias_min']:>7.1f}"
        )

    handled = []
    for a in arrivals:
        if a.journey:
            handled.append(sum(a.step_handling))
        else:
            handled.append(a.handling + (a.handling2 if a.transfer_to else 0.0))
    mean_handling = sum(handled) / len(handled)
    erlang = erlang_c_wait(len(arrivals) / length, mean_handling, len(cfg.windows))
    out = {
        **overall,
        "policy": args.policy,
        "skills": args.skills,
        "eta_mae_pct_of_mean_wait": round(
            100 * overall["eta_mae_min"] / overall["mean_wait_min"], 1
        )
        if overall["mean_wait_min"]
        else 0.0,
        "erlang_c_mean_wait_min": round(erlang, 2),
        "windows": len(cfg.windows),
        "arrivals": len(arrivals),
        "mean_handling_min": round(mean_handling, 2),
        "no_shows": day.no_shows,
        "transfers": day.transfers,
        "turned_away": day.turned_away,
        "seed": args.seed,
        "history_days": args.history_days,
        "load": args.load,
        "cv": args.cv,
    }
    print(
        f"\nM/M/{len(cfg.windows)} (Erlang C, all windows pooled, day-average load "
        f"{len(arrivals) / length * mean_handling / len(cfg.windows):.2f}): "
        f"mean wait {erlang:.1f} min"
    )
    if args.journeys:
        out.update(journey_figures(day.outcomes))
        print(
            f"一件事: {out['journeys']} journeys ({out['journey_share']:.1%} of arrivals), "
            f"visit (issue to last 办结) mean {out['journey_visit_mean_min']:.1f} min, "
            f"p90 {out['journey_visit_p90_min']:.1f}"
        )
    if not args.no_compare:
        _compare(args, cfg, arrivals, skills, out)
    label = "balanced policy" if args.policy == "balanced" else "configured plan"
    print(
        f"{label}: mean wait {overall['mean_wait_min']:.1f} min, ETA MAE "
        f"{overall['eta_mae_min']:.1f} min ({out['eta_mae_pct_of_mean_wait']}% of the mean "
        f"wait; mark <= 25%)"
    )
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _compare(args, cfg, arrivals, skills, out: dict) -> None:
    """Replays of the same day: pooled FIFO, dedicated windows, the configured plan
    (when the measured day was balanced), separate tickets (when there are journeys)."""
    pooled = figures(run_day(args.config, arrivals, pooled_windows(cfg)).outcomes)
    dedicated_plan = dedicated_windows(cfg, arrivals)
    dedicated = figures(run_day(args.config, arrivals, dedicated_plan).outcomes)
    for key in ("mean_wait_min", "p90_wait_min", "max_wait_min", "service_level"):
        out[f"pooled_{key}"] = pooled[key]
    out["dedicated_mean_wait_min"] = dedicated["mean_wait_min"]
    out["dedicated_p90_wait_min"] = dedicated["p90_wait_min"]
    plan = defaultdict(int)
    for w in dedicated_plan:
        plan[w["services"][0]] += 1
    print(
        f"same day, every window serving every service (pooled FIFO): mean wait "
        f"{pooled['mean_wait_min']:.1f} min, p90 {pooled['p90_wait_min']:.1f}, max "
        f"{pooled['max_wait_min']:.1f}, service level {pooled['service_level']:.0%}"
    )
    print(
        f"same day, each service only its own windows "
        f"({', '.join(f'{c}x{n}' for c, n in plan.items())}): mean wait "
        f"{dedicated['mean_wait_min']:.1f} min, p90 {dedicated['p90_wait_min']:.1f}"
    )
    if args.policy == "balanced":
        conf = figures(run_day(args.config, arrivals, skills=skills).outcomes)
        ref = figures(run_day(args.config, arrivals, skill_fifo_windows(cfg, skills)).outcomes)
        for key in ("mean_wait_min", "p90_wait_min", "max_wait_min", "service_level"):
            out[f"configured_{key}"] = conf[key]
            out[f"skill_fifo_{key}"] = ref[key]
        if pooled["mean_wait_min"]:
            out["vs_pooled_pct"] = round(
                100 * (out["mean_wait_min"] / pooled["mean_wait_min"] - 1), 1
            )
            out["skill_fifo_vs_pooled_pct"] = round(
                100 * (ref["mean_wait_min"] / pooled["mean_wait_min"] - 1), 1
            )
        print(
            f"same day, configured plan: mean wait {conf['mean_wait_min']:.1f} min, p90 "
            f"{conf['p90_wait_min']:.1f}, max {conf['max_wait_min']:.1f}, service level "
            f"{conf['service_level']:.0%}"
        )
        print(
            f"same day, skill-restricted FIFO (each window the oldest ticket of any service "
            f"it may serve, no targets, no primary before secondary): mean wait "
            f"{ref['mean_wait_min']:.1f} min ({out.get('skill_fifo_vs_pooled_pct', 0):+.1f}% "
            f"of pooled FIFO), p90 {ref['p90_wait_min']:.1f}, max {ref['max_wait_min']:.1f}, "
            f"service level {ref['service_level']:.0%}"
        )
        print(
            f"balanced: mean wait {out['mean_wait_min']:.1f} min "
            f"({out.get('vs_pooled_pct', 0):+.1f}% of pooled FIFO; mark within 10%), p90 "
            f"{out['p90_wait_min']:.1f}, max {out['max_wait_min']:.1f}, service level "
            f"{out['service_level']:.0%}"
        )
    if args.journeys:
        apart = run_day(args.config, arrivals, policy=args.policy, skills=skills, separate=True)
        sep = journey_figures(apart.outcomes)
        out["separate_visit_mean_min"] = sep["journey_visit_mean_min"]
        out["separate_visit_p90_min"] = sep["journey_visit_p90_min"]
        print(
            f"same day, each step a separate ticket (back of the queue): visit mean "
            f"{sep['journey_visit_mean_min']:.1f} min, p90 {sep['journey_visit_p90_min']:.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
