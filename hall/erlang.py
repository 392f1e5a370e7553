"""Erlang C (the M/M/c queue), written once: the staffing planner (supervisor/planner.py)
and the simulation bench (bench/simulate.py) both use it.

What it assumes: arrivals are a Poisson stream at a steady rate (per hour here, the
planner's forecast for that hour), handling times are exponential with the given mean,
c identical windows take from one FIFO queue, nobody leaves the queue, and the hour is
long enough for the queue to settle (a stationary queue: it does not carry a backlog
from the hour before). Real halls break several of these (lognormal handling, the
morning peak's backlog, windows that help other services), which the bench measures.
"""

from __future__ import annotations

import math


def erlang_c(servers: int, load: float) -> float:
    """The probability that an arrival has to wait (load = arrival rate x mean handling,
    in erlangs); 1.0 when the load is not below the number of servers."""
    if servers <= 0 or load >= servers:
        return 1.0
    if load <= 0:
        return 0.0
    # Erlang B by its stable recursion, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1 - b))


def mean_wait(rate: float, handling: float, servers: int) -> float:
    """Mean wait in the queue (same time unit as `handling`; `rate` per that unit);
    inf when the load is not below the number of servers."""
    load = rate * handling
    if load <= 0:
        return 0.0
    if servers <= 0 or load >= servers:
        return math.inf
    return erlang_c(servers, load) * handling / (servers - load)


def service_level(rate: float, handling: float, servers: int, target: float) -> float:
    """Share of arrivals called within `target` (same unit as handling)."""
    load = rate * handling
    if load <= 0:
        return 1.0
    if servers <= 0 or load >= servers:
        return 0.0
    p_wait = erlang_c(servers, load)
    return 1.0 - p_wait * math.exp(-(servers - load) * target / handling)


def servers_needed(
    rate: float, handling: float, target: float, goal: float, limit: int = 200
) -> int:
    """The fewest windows that call at least `goal` of the arrivals within `target`
    (0 when nobody comes; `limit` if even that many would not)."""
    if rate <= 0 or handling <= 0:
        return 0
    c = max(1, math.floor(rate * handling) + 1)
    while c < limit and service_level(rate, handling, c, target) < goal:
        c += 1
    return c
