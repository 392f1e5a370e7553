"""Audit search: the audit_log (logins, windows, follow-ups, admin changes) and, when a
ticket or a user is asked for, that ticket's or user's entries in ticket_events."""

from __future__ import annotations

import json
import re
from datetime import date

from hall.errors import Invalid
from hall.stats import day_bounds

NUMBER_RE = re.compile(r"[A-Za-z]\d{1,4}")
ACTION_CN = {
    "login": "登录",
    "open": "签到开窗",
    "pause": "暂停服务",
    "close": "签退",
    "force_close": "强制签退",
    "rating_callback": "差评回访",
    "rating_rectified": "差评整改完成",
    "rating_appeal": "差评申诉撤销",
    "service_create": "新增业务",
    "service_update": "修改业务",
    "window_create": "新增窗口",
    "window_update": "修改窗口",
    "user_create": "新增用户",
    "user_update": "修改用户",
    "call_chosen": "选号叫号",
    "appointment_capacity": "按预测设置预约号源",
    # ticket_events kinds
    "issued": "取号",
    "called": "叫号",
    "serving": "开始办理",
    "no_show": "过号",
    "requeued": "重新排队",
    "arrived": "到场签到",
    "finished": "办结",
    "transferred": "转办",
    "cancelled": "取消",
    "parked": "挂起",
    "resumed": "恢复办理",
    "advanced": "一件事下一步",
    "rated": "评价",
    "unrated": "未评价",
}


def resolve_tickets(db, ticket: str, start: date | None, end: date | None) -> list[dict]:
    """A ticket by id ("123" or "#123") or by number ("A001", on the days given)."""
    ticket = ticket.strip()
    if ticket.lstrip("#").isdigit() and len(ticket) <= 12:
        return list(
            db.query("SELECT id, number, day FROM tickets WHERE id = ?", [int(ticket.lstrip("#"))])
        )
    if NUMBER_RE.fullmatch(ticket):
        number = ticket[0].upper() + ticket[1:].zfill(3)
        sql, params = "SELECT id, number, day FROM tickets WHERE number = ?", [number]
        if start:
            sql += " AND day >= ?"
            params.append(start.isoformat())
        if end:
            sql += " AND day <= ?"
            params.append(end.isoformat())
        return list(db.query(sql + " ORDER BY id DESC LIMIT 50", params))
    raise Invalid("票号须为号码(如A001)或编号 (ticket: a number like A001 or an id)")


def search(
    hall,
    *,
    ticket: str | None = None,
    user: str | None = None,
    action: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 200,
) -> list[dict]:
    db = hall.store.db()
    read = hall.engine.read
    where_a, params_a = ["1 = 1"], []
    where_e, params_e = ["1 = 1"], []
    if start or end:
        lo, hi = day_bounds(hall, start or date(2000, 1, 1), end or date(2999, 12, 31))
        where_a.append("a.at >= ? AND a.at < ?")
        params_a += [lo, hi]
        where_e.append("e.at >= ? AND e.at < ?")
        params_e += [lo, hi]
    include_events = False
    tickets: dict[int, dict] = {}
    if ticket:
        tickets = {t["id"]: t for t in resolve_tickets(db, ticket, start, end)}
        if not tickets:
            return []
        marks = ", ".join("?" for _ in tickets)
        where_a.append(
            f"(a.target IN ({marks}) OR json_extract(a.details, '$.ticket_id') IN ({marks}))"
        )
        params_a += [f"ticket:{i}" for i in tickets] + list(tickets)
        where_e.append(f"e.ticket_id IN ({marks})")
        params_e += list(tickets)
        include_events = True
    if user:
        user = user.strip()[:64]
        where_a.append("(a.actor = ? OR a.target = ?)")
        params_a += [user, f"user:{user}"]
        where_e.append("e.actor = ?")
        params_e.append(user)
        include_events = True
    if action:
        action = action.strip()[:32]
        where_a.append("a.action = ?")
        params_a.append(action)
        where_e.append("e.kind = ?")
        params_e.append(action)
    entries = []
    for a in db.query(
        f"SELECT a.* FROM audit_log a WHERE {' AND '.join(where_a)} ORDER BY a.at DESC, "
        f"a.id DESC LIMIT ?",
        params_a + [limit],
    ):
        entries.append(
            {
                "source": "audit",
                "id": a["id"],
                "at": read.local_iso(a["at"]),
                "_sort": (a["at"], 1, a["id"]),
                "actor": a["actor"],
                "action": a["action"],
                "action_name": ACTION_CN.get(a["action"], a["action"]),
                "target": a["target"],
                "details": json.loads(a["details"] or "{}"),
            }
        )
    if include_events:
        for e in db.query(
            f"SELECT e.*, t.number, t.day FROM ticket_events e JOIN tickets t "
            f"ON t.id = e.ticket_id WHERE {' AND '.join(where_e)} ORDER BY e.at DESC, "
            f"e.id DESC LIMIT ?",
            params_e + [limit],
        ):
            details = json.loads(e["details"] or "{}")
            if e["window"] is not None:
                details = {"window": e["window"], **details}
            entries.append(
                {
                    "source": "ticket",
                    "id": e["id"],
                    "at": read.local_iso(e["at"]),
                    "_sort": (e["at"], 0, e["id"]),
                    "actor": e["actor"],
                    "action": e["kind"],
                    "action_name": ACTION_CN.get(e["kind"], e["kind"]),
                    "target": f"ticket:{e['ticket_id']}",
                    "number": e["number"],
                    "day": e["day"],
                    "details": details,
                }
            )
    entries.sort(key=lambda x: x["_sort"], reverse=True)
    for x in entries:
        del x["_sort"]
    return entries[:limit]
