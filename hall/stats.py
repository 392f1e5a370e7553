"""Supervisor figures, rebuilt from the append-only ticket_events log and the ratings table.

Population: the tickets *issued* in the hall-local days [start, end]. Every figure of a
ticket is attributed to where its event happened:

- `tickets` of a service/department: tickets issued for it (the queue the citizen joined);
  of a window/clerk: distinct tickets called there (so window totals may exceed the hall's).
- `called`, `no_show`, `served`, `transferred`, `cancelled`: distinct tickets with such an
  event, attributed to the ticket's service *at that moment* and the event's window/clerk.
  A ticket transferred SB -> YB is called under SB and under YB and served under YB.
- waits: wait = first call - issue, one sample per called ticket, attributed to the issue
  service, and the window and clerk of that first call. `service_level` = share of those
  samples with wait <= the service's `target_wait_minutes`.
- service time: finish - last call (a recall is a call) - time parked (挂起), per finished
  ticket, attributed to the service, window and clerk that finished it.
- 一件事 journeys: the visit counts once for the hall (one ticket, its first wait, one
  served at the last 办结); each later step's wait (its first call - the previous step's
  办结), its 办结 (served) and its handling time count under the step's service,
  department, window and clerk (handling times also in the hall's). `journeys`: per
  journey the visits and each step's figures (hall/journeys.py).
- ratings: from the ratings table, attributed to the rating's own service, window and
  clerk (who delivered the service). Appealed ratings are left out of every figure
  (only counted in `appealed`); `unrated` counts pad timeouts (score NULL).
- `by_hour`, `by_day`, `by_weekday_hour` group everything of a ticket by its issue time.

Rates are fractions 0..1 rounded to 4 places, seconds rounded to 0.1; a figure with no
sample is None. `p90_wait_s` uses the nearest-rank method (always an observed wait).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from . import journeys
from .clock import from_iso, to_iso
from .vocabulary import BAD_SCORES

GOOD_MIN = 3  # 非常满意, 满意, 基本满意 are good; 不满意, 非常不满意 are 差评
ALL = ("all", None)

FIGURE_KEYS = (
    "tickets",
    "called",
    "served",
    "no_show",
    "no_show_rate",
    "cancelled",
    "transferred",
    "avg_wait_s",
    "median_wait_s",
    "p90_wait_s",
    "max_wait_s",
    "avg_service_s",
    "service_level",
    "ratings",
)
RATING_KEYS = (
    "count",
    "unrated",
    "good_rate",
    "bad_count",
    "bad_rate",
    "rectified_rate",
    "avg_score",
    "appealed",
    "scores",
)


def day_bounds(hall, start: date, end: date) -> tuple[str, str]:
    tz = hall.cfg.tz
    lo = datetime.combine(start, time(0), tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)
    return to_iso(lo), to_iso(hi)


@dataclass
class TicketFact:
    """One ticket's life, rebuilt from its events."""

    id: int
    number: str
    day: str
    status: str
    priority: bool
    source: str
    service: str  # the service it was issued for
    final_service: str
    issued_at: datetime | None = None
    events: list[dict] = field(default_factory=list)
    calls: int = 0
    recalls: int = 0
    first_call: datetime | None = None
    first_window: int | None = None
    first_clerk: str | None = None
    last_call: datetime | None = None
    finished_at: datetime | None = None
    finish_window: int | None = None
    finish_clerk: str | None = None
    no_shows: int = 0
    requeues: int = 0
    transfers: list[dict] = field(default_factory=list)
    cancelled_at: datetime | None = None
    rating: dict | None = None
    journey: str | None = None
    parked_s: float = 0.0  # time parked (挂起) since the last call: not service time

    @property
    def wait_s(self) -> float | None:
        if self.first_call is None or self.issued_at is None:
            return None
        return (self.first_call - self.issued_at).total_seconds()

    @property
    def service_s(self) -> float | None:
        if self.finished_at is None or self.last_call is None:
            return None
        return (self.finished_at - self.last_call).total_seconds() - self.parked_s


def ticket_facts(hall, start: date, end: date) -> list[TicketFact]:
    """One TicketFact per ticket issued in the range, in issue order, with its rating."""
    lo, hi = day_bounds(hall, start, end)
    db = hall.store.db()
    ids_sql = "SELECT ticket_id FROM ticket_events WHERE kind = 'issued' AND at >= ? AND at < ?"
    facts: dict[int, TicketFact] = {}
    for t in db.query(
        f"SELECT id, number, day, status, priority, source, service, journey FROM tickets "
        f"WHERE id IN ({ids_sql}) ORDER BY id",
        [lo, hi],
    ):
        facts[t["id"]] = TicketFact(
            id=t["id"],
            number=t["number"],
            day=t["day"],
            status=t["status"],
            priority=bool(t["priority"]),
            source=t["source"] or "",
            service=t["service"],
            final_service=t["service"],
            journey=t["journey"],
        )
    for e in db.query(
        f"SELECT id, ticket_id, kind, window, actor, at, details FROM ticket_events "
        f"WHERE ticket_id IN ({ids_sql}) ORDER BY id",
        [lo, hi],
    ):
        f = facts.get(e["ticket_id"])
        if f is None:
            continue
        e = dict(e)
        e["at"] = from_iso(e["at"])
        e["details"] = json.loads(e["details"] or "{}")
        f.events.append(e)
    for f in facts.values():
        _replay(f)
    for r in db.query(
        f"SELECT * FROM ratings WHERE ticket_id IN ({ids_sql})",
        [lo, hi],
    ):
        f = facts.get(r["ticket_id"])
        if f is not None:
            f.rating = dict(r)
    return list(facts.values())


def _replay(f: TicketFact) -> None:
    # The issued event does not name the service; the first transfer's (or journey
    # step's) from_service does.
    first_move = next((e for e in f.events if e["kind"] in ("transferred", "advanced")), None)
    if first_move and first_move["details"].get("from_service"):
        f.service = first_move["details"]["from_service"]
    parked_since = None
    for e in f.events:
        kind, at = e["kind"], e["at"]
        if kind == "parked":
            parked_since = at
        elif kind == "resumed" and parked_since is not None:
            f.parked_s += (at - parked_since).total_seconds()
            parked_since = None
        if kind == "issued":
            f.issued_at = at
        elif kind == "called":
            f.calls += 1
            if e["details"].get("recall"):
                f.recalls += 1
            if f.first_call is None:
                f.first_call, f.first_window, f.first_clerk = at, e["window"], e["actor"]
            f.last_call = at
            f.parked_s = 0.0
        elif kind == "no_show":
            f.no_shows += 1
        elif kind == "requeued":
            f.requeues += 1
        elif kind == "finished":
            f.finished_at, f.finish_window, f.finish_clerk = at, e["window"], e["actor"]
        elif kind == "transferred":
            f.transfers.append(
                {**e["details"], "at": at, "window": e["window"], "actor": e["actor"]}
            )
        elif kind == "cancelled":
            f.cancelled_at = at


# --- accumulating ---------------------------------------------------------------------
class _Acc:
    __slots__ = (
        "tickets",
        "called",
        "served",
        "no_show",
        "cancelled",
        "transferred",
        "waits",
        "service",
        "ratings",
    )

    def __init__(self):
        self.tickets: set[int] = set()
        self.called: set[int] = set()
        self.served: set[int] = set()
        self.no_show: set[int] = set()
        self.cancelled: set[int] = set()
        self.transferred: set[int] = set()
        self.waits: list[tuple[float, float | None]] = []  # (wait seconds, target seconds)
        self.service: list[float] = []
        self.ratings: list[dict] = []


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _secs(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def nearest_rank(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def rating_figures(rows: list[dict]) -> dict:
    live = [r for r in rows if r["status"] != "appealed"]
    scored = [r["score"] for r in live if r["score"] is not None]
    bad = [r for r in live if r["score"] in BAD_SCORES]
    n = len(scored)
    return {
        "count": n,
        "unrated": sum(1 for r in live if r["score"] is None),
        "good_rate": _rate(sum(1 for s in scored if s >= GOOD_MIN), n),
        "bad_count": len(bad),
        "bad_rate": _rate(len(bad), n),
        "rectified_rate": _rate(sum(1 for r in bad if r["status"] == "rectified"), len(bad)),
        "avg_score": round(sum(scored) / n, 4) if n else None,
        "appealed": len(rows) - len(live),
        "scores": {str(s): scored.count(s) for s in (5, 4, 3, 2, 1)},
    }


def figures(acc: _Acc) -> dict:
    waits = sorted(w for w, _ in acc.waits)
    within = sum(1 for w, target in acc.waits if target is not None and w <= target)
    called = len(acc.called)
    return {
        "tickets": len(acc.tickets),
        "called": called,
        "served": len(acc.served),
        "no_show": len(acc.no_show),
        "no_show_rate": _rate(len(acc.no_show), called),
        "cancelled": len(acc.cancelled),
        "transferred": len(acc.transferred),
        "avg_wait_s": _secs(sum(waits) / len(waits)) if waits else None,
        "median_wait_s": _secs(statistics.median(waits)) if waits else None,
        "p90_wait_s": _secs(nearest_rank(waits, 90)),
        "max_wait_s": _secs(waits[-1]) if waits else None,
        "avg_service_s": _secs(sum(acc.service) / len(acc.service)) if acc.service else None,
        "service_level": _rate(within, len(acc.waits)),
        "ratings": rating_figures(acc.ratings),
    }


class _Groups(dict):
    def at(self, *keys):
        out = []
        for key in keys:
            if key[1] is None and key != ALL:
                continue
            acc = self.get(key)
            if acc is None:
                acc = self[key] = _Acc()
            out.append(acc)
        return out


class _Step:
    """Where a ticket is in its journey while its events are replayed: the wait of a
    later step (its first call - the previous step's 办结) and the handling time of a
    step (办结 - last call - time parked)."""

    def __init__(self, issued_at):
        self.entered = issued_at
        self.waiting = False  # in a later step's queue, not called yet
        self.last_call = None
        self.parked = 0.0
        self.parked_since = None
        self.wait_s: float | None = None
        self.service_s: float | None = None

    def see(self, e) -> None:
        kind, at = e["kind"], e["at"]
        self.wait_s = self.service_s = None
        if kind == "called":
            if self.waiting and not e["details"].get("recall"):
                self.wait_s = (at - self.entered).total_seconds()
                self.waiting = False
            self.last_call, self.parked = at, 0.0
        elif kind == "parked":
            self.parked_since = at
        elif kind == "resumed" and self.parked_since is not None:
            self.parked += (at - self.parked_since).total_seconds()
            self.parked_since = None
        elif kind == "advanced":
            if self.last_call is not None:
                self.service_s = (at - self.last_call).total_seconds() - self.parked
            self.entered, self.waiting = at, True
        elif kind in ("requeued", "transferred"):
            self.waiting = False


def _accumulate(facts: list[TicketFact], services: dict, tz) -> _Groups:
    groups = _Groups()

    def dept(code):
        svc = services.get(code)
        return svc["department"] if svc else None

    def target(code):
        svc = services.get(code)
        minutes = svc["target_wait_minutes"] if svc else None
        return minutes * 60 if minutes is not None else None

    for f in facts:
        if f.issued_at is None:
            continue
        local = f.issued_at.astimezone(tz)
        ticket_keys = (ALL, ("hour", local.hour), ("day", local.date().isoformat()))
        cur = f.service
        first_seen = False
        step = _Step(f.issued_at)
        for e in f.events:
            kind, win, actor = e["kind"], e["window"], e["actor"]
            step.see(e)
            where = ticket_keys + (("service", cur), ("department", dept(cur)))
            # window/clerk only for what happened at a window (not a cancel in the queue)
            at_window = (("window", win), ("clerk", actor)) if win is not None else ()
            if kind == "issued":
                for a in groups.at(*where):
                    a.tickets.add(f.id)
                groups.at(("weekday_hour", (local.weekday(), local.hour)))[0].tickets.add(f.id)
            elif kind == "called":
                for a in groups.at(*where):
                    a.called.add(f.id)
                for a in groups.at(*at_window):
                    a.tickets.add(f.id)
                    a.called.add(f.id)
                if not first_seen and f.wait_s is not None:
                    for a in groups.at(*where, *at_window):
                        a.waits.append((f.wait_s, target(cur)))
                elif step.wait_s is not None:  # a later journey step's own wait
                    for a in groups.at(("service", cur), ("department", dept(cur)), *at_window):
                        a.waits.append((step.wait_s, target(cur)))
                first_seen = True
            elif kind == "no_show":
                for a in groups.at(*where, *at_window):
                    a.no_show.add(f.id)
            elif kind == "finished":
                for a in groups.at(*where, *at_window):
                    a.served.add(f.id)
                    if f.service_s is not None:
                        a.service.append(f.service_s)
            elif kind == "advanced":  # a journey step done: served there, the visit goes on
                for a in groups.at(("service", cur), ("department", dept(cur)), *at_window):
                    a.served.add(f.id)
                if step.service_s is not None:
                    for a in groups.at(*where, *at_window):
                        a.service.append(step.service_s)
                cur = e["details"].get("to_service") or cur
            elif kind == "transferred":
                for a in groups.at(*where, *at_window):
                    a.transferred.add(f.id)
                cur = e["details"].get("to_service") or cur
            elif kind == "cancelled":
                for a in groups.at(*where, *at_window):
                    a.cancelled.add(f.id)
        if f.rating is not None:
            r = f.rating
            keys = ticket_keys + (
                ("service", r["service"]),
                ("department", dept(r["service"])),
                ("window", r["window"]),
                ("clerk", r["clerk"]),
            )
            for a in groups.at(*keys):
                a.ratings.append(r)
    return groups


def compute(hall, start: date, end: date) -> dict:
    """Every supervisor figure for the hall-local days start..end (inclusive)."""
    db = hall.store.db()
    facts = ticket_facts(hall, start, end)
    services = {s["code"]: s for s in db.query("SELECT * FROM services ORDER BY sort, code")}
    windows = {w["number"]: w for w in db.query("SELECT * FROM windows ORDER BY number")}
    names = {u["username"]: u["display_name"] for u in db.query("SELECT * FROM users")}
    tz = hall.cfg.tz
    groups = _accumulate(facts, services, tz)
    empty = _Acc()

    def fig(key):
        return figures(groups.get(key, empty))

    by_service, departments = [], {}
    for code, svc in services.items():
        if svc["active"] or ("service", code) in groups:
            by_service.append(
                {
                    "service": code,
                    "name": svc["name"],
                    "department": svc["department"],
                    "target_wait_minutes": svc["target_wait_minutes"],
                    **fig(("service", code)),
                }
            )
            departments.setdefault(svc["department"], []).append(code)
    by_department = [
        {"department": d, "services": codes, **fig(("department", d))}
        for d, codes in departments.items()
    ]
    by_window = [
        {"window": n, "name": w["name"], **fig(("window", n))}
        for n, w in windows.items()
        if w["active"] or ("window", n) in groups
    ]
    clerks = sorted(k[1] for k in groups if k[0] == "clerk")
    by_clerk = [{"clerk": c, "name": names.get(c) or c, **fig(("clerk", c))} for c in clerks]
    by_hour = [
        {"hour": h, **fig(("hour", h))} for h in sorted(k[1] for k in groups if k[0] == "hour")
    ]
    by_day = [{"day": d, **fig(("day", d))} for d in sorted(k[1] for k in groups if k[0] == "day")]
    by_weekday_hour = [
        {"weekday": k[1][0], "hour": k[1][1], "tickets": len(groups[k].tickets)}
        for k in sorted(k for k in groups if k[0] == "weekday_hour")
    ]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": hall.cfg.hall["timezone"],
        "generated_at": hall.engine.read.local_iso(to_iso(hall.clock.now())),
        **fig(ALL),
        "by_service": by_service,
        "by_department": by_department,
        "by_window": by_window,
        "by_clerk": by_clerk,
        "by_hour": by_hour,
        "by_day": by_day,
        "by_weekday_hour": by_weekday_hour,
        # 一件事: each journey's visits and its steps' waits and handling times.
        "journeys": journeys.figures(facts, services, hall.cfg),
        # Figures the faces add (Face.figures), e.g. "appointments" (预约办).
        **{key: fn(hall, start, end) for key, fn in hall.faces.figures()},
    }


# --- figures of several halls or days together (the county centre) --------------------
def accumulate(hall, start: date, end: date) -> dict:
    """The accumulators behind compute(): {group key: accumulator}, e.g. ALL or
    ("department", name). Their summaries (summary) over different days or halls put
    together (merged_figures) give exactly the figures of all those tickets: the days of
    one hall give compute() of their range."""
    db = hall.store.db()
    services = {s["code"]: s for s in db.query("SELECT * FROM services ORDER BY sort, code")}
    return dict(_accumulate(ticket_facts(hall, start, end), services, hall.cfg.tz))


_SETS = ("tickets", "called", "served", "no_show", "cancelled", "transferred")


class _Count:
    """len() of a set of ticket ids that is no longer kept (see summary)."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n


def summary(acc) -> dict:
    """An accumulator in short, as JSON: the sizes of its ticket sets and its samples.
    Summaries of disjoint sets of tickets (one hall's days; different halls) add up:
    merged_figures gives exactly figures() of all their tickets together."""
    return {
        "n": [len(getattr(acc, name)) for name in _SETS],
        "waits": [list(w) for w in acc.waits],
        "service": list(acc.service),
        "ratings": [{"score": r["score"], "status": r["status"]} for r in acc.ratings],
    }


def merged_figures(summaries) -> dict:
    """figures() of several summaries together (each of its own tickets)."""
    counts = [0] * len(_SETS)
    acc = _Acc()
    for s in summaries:
        for i, n in enumerate(s["n"]):
            counts[i] += n
        acc.waits += s["waits"]
        acc.service += s["service"]
        acc.ratings += s["ratings"]
    for name, n in zip(_SETS, counts, strict=True):
        setattr(acc, name, _Count(n))
    return figures(acc)
