"""The wait forecast under queue.policy = "balanced" (hall/estimate.py calls it).

It replays hall/calling.py's balanced order forward in time, as the engine will apply it
at each call, not as it stands now: the relative wait of a ticket (wait / its service's
target) grows at a different rate per service (1/target per minute), so a new ticket of
a 10-minute-target service overtakes older tickets of a 20-minute one while they wait.
Freezing today's order (what the forecast did first) made those estimates too long for
the short targets and too short for the long ones.

At each moment a window is free it takes, as calling.order does:

1. a ticket transferred to that window (queue order);
2. a 绿色通道 ticket of a service it may serve (queue order);
3. the head of the queue with the longest relative wait (its oldest ticket's), among the
   window's primary services and its clerk's skills while a ticket of a primary service
   waits, among every service it may serve (secondary ones too) once none does.

Each service's queue is its waiting tickets in queue order, then the phantom (a ticket
issued now: the kiosk's "预计等候"; it takes no window time), then the walk-ins still to
come, one every 1/rate minutes (the last hour's walk-in rate): a future ticket is there
to be taken once it has arrived, and an idle window waits for the first to arrive.
The priority ratio (queue.priority_ratio) is not modelled: 绿色通道 tickets are few.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import datetime

from .clock import from_iso

_FAR = math.inf


@dataclass
class _Queue:
    """One service's ordinary queue: waiting tickets, the phantom, the stream."""

    target: float
    rate: float
    tickets: list[tuple[int, float]] = field(default_factory=list)  # (id, age at now)
    oldest: list[float] = field(default_factory=list)  # max age of tickets[i:]
    pos: int = 0
    phantom: bool = True  # the phantom has not been taken yet
    futures: int = 0  # stream tickets taken so far

    def finish(self) -> None:
        best = 0.0  # the phantom's age at now
        self.oldest = [0.0] * len(self.tickets)
        for i in range(len(self.tickets) - 1, -1, -1):
            best = max(best, self.tickets[i][1])
            self.oldest[i] = best

    def next_future(self) -> float:
        """Minutes from now at which the next stream ticket arrives."""
        return (self.futures + 1) / self.rate if self.rate > 0 else _FAR

    def head(self, t: float) -> tuple[str, float] | None:
        """What the queue offers at t: ("ticket" | "phantom" | "future", urgency)."""
        if self.pos < len(self.tickets):
            return "ticket", (self.oldest[self.pos] + t) / self.target
        if self.phantom:
            return "phantom", t / self.target
        arrives = self.next_future()
        if arrives <= t:
            return "future", (t - arrives) / self.target
        return None


def replay(
    now: datetime,
    waiting: list[dict],
    tiers: dict[int, dict[str, int]],
    skills: dict[int, set[str]],
    free_at: dict[int, float],
    minutes: dict[str, float],
    targets: dict[str, float],
    rate: dict[str, float],
    horizon: float,
) -> tuple[dict[int, float], dict[str, float]]:
    """Pick times (minutes from now) of the waiting tickets and of each service's
    phantom. tiers: {window: {service: 1 primary | 2 secondary}} of the working windows,
    skills: {window: its clerk's skills}; waiting: the rows of hall/estimate.py's query
    (queue order)."""
    windows = {
        n: {
            "primary": {c for c, tier in listed.items() if tier == 1},
            "secondary": {c for c, tier in listed.items() if tier != 1},
            "skills": skills.get(n, set()),
        }
        for n, listed in tiers.items()
    }

    def age(t: dict) -> float:
        return max((now - from_iso(t["queued_at"])).total_seconds() / 60, 0.0)

    codes = set(targets)
    queues = {c: _Queue(targets[c], rate.get(c, 0.0)) for c in codes}
    targeted: dict[int, list[int]] = {n: [] for n in windows}
    priority: list[tuple[int, str]] = []
    for t in waiting:  # already in (priority, lane, queued_at, id) order
        if t["target_window"] is not None:
            if t["target_window"] in targeted:
                targeted[t["target_window"]].append(t["id"])
        elif t["service"] not in queues:
            continue
        elif t["priority"]:
            priority.append((t["id"], t["service"]))
        else:
            queues[t["service"]].tickets.append((t["id"], age(t)))
    for q in queues.values():
        q.finish()
    serves = {n: w["primary"] | w["secondary"] | w["skills"] for n, w in windows.items()}
    service_of = {t["id"]: t["service"] for t in waiting}

    picked: dict[int, float] = {}
    new: dict[str, float] = {}
    prio_taken: set[int] = set()
    real = sum(len(v) for v in targeted.values()) + len(priority)
    real += sum(len(q.tickets) for q in queues.values())
    phantoms = sum(1 for c in codes if any(c in s for s in serves.values()))
    heap = [(free_at[n], n) for n in windows]
    heapq.heapify(heap)
    while heap and (len(picked) < real or len(new) < phantoms):
        t, n = heapq.heappop(heap)
        if t > horizon:
            break
        mine = targeted[n]
        if mine:
            tid = mine.pop(0)
            picked[tid] = t
            heapq.heappush(heap, (t + minutes.get(service_of[tid], 8.0), n))
            continue
        vip = next((p for p in priority if p[0] not in prio_taken and p[1] in serves[n]), None)
        if vip is not None:
            prio_taken.add(vip[0])
            picked[vip[0]] = t
            heapq.heappush(heap, (t + minutes.get(vip[1], 8.0), n))
            continue
        code, kind = _choose(queues, windows[n], serves[n], t)
        if code is None:
            # Idle until the first stream ticket it may take arrives (if any).
            wake = min((queues[c].next_future() for c in serves[n] if c in queues), default=_FAR)
            if wake < _FAR:
                heapq.heappush(heap, (max(wake, t), n))
            continue
        q = queues[code]
        if kind == "ticket":
            picked[q.tickets[q.pos][0]] = t
            q.pos += 1
            heapq.heappush(heap, (t + minutes.get(code, 8.0), n))
        elif kind == "phantom":
            q.phantom = False
            new[code] = t
            heapq.heappush(heap, (t, n))  # a phantom takes no window time
        else:
            q.futures += 1
            heapq.heappush(heap, (t + minutes.get(code, 8.0), n))
    return picked, new


def _choose(queues, window, serves, t):
    """(service, kind) the window takes at t among ordinary queues, or (None, None)."""
    offers = {}
    for c in serves:
        q = queues.get(c)
        offer = q.head(t) if q is not None else None
        if offer is not None:
            offers[c] = offer
    if not offers:
        return None, None
    # A phantom is not a ticket: it must not hold the window to its primary services.
    own = {c for c, (kind, _) in offers.items() if c in window["primary"] and kind != "phantom"}
    if own:
        pool = {c for c in offers if c in window["primary"] or c in window["skills"]}
    else:
        pool = set(offers)
    best = max(pool, key=lambda c: (offers[c][1], c in window["primary"], c))
    return best, offers[best][0]
