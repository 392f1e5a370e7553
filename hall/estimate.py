"""Wait estimates: when will this ticket be called?

The estimate replays the engine's own calling rule forward in time (a deterministic
"forecast" of the queue):

- each window that is open (or paused, from PAUSE_MINUTES after the pause began)
  becomes free when its current ticket is expected to end: the rest of the service's
  handling minutes, or, for a ticket already running long, the typical remainder of one
  that has run that long (RESIDUAL);
- whenever a window is free it takes the ticket the engine's call_next would give it
  (a ticket transferred to that window, then priority, then its primary services before
  its secondary ones, then lane and queue time) and is busy for that service's
  handling minutes;
- tickets still to come arrive as a steady stream per service at the walk-in rate of
  the last hour: where they outrank a waiting ticket (a window's own service before one
  it only helps with) they take the window first, and an idle window waits for them;
- a ticket's estimate is the moment it is taken, minus now.

Under queue.policy = "balanced" the replay is hall/estimate_balanced.py: the same
windows, handling minutes and stream, but each free window chooses as calling.order
will at that moment (relative waits grow at 1/target per minute, so the order of the
queues changes while they wait).

So a 综合窗口 shared by several services, a secondary window that helps only while its
own queues are empty, priority tickets jumping the queue and closed windows all count
the way they really will. A new ticket's estimate (the kiosk's "预计等候") is the moment
a phantom ticket at the end of the service's queue would be taken; a phantom takes no
window time, so the phantoms of different services do not delay each other.

In a served hall readers never wait for a forecast: the push thread makes the next one
after the changes it pushes (refresh, at most every REFRESH_SECONDS), and meanwhile a
reader takes the newest one, if it is at most STALE_SECONDS old (allow_stale).

The forecast is computed once per state of the queue (database file, day, the queue
version that triggers bump at every change but a plain walk-in issue (schema.
m014_queue_counts), queue.estimate_sample) and reused for FORECAST_TTL seconds of clock
time by every ticket and service that asks: /api/services, a list of 500 tickets and the
kiosk's answer cost one forecast, not one per ticket, and issuing a walk-in number does
not recompute it (unless a window takes its service before another one, secondary there:
then the others' tickets do move back). A walk-in issued since the forecast was made waits behind everyone the
forecast placed: its estimate is the phantom's moment plus the handling minutes of the
walk-ins between, shared by the service's windows (the simple model's step).

Handling minutes are the mean (finish - last call) of the service's recent tickets
(queue.estimate_sample of them), with the configured `service_minutes` counting as
PRIOR_TICKETS tickets while there are few. Before any window has opened today, every
configured window is assumed to open.

bench/simulate.py measures the result on a simulated day (docs/bench.md).
`handling_minutes`, `capacity` and `eta_minutes` are the simple model (people ahead x
minutes / windows), used for tickets beyond the forecast's horizon and for services no
working window serves.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import calling, estimate_balanced
from .clock import from_iso, to_iso

SECONDARY_SHARE = 0.25
PRIOR_TICKETS = 4
HISTORY_DAYS = 14
HISTORY_SAMPLE = 200
HISTORY_WEIGHT = 60
# Remaining handling time of a ticket at the window, as a share of the usual handling
# time, by how long it has already taken (same share): the conditional median of a
# lognormal with CV 0.5 (the median, not the mean: an estimate is judged by how far off
# it is, and a long-running ticket is not about to end).
RESIDUAL = [
    (0.0, 0.894),
    (0.25, 0.646),
    (0.5, 0.453),
    (0.75, 0.36),
    (1.0, 0.323),
    (1.5, 0.307),
    (2.0, 0.308),
    (3.0, 0.336),
]
# A paused window is assumed back after this many minutes of pause.
PAUSE_MINUTES = 15.0
# The forecast replays at most this many waiting tickets; later ones use the simple model.
HORIZON = 600
# How long (clock seconds) one forecast stays valid when nothing in the queue changed.
FORECAST_TTL = 30.0
# Arrival rates are measured over this many minutes.
RATE_MINUTES = 60.0
RATE_MIN_SPAN = 15.0
# The forecast looks no further ahead than this (minutes).
HORIZON_MINUTES = 12 * 60.0
_PHANTOM_ID = 1 << 62
_CACHE_SIZE = 64


def handling_minutes(db, service: dict, now, sample: int) -> float:
    """Mean handling time (finish - last call) of the service, learnt from its tickets.

    The last `sample` finished tickets say how the service goes now; the HISTORY_SAMPLE
    before them (up to HISTORY_DAYS back) say how it usually goes and weigh as up to
    HISTORY_WEIGHT tickets, so that a handful of today's tickets cannot swing the
    estimate while a real change today still shows within the day. A hall with no past
    uses the configured `service_minutes`, worth PRIOR_TICKETS tickets."""
    since = to_iso(now - timedelta(days=HISTORY_DAYS))
    rows = list(
        db.query(
            "SELECT last_called_at, finished_at FROM tickets WHERE service = ? AND "
            "status IN ('done', 'no_show') AND finished_at >= ? "
            "ORDER BY finished_at DESC LIMIT ?",
            [service["code"], since, sample + HISTORY_SAMPLE],
        )
    )
    durations = [
        (from_iso(r["finished_at"]) - from_iso(r["last_called_at"])).total_seconds() / 60
        for r in rows
        if r["last_called_at"]
    ]
    recent, past = durations[:sample], durations[sample:]
    prior = float(service.get("service_minutes") or 8)
    weight = float(PRIOR_TICKETS)
    if past:
        prior = (PRIOR_TICKETS * prior + sum(past)) / (PRIOR_TICKETS + len(past))
        weight = float(min(len(past), HISTORY_WEIGHT))
    if not recent:
        return prior
    return (weight * prior + sum(recent)) / (weight + len(recent))


def capacity(db, service_code: str, day: str) -> float:
    """Effective number of windows working on this service (the simple model)."""
    windows = list(
        db.query(
            "SELECT w.number, w.state, ws.tier FROM window_services ws "
            "JOIN windows w ON w.number = ws.window WHERE ws.service = ? AND w.active = 1",
            [service_code],
        )
    )
    open_windows = [w for w in windows if w["state"] in ("open", "paused")]
    # When nothing is open yet (before opening), assume the configured windows will open.
    pool = open_windows or windows
    if not pool:
        return 0.0
    busy = {
        r["window"]: r["n"]
        for r in db.query(
            "SELECT ws.window, COUNT(DISTINCT t.service) AS n FROM window_services ws "
            "JOIN tickets t ON t.service = ws.service AND t.status = 'waiting' AND t.day = ? "
            "WHERE ws.tier = 1 GROUP BY ws.window",
            [day],
        )
    }
    total = 0.0
    for w in pool:
        share = 1.0 / max(busy.get(w["number"], 1), 1)
        total += share if w["tier"] == 1 else SECONDARY_SHARE * share
    return max(total, 0.25)


def eta_minutes(ahead: int, minutes_each: float, windows: float) -> int:
    if ahead <= 0:
        return 0
    if windows <= 0:
        windows = 1.0
    return int(math.ceil(ahead * minutes_each / windows))


# --- the forecast -------------------------------------------------------------------
@dataclass
class Forecast:
    now: datetime
    # service -> minutes from `now` at which its waiting tickets are taken, in queue order
    picks: dict[str, list[float]] = field(default_factory=dict)
    # service -> minutes from `now` at which a new ticket would be taken (None: no window)
    new: dict[str, float | None] = field(default_factory=dict)
    # service -> handling minutes used
    minutes: dict[str, float] = field(default_factory=dict)
    # service -> windows that could take it (for the simple model beyond the horizon)
    windows: dict[str, float] = field(default_factory=dict)
    truncated: bool = False
    # service -> capacity() for the simple model, computed once per forecast
    capacity: dict[str, float] = field(default_factory=dict)


_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
# One forecast computed at a time in a process: readers that miss wait for it instead of
# computing the same forecast side by side (a herd of them after each call).
_compute_lock = threading.Lock()
# Served processes (the broadcaster's push thread makes each new state's forecast, see
# refresh()): their readers may take the newest forecast of the day for up to
# STALE_SECONDS while the next is made, so that no request waits for one.
_latest: dict[tuple, Forecast] = {}
_stale_ok: set[str] = set()
STALE_SECONDS = 5.0
REFRESH_SECONDS = 1.0
_refreshed = {"at": 0.0}


def _path(db) -> str | None:
    try:
        return db.conn.execute("PRAGMA database_list").fetchone()[2] or None
    except Exception:  # noqa: BLE001 - no cache rather than no estimate
        return None  # ("" for :memory: databases, private to one connection)


def _state_key(db, day: str) -> tuple | None:
    path = _path(db)
    if not path:
        return None
    row = db.execute("SELECT version FROM queue_version WHERE id = 1").fetchone()
    return (path, day, row[0] if row else None)


def allow_stale(db) -> None:
    """This process serves the hall: its readers may use a forecast a few seconds old
    while the push thread makes the new one (refresh)."""
    path = _path(db)
    if path:
        _stale_ok.add(path)


def forecast(db, now: datetime, day: str, sample: int, policy: str = "configured") -> Forecast:
    """The queue's forecast for this state, computed once and shared."""
    key = _state_key(db, day)
    if key is None:
        return _compute(db, now, day, sample, policy)
    full = (*key, sample, policy)
    hit = _fresh(full, now)
    if hit is not None:
        return hit
    if key[0] in _stale_ok:
        newest = _latest.get((key[0], day, sample, policy))
        if newest is not None and 0 <= (now - newest.now).total_seconds() <= STALE_SECONDS:
            return newest
    return _make(db, full, now, day, sample, policy)


def refresh(db, now: datetime, day: str, sample: int, policy: str = "configured") -> None:
    """Make the forecast of the queue as it is now, unless it exists (the push thread,
    after a batch; at most every REFRESH_SECONDS)."""
    if time.monotonic() - _refreshed["at"] < REFRESH_SECONDS:
        return
    key = _state_key(db, day)
    if key is None or _fresh((*key, sample, policy), now) is not None:
        return
    _refreshed["at"] = time.monotonic()
    _make(db, (*key, sample, policy), now, day, sample, policy)


def _fresh(full: tuple, now: datetime) -> Forecast | None:
    with _cache_lock:
        hit = _cache.get(full)
    if hit is not None and 0 <= (now - hit.now).total_seconds() <= FORECAST_TTL:
        return hit
    return None


def _make(db, full: tuple, now: datetime, day: str, sample: int, policy: str) -> Forecast:
    with _compute_lock:
        hit = _fresh(full, now)  # made meanwhile by the thread this one waited for
        if hit is not None:
            return hit
        fc = _compute(db, now, day, sample, policy)
        with _cache_lock:
            _cache[full] = fc
            _cache.move_to_end(full)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
            _latest[(full[0], day, sample, policy)] = fc
    return fc


def _residual_share(elapsed_share: float) -> float:
    x = max(elapsed_share, 0.0)
    for (x0, y0), (x1, y1) in zip(RESIDUAL, RESIDUAL[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return RESIDUAL[-1][1]


def _minutes_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _compute(db, now: datetime, day: str, sample: int, policy: str = "configured") -> Forecast:
    services = {s["code"]: s for s in db.query("SELECT * FROM services")}
    minutes = {code: handling_minutes(db, s, now, sample) for code, s in services.items()}
    windows = {w["number"]: w for w in db.query("SELECT * FROM windows WHERE active = 1")}
    tiers: dict[int, dict[str, int]] = {n: {} for n in windows}
    for r in db.query("SELECT window, service, tier FROM window_services"):
        if r["window"] in tiers:
            tiers[r["window"]][r["service"]] = r["tier"]
    balanced = policy == "balanced"
    skills: dict[int, set[str]] = {}
    if balanced:
        listed = {n: dict(t) for n, t in tiers.items()}
        for n in tiers:  # a service the clerk is qualified for: one the window serves
            skills[n] = set(calling.clerk_skills(db, n)) & set(services)
            for code in skills[n]:
                tiers[n].setdefault(code, 1)

    # When each window can next take a ticket (minutes from now).
    working = {n: w for n, w in windows.items() if w["state"] in ("open", "paused")}
    if not working:
        working = windows  # before opening: every window is expected to open
    free_at: dict[int, float] = {}
    for n, w in working.items():
        start = 0.0
        if w["state"] == "paused":
            since = from_iso(w["state_since"]) if w["state_since"] else now
            start = max(0.0, PAUSE_MINUTES - _minutes_between(now, since))
        free_at[n] = start
    for r in db.query(
        "SELECT window, service, last_called_at FROM tickets "
        "WHERE status IN ('called', 'serving') AND window IS NOT NULL"
    ):
        n = r["window"]
        if n not in free_at:
            continue
        m = minutes.get(r["service"], 8.0)
        elapsed = _minutes_between(now, from_iso(r["last_called_at"])) if r["last_called_at"] else 0
        residual = m * _residual_share(elapsed / m if m else 1.0)
        free_at[n] = max(free_at[n], residual)

    targets = {code: max(s["target_wait_minutes"] or 0, 1) for code, s in services.items()}
    waiting = list(
        db.query(
            "SELECT id, service, priority, lane, queued_at, target_window FROM tickets "
            "WHERE status = 'waiting' AND day = ? "
            "ORDER BY priority DESC, lane ASC, queued_at ASC, id ASC LIMIT ?",
            [day, HORIZON + 1],
        )
    )
    fc = Forecast(now=now, minutes=minutes)
    if len(waiting) > HORIZON:
        waiting = waiting[:HORIZON]
        fc.truncated = True
    for code in services:
        fc.windows[code] = float(sum(1 for n in working if code in tiers[n]))
    if balanced:  # the order moves as waits grow: replayed call by call
        rates = _arrival_rates(db, now, day)
        tiers_of = {n: listed[n] for n in working}
        picked, new = estimate_balanced.replay(
            now, waiting, tiers_of, skills, free_at, minutes, targets, rates, HORIZON_MINUTES
        )
        return _finish(fc, waiting, picked, new, services)

    # Each window's candidates in its own calling order (engine.call_next).
    late = "\uffff"
    queues: dict[int, list[tuple]] = {}
    for n in working:
        mine = []
        for t in waiting:
            if t["target_window"] == n:
                cls = 0
            elif t["target_window"] is not None or t["service"] not in tiers[n]:
                continue
            elif t["priority"]:
                cls = 1
            else:
                cls = 2 if tiers[n][t["service"]] == 1 else 3
            mine.append((cls, t["lane"], t["queued_at"], t["id"], t["service"]))
        for code, tier in tiers[n].items():  # phantoms: a new walk-in ticket of each service
            mine.append((2 if tier == 1 else 3, 2, late, _PHANTOM_ID, code))
        mine.sort()
        queues[n] = mine

    # Tickets still to come: each service's rate over the last hour, as a steady stream.
    # They matter where they outrank waiting tickets: a window's own (primary) services
    # come before the ones it only helps with, and an idle window takes them.
    rate = _arrival_rates(db, now, day)
    futures_at: dict[int, list[tuple[int, str]]] = {
        n: sorted(
            (1 if tier == 1 else 2, code) for code, tier in tiers[n].items() if rate.get(code)
        )
        for n in queues
    }
    future_taken: dict[str, int] = {code: 0 for code in rate}

    def next_future(n: int, t: float, best_cls: int | None) -> tuple[float, str] | None:
        """The stream ticket window n would take at t instead of its best waiting one."""
        choice = None
        for tier, code in futures_at[n]:
            cls = 2 if tier == 1 else 3
            if best_cls is not None and cls >= best_cls:
                continue
            arrives = (future_taken[code] + 1) / rate[code]
            if choice is None or (tier, arrives) < choice[0]:
                choice = ((tier, arrives), code)
        if choice is None:
            return None
        return choice[0][1], choice[1]

    taken: set = set()
    picked: dict[int, float] = {}
    new: dict[str, float] = {}
    pos = {n: 0 for n in queues}
    heap = [(free_at[n], n) for n in queues]
    heapq.heapify(heap)
    phantoms_left = len(services)
    while heap and (len(picked) < len(waiting) or phantoms_left):
        t, n = heapq.heappop(heap)
        if t > HORIZON_MINUTES:
            break
        q = queues[n]
        i = pos[n]
        while i < len(q) and ((q[i][3] in taken) if q[i][3] != _PHANTOM_ID else (q[i][4] in new)):
            i += 1
        pos[n] = i
        item = q[i] if i < len(q) else None
        future = next_future(n, t, item[0] if item else None)
        if future is not None:
            arrives, code = future
            if arrives <= t:
                future_taken[code] += 1
                heapq.heappush(heap, (t + minutes.get(code, 8.0), n))
                continue
            if item is None:
                heapq.heappush(heap, (arrives, n))  # idle until the stream brings one
                continue
        if item is None:
            continue  # nothing more this window could take
        if item[3] == _PHANTOM_ID:
            new[item[4]] = t
            phantoms_left -= 1
            heapq.heappush(heap, (t, n))  # a phantom takes no window time
        else:
            taken.add(item[3])
            picked[item[3]] = t
            heapq.heappush(heap, (t + minutes.get(item[4], 8.0), n))

    return _finish(fc, waiting, picked, new, services)


def _finish(fc: Forecast, waiting, picked: dict, new: dict, services) -> Forecast:
    by_service: dict[str, list[float]] = {}
    for t in waiting:
        if t["id"] in picked:
            by_service.setdefault(t["service"], []).append(picked[t["id"]])
    fc.picks = {code: sorted(v) for code, v in by_service.items()}
    fc.new = {code: new.get(code) for code in services}
    return fc


def _arrival_rates(db, now: datetime, day: str) -> dict[str, float]:
    """Walk-in tickets per minute and service over the last RATE_MINUTES of today (or
    since the day's first ticket, early in the morning)."""
    first = db.execute("SELECT MIN(issued_at) FROM tickets WHERE day = ?", [day]).fetchone()[0]
    if not first:
        return {}
    span = min(RATE_MINUTES, max(_minutes_between(now, from_iso(first)), RATE_MIN_SPAN))
    since = to_iso(now - timedelta(minutes=span))
    return {
        r["service"]: r["n"] / span
        for r in db.query(
            "SELECT service, COUNT(*) AS n FROM tickets WHERE day = ? AND issued_at >= ? "
            "AND priority = 0 GROUP BY service",
            [day, since],
        )
    }


def eta(
    db, service: dict, ahead: int, now: datetime, day: str, sample: int, policy="configured"
) -> int:
    """Minutes until the ticket with `ahead` tickets of its service before it is called.

    ahead == the number waiting means a ticket issued now (the kiosk's estimate).
    """
    code = service["code"]
    fc = forecast(db, now, day, sample, policy)
    shift = _minutes_between(now, fc.now)  # the forecast may be a few seconds old
    picks = fc.picks.get(code, [])
    ahead = max(int(ahead), 0)
    if ahead < len(picks) and not (fc.truncated and ahead == len(picks) - 1):
        return _round(picks[ahead] - shift)
    if ahead == len(picks) and fc.new.get(code) is not None and not fc.truncated:
        return _round(fc.new[code] - shift)
    # Beyond the forecast: the simple model from the last known point.
    m = fc.minutes.get(code) or handling_minutes(db, service, now, sample)
    c = fc.capacity.get(code)
    if c is None:
        c = fc.capacity[code] = capacity(db, code, day)
    if ahead > len(picks) and fc.new.get(code) is not None and not fc.truncated:
        # walk-ins issued since the forecast: after the phantom, one step each
        return _round(fc.new[code] - shift + (ahead - len(picks)) * m / max(c, 0.25))
    if picks:
        return _round(picks[-1] - shift + (ahead - len(picks) + 1) * m / max(c, 0.25))
    return eta_minutes(ahead, m, c)


def _round(minutes: float) -> int:
    return max(0, int(round(minutes)))
