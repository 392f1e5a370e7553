"""Every 差评 in the county (from the sites' copies), with its site, deadline and
follow-up state; overdue when its rectification deadline (ratings.deadline, set by the
site's own working-day calendar) has passed and it is not rectified or appealed."""

from __future__ import annotations

import json
from datetime import date

from hall.stats import day_bounds
from hall.vocabulary import SCORES_CN

from .centre import LEVEL_CN
from .figures import site_hall, site_today

STATUS_CN = {
    "none": "无需跟进",
    "open": "待回访",
    "called_back": "已回访·整改中",
    "rectified": "已整改",
    "appealed": "申诉撤销",
}
LIMIT = 2000


def county_bad_ratings(state, start: date, end: date, overdue_only=False, site_id=None) -> dict:
    items = []
    for site in state.sites():
        if site_id and site["id"] != site_id:
            continue
        if not state.replicas.exists(site["id"]):
            continue
        with state.replicas.read(site["id"]) as db:
            sh = site_hall(state, site, db)
            today = site_today(sh)
            lo, hi = day_bounds(sh, start, end)
            read = sh.engine.read
            for r in db.query(
                "SELECT r.*, t.number, t.day, s.name AS service_name, s.department, "
                "w.name AS window_name FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
                "LEFT JOIN services s ON s.code = r.service "
                "LEFT JOIN windows w ON w.number = r.window "
                "WHERE r.score IN (1, 2) AND r.rated_at >= ? AND r.rated_at < ? "
                "ORDER BY r.rated_at DESC",
                [lo, hi],
            ):
                open_ = r["status"] in ("open", "called_back")
                overdue = bool(
                    open_ and r["deadline"] and today > date.fromisoformat(r["deadline"])
                )
                if overdue_only and not overdue:
                    continue
                items.append(
                    {
                        "site": site["id"],
                        "site_name": site["name"],
                        "level": site["level"],
                        "level_name": LEVEL_CN.get(site["level"], site["level"]),
                        "rating_id": r["id"],
                        "number": r["number"],
                        "day": r["day"],
                        "service": r["service"],
                        "service_name": r["service_name"] or r["service"],
                        "department": r["department"],
                        "window": r["window"],
                        "window_name": r["window_name"],
                        "score": r["score"],
                        "score_name": SCORES_CN.get(r["score"]),
                        "reasons": json.loads(r["reasons"] or "[]"),
                        "comment": r["comment"] or "",
                        "rated_at": read.local_iso(r["rated_at"]),
                        "status": r["status"],
                        "status_name": STATUS_CN.get(r["status"], r["status"]),
                        "deadline": r["deadline"],
                        "overdue": overdue,
                    }
                )
    items.sort(key=lambda i: (not i["overdue"], i["deadline"] or "", i["site"]))
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "count": len(items),
        "overdue": sum(1 for i in items if i["overdue"]),
        "open": sum(1 for i in items if i["status"] in ("open", "called_back")),
        "items": items[:LIMIT],
    }
