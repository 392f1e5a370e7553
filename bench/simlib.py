"""The simulated hall day (bench/simulate.py, bench/planner.py, tests/test_planner.py):
its demand, its window plans, and playing it through the real engine on a FrozenClock.

The model is described in bench/simulate.py's docstring and docs/bench.md.
"""

from __future__ import annotations

import atexit
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hall import config as config_mod  # noqa: E402

try:  # bench.simlib (tests) or simlib with bench/ on the path (the bench scripts)
    from .simday import (  # noqa: E402
        Arrival,
        Day,
        DayResult,
        Outcome,
    )
except ImportError:
    from simday import (  # noqa: E402
        Arrival,
        Day,
        DayResult,
        Outcome,
    )
from hall.clock import FrozenClock, to_iso  # noqa: E402

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


def history_dates(days: int, before: tuple = DAY) -> list[tuple]:
    """The `days` working days (Monday-Friday) before `before`, oldest first."""
    out = []
    d = datetime(*before)
    while len(out) < days:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            out.append((d.year, d.month, d.day))
    return out[::-1]


def true_means(cfg, seed: int) -> dict[str, float]:
    """Each service's true mean handling minutes: service_minutes x a factor in
    [0.85, 1.2] drawn from the seed (the estimator has to learn them)."""
    rng = random.Random(seed)
    return {
        s["code"]: (s["service_minutes"] or 8) * rng.uniform(0.85, 1.2)
        for s in cfg.services
        if s["active"]
    }


def build_day(
    cfg,
    seed: int,
    load: float,
    arrivals_seed: int | None = None,
    journeys: float = 0.0,
    factor: float = 1.0,
) -> list[Arrival]:
    """The day's arrivals. The services' true handling means come from `seed`; the
    arrivals from `arrivals_seed` if given (a previous day of the same hall). `factor`
    scales the volume (a busier weekday).

    journeys = S > 0: a share S of the day's visits are 一件事 journeys of the config
    ([[journeys]], evenly), drawn as a stream of their own with the same hourly profile;
    each step's visits are taken off that service's own arrivals, so every service's
    work stays at `load` (a journey moves citizens between queues, it adds none)."""
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
    per_day = {
        code: load * factor * capacity_min[code] / true_mean[code]
        for code in codes
        if capacity_min[code]
    }
    plans = [j for j in cfg.journeys if j["active"]] if journeys > 0 else []
    per_journey = 0.0
    if plans:
        # S = J / (V - steps + J) with V the visits without journeys, J the journeys.
        visits = sum(per_day.values())
        steps = sum(len(p["steps"]) for p in plans) / len(plans)
        per_journey = journeys * visits / (1 + journeys * (steps - 1)) / len(plans)
        for p in plans:
            for code in p["steps"]:
                if code in per_day:
                    per_day[code] = max(per_day[code] - per_journey, 0.0)

    def stream(daily: float, r: random.Random):
        base = daily / length / mean_weight  # arrivals per minute at weight 1.0
        t = 0.0
        while base > 0:  # thinning
            t += r.expovariate(base * peak)
            if t >= length:
                return
            if r.random() <= intensity(opening, t) / peak:
                yield t

    for code in codes:
        if code not in per_day:
            continue
        for t in stream(per_day[code], rng):
            a = Arrival(t, code, _lognormal(rng, true_mean[code]))
            a.no_show = rng.random() < NO_SHOW
            a.priority = rng.random() < PRIORITY
            p_transfer = TRANSFER_MULTI if code in multi else TRANSFER_OTHER
            if not a.no_show and rng.random() < p_transfer:
                a.transfer_to = rng.choice([c for c in codes if c != code])
                a.handling2 = _lognormal(rng, true_mean[a.transfer_to])
            arrivals.append(a)
    if plans:
        jr = random.Random((arrivals_seed if arrivals_seed is not None else seed) * 7919 + 1)
        for p in plans:
            for t in stream(per_journey, jr):
                steps = list(p["steps"])
                handling = [_lognormal(jr, true_mean[c]) for c in steps]
                a = Arrival(t, steps[0], handling[0], journey=p["code"], steps=steps)
                a.step_handling = handling
                a.no_show = jr.random() < NO_SHOW
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


def skill_fifo_windows(cfg, skills: dict[int, list[str]]) -> list[dict]:
    """The skill-restricted FIFO reference: each window serves, as one queue taken oldest
    first, every service it may serve under the balanced policy (its primary and
    secondary services and its clerk's skills), with no targets and no primary before
    secondary. Played with the configured policy, the engine's order is then plain FIFO
    over that set (transfers to the window and 绿色通道 first, as in pooled FIFO): what
    the skill graph allows a first-come order, whatever the policy."""
    out = []
    for w in cfg.windows:
        codes = [*w["services"], *w.get("secondary", []), *skills.get(w["number"], [])]
        out.append(
            {"number": w["number"], "name": w["name"], "services": list(dict.fromkeys(codes))}
        )
    return out


def dedicated_windows(cfg, arrivals: list[Arrival]) -> list[dict]:
    work = defaultdict(float)
    for a in arrivals:
        if a.journey:
            for code, h in zip(a.steps, a.step_handling, strict=True):
                work[code] += h
            continue
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


def demo_skills(cfg) -> dict[int, list[str]]:
    """The demo's clerk skills (hall/skills.py): each window's clerk is qualified for
    the services of its departments plus 综合受理."""
    from hall.skills import department_skills

    return {w["number"]: department_skills(cfg, w["number"]) for w in cfg.windows}


# --- running a day through the engine -----------------------------------------------
def run_day(
    config_path: str,
    arrivals: list[Arrival],
    windows: list[dict] | None = None,
    quiet: bool = True,
    history: list[list[Arrival]] = (),
    policy: str = "configured",
    skills: dict[int, list[str]] | None = None,
    schedule: dict[int, dict[int, list[str]]] | None = None,
    separate: bool = False,
    keep: Path | None = None,
    day: tuple = DAY,
) -> DayResult:
    """Play the day through the engine; with `history`, play those days first (the
    working days before, on the same database) so that the estimate has a past to learn
    from, as in a hall that has been running. Figures are of the last day only.

    policy/skills: queue.policy and each window's clerk's skills. schedule {hour:
    {window: [services]}}: from that hour on, the windows serve those services (a window
    not named serves none), as a supervisor following a staffing plan would set them.
    separate: a journey's steps are separate tickets, each taken when the step before
    is done (the hall without 一件事). keep: leave the database there (bench/planner.py
    reads it)."""
    from hall import create_app
    from hall.engine import Actor

    cfg = config_mod.load(config_path)
    days = [*zip(history_dates(len(history), day), history, strict=True), (day, arrivals)]
    opening, _ = open_minutes(cfg, days[0][0])
    tmp = Path(tempfile.mkdtemp(prefix="hall-sim-")) if keep is None else keep
    clock = FrozenClock(opening)
    overrides = {
        "hours": {"always_open": False},
        "server": {"message_queue": ""},
        "queue": {"policy": policy},
    }
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
            _add_clerks(hall, clerks, skills or {})
            for date, day_arrivals in days:
                result = DayResult()  # the figures of the last day played
                plan = schedule if date == day else None
                sim = Day(hall, clock, clerks, open_minutes(cfg, date)[0], result, separate)
                sim.play(day_arrivals, plan)
    finally:
        hall.store.close()
        if keep is None:
            # Faces may still have a timer pending on this hall (e.g. the rating pad's
            # timeout sweep): remove the database only when the process ends.
            atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    result.seconds = time.monotonic() - t_wall
    return result


def _add_clerks(hall, clerks: dict, skills: dict[int, list[str]]) -> None:
    with hall.store.write() as db:
        for number, actor in clerks.items():
            db["users"].insert(
                {
                    "username": actor.username,
                    "password_hash": "!sim",
                    "role": "clerk",
                    "display_name": actor.username,
                    "windows": "[]",
                    "skills": json.dumps(skills.get(number, [])),
                    "active": 1,
                    "created_at": to_iso(hall.clock.now()),
                },
                replace=True,
            )


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


def journey_figures(outcomes: list[Outcome]) -> dict:
    """The journeys' visits: how many, and the visit's total time (issue to last 办结)."""
    visits = [o for o in outcomes if o.journey]
    done = [o.finished - o.issued for o in visits if o.finished is not None]
    return {
        "journeys": len(visits),
        "journey_share": round(len(visits) / len(outcomes), 3) if outcomes else 0.0,
        "journey_visit_mean_min": round(sum(done) / len(done), 2) if done else 0.0,
        "journey_visit_p90_min": round(pct(done, 90), 2),
    }


def day_stamp(day: tuple) -> str:
    return datetime(*day).date().isoformat()


def staffed_windows(schedule: dict[int, dict[str, int]]) -> tuple[list[dict], dict]:
    """A planner's schedule ({hour: {service: windows}}) as windows for run_day: as many
    windows as the busiest hour needs, and which service each serves hour by hour."""
    n = max((sum(per.values()) for per in schedule.values()), default=0)
    first = next((code for per in schedule.values() for code in per), None)
    windows = [{"number": i, "name": f"{i}号窗口", "services": [first]} for i in range(1, n + 1)]
    plan: dict[int, dict[int, list[str]]] = {}
    for hour, per in schedule.items():
        k = 1
        plan[hour] = {}
        for code, count in sorted(per.items()):
            for _ in range(count):
                plan[hour][k] = [code]
                k += 1
    return windows, plan
