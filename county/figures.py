"""The county's figures, from the sites' copies through the hall's own code.

- a site's figures for any range: hall.stats.compute on its copy (SiteHall), the same
  answer the site's /api/stats gives once its records have arrived;
- the overview row of a site (the /county page): today's figures plus the live queue
  (waiting, windows open, longest wait) and the link state;
- rankings over a range: each site's figures (sites ranked within their level) and the
  departments county-wide, ranked by hall.ranking, the definitions the hall's own
  督查考评 page uses. They are put together from per-site, per-day accumulators
  (hall.stats.accumulate / merged_figures): the days of a site add up exactly to its
  range, and a site-day is computed once after its records arrive (DayCache).
"""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

from hall import ranking, stats
from hall.clock import from_iso
from hall.stats import ALL

from .centre import LEVEL_CN, LEVELS
from .replica import SiteHall


def site_hall(state, site: dict, db) -> SiteHall:
    return SiteHall(db, state.hall.clock, site["id"], site.get("timezone") or None, site["name"])


def site_stats(state, site: dict, start: date, end: date) -> dict:
    """/api/stats of a site, computed at the centre from its copy."""
    with state.replicas.read(site["id"]) as db:
        return stats.compute(site_hall(state, site, db), start, end)


def site_today(sh: SiteHall) -> date:
    return sh.clock.now().astimezone(sh.cfg.tz).date()


def pct(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def dur(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}时{seconds % 3600 // 60:02d}分"
    return f"{seconds // 60}分{seconds % 60:02d}秒"


def shown(row: dict) -> dict:
    """The texts a site's overview row shows (the page and county.js write them as
    they are: no rule of the server is repeated in the browser)."""
    since = row["offline_since"]
    return {
        "waiting": str(row["waiting"]),
        "windows": f"{row['windows_open']}/{row['windows']}",
        "longest": dur(row["longest_wait_s"]),
        "tickets": str(row["tickets"]),
        "served": str(row["served"]),
        "service_level": pct(row["service_level"]),
        "bad": str(row["bad_count"]),
        "good_rate": pct(row["good_rate"]),
        "link": row["link_name"] + (f"（{since[5:16].replace('T', ' ')}起）" if since else ""),
        "seen": (row["last_seen_at"] or "—")[5:16].replace("T", " "),
    }


def link_state(hall, site: dict) -> dict:
    """online | offline (not heard from for [county] offline_after_seconds) | never."""
    seen = from_iso(site["last_seen_at"])
    read = hall.engine.read
    if not site["active"]:
        return {"link": "disabled", "link_name": "已停用", "offline_since": None}
    if seen is None:
        return {"link": "never", "link_name": "未连接", "offline_since": None}
    limit = hall.cfg.sections["county"]["offline_after_seconds"]
    if (hall.clock.now() - seen).total_seconds() > limit:
        return {
            "link": "offline",
            "link_name": "离线",
            "offline_since": read.local_iso(site["last_seen_at"]),
        }
    return {"link": "online", "link_name": "在线", "offline_since": None}


def overview_row(state, site: dict) -> dict:
    """One site at a glance (the /county table and its live `site` message)."""
    hall = state.hall
    row = {
        "id": site["id"],
        "name": site["name"],
        "level": site["level"],
        "level_name": LEVEL_CN.get(site["level"], site["level"]),
        **link_state(hall, site),
        "last_seen_at": hall.engine.read.local_iso(site["last_seen_at"]),
        "last_error": site["last_error"] or None,
        "waiting": 0,
        "windows_open": 0,
        "windows": 0,
        "longest_wait_s": None,
        "tickets": 0,
        "served": 0,
        "service_level": None,
        "bad_count": 0,
        "good_rate": None,
    }
    if not state.replicas.exists(site["id"]):
        row["show"] = shown(row)
        return row
    with state.replicas.read(site["id"]) as db:
        sh = site_hall(state, site, db)
        today = site_today(sh)
        figs = stats.compute(sh, today, today)
        now = hall.clock.now()
        waiting = list(
            db.query(
                "SELECT issued_at, queued_at FROM tickets WHERE status = 'waiting' AND day = ?",
                [today.isoformat()],
            )
        )
        oldest = min((from_iso(t["issued_at"]) for t in waiting), default=None)
        wins = list(db.query("SELECT state FROM windows WHERE active = 1"))
    row.update(
        waiting=len(waiting),
        windows_open=sum(1 for w in wins if w["state"] != "closed"),
        windows=len(wins),
        longest_wait_s=round((now - oldest).total_seconds()) if oldest else None,
        tickets=figs["tickets"],
        served=figs["served"],
        service_level=figs["service_level"],
        bad_count=figs["ratings"]["bad_count"],
        good_rate=figs["ratings"]["good_rate"],
        day=today.isoformat(),
    )
    row["show"] = shown(row)
    return row


# --- rankings --------------------------------------------------------------------------------
CACHE_VERSION = 1  # of the summaries kept in the copies (hall.stats.summary's shape)


class DayCache:
    """(site, day) -> summaries of that day's tickets ({"*": the day, department: its
    part}, hall.stats.summary), computed once and kept in memory and in the site's copy
    (county_day_cache), so a restart does not compute them again. A batch that touches
    a day deletes its row in the same transaction (county/replica.py) and drops it here
    (touch); the overview thread computes it again in the background (warm)."""

    def __init__(self):
        self._data: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()
        self.computed = 0

    def touch(self, site_id: str, days) -> None:
        with self._lock:
            for d in days:
                self._data.pop((site_id, d), None)

    def drop_site(self, site_id: str) -> None:
        with self._lock:
            for k in [k for k in self._data if k[0] == site_id]:
                del self._data[k]

    def get(self, state, site: dict, days: list[date]) -> dict[str, dict]:
        """{day: summaries} for the days asked (read or computed for those missing)."""
        out, missing = {}, []
        with self._lock:
            for d in days:
                v = self._data.get((site["id"], d.isoformat()))
                if v is None:
                    missing.append(d.isoformat())
                else:
                    out[d.isoformat()] = v
        if not missing or not state.replicas.exists(site["id"]):
            return out
        # Under the copy's lock: a batch touching one of these days waits, then drops it.
        with state.replicas.write(site["id"]) as db:
            stored = {
                r["day"]: data["groups"]
                for r in db.query(
                    f"SELECT day, data FROM county_day_cache WHERE day IN "
                    f"({', '.join('?' for _ in missing)})",
                    missing,
                )
                if (data := json.loads(r["data"])).get("v") == CACHE_VERSION
            }
            todo = [d for d in missing if d not in stored]
            if todo:
                # A day without tickets has nothing to sum up (weekends, holidays).
                busy = {
                    r["day"]
                    for r in db.query(
                        f"SELECT DISTINCT day FROM tickets WHERE day IN "
                        f"({', '.join('?' for _ in todo)})",
                        todo,
                    )
                }
                stored.update({d: {} for d in todo if d not in busy})
                stored.update(self._compute(state, site, db, [d for d in todo if d in busy]))
            with self._lock:
                for d, v in stored.items():
                    self._data[(site["id"], d)] = v
        out.update(stored)
        return out

    def _compute(self, state, site: dict, db, days: list[str]) -> dict[str, dict]:
        out = {}
        sh = site_hall(state, site, db)
        for d in days:
            day = date.fromisoformat(d)
            groups = stats.accumulate(sh, day, day)
            out[d] = {
                ("*" if k == ALL else k[1]): stats.summary(v)
                for k, v in groups.items()
                if k == ALL or k[0] == "department"
            }
            db.execute(
                "INSERT OR REPLACE INTO county_day_cache (day, data) VALUES (?, ?)",
                [d, json.dumps({"v": CACHE_VERSION, "groups": out[d]}, ensure_ascii=False)],
            )
        self.computed += len(days)
        return out

    def __len__(self) -> int:
        return len(self._data)


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def rankings(state, start: date, end: date, sort: str = "overall") -> dict:
    """Sites ranked within their level, and departments county-wide, for [start, end]."""
    hall = state.hall
    sup = hall.cfg.sections.get("supervisor") or {}
    sl_goal = sup.get("service_level_goal", 0.85)
    good_goal = sup.get("good_rate_goal", 0.95)
    days = days_of(start, end)
    site_rows, dept_parts, dept_sites = [], {}, {}
    for site in state.sites():
        if not site["active"]:
            continue
        per_day = state.days.get(state, site, days)
        figs = stats.merged_figures([g["*"] for g in per_day.values() if "*" in g])
        site_rows.append(
            {
                "site": site["id"],
                "name": site["name"],
                "level": site["level"],
                "level_name": LEVEL_CN.get(site["level"], site["level"]),
                **figs,
            }
        )
        for g in per_day.values():
            for k, part in g.items():
                if k != "*":
                    dept_parts.setdefault(k, []).append(part)
        for d in state.departments(site):  # offered, if without a ticket in the range
            dept_parts.setdefault(d, [])
            dept_sites.setdefault(d, set()).add(site["id"])
    levels = {}
    for level in LEVELS:
        rows = [r for r in site_rows if r["level"] == level]
        if not rows:
            continue
        rows = ranking.rank_rows(rows)
        rows.sort(key=ranking.sort_key(sort, "name"))
        ranking.mark(rows, sl_goal, good_goal)
        levels[level] = {"level": level, "level_name": LEVEL_CN[level], "sites": rows}
    depts = [
        {"department": d, "sites": len(dept_sites.get(d, ())), **stats.merged_figures(parts)}
        for d, parts in sorted(dept_parts.items())
    ]
    depts = ranking.rank_rows(depts)
    depts.sort(key=ranking.sort_key(sort, "department"))
    ranking.mark(depts, sl_goal, good_goal)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "sort": sort,
        "levels": list(levels.values()),
        "departments": depts,
        "generated_at": hall.engine.read.local_iso(hall.now_iso()),
    }
