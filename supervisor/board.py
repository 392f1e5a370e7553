"""The live board's data: queues and their longest waits, windows, printers, alerts."""

from __future__ import annotations

import logging

from hall import backup, stats
from hall.clock import from_iso
from hall.interfaces import COUNTY_LINK, PRINTERS
from hall.vocabulary import WINDOW_STATE_CN

from . import followup, planner

log = logging.getLogger(__name__)
STATE_CN = {**WINDOW_STATE_CN, "paused": "暂停"}  # the board's columns are narrow


def printers(hall) -> list[dict]:
    """Kiosk printer states, the entries of GET /api/printers (the "printers" interface;
    [] when no face provides printers)."""
    provider = hall.faces.interface(PRINTERS)
    out = provider.statuses() if provider is not None else []
    for s in out:
        if s.get("paper_low") and s.get("status") == "ok":
            s["status_name"] = "纸将用完"
    return out


def county_link(hall) -> dict | None:
    """The site's link to its county centre (the "county_link" interface; None when the
    hall ships to no centre)."""
    provider = hall.faces.interface(COUNTY_LINK)
    return provider.status() if provider is not None else None


def board(hall) -> dict:
    db = hall.store.db()
    read = hall.engine.read
    now = hall.clock.now()
    day = read.today()
    today = hall.hours.local(now).date()
    names = {u["username"]: u["display_name"] for u in db.query("SELECT * FROM users")}
    services = read.services(db, active_only=False)
    by_code = {s["code"]: s for s in services}

    queues = {}
    for t in db.query(
        "SELECT id, number, service, priority, queued_at, issued_at FROM tickets "
        "WHERE status = 'waiting' AND day = ? ORDER BY queued_at, id",
        [day],
    ):
        q = queues.setdefault(t["service"], {"waiting": 0, "priority": 0, "oldest": None})
        q["waiting"] += 1
        q["priority"] += t["priority"]
        if q["oldest"] is None:
            q["oldest"] = t
    rows, alerts = [], []
    for s in services:
        q = queues.get(s["code"])
        if not s["active"] and not q:
            continue
        target_s = (s["target_wait_minutes"] or 0) * 60
        longest = since = number = None
        if q:
            since = read.local_iso(q["oldest"]["queued_at"])
            number = q["oldest"]["number"]
            longest = int((now - from_iso(q["oldest"]["queued_at"])).total_seconds())
        over = bool(longest is not None and target_s and longest > target_s)
        rows.append(
            {
                "code": s["code"],
                "name": s["name"],
                "department": s["department"],
                "active": bool(s["active"]),
                "waiting": q["waiting"] if q else 0,
                "priority": q["priority"] if q else 0,
                "oldest_number": number,
                "oldest_since": since,
                "longest_wait_s": longest,
                "target_s": target_s,
                "over": over,
            }
        )
        if over:
            alerts.append(
                {
                    "level": "red",
                    "kind": "wait",
                    "service": s["code"],
                    "text": f"{s['name']} {number} 已等候超过目标{s['target_wait_minutes']}分钟",
                    "since": since,
                    "target_s": target_s,
                }
            )

    windows = []
    for w in read.windows(db):
        j = read.window_json(db, w)
        cur = j["current"]
        if cur:
            svc = by_code.get(cur["service"])
            cur["service_name"] = svc["name"] if svc else cur["service"]
        j["clerk_name"] = names.get(j["clerk"]) or j["clerk"]
        j["state_name"] = STATE_CN.get(j["state"], j["state"])
        j["service_names"] = [by_code[c]["name"] for c in j["services"] if c in by_code]
        windows.append(j)

    summary = stats.compute(hall, today, today)
    summary.pop("by_weekday_hour", None)
    bad_today = followup.list_ratings(hall, bad=True, start=today, end=today, limit=8)
    open_bad = followup.list_ratings(hall, bad=True, statuses=("open", "called_back"), limit=500)
    overdue = [r for r in open_bad if r["overdue"]]
    for r in bad_today:
        if r["status"] in ("open", "called_back"):
            alerts.append(
                {
                    "level": "amber",
                    "kind": "bad_rating",
                    "rating_id": r["id"],
                    "text": f"差评：{r['number']} {r['service_name']} {r['window'] or ''}号窗口 "
                    f"{r['score_name']}（{'、'.join(r['reasons']) or r['comment'] or '未填原因'}）",
                    "at": r["rated_at"],
                }
            )
    for r in overdue:
        what = "回访" if r["overdue"] == "callback" else "整改"
        alerts.append(
            {
                "level": "red",
                "kind": "overdue",
                "rating_id": r["id"],
                "text": f"差评{what}超期：{r['day']} {r['number']} {r['service_name']}"
                f"（期限{r['callback_deadline'] if r['overdue'] == 'callback' else r['deadline']}）",
                "at": r["rated_at"],
            }
        )
    for a in planner.alerts(hall):  # 临时增开窗口: a queue its open windows cannot clear
        alerts.insert(0, {"level": "red", "kind": "staffing", **a})
    waiting_total = sum(r["waiting"] for r in rows)
    backups = backup.status(hall, db)
    if backups["last"] is not None and backups["warning"]:  # a new hall: shown, not alarmed
        alerts.append({"level": "amber", "kind": "backup", "text": backups["warning"]})
    link = county_link(hall)
    if link is not None and link["state"] in ("offline", "refused"):
        alerts.append(
            {
                "level": "amber",
                "kind": "county",
                "text": f"{link['state_name']}：{link['last_error'] or ''}",
            }
        )
    return {
        "calls": read.recent_calls(db, 8),
        "hall": hall.cfg.hall["name"],
        "at": read.local_iso(hall.now_iso()),
        "day": day,
        "services": rows,
        "windows": windows,
        "printers": printers(hall),
        "alerts": alerts,
        "today": summary,
        "waiting": waiting_total,
        "open_windows": sum(1 for w in windows if w["state"] == "open"),
        "bad_open": len(open_bad),
        "overdue": len(overdue),
        "backup": backups,
        "county": link,
    }
