"""The staffing planner (排班预测): how many windows each service needs, hour by hour, on
a chosen date, and the live "临时增开窗口" alert (docs/flow.md "Staffing planner").

Forecast. Arrivals into each service's queue (issues, transfers to it, journey steps)
per hour, from the hall's own log (hall.queries.Reader.queue_entries) over the
HISTORY_WEEKS before the date (before today for a future date): the same weekday's
days, each weighted by recency (half-life HALF_LIFE_WEEKS); with fewer than
MIN_SAME_WEEKDAY of them, every working day's hour profile times the weekday's share.
Closed days (holidays) get no forecast; the first working day after a holiday break is
scaled by how such days ran before (when the history has one). Appointments: the hour's
forecast is the walk-ins plus the larger of the bookings already made and the usual
appointment tickets of that hour.

Staffing. For each service and hour, the fewest windows that call at least
supervisor.service_level_goal of the arrivals within the service's target wait, by
Erlang C (hall/erlang.py: steady Poisson arrivals at the hour's rate, exponential
handling with the learned mean - hall.estimate.handling_minutes -, one FIFO queue per
service, no backlog carried from the hour before). Beside it: the configured plan (a
window's primary services share it evenly) and, for past days, what happened.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from hall import erlang, estimate, stats
from hall.calling import clerk_skills
from hall.clock import from_iso, to_iso
from hall.interfaces import BOOKINGS

HISTORY_WEEKS = 8
HALF_LIFE_WEEKS = 4.0
MIN_SAME_WEEKDAY = 2
SECONDARY_SHARE = estimate.SECONDARY_SHARE


# --- the hall's hours ------------------------------------------------------------------
def plan_hours(hall) -> list[tuple[int, float]]:
    """(hour, open minutes in that hour) for the opening hours, e.g. (8, 30.0) for 8:30."""
    o, c = hall.hours.open, hall.hours.close
    out = []
    for h in range(o.hour, c.hour + (1 if c.minute else 0)):
        start = max(h * 60, o.hour * 60 + o.minute)
        end = min((h + 1) * 60, c.hour * 60 + c.minute)
        if end > start:
            out.append((h, float(end - start)))
    return out


def _bounds(hall, start: date, end: date) -> tuple[str, str]:
    tz = hall.cfg.tz
    lo = datetime.combine(start, time(0), tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)
    return to_iso(lo), to_iso(hi)


def entries(hall, start: date, end: date) -> dict:
    """{day: {(service, hour): [walk-ins, appointments]}} of queue entries in the range."""
    db = hall.store.db()
    out: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    tz = hall.cfg.tz
    for r in hall.engine.read.queue_entries(db, *_bounds(hall, start, end)):
        if not r["service"]:
            continue
        local = from_iso(r["at"]).astimezone(tz)
        kind = 1 if (r["kind"] == "issued" and r["source"] == "appointment") else 0
        out[local.date()][(r["service"], local.hour)][kind] += 1
    return out


def _after_break(hall, day: date) -> bool:
    """The first working day after a holiday break (a closed day that is not a usual
    day off)."""
    d = day - timedelta(days=1)
    broke = False
    for _ in range(14):
        if hall.hours.is_working_day(d):
            return broke
        if d.weekday() in hall.hours.days:
            broke = True
        d -= timedelta(days=1)
    return broke


# --- the forecast ------------------------------------------------------------------------
def forecast(hall, day: date, today: date | None = None) -> dict:
    """{"rates": {(service, hour): arrivals in that hour}, "method", "days", ...}."""
    today = today or hall.hours.local(hall.clock.now()).date()
    meta = {"day": day, "closed": not hall.hours.is_working_day(day), "rates": {}}
    if meta["closed"]:
        return {**meta, "method": "休息日，无预测", "days": 0, "booked": {}}
    end = min(day, today) - timedelta(days=1)
    start = end - timedelta(weeks=HISTORY_WEEKS) + timedelta(days=1)
    hist = entries(hall, start, end)
    days = sorted(d for d in hist if hall.hours.is_working_day(d) and d < day)

    def weight(d: date) -> float:
        return 0.5 ** ((day - d).days / 7 / HALF_LIFE_WEEKS)

    def mean(ds: list[date]) -> dict:
        total = sum(weight(d) for d in ds)
        acc: dict = defaultdict(lambda: [0.0, 0.0])
        for d in ds:
            for key, (walk, appt) in hist[d].items():
                acc[key][0] += weight(d) * walk / total
                acc[key][1] += weight(d) * appt / total
        return acc

    def day_total(ds: list[date]) -> float:
        total = sum(weight(d) for d in ds)
        return sum(weight(d) * sum(sum(v) for v in hist[d].values()) for d in ds) / total

    same = [d for d in days if d.weekday() == day.weekday()]
    if len(same) >= MIN_SAME_WEEKDAY:
        base, factor = mean(same), 1.0
        method = f"同为{_WD[day.weekday()]}的{len(same)}天（近期权重高）"
    elif days:
        base = mean(days)
        factor = day_total(same) / day_total(days) if same else 1.0
        method = f"近{len(days)}个工作日的时段分布 × {_WD[day.weekday()]}系数{factor:.2f}"
    else:
        base, factor, method = {}, 1.0, "没有历史数据"
    post = [d for d in days if _after_break(hall, d)]
    if _after_break(hall, day) and post:
        usual = [d for d in days if not _after_break(hall, d)]
        if usual:
            factor *= day_total(post) / day_total(usual)
            method += f"；节后首日系数（{len(post)}天）"
    bookings = hall.faces.interface(BOOKINGS)
    booked = bookings.booked(day) if bookings is not None else {}
    rates = {}
    for key in set(base) | set(booked):
        walk, appt = base.get(key, (0.0, 0.0))
        rates[key] = factor * walk + max(float(booked.get(key, 0)), factor * appt)
    return {**meta, "rates": rates, "method": method, "days": len(days), "booked": booked}


_WD = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


# --- the plan -----------------------------------------------------------------------------
def configured_windows(hall, db) -> dict[str, float]:
    """Windows each service has in the configured plan: a window's primary services
    share it evenly; a secondary service gets SECONDARY_SHARE of that share."""
    read = hall.engine.read
    out: dict[str, float] = defaultdict(float)
    for w in read.windows(db):
        ws = read.window_services(db, w["number"])
        for code in ws["services"]:
            out[code] += 1 / len(ws["services"])
        for code in ws["secondary"]:
            out[code] += SECONDARY_SHARE / max(len(ws["services"]), 1)
    return out


def expected_level(rate_per_min, handling, windows: float, target) -> float | None:
    """Erlang C service level with a fractional number of windows (interpolated)."""
    if rate_per_min <= 0:
        return None
    lo = math.floor(windows)
    sl_lo = erlang.service_level(rate_per_min, handling, lo, target) if lo else 0.0
    if windows == lo:
        return sl_lo
    sl_hi = erlang.service_level(rate_per_min, handling, lo + 1, target)
    return sl_lo + (windows - lo) * (sl_hi - sl_lo)


def plan(hall, day: date) -> dict:
    """The planner's page and export: per service and hour the forecast arrivals, the
    windows needed, the configured windows and (past days) what happened."""
    db = hall.store.db()
    read = hall.engine.read
    now = hall.clock.now()
    today = hall.hours.local(now).date()
    goal = hall.cfg.supervisor["service_level_goal"]
    hours = plan_hours(hall)
    fc = forecast(hall, day, today)
    configured = configured_windows(hall, db)
    sample = hall.cfg.queue["estimate_sample"]
    past = actual(hall, day) if day <= today else None
    services = []
    for svc in read.services(db, active_only=False):
        code = svc["code"]
        if not svc["active"] and not any(fc["rates"].get((code, h)) for h, _ in hours):
            continue
        handling = estimate.handling_minutes(db, svc, now, sample)
        target = float(svc["target_wait_minutes"] or 0)
        row = {
            "service": code,
            "name": svc["name"],
            "department": svc["department"],
            "target_wait_minutes": svc["target_wait_minutes"],
            "handling_minutes": round(handling, 1),
            "configured": round(configured.get(code, 0.0), 2),
            "hours": [],
        }
        for h, minutes in hours:
            arrivals = fc["rates"].get((code, h), 0.0)
            rate = arrivals / minutes if minutes else 0.0
            need = erlang.servers_needed(rate, handling, target, goal) if arrivals else 0
            level = expected_level(rate, handling, configured.get(code, 0.0), target)
            cell = {
                "hour": h,
                "forecast": round(arrivals, 1),
                "booked": fc["booked"].get((code, h), 0),
                "needed": need,
                "configured_level": round(level, 3) if level is not None else None,
                "short": need > configured.get(code, 0.0) + 1e-9,
            }
            if past is not None:
                cell["actual"] = past["entries"].get((code, h), 0)
                cell.update(past["cells"].get((code, h), {}))
            row["hours"].append(cell)
        row["peak_needed"] = max((c["needed"] for c in row["hours"]), default=0)
        row["forecast_total"] = round(sum(c["forecast"] for c in row["hours"]), 1)
        services.append(row)
    totals = []
    for i, (h, minutes) in enumerate(hours):
        cells = [s["hours"][i] for s in services]
        total = {
            "hour": h,
            "forecast": round(sum(c["forecast"] for c in cells), 1),
            "needed": sum(c["needed"] for c in cells),
            "pooled_needed": pooled_needed(services, i, minutes, goal),
            "windows": len(read.windows(db)),
        }
        if past is not None:
            total["actual"] = sum(c.get("actual", 0) for c in cells)
            total["open_windows"] = past["open_by_hour"].get(h, 0)
            total["abs_error"] = round(abs(total["forecast"] - total["actual"]), 1)
        totals.append(total)
    out = {
        "date": day.isoformat(),
        "weekday": _WD[day.weekday()],
        "closed": fc["closed"],
        "method": fc["method"],
        "history_days": fc["days"],
        "goal": goal,
        "policy": hall.cfg.queue["policy"],
        "hours": [h for h, _ in hours],
        "services": services,
        "totals": totals,
        "past": past is not None,
        "peak_needed": max((t["needed"] for t in totals), default=0),
    }
    if past is not None and totals:
        errors = [t["abs_error"] for t in totals]
        actual_sum = sum(t["actual"] for t in totals)
        out["forecast_mae_per_hour"] = round(sum(errors) / len(errors), 2)
        out["forecast_error_pct"] = round(100 * sum(errors) / actual_sum, 1) if actual_sum else None
    return out


def pooled_needed(services: list[dict], i: int, minutes: float, goal: float) -> int:
    """Windows the hour needs if every window served every service (一窗受理): Erlang C on
    the hour's whole arrivals, with their mean handling time and mean target. The
    per-service sum counts each queue on its own; a hall that shares windows between
    services needs between the two."""
    rate = sum(s["hours"][i]["forecast"] for s in services) / minutes if minutes else 0.0
    if rate <= 0:
        return 0
    weight = [(s["hours"][i]["forecast"], s) for s in services if s["hours"][i]["forecast"]]
    total = sum(w for w, _ in weight)
    handling = sum(w * s["handling_minutes"] for w, s in weight) / total
    target = sum(w * float(s["target_wait_minutes"] or 0) for w, s in weight) / total
    return erlang.servers_needed(rate, handling, target, goal)


def actual(hall, day: date) -> dict:
    """What happened on a past day: queue entries, waits and service level by the hour
    of issue, and the windows that called a ticket in each hour."""
    db = hall.store.db()
    tz = hall.cfg.tz
    ent = entries(hall, day, day).get(day, {})
    services = {s["code"]: s for s in db.query("SELECT * FROM services")}
    cells: dict = defaultdict(lambda: {"waits": []})
    for f in stats.ticket_facts(hall, day, day):
        if f.wait_s is None or f.issued_at is None:
            continue
        key = (f.service, f.issued_at.astimezone(tz).hour)
        cells[key]["waits"].append(f.wait_s)
    out_cells = {}
    for key, c in cells.items():
        target = (services.get(key[0]) or {}).get("target_wait_minutes") or 0
        waits = c["waits"]
        out_cells[key] = {
            "avg_wait_min": round(sum(waits) / len(waits) / 60, 1),
            "service_level": round(sum(1 for w in waits if w <= target * 60) / len(waits), 3),
        }
    open_by_hour: dict[int, set] = defaultdict(set)
    lo, hi = _bounds(hall, day, day)
    for r in db.query(
        "SELECT at, window FROM ticket_events WHERE kind = 'called' AND at >= ? AND at < ? "
        "AND window IS NOT NULL",
        [lo, hi],
    ):
        open_by_hour[from_iso(r["at"]).astimezone(tz).hour].add(r["window"])
    return {
        "entries": {k: sum(v) for k, v in ent.items()},
        "cells": out_cells,
        "open_by_hour": {h: len(v) for h, v in open_by_hour.items()},
    }


def schedule(result: dict) -> dict[int, dict[str, int]]:
    """The recommended windows per hour: {hour: {service: windows}}."""
    out: dict[int, dict[str, int]] = {}
    for row in result["services"]:
        for cell in row["hours"]:
            if cell["needed"]:
                out.setdefault(cell["hour"], {})[row["service"]] = cell["needed"]
    return out


# --- the live alert: 临时增开窗口 ------------------------------------------------------------
def alerts(hall) -> list[dict]:
    """Services whose queue is longer than the open windows can call within its target
    (open windows x target / handling minutes), with how many windows more would do."""
    db = hall.store.db()
    read = hall.engine.read
    now = hall.clock.now()
    day = read.today()
    counts = read.waiting_counts(db, day)
    if not any(counts.values()):
        return []
    sample = hall.cfg.queue["estimate_sample"]
    balanced = hall.cfg.queue["policy"] == "balanced"
    share: dict[str, float] = defaultdict(float)
    for w in read.windows(db):
        if w["state"] != "open":
            continue
        ws = read.window_services(db, w["number"])
        mine = list(ws["services"])
        if balanced:
            mine += [c for c in clerk_skills(db, w["number"]) if c not in mine]
        for code in mine:
            share[code] += 1 / len(mine)
        for code in ws["secondary"]:
            if code not in mine:
                share[code] += SECONDARY_SHARE / max(len(mine), 1)
    out = []
    for svc in read.services(db):
        waiting = counts.get(svc["code"], 0)
        if not waiting:
            continue
        handling = estimate.handling_minutes(db, svc, now, sample)
        target = float(svc["target_wait_minutes"] or 0)
        windows = share.get(svc["code"], 0.0)
        clearable = windows * target / handling if handling else 0.0
        if waiting <= clearable or (windows and waiting == 1):
            continue  # (one ticket with a window open is simply called next)
        more = max(1, math.ceil(waiting * handling / max(target, 1.0) - windows))
        out.append(
            {
                "service": svc["code"],
                "name": svc["name"],
                "waiting": waiting,
                "open_windows": round(windows, 2),
                "clearable": int(clearable),
                "more_windows": more,
                "text": f"临时增开窗口：{svc['name']}等候{waiting}人，在开窗口约{windows:.1f}个，"
                f"{svc['target_wait_minutes']}分钟内约可叫到{int(clearable)}人，建议增开{more}个窗口",
            }
        )
    return out


# --- appointment slot capacities from the forecast ------------------------------------------
def slot_capacities(hall, day: date, result: dict | None = None) -> dict[str, dict[str, int]]:
    """Bookable places per service and slot that move load off the peak: in each slot,
    what the configured windows can handle at the service-level goal's utilisation
    (handling windows x slot minutes / handling minutes x goal) less the walk-ins the
    forecast expects then, at most twice appointments.slot_capacity and never below 0.
    A peak hour's slots get few places or none, a quiet hour's get more."""
    bookings = hall.faces.interface(BOOKINGS)
    if bookings is None:
        return {}
    result = result or plan(hall, day)
    if result["closed"]:
        return {}
    step = bookings.slot_minutes
    most = 2 * bookings.default_capacity
    goal = result["goal"]
    o, c = hall.hours.open, hall.hours.close
    slots = []
    t = o.hour * 60 + o.minute
    while t + step <= c.hour * 60 + c.minute:
        slots.append(t)
        t += step
    minutes = dict(plan_hours(hall))
    out: dict[str, dict[str, int]] = {}
    for row in result["services"]:
        if not row["configured"]:
            continue
        by_hour = {cell["hour"]: cell for cell in row["hours"]}
        caps = {}
        for start in slots:
            cell = by_hour.get(start // 60)
            if cell is None:
                continue
            booked_rate = cell["booked"] / minutes[cell["hour"]]
            walk_ins = max(cell["forecast"] / minutes[cell["hour"]] - booked_rate, 0.0) * step
            room = row["configured"] * step / row["handling_minutes"] * goal - walk_ins
            caps[f"{start // 60:02d}:{start % 60:02d}"] = max(0, min(most, int(room)))
        out[row["service"]] = caps
    return out
