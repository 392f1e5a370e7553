"""A simulated hall day through the real engine, on the test clock.

    python bench/simulate.py --seed 1 [--config config.toml] [--load 0.85] [--cv 0.5]
                             [--history-days 5]

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

erlang_c_mean_wait_min is the M/M/c mean wait with c = all windows, the day's mean
arrival rate and the mean handling time (stationary; the morning peak is above it).

Prints per-service figures and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import atexit
import heapq
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall import config as config_mod  # noqa: E402
from hall.clock import FrozenClock, from_iso  # noqa: E402

DAY = (2026, 11, 30)  # a Monday
HISTORY_DAYS_DEFAULT = 5
# Relative arrival intensity per clock hour (the hour starting at the key).
HOURLY_PROFILE = {
    8: 1.3,
    9: 1.6,
    10: 1.4,
    11: 1.0,
    12: 0.45,
    13: 0.7,
    14: 1.0,
    15: 0.9,
    16: 0.6,
    17: 0.25,
}
DEFAULT_CV = 0.5
CV = DEFAULT_CV
NO_SHOW = 0.05
PRIORITY = 0.02
TRANSFER_MULTI = 0.04
TRANSFER_OTHER = 0.01
TRANSFER_AT = 0.4
RECALL_AFTER = 1.0
NO_SHOW_AFTER = 2.0


@dataclass
class Arrival:
    at: float  # minutes after opening
    service: str
    handling: float  # minutes at the window
    no_show: bool = False
    priority: bool = False
    transfer_to: str | None = None
    handling2: float = 0.0  # at the second service, after a transfer


@dataclass
class Outcome:
    service: str
    issued: float
    called: float | None
    eta: int
    status: str
    target: int
    priority: bool


@dataclass
class DayResult:
    outcomes: list[Outcome] = field(default_factory=list)
    turned_away: int = 0
    transfers: int = 0
    no_shows: int = 0
    last_finish: float = 0.0
    seconds: float = 0.0


# --- the day's demand ---------------------------------------------------------------
def open_minutes(cfg, day: tuple = DAY) -> tuple[datetime, float]:
    h = cfg.hours
    tz = ZoneInfo(cfg.hall["timezone"])
    o = datetime(*day, int(h["open"][:2]), int(h["open"][3:]), tzinfo=tz)
    c = datetime(*day, int(h["close"][:2]), int(h["close"][3:]), tzinfo=tz)
    return o, (c - o).total_seconds() / 60


def intensity(opening: datetime, minute: float) -> float:
    t = opening + timedelta(minutes=minute)
    return HOURLY_PROFILE.get(t.hour, 0.3)


def history_dates(days: int) -> list[tuple]:
    """The `days` working days (Monday-Friday) before DAY, oldest first."""
    out = []
    d = datetime(*DAY)
    while len(out) < days:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            out.append((d.year, d.month, d.day))
    return out[::-1]


def build_day(cfg, seed: int, load: float, arrivals_seed: int | None = None) -> list[Arrival]:
    """The day's arrivals. The services' true handling means come from `seed`; the
    arrivals from `arrivals_seed` if given (a previous day of the same hall)."""
    rng = random.Random(seed)
    opening, length = open_minutes(cfg)
    services = {s["code"]: s for s in cfg.services if s["active"]}
    # What the windows can handle per service: each window's day split over its primaries.
    capacity_min = defaultdict(float)
    for w in cfg.windows:
        for code in w["services"]:
            capacity_min[code] += length / len(w["services"])
    multi = {c for w in cfg.windows if len(w["services"]) > 1 for c in w["services"]}
    mean_weight = sum(intensity(opening, m + 0.5) for m in range(int(length))) / int(length)
    peak = max(HOURLY_PROFILE.values())
    arrivals: list[Arrival] = []
    true_mean = {}
    for code, svc in services.items():
        true_mean[code] = (svc["service_minutes"] or 8) * rng.uniform(0.85, 1.2)
    if arrivals_seed is not None:
        rng = random.Random(arrivals_seed)
    codes = sorted(services)
    for code in codes:
        svc = services[code]
        if not capacity_min[code]:
            continue
        per_day = load * capacity_min[code] / true_mean[code]
        base = per_day / length / mean_weight  # arrivals per minute at weight 1.0
        lam_max = base * peak
        t = 0.0
        while True:  # thinning
            t += rng.expovariate(lam_max)
            if t >= length:
                break
            if rng.random() > intensity(opening, t) / peak:
                continue
            a = Arrival(t, code, _lognormal(rng, true_mean[code]))
            a.no_show = rng.random() < NO_SHOW
            a.priority = rng.random() < PRIORITY
            p_transfer = TRANSFER_MULTI if code in multi else TRANSFER_OTHER
            if not a.no_show and rng.random() < p_transfer:
                a.transfer_to = rng.choice([c for c in codes if c != code])
                a.handling2 = _lognormal(rng, true_mean[a.transfer_to])
            arrivals.append(a)
    arrivals.sort(key=lambda a: a.at)
    return arrivals


def pad(text: str, width: int) -> str:
    """Left-align text in `width` terminal columns (a Chinese character takes two)."""
    import unicodedata

    cols = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - cols, 1)


def _lognormal(rng: random.Random, mean: float) -> float:
    sigma2 = math.log(1 + CV * CV)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


# --- window plans -------------------------------------------------------------------
def pooled_windows(cfg) -> list[dict]:
    codes = [s["code"] for s in cfg.services if s["active"]]
    return [{"number": w["number"], "name": w["name"], "services": codes} for w in cfg.windows]


def dedicated_windows(cfg, arrivals: list[Arrival]) -> list[dict]:
    work = defaultdict(float)
    for a in arrivals:
        work[a.service] += a.handling
        if a.transfer_to:
            work[a.transfer_to] += a.handling2
    codes = [s["code"] for s in cfg.services if s["active"] and work[s["code"]] > 0]
    n = len(cfg.windows)
    if n < len(codes):
        raise SystemExit(f"dedicated plan: {n} windows for {len(codes)} services")
    total = sum(work[c] for c in codes)
    share = {c: 1 + (n - len(codes)) * work[c] / total for c in codes}
    count = {c: int(share[c]) for c in codes}
    for c in sorted(codes, key=lambda c: share[c] - count[c], reverse=True)[
        : n - sum(count.values())
    ]:
        count[c] += 1
    plan, numbers = [], [w["number"] for w in cfg.windows]
    for c in codes:
        for _ in range(count[c]):
            num = numbers[len(plan)]
            plan.append({"number": num, "name": f"{num}号{c}窗口", "services": [c]})
    return plan


# --- running a day through the engine -----------------------------------------------
def run_day(
    config_path: str,
    arrivals: list[Arrival],
    windows: list[dict] | None = None,
    quiet: bool = True,
    history: list[list[Arrival]] = (),
) -> DayResult:
    """Play the day through the engine; with `history`, play those days first (the
    working days before, on the same database) so that the estimate has a past to learn
    from, as in a hall that has been running. Figures are of the last day only."""
    from hall import create_app
    from hall.engine import Actor

    cfg = config_mod.load(config_path)
    days = [*zip(history_dates(len(history)), history, strict=True), (DAY, arrivals)]
    opening, _ = open_minutes(cfg, days[0][0])
    tmp = Path(tempfile.mkdtemp(prefix="hall-sim-"))
    clock = FrozenClock(opening)
    overrides = {"hours": {"always_open": False}, "server": {"message_queue": ""}}
    if windows is not None:
        overrides["windows"] = windows
    t_wall = time.monotonic()
    app = create_app(
        {
            "HALL_CONFIG": config_path,
            "HALL": overrides,
            "DATABASE": str(tmp / "sim.sqlite3"),
            "CLOCK": clock,
            "NO_VOICE": True,
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        with app.app_context():
            clerks = {w["number"]: Actor(f"sim{w['number']}", "clerk") for w in hall.cfg.windows}
            for date, day_arrivals in days:
                result = DayResult()  # the figures of the last day played
                _play_day(hall, clock, clerks, open_minutes(cfg, date)[0], day_arrivals, result)
    finally:
        hall.store.close()
        # Faces may still have a timer pending on this hall (e.g. the rating pad's
        # timeout sweep): remove the database only when the process ends.
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    result.seconds = time.monotonic() - t_wall
    return result


def _play_day(hall, clock, clerks, opening, arrivals, result: DayResult) -> None:
    from hall.engine import Actor
    from hall.errors import Conflict

    engine = hall.engine
    read = engine.read
    clock.set(opening)
    guide = Actor("sim-guide", "supervisor")
    for number, actor in clerks.items():
        engine.open_window(number, actor)
    targets = {s["code"]: s["target_wait_minutes"] for s in hall.cfg.services}
    heap: list = []
    seq = 0

    def push(t, kind, *data):
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, data))

    for a in arrivals:
        push(a.at, "arrive", a)
    info: dict[int, dict] = {}  # ticket id -> what happens to it
    idle: dict[int, float] = {n: 0.0 for n in clerks}  # window -> idle since

    def call(number: int, now: float) -> bool:
        t = engine.call_next(number, clerks[number])
        if t is None:
            idle.setdefault(number, now)
            return False
        idle.pop(number, None)
        i = info[t["id"]]
        if i["no_show"] and not i["transferred"]:
            push(now + RECALL_AFTER, "recall", number, t["id"])
            push(now + NO_SHOW_AFTER, "no_show", number, t["id"])
        elif i["transfer_to"] and not i["transferred"]:
            push(now + TRANSFER_AT * i["handling"], "transfer", number, t["id"])
        else:
            handling = i["handling2"] if i["transferred"] else i["handling"]
            push(now + handling, "finish", number, t["id"])
        return True

    def wake_idle(now: float) -> None:
        for number in sorted(idle, key=lambda n: (idle[n], n)):
            call(number, now)

    while heap:
        now, _, kind, data = heapq.heappop(heap)
        clock.set(opening + timedelta(minutes=now))
        if kind == "arrive":
            a = data[0]
            try:
                if a.priority:
                    t = engine.issue(
                        a.service,
                        priority=True,
                        priority_reason="老年人",
                        actor=guide,
                        source="staff",
                    )
                else:
                    t = engine.issue(a.service, kiosk=None)
            except Conflict:
                result.turned_away += 1  # daily quota used up
                continue
            db = hall.store.db()
            eta = read.ticket_json(db, t)["eta_minutes"]
            info[t["id"]] = {
                "service": a.service,
                "issued": now,
                "eta": eta,
                "no_show": a.no_show,
                "transfer_to": a.transfer_to,
                "handling": a.handling,
                "handling2": a.handling2,
                "transferred": False,
                "priority": a.priority,
            }
            wake_idle(now)
        elif kind == "recall":
            engine.recall(data[1], clerks[data[0]])
        elif kind == "no_show":
            engine.no_show(data[1], clerks[data[0]])
            result.no_shows += 1
            call(data[0], now)
        elif kind == "transfer":
            number, tid = data
            engine.transfer(tid, clerks[number], service=info[tid]["transfer_to"], note="模拟转办")
            info[tid]["transferred"] = True
            result.transfers += 1
            call(number, now)
            wake_idle(now)
        elif kind == "finish":
            engine.finish(data[1], clerks[data[0]])
            result.last_finish = now
            call(data[0], now)
    db = hall.store.db()
    ids = list(info) or [0]
    for row in db.query(
        f"SELECT id, status, called_at FROM tickets WHERE id IN ({','.join('?' * len(ids))})",
        ids,
    ):
        i = info[row["id"]]
        called = None
        if row["called_at"]:
            called = (from_iso(row["called_at"]) - opening).total_seconds() / 60
        result.outcomes.append(
            Outcome(
                i["service"],
                i["issued"],
                called,
                i["eta"],
                row["status"],
                targets[i["service"]],
                i["priority"],
            )
        )
    for number, actor in clerks.items():
        engine.close_window(number, actor)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def figures(outcomes: list[Outcome]) -> dict:
    called = [o for o in outcomes if o.called is not None]
    waits = [o.called - o.issued for o in called]
    errors = [abs(o.eta - (o.called - o.issued)) for o in called]
    bias = [o.eta - (o.called - o.issued) for o in called]
    ok = [1 for o in called if o.called - o.issued <= o.target]
    return {
        "tickets": len(outcomes),
        "called": len(called),
        "mean_wait_min": round(sum(waits) / len(waits), 2) if waits else 0.0,
        "p90_wait_min": round(pct(waits, 90), 2),
        "max_wait_min": round(max(waits), 2) if waits else 0.0,
        "service_level": round(len(ok) / len(called), 3) if called else 1.0,
        "eta_mae_min": round(sum(errors) / len(errors), 2) if errors else 0.0,
        "eta_bias_min": round(sum(bias) / len(bias), 2) if bias else 0.0,
    }


def erlang_c_wait(arrivals_per_min: float, mean_handling: float, servers: int) -> float:
    """M/M/c mean wait in the queue (minutes); inf when the load is not below c."""
    a = arrivals_per_min * mean_handling
    if a >= servers:
        return math.inf
    term, total = 1.0, 1.0
    for k in range(1, servers):
        term *= a / k
        total += term
    last = term * a / servers / (1 - a / servers)
    p_wait = last / (total + last)
    return p_wait * mean_handling / (servers - a)


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
        default=DEFAULT_CV,
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
    args = p.parse_args(argv)
    global CV
    CV = args.cv

    cfg = config_mod.load(args.config)
    arrivals = build_day(cfg, args.seed, args.load)
    history = [
        build_day(cfg, args.seed, args.load, arrivals_seed=args.seed * 1000 + d)
        for d in range(1, args.history_days + 1)
    ]
    _, length = open_minutes(cfg)
    day = run_day(args.config, arrivals, history=history)
    overall = figures(day.outcomes)

    names = {s["code"]: s["name"] for s in cfg.services}
    by_service = defaultdict(list)
    for o in day.outcomes:
        by_service[o.service].append(o)
    print(f"simulated day: seed {args.seed}, load {args.load}, config {args.config}")
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

    handled = [a.handling + (a.handling2 if a.transfer_to else 0.0) for a in arrivals]
    mean_handling = sum(handled) / len(handled)
    erlang = erlang_c_wait(len(arrivals) / length, mean_handling, len(cfg.windows))
    out = {
        **overall,
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
    if not args.no_compare:
        pooled = figures(run_day(args.config, arrivals, pooled_windows(cfg)).outcomes)
        dedicated_plan = dedicated_windows(cfg, arrivals)
        dedicated = figures(run_day(args.config, arrivals, dedicated_plan).outcomes)
        out["pooled_mean_wait_min"] = pooled["mean_wait_min"]
        out["dedicated_mean_wait_min"] = dedicated["mean_wait_min"]
        out["dedicated_p90_wait_min"] = dedicated["p90_wait_min"]
        plan = defaultdict(int)
        for w in dedicated_plan:
            plan[w["services"][0]] += 1
        print(
            f"same day, every window serving every service (pooled FIFO): mean wait "
            f"{pooled['mean_wait_min']:.1f} min, p90 {pooled['p90_wait_min']:.1f}"
        )
        print(
            f"same day, each service only its own windows "
            f"({', '.join(f'{c}x{n}' for c, n in plan.items())}): mean wait "
            f"{dedicated['mean_wait_min']:.1f} min, p90 {dedicated['p90_wait_min']:.1f}"
        )
    print(
        f"configured plan: mean wait {overall['mean_wait_min']:.1f} min, ETA MAE "
        f"{overall['eta_mae_min']:.1f} min ({out['eta_mae_pct_of_mean_wait']}% of the mean "
        f"wait; mark <= 25%)"
    )
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
