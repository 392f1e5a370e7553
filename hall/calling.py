"""The call-next order of a window, in one place: the engine's call_next takes the first
ticket of this order, the clerk's console lists its head ("next numbers"), and a clerk
may call a chosen ticket only among the ones it contains. README "Queue rules" and
docs/flow.md describe it.

Every policy keeps three promises: tickets transferred to the window come first, then
绿色通道 (priority) tickets, and a window's secondary services only when nothing else
is waiting for it. Inside one service's queue the order is the queue's own: lane (0
transferred to the service's head, 1 checked-in appointment, 2 walk-in), then the time
it (re)entered the queue (a journey's next step enters at its issue time). A ticket
taken away from the hall that must check in first (arrived = 0) keeps its place but is
skipped until it arrives.

- `configured` (queue.policy, the default): the window's primary services, the longest
  waiting first across them, then its secondary services (NEXT_FOR_WINDOW, hall/queries).
- `balanced`: the services the window's clerk is qualified for (users.skills) compete
  with the window's primary ones: the next ticket is the head of the service whose
  oldest ticket has waited longest *relative to that service's target* (wait /
  target_wait_minutes), so a window never idles while a queue it may serve runs over
  its target, and a service with a 10-minute target goes before one with 30 at equal
  waits. Once no ticket of its primary services waits, the skills and the secondary
  services compete the same way (a skill never pushes a secondary service out).
- queue.priority_ratio N > 0 (both policies): after N priority tickets in a row at a
  window, an ordinary ticket that has waited past its target goes before the next
  priority one (the first such ticket in the order above).
"""

from __future__ import annotations

import json
from datetime import datetime

from .clock import from_iso

# The configured order, as SQL (the fast path: one indexed query with a LIMIT).
NEXT_FOR_WINDOW = (
    "SELECT t.*, ws.tier AS tier FROM tickets t LEFT JOIN window_services ws "
    "ON ws.window = :w AND ws.service = t.service "
    "WHERE t.status = 'waiting' AND t.day = :day AND t.arrived = 1 AND (t.target_window = :w OR "
    "(t.target_window IS NULL AND ws.tier IS NOT NULL)) "
    "ORDER BY CASE WHEN t.target_window = :w THEN 0 WHEN t.priority = 1 THEN 1 "
    "WHEN ws.tier = 1 THEN 2 ELSE 3 END, t.lane, t.queued_at, t.id LIMIT :limit"
)

# Every waiting ticket a window may take (the policies order them in Python).
_CANDIDATES = (
    "SELECT t.*, ws.tier AS tier, s.target_wait_minutes AS target_minutes FROM tickets t "
    "LEFT JOIN window_services ws ON ws.window = ? AND ws.service = t.service "
    "LEFT JOIN services s ON s.code = t.service "
    "WHERE t.status = 'waiting' AND t.day = ? AND t.arrived = 1 AND (t.target_window = ? OR "
    "(t.target_window IS NULL AND (ws.tier IS NOT NULL OR t.service IN ({skills}))))"
)

# The first calls at a window today, newest first (a recall is not a new call).
_RECENT_CALLS = (
    "SELECT t.priority FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
    "WHERE e.kind = 'called' AND e.window = ? AND t.day = ? "
    "AND COALESCE(json_extract(e.details, '$.recall'), 0) = 0 ORDER BY e.id DESC LIMIT ?"
)


def clerk_skills(db, window: int) -> list[str]:
    """The services the clerk signed in at `window` is qualified for ([] if none)."""
    row = db.execute(
        "SELECT u.skills FROM windows w JOIN users u ON u.username = w.clerk "
        "WHERE w.number = ? AND w.state != 'closed'",
        [window],
    ).fetchone()
    return user_skills(row[0] if row else None)


def user_skills(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []


def priority_streak(db, window: int, day: str, ratio: int) -> int:
    """Priority tickets called in a row at the window, up to `ratio` back."""
    streak = 0
    for r in db.execute(_RECENT_CALLS, [window, day, ratio]).fetchall():
        if not r[0]:
            break
        streak += 1
    return streak


def _queue_key(t: dict) -> tuple:
    return (t["lane"], t["queued_at"], t["id"])


def _waited(t: dict, now: datetime) -> float:
    """Minutes since the ticket (re)entered its queue."""
    return (now - from_iso(t["queued_at"])).total_seconds() / 60


def _relative(t: dict, now: datetime) -> float:
    return _waited(t, now) / max(t["target_minutes"] or 0, 1)


def _balanced(tickets: list[dict], skills: frozenset[str], now: datetime) -> list[dict]:
    """Ordinary tickets in balanced order: repeatedly the head of the queue whose oldest
    ticket has the longest relative wait (the queue's own order inside), among the
    window's own services and its clerk's skills while an own ticket waits, and among
    the skills and the secondary services once none does."""
    queues: dict[str, list[dict]] = {}
    for t in sorted(tickets, key=_queue_key):
        queues.setdefault(t["service"], []).append(t)
    own = {c for c, q in queues.items() if q[0]["tier"] == 1}
    skill = {c for c in queues if c in skills and c not in own}
    urgency = {code: max(_relative(t, now) for t in q) for code, q in queues.items()}
    out = []
    while queues:
        pool = (own | skill) if own else set(queues)
        best = max(pool, key=lambda c: (urgency[c], c in own, c))
        head = queues[best].pop(0)
        out.append(head)
        if not queues[best]:
            del queues[best]
            own.discard(best)
            skill.discard(best)
        elif _relative(head, now) >= urgency[best]:
            urgency[best] = max(_relative(t, now) for t in queues[best])
    return out


def order(
    tickets: list[dict],
    window: int,
    now: datetime,
    *,
    policy: str,
    skills: frozenset[str] = frozenset(),
    ratio: int = 0,
    streak: int = 0,
) -> list[dict]:
    """The candidates of a window in calling order (the rules in this module's doc).

    A ticket's `tier` is 1 (primary), 2 (secondary) or None (a service the clerk is
    qualified for that the window does not list)."""
    targeted = sorted((t for t in tickets if t["target_window"] == window), key=_queue_key)
    rest = [t for t in tickets if t["target_window"] != window]
    priority = sorted((t for t in rest if t["priority"]), key=_queue_key)
    ordinary = [t for t in rest if not t["priority"]]
    if policy == "balanced":
        seq = _balanced(ordinary, skills, now)
    else:
        seq = sorted(ordinary, key=lambda t: (0 if t["tier"] == 1 else 1, *_queue_key(t)))
    out = targeted
    while priority or seq:
        overdue = None
        if priority and ratio and streak >= ratio:
            overdue = next(
                (i for i, t in enumerate(seq) if _waited(t, now) > (t["target_minutes"] or 0)),
                None,
            )
        if priority and overdue is None:
            out.append(priority.pop(0))
            streak += 1
        else:
            out.append(seq.pop(overdue or 0))
            streak = 0
    return out


def next_for_window(read, db, window: int, limit: int, day: str) -> list[dict]:
    """The waiting tickets `window` would call next, in calling order (at most limit)."""
    queue = read.cfg.queue
    policy, ratio = queue["policy"], queue["priority_ratio"]
    skills: list[str] = clerk_skills(db, window) if policy == "balanced" else []
    streak = priority_streak(db, window, day, ratio) if ratio else 0
    if policy == "configured" and (not ratio or streak < ratio):
        # The ratio cannot bite before the next call: the plain configured order.
        return list(db.query(NEXT_FOR_WINDOW, {"w": window, "day": day, "limit": limit}))
    return candidates_in_order(read, db, window, day, skills, ratio, streak)[:limit]


def candidates_in_order(read, db, window, day, skills, ratio, streak) -> list[dict]:
    sql = _CANDIDATES.format(skills=", ".join("?" for _ in skills) or "NULL")
    rows = [dict(r) for r in db.query(sql, [window, day, window, *skills])]
    return order(
        rows,
        window,
        read.clock.now(),
        policy=read.cfg.queue["policy"],
        skills=frozenset(skills),
        ratio=ratio,
        streak=streak,
    )


def may_call(read, db, window: int, ticket: dict) -> bool:
    """Whether `window` (its services, or its clerk's skills) may call this waiting ticket
    by choice (队列外叫号), whatever the policy."""
    if ticket["target_window"] is not None:
        return ticket["target_window"] == window
    tier = db.execute(
        "SELECT tier FROM window_services WHERE window = ? AND service = ?",
        [window, ticket["service"]],
    ).fetchone()
    return tier is not None or ticket["service"] in clerk_skills(db, window)
