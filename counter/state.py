"""Read side of the counter face: a window's console state and the guide desk lists.

Nothing here changes state (that is hall.engine's job). Shapes never carry a ticket token.
"""

from __future__ import annotations

import json

from hall import calling
from hall.clock import from_iso
from hall.vocabulary import STATUS_CN

WINDOW_STATE_CN = {"open": "服务中", "paused": "暂停服务", "closed": "未开窗"}


def seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, round((from_iso(end) - from_iso(start)).total_seconds()))


def fmt_duration(seconds: int | float | None) -> str:
    """12:05 style; hours shown only when needed."""
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def user_info(db, username: str | None) -> dict | None:
    if not username:
        return None
    rows = list(
        db.query(
            "SELECT username, display_name, staff_no, role, windows FROM users WHERE username = ?",
            [username],
        )
    )
    if not rows:
        return None
    u = rows[0]
    return {
        "username": u["username"],
        "display_name": u["display_name"] or u["username"],
        "staff_no": u["staff_no"] or "",
        "role": u["role"],
        "windows": json.loads(u["windows"] or "[]"),
    }


def next_for_window(hall, db, window: int, limit: int) -> list[dict]:
    """The next waiting tickets in the order call_next would take them (no tokens)."""
    rows = hall.engine.read.next_for_window(db, window, limit)
    return [
        {
            "id": r["id"],
            "number": r["number"],
            "service": r["service"],
            "priority": bool(r["priority"]),
            "transferred": r["target_window"] == window or r["lane"] == 0,
            "journey": bool(r["journey"]),
        }
        for r in rows
    ]


def callable_tickets(hall, db, window: int, limit: int = 100) -> list[dict]:
    """Every waiting ticket this window may call by choice (选号叫号): transferred to it,
    of its services, or of its clerk's skills, in calling order, with how long each has
    waited (no tokens)."""
    read = hall.engine.read
    day = read.today()
    ratio = hall.cfg.queue["priority_ratio"]
    streak = calling.priority_streak(db, window, day, ratio) if ratio else 0
    rows = calling.candidates_in_order(
        read, db, window, day, calling.clerk_skills(db, window), ratio, streak
    )[:limit]
    now = hall.now_iso()
    names = {s["code"]: s["name"] for s in read.services(db, active_only=False)}
    return [
        {
            "id": r["id"],
            "number": r["number"],
            "service": r["service"],
            "service_name": names.get(r["service"], r["service"]),
            "priority": bool(r["priority"]),
            "transferred": r["target_window"] == window or r["lane"] == 0,
            "journey": bool(r["journey"]),
            "skill": r["tier"] is None and r["target_window"] != window,
            "waited_seconds": seconds_between(r["queued_at"], now),
            "waited_text": fmt_duration(seconds_between(r["queued_at"], now)),
        }
        for r in rows
    ]


def parked_tickets(hall, db, window: int) -> list[dict]:
    """Tickets parked (挂起) at this window, oldest first, with the reason given."""
    read = hall.engine.read
    now = hall.now_iso()
    out = []
    for t in hall.engine.parked_at_window(db, window):
        svc = read.service(db, t["service"])
        reason = db.execute(
            "SELECT json_extract(details, '$.reason') FROM ticket_events WHERE ticket_id = ? "
            "AND kind = 'parked' ORDER BY id DESC LIMIT 1",
            [t["id"]],
        ).fetchone()
        out.append(
            {
                "id": t["id"],
                "number": t["number"],
                "service_name": svc["name"] if svc else t["service"],
                "reason": (reason[0] if reason else "") or "",
                "parked_at": read.local_iso(t["parked_at"]),
                "parked_text": fmt_duration(seconds_between(t["parked_at"], now)),
            }
        )
    return out


def window_queue(hall, db, window: int, limit: int) -> dict:
    read = hall.engine.read
    tiers = read.window_services(db, window)
    day = read.today()
    # Tickets sent to a given window (转窗) count there only, under transferred_in.
    counts = {
        r["service"]: r["n"]
        for r in db.query(
            "SELECT service, COUNT(*) AS n FROM tickets WHERE status = 'waiting' AND day = ? "
            "AND target_window IS NULL GROUP BY service",
            [day],
        )
    }
    services = []
    for tier, codes in (("primary", tiers["services"]), ("secondary", tiers["secondary"])):
        for code in codes:
            svc = read.service(db, code)
            services.append(
                {
                    "code": code,
                    "name": svc["name"] if svc else code,
                    "tier": tier,
                    "waiting": counts.get(code, 0),
                }
            )
    targeted = db.execute(
        "SELECT COUNT(*) FROM tickets WHERE status = 'waiting' AND day = ? AND target_window = ?",
        [day, window],
    ).fetchone()[0]
    nxt = next_for_window(hall, db, window, limit)
    for item in nxt:
        svc = next((s for s in services if s["code"] == item["service"]), None)
        item["service_name"] = svc["name"] if svc else item["service"]
    return {
        "services": services,
        "transferred_in": targeted,
        "total": sum(s["waiting"] for s in services) + targeted,
        "next": nxt,
    }


def window_stats(hall, db, window: int) -> dict:
    """Today's figures at this window: served, average service time, no-shows."""
    day = hall.engine.read.today()
    rows = list(
        db.query(
            "SELECT t.finished_at, (SELECT MIN(e.at) FROM ticket_events e WHERE "
            "e.ticket_id = t.id AND e.kind = 'called' AND e.window = :w) AS started "
            "FROM tickets t WHERE t.window = :w AND t.day = :day AND t.status = 'done'",
            {"w": window, "day": day},
        )
    )
    durations = [seconds_between(r["started"], r["finished_at"]) for r in rows]
    durations = [d for d in durations if d is not None]
    no_shows = db.execute(
        "SELECT COUNT(*) FROM tickets WHERE window = ? AND day = ? AND status = 'no_show'",
        [window, day],
    ).fetchone()[0]
    avg = round(sum(durations) / len(durations)) if durations else None
    return {
        "served": len(rows),
        "avg_service_seconds": avg,
        "avg_service_text": fmt_duration(avg),
        "no_show": no_shows,
    }


def current_json(hall, db, window: int) -> dict | None:
    read = hall.engine.read
    t = read.current_ticket(db, window)
    if t is None:
        return None
    svc = read.service(db, t["service"])
    called_here = db.execute(
        "SELECT MIN(at), COUNT(*) FROM ticket_events WHERE ticket_id = ? AND kind = 'called' "
        "AND window = ? AND id > COALESCE((SELECT MAX(id) FROM ticket_events WHERE "
        "ticket_id = ? AND kind IN ('transferred', 'requeued')), 0)",
        [t["id"], window, t["id"]],
    ).fetchone()
    first_here, calls_here = called_here[0] or t["last_called_at"], called_here[1]
    transfer = None
    rows = list(
        db.query(
            "SELECT window, details FROM ticket_events WHERE ticket_id = ? AND kind = "
            "'transferred' ORDER BY id DESC LIMIT 1",
            [t["id"]],
        )
    )
    if rows:
        d = json.loads(rows[0]["details"] or "{}")
        from_svc = read.service(db, d.get("from_service") or "")
        from_win = read.window(db, rows[0]["window"]) if rows[0]["window"] else None
        transfer = {
            "from_window": rows[0]["window"],
            "from_window_name": from_win["name"] if from_win else None,
            "from_service_name": from_svc["name"] if from_svc else None,
            "note": d.get("note") or "",
        }
    serving = t["status"] == "serving"
    return {
        "id": t["id"],
        "number": t["number"],
        "service": t["service"],
        "service_name": svc["name"] if svc else t["service"],
        "status": t["status"],
        "status_text": STATUS_CN.get(t["status"], t["status"]),
        "priority": bool(t["priority"]),
        "priority_reason": t["priority_reason"] or "",
        "source": t["source"],
        "requeues": t["requeues"],
        "issued_at": read.local_iso(t["issued_at"]),
        "called_at": read.local_iso(first_here),
        "last_called_at": read.local_iso(t["last_called_at"]),
        "serving_at": read.local_iso(t["serving_at"]) if serving else None,
        "waited_seconds": seconds_between(t["issued_at"], t["called_at"]),
        "waited_text": fmt_duration(seconds_between(t["issued_at"], t["called_at"])),
        "calls": calls_here,
        # The running timer: from 开始办理 when serving, else from the call at this window.
        "timer_start": read.local_iso(t["serving_at"] if serving else first_here),
        "timer_label": "办理计时" if serving else "叫号后",
        "transfer": transfer,
        "journey": read.journey_json(db, t),
    }


def window_state(hall, db, number: int, actor=None) -> dict | None:
    read = hall.engine.read
    w = read.window(db, number)
    if w is None or not w["active"]:
        return None
    limit = hall.cfg.counter["next_numbers"]
    clerk = user_info(db, w["clerk"])
    now = hall.now_iso()
    current = current_json(hall, db, number)
    return {
        "number": w["number"],
        "name": w["name"],
        "state": w["state"],
        "state_text": WINDOW_STATE_CN.get(w["state"], w["state"]),
        "pause_reason": w["pause_reason"] or "",
        "state_since": read.local_iso(w["state_since"]),
        "clerk": clerk["username"] if clerk else None,
        "clerk_name": clerk["display_name"] if clerk else None,
        "clerk_staff_no": clerk["staff_no"] if clerk else None,
        "mine": bool(actor and w["clerk"] == actor.username and w["state"] != "closed"),
        "current": current,
        "queue": window_queue(hall, db, number, limit),
        "parked": parked_tickets(hall, db, number),
        "stats": window_stats(hall, db, number),
        "now": read.local_iso(now),
    }


def signed_in_window(db, username: str) -> int | None:
    rows = list(
        db.query(
            "SELECT number FROM windows WHERE clerk = ? AND state != 'closed' AND active = 1 "
            "ORDER BY number LIMIT 1",
            [username],
        )
    )
    return rows[0]["number"] if rows else None


def windows_for(hall, db, actor) -> list[dict]:
    """Every active window with whether this actor may sign in there."""
    read = hall.engine.read
    out = []
    for w in read.windows(db):
        svc = read.window_services(db, w["number"])
        names = []
        for code in svc["services"] + svc["secondary"]:
            s = read.service(db, code)
            names.append(s["name"] if s else code)
        taken = bool(w["clerk"]) and w["state"] != "closed" and w["clerk"] != actor.username
        out.append(
            {
                "number": w["number"],
                "name": w["name"],
                "state": w["state"],
                "state_text": WINDOW_STATE_CN.get(w["state"], w["state"]),
                "clerk": w["clerk"],
                "services": names,
                "allowed": actor.may_use(w["number"]),
                "taken": taken,
            }
        )
    return out


def ticket_rows(hall, db, rows) -> list[dict]:
    """Guide-desk look-up rows: staff fields, no token."""
    read = hall.engine.read
    out = []
    for t in rows:
        j = read.ticket_json(db, t, staff=True)
        j["status_text"] = STATUS_CN.get(t["status"], t["status"])
        j["requeue_left"] = max(0, hall.cfg.queue["requeue_limit"] - t["requeues"])
        out.append(j)
    return out
