"""一件事 journeys (多窗联办): one ticket, one number, through several services in order
([[journeys]]; docs/flow.md). The engine moves a ticket to its next step at 办结
(hall/engine/flow.py); this module reads a ticket's plan."""

from __future__ import annotations

import json


def journey_steps(t: dict) -> list[str]:
    """A journey ticket's steps (service codes) as issued; [] for an ordinary ticket."""
    if not t.get("journey"):
        return []
    try:
        steps = json.loads(t.get("journey_steps") or "[]")
    except ValueError:
        return []
    return [s for s in steps if isinstance(s, str)] if isinstance(steps, list) else []


def journey_next(t: dict) -> str | None:
    """The service of the ticket's next journey step, or None (last step, or no journey)."""
    steps = journey_steps(t)
    step = t.get("step") or 0
    return steps[step + 1] if step + 1 < len(steps) else None


def figures(facts, services: dict, cfg) -> list[dict]:
    """一件事 figures (the `journeys` key of /api/stats): per journey the visits (each
    counted once), how many went through every step, the visit's total time (issue to
    the last 办结) and, per step, its tickets, mean wait and mean handling time.

    A step's wait runs from the previous step's 办结 (the first step's from the issue) to
    the step's first call; its handling time from the last call to its 办结, less any
    time parked (挂起). `facts` are hall.stats.TicketFact."""
    out: dict[str, dict] = {}
    for f in facts:
        if not f.journey or f.issued_at is None:
            continue
        plan = cfg.journey(f.journey)
        j = out.setdefault(
            f.journey,
            {
                "journey": f.journey,
                "name": plan["name"] if plan else f.journey,
                "visits": 0,
                "completed": 0,
                "visit_s": [],
                "steps": {},
            },
        )
        j["visits"] += 1
        if f.status == "done" and f.finished_at is not None:
            j["completed"] += 1
            j["visit_s"].append((f.finished_at - f.issued_at).total_seconds())
        for i, (service, wait, handling) in enumerate(_step_times(f)):
            s = j["steps"].setdefault(i, {"service": service, "waits": [], "service_s": []})
            if wait is not None:
                s["waits"].append(wait)
            if handling is not None:
                s["service_s"].append(handling)
    result = []
    for j in out.values():
        steps = []
        for i in sorted(j["steps"]):
            s = j["steps"][i]
            svc = services.get(s["service"])
            steps.append(
                {
                    "step": i,
                    "service": s["service"],
                    "name": svc["name"] if svc else s["service"],
                    "called": len(s["waits"]),
                    "avg_wait_s": _mean(s["waits"]),
                    "served": len(s["service_s"]),
                    "avg_service_s": _mean(s["service_s"]),
                }
            )
        result.append(
            {
                "journey": j["journey"],
                "name": j["name"],
                "visits": j["visits"],
                "completed": j["completed"],
                "avg_visit_s": _mean(j["visit_s"]),
                "steps": steps,
            }
        )
    return result


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _step_times(f) -> list[tuple[str, float | None, float | None]]:
    """(service, wait, handling) of each step a journey ticket reached, from its events."""
    steps: list[list] = []
    entered, service, last_call, parked, parked_since = f.issued_at, f.service, None, 0.0, None
    current = [service, None, None]
    for e in f.events:
        kind, at = e["kind"], e["at"]
        if kind == "called" and not e["details"].get("recall"):
            if current[1] is None:
                current[1] = (at - entered).total_seconds()
            last_call, parked = at, 0.0
        elif kind == "parked":
            parked_since = at
        elif kind == "resumed" and parked_since is not None:
            parked += (at - parked_since).total_seconds()
            parked_since = None
        elif kind == "transferred":
            current[0] = e["details"].get("to_service") or current[0]
        elif kind in ("advanced", "finished") and last_call is not None:
            current[2] = (at - last_call).total_seconds() - parked
            steps.append(current)
            entered = at
            current = [e["details"].get("to_service") or current[0], None, None]
            last_call = None
    if current[1] is not None:  # called at its current step, not done yet
        steps.append(current)
    return [tuple(s) for s in steps]
