"""Seed a few past working days of realistic hall activity for the demo.

Everything goes through the real engine (issue, call, recall, start, no-show, requeue,
transfer, finish, rate) on a FrozenClock, and the 差评 through the real follow-up steps,
so the supervisor pages show real figures. Runs only on a database without tickets.
"""

from __future__ import annotations

import heapq
import logging
import random
import secrets
from datetime import datetime, time, timedelta
from types import SimpleNamespace

from hall.clock import FrozenClock, to_iso
from hall.engine import Actor, Engine
from hall.errors import HallError
from hall.events import EventBus

from . import followup

log = logging.getLogger(__name__)

# Seeded window staff (display names only appear on staff pages, never on public screens).
EXTRA_STAFF = [
    ("wangfang", "王芳", "C0101"),
    ("lina", "李娜", "C0102"),
    ("zhangwei", "张伟", "C0103"),
    ("liuyang", "刘洋", "C0104"),
    ("chenjing", "陈静", "C0105"),
    ("yangfan", "杨帆", "C0106"),
]
REASONS_BAD = ["效率低", "态度不好", "材料要求不清", "多次跑腿", "等候时间太长"]
COMMENTS_BAD = ["排队太久，窗口只开了一个", "要求补交的材料事先没说清楚", "", ""]
UTILISATION = 0.27  # arrivals per day / window capacity per day
OPEN_HOURS = 8.5
# Relative arrival intensity per hour of day (morning and mid-afternoon peaks).
ARRIVALS_BY_HOUR = {8: 0.8, 9: 2.2, 10: 1.8, 11: 1.1, 12: 0.4, 13: 0.7, 14: 1.6, 15: 1.3, 16: 0.7}


def _staff(hall) -> list[str]:
    """Clerk usernames to sign in at windows: existing clerks plus a few demo staff."""
    db = hall.store.db()
    have = [
        r["username"]
        for r in db.query(
            "SELECT username FROM users WHERE role = 'clerk' AND active = 1 AND "
            "username != 'guide' ORDER BY username"
        )
    ]
    with hall.store.write() as w:
        for username, name, staff_no in EXTRA_STAFF:
            if username in have:
                continue
            if list(w.query("SELECT 1 FROM users WHERE username = ?", [username])):
                continue
            w["users"].insert(
                {
                    "username": username,
                    # Not a valid hash: the account cannot log in until an admin sets
                    # a password (and no slow hashing at demo start).
                    "password_hash": "!demo-" + secrets.token_hex(8),
                    "role": "clerk",
                    "display_name": name,
                    "staff_no": staff_no,
                    "windows": "[]",
                    "active": 1,
                    "created_at": to_iso(hall.clock.now()),
                }
            )
            have.append(username)
    return have


def _plan_windows(db, read, staff_count: int, busy: set[str]) -> list[int]:
    """Few windows that together take every service, plus one more for the busiest."""
    cands = {}
    for w in read.windows(db):
        ws = read.window_services(db, w["number"])
        cands[w["number"]] = (set(ws["services"]), set(ws["services"]) | set(ws["secondary"]))
    chosen, covered = [], set()
    while len(chosen) < staff_count:
        gain, n = max(
            ((len(c[1] - covered), -n) for n, c in cands.items() if n not in chosen), default=(0, 0)
        )
        if gain == 0:
            break
        chosen.append(-n)
        covered |= cands[-n][1]
    extra = [n for n, (primary, _) in sorted(cands.items()) if n not in chosen and primary & busy]
    if extra and len(chosen) < staff_count:
        chosen.append(extra[0])
    return sorted(chosen)


def seed(hall, days: int = 4, seed_value: int = 2026) -> int:
    """Seed `days` past working days; returns the number of tickets (0 if not empty)."""
    db = hall.store.db()
    if db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]:
        return 0
    rng = random.Random(seed_value)
    hours = hall.hours
    tz = hall.cfg.tz
    today = hours.local(hall.clock.now()).date()
    day_list, d = [], today - timedelta(days=1)
    while len(day_list) < days and (today - d).days < 60:
        if hours.is_working_day(d):
            day_list.append(d)
        d -= timedelta(days=1)
    day_list.reverse()
    if not day_list:
        return 0
    clock = FrozenClock(datetime.combine(day_list[0], time(8, 30), tzinfo=tz))
    engine = Engine(hall.store, hall.cfg, clock, EventBus(), hours)
    shim = SimpleNamespace(
        store=hall.store,
        bus=engine.bus,  # seeded history reaches no screen
        clock=clock,
        engine=engine,
        cfg=hall.cfg,
        hours=hours,
        now_iso=lambda: to_iso(clock.now()),
    )
    staff = _staff(hall)
    busy = {"SB", "YB", "BDC", "ZHSL"}
    windows = _plan_windows(db, engine.read, len(staff), busy)
    services = [s for s in engine.read.services(db) if s["active"]]
    served_codes = set()
    for n in windows:
        ws = engine.read.window_services(db, n)
        served_codes |= set(ws["services"]) | set(ws["secondary"])
    services = [s for s in services if s["code"] in served_codes]
    if not services or not windows:
        return 0
    # Arrivals follow each service's window capacity (tickets per hour), so the queues
    # are long at the peaks and short otherwise, never hours long.
    capacity = dict.fromkeys((s["code"] for s in services), 0.0)
    minutes = {s["code"]: s["service_minutes"] or 8 for s in services}
    for n in windows:
        ws = engine.read.window_services(db, n)
        for code in ws["services"]:
            if code in capacity:
                capacity[code] += 60 / minutes[code] / len(ws["services"])
        for code in ws["secondary"]:
            if code in capacity:
                capacity[code] += 0.1 * 60 / minutes[code] / len(ws["secondary"])
    services = [s for s in services if capacity[s["code"]] > 0]
    weights = [capacity[s["code"]] for s in services]
    per_day = sum(weights) * UTILISATION * OPEN_HOURS
    boss = Actor("supervisor", "supervisor")
    speed = {u: rng.uniform(0.8, 1.3) for u in staff}  # some clerks are quicker
    quality = {s["code"]: rng.choice([0.5, 1.0, 1.0, 1.5, 3.0]) for s in services}
    total = 0
    for i, day in enumerate(day_list):
        total += _run_day(
            engine,
            clock,
            rng,
            day,
            tz,
            windows,
            staff,
            services,
            weights,
            i,
            speed,
            quality,
            per_day,
        )
    _follow_up(shim, rng, boss, hall.clock.now() - timedelta(minutes=5))
    log.info("demo seed: %d tickets over %d days", total, len(day_list))
    return total


def _run_day(
    engine,
    clock,
    rng,
    day,
    tz,
    windows,
    staff,
    services,
    weights,
    index,
    speed,
    quality,
    per_day,
) -> int:
    def at(h, m=0, s=0):
        return datetime.combine(day, time(h, m, s), tzinfo=tz)

    # who sits where today (clerks rotate between days)
    shift = index % len(staff)
    actors = {n: Actor(staff[(k + shift) % len(staff)], "clerk") for k, n in enumerate(windows)}
    # arrivals: a Poisson-like stream shaped by ARRIVALS_BY_HOUR, busier early in the week
    base = per_day / sum(ARRIVALS_BY_HOUR.values()) * (1.2 if day.weekday() == 0 else 1.0)
    base *= rng.uniform(0.9, 1.1)
    arrivals = []
    for hour, weight in ARRIVALS_BY_HOUR.items():
        for _ in range(int(round(base * weight + rng.uniform(-1, 1)))):
            minute = rng.uniform(0, 60) if hour != 8 else rng.uniform(30, 60)
            arrivals.append(at(hour) + timedelta(minutes=minute))
    arrivals.sort()
    queue: list = []  # (when, seq, kind, data)
    seq = 0

    def push(when, kind, data=None):
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (when, seq, kind, data))

    clock.set(at(8, 30))
    for n, actor in actors.items():
        engine.open_window(n, actor)
        push(at(8, 30, 30) + timedelta(seconds=rng.randint(0, 300)), "free", n)
    for a in arrivals:
        push(a, "arrive")
    lunch = {n: rng.random() < 0.4 for n in windows}
    issued = 0
    idle: set[int] = set()
    db = engine.store.db()
    serves = {}
    for n in windows:
        ws = engine.read.window_services(db, n)
        serves[n] = set(ws["services"]) | set(ws["secondary"])

    def wake(code=None):
        for w in sorted(idle):
            if code is None or code in serves[w]:
                idle.discard(w)
                push(clock.now() + timedelta(seconds=rng.randint(5, 40)), "free", w)

    while queue:
        when, _, kind, data = heapq.heappop(queue)
        clock.set(when)
        try:
            if kind == "arrive":
                svc = rng.choices(services, weights)[0]
                engine.issue(svc["code"], source="kiosk", kiosk="K1")
                issued += 1
                wake(svc["code"])
            elif kind == "free":
                n = data
                actor = actors[n]
                if lunch[n] and at(12, 0) <= when < at(13, 0):
                    engine.pause_window(n, actor, "午休")
                    clock.set(at(13, 0) + timedelta(seconds=rng.randint(0, 600)))
                    engine.open_window(n, actor)
                    lunch[n] = False
                    push(clock.now(), "free", n)
                    continue
                t = engine.call_next(n, actor)
                if t is None:
                    idle.add(n)
                    continue
                push(when, "serve", (n, t["id"]))
            elif kind == "serve":
                if _serve(engine, clock, rng, actors, push, services, speed, quality, *data):
                    wake()
        except HallError as e:  # an odd draw (e.g. a quota): skip it, keep the day going
            log.debug("demo seed skipped a step: %s", e.message)
            if kind in ("free", "serve"):
                n = data if kind == "free" else data[0]
                cur = engine.read.current_ticket(engine.store.db(), n)
                if cur is None:
                    idle.add(n)
    # end of day: whatever still waits is cancelled, windows close
    clock.set(max(clock.now(), at(17, 29)) + timedelta(seconds=1))
    boss = Actor("supervisor", "supervisor")
    for t in list(
        db.query("SELECT id FROM tickets WHERE day = ? AND status = 'waiting'", [day.isoformat()])
    ):
        engine.cancel(t["id"], boss, "下班未办理")
    for n in actors:
        w = engine.read.window(db, n)
        if w["state"] != "closed":
            engine.close_window(n, boss, force=True)
    return issued


def _serve(engine, clock, rng, actors, push, services, speed, quality, n, ticket_id) -> bool:
    """One called ticket at window n, from the call to the next free moment.

    Returns True when the ticket went back to a queue (requeue, transfer)."""
    actor = actors[n]
    now = clock.now()
    t = engine.read.ticket(engine.store.db(), ticket_id)
    svc = engine.read.service(engine.store.db(), t["service"])
    if rng.random() < 0.12:  # not at the window at once: recall
        clock.set(now + timedelta(seconds=rng.randint(40, 70)))
        engine.recall(ticket_id, actor)
        now = clock.now()
    if rng.random() < 0.06:  # 过号
        clock.set(now + timedelta(seconds=rng.randint(60, 120)))
        engine.no_show(ticket_id, actor)
        push(clock.now() + timedelta(seconds=20), "free", n)
        if t["requeues"] == 0 and rng.random() < 0.5:
            engine.requeue(ticket_id, actor)
            return True
        return False
    clock.set(now + timedelta(seconds=rng.randint(15, 60)))
    engine.start(ticket_id, actor)
    typical = (svc["service_minutes"] or 8) * speed[actor.username]
    minutes = max(1.5, rng.gauss(typical, typical / 3))
    if rng.random() < 0.04 and len(services) > 1:  # 转办 to another service
        clock.set(clock.now() + timedelta(minutes=rng.uniform(1, 3)))
        other = rng.choice([s for s in services if s["code"] != t["service"]])
        engine.transfer(
            ticket_id, actor, service=other["code"], note="应由" + other["name"] + "办理"
        )
        push(clock.now() + timedelta(seconds=30), "free", n)
        return True
    clock.set(clock.now() + timedelta(minutes=minutes))
    engine.finish(ticket_id, actor)
    r = rng.random()
    clock.set(clock.now() + timedelta(seconds=rng.randint(5, 40)))
    if r < 0.22:
        engine.rate(ticket_id, None, channel="pad")
    else:
        waited = (clock.now() - datetime.fromisoformat(t["issued_at"])).total_seconds() / 60
        slow = minutes > 1.5 * (svc["service_minutes"] or 8) or waited > 40
        bad_p = (0.15 if slow else 0.02) * quality[t["service"]]
        x = rng.random()
        if x < bad_p:
            score = rng.choice([1, 2, 2])
            engine.rate(
                ticket_id,
                score,
                [rng.choice(REASONS_BAD)],
                rng.choice(COMMENTS_BAD),
                channel="pad",
            )
        else:
            good = 0.85 / quality[t["service"]]
            score = rng.choices([5, 4, 3], [good, 0.14, 0.04])[0]
            engine.rate(ticket_id, score, channel="pad")
    push(clock.now() + timedelta(seconds=rng.randint(10, 60)), "free", n)
    return False


def _follow_up(shim, rng, boss, latest) -> None:
    """Older 差评 are called back and most are rectified; recent ones stay open."""
    db = shim.store.db()
    rows = list(
        db.query("SELECT id, rated_at FROM ratings WHERE score IN (1, 2) ORDER BY rated_at")
    )
    clock = shim.clock
    for k, r in enumerate(rows):
        if k >= len(rows) - 2:
            break  # the newest stay open for the demo's follow-up page
        rated = datetime.fromisoformat(r["rated_at"])
        clock.set(min(rated + timedelta(hours=rng.uniform(1, 5)), latest))
        if k % 5 == 4:
            followup.follow_up(shim, r["id"], "appeal", "经核实为误触评价器，市民确认满意", boss)
            continue
        followup.follow_up(shim, r["id"], "callback", "已电话回访市民，说明情况并致歉", boss)
        if k % 3 != 2:
            clock.set(min(clock.now() + timedelta(hours=rng.uniform(2, 20)), latest))
            followup.follow_up(
                shim, r["id"], "rectified", "已组织窗口人员学习，优化材料告知单", boss
            )
