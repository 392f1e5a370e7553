"""好差评 follow-up: open -> called_back (回访) -> rectified (整改), or appealed (申诉).

Not a ticket transition: it changes only ratings.status, appends one rating_followups row
and one audit_log row, all in one transaction per step. Deadlines count working days
(hall.hours.add_working_days: weekends and [hours] holidays skipped, workdays counted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from hall import events as ev
from hall.clock import from_iso, to_iso
from hall.errors import Conflict, Invalid, NotFound
from hall.vocabulary import BAD_SCORES, SCORES_CN

STATUSES = ("none", "open", "called_back", "rectified", "appealed")
# action -> (statuses it may start from, status it leads to)
ACTIONS = {
    "callback": (("open",), "called_back"),
    "rectified": (("called_back",), "rectified"),
    "appeal": (("open", "called_back"), "appealed"),
}
ACTION_CN = {"callback": "回访", "rectified": "整改完成", "appeal": "申诉撤销"}
STATUS_CN = {
    "none": "无需跟进",
    "open": "待回访",
    "called_back": "已回访·整改中",
    "rectified": "已整改",
    "appealed": "申诉撤销",
}
SCORE_CN = SCORES_CN
NOTE_MAX = 500


def today(hall) -> date:
    return hall.hours.local(hall.clock.now()).date()


def rated_day(hall, rating: dict) -> date | None:
    at = from_iso(rating["rated_at"])
    return hall.hours.local(at).date() if at else None


def callback_deadline(hall, rating: dict) -> date | None:
    if rating["score"] not in BAD_SCORES:
        return None
    day = rated_day(hall, rating)
    return hall.hours.add_working_days(day, hall.cfg.ratings["callback_days"]) if day else None


def overdue(hall, rating: dict, on: date | None = None) -> str | None:
    """'rectify' when the rectification deadline passed, 'callback' when the call back is late."""
    on = on or today(hall)
    status = rating["status"]
    if status not in ("open", "called_back"):
        return None
    if rating["deadline"] and on > date.fromisoformat(rating["deadline"]):
        return "rectify"
    cb = callback_deadline(hall, rating)
    if status == "open" and cb and on > cb:
        return "callback"
    return None


RATING_SQL = (
    "SELECT r.*, t.number, t.day, s.name AS service_name, s.department, "
    "u.display_name AS clerk_name FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
    "LEFT JOIN services s ON s.code = r.service LEFT JOIN users u ON u.username = r.clerk"
)


def history(db, rating_id: int, read) -> list[dict]:
    return [
        {
            "action": h["action"],
            "action_name": ACTION_CN.get(h["action"], h["action"]),
            "from_status": h["from_status"],
            "to_status": h["to_status"],
            "note": h["note"],
            "actor": h["actor"],
            "at": read.local_iso(h["at"]),
        }
        for h in db.query(
            "SELECT * FROM rating_followups WHERE rating_id = ? ORDER BY id", [rating_id]
        )
    ]


def rating_json(hall, db, row: dict, on: date | None = None, with_history: bool = True) -> dict:
    read = hall.engine.read
    cb = callback_deadline(hall, row)
    out = {
        "id": row["id"],
        "ticket_id": row["ticket_id"],
        "number": row["number"],
        "day": row["day"],
        "service": row["service"],
        "service_name": row.get("service_name") or row["service"],
        "department": row.get("department"),
        "window": row["window"],
        "clerk": row["clerk"],
        "clerk_name": row.get("clerk_name") or row["clerk"],
        "score": row["score"],
        "score_name": SCORE_CN.get(row["score"], "未评价"),
        "bad": row["score"] in BAD_SCORES,
        "reasons": json.loads(row["reasons"] or "[]"),
        "comment": row["comment"] or "",
        "channel": row["channel"],
        "rated_at": read.local_iso(row["rated_at"]),
        "status": row["status"],
        "status_name": STATUS_CN.get(row["status"], row["status"]),
        "deadline": row["deadline"],
        "callback_deadline": cb.isoformat() if cb else None,
        "overdue": overdue(hall, row, on),
    }
    if with_history:
        out["history"] = history(db, row["id"], read)
    return out


def list_ratings(
    hall,
    *,
    bad: bool = False,
    statuses: tuple[str, ...] = (),
    start: date | None = None,
    end: date | None = None,
    overdue_only: bool = False,
    service: str | None = None,
    limit: int = 500,
) -> list[dict]:
    """Ratings newest first; dates are hall-local days of rated_at."""
    from hall.stats import day_bounds

    db = hall.store.db()
    sql, params = RATING_SQL + " WHERE 1 = 1", []
    if bad:
        sql += " AND r.score IN (1, 2)"
    if statuses:
        sql += f" AND r.status IN ({', '.join('?' for _ in statuses)})"
        params += list(statuses)
    if service:
        sql += " AND r.service = ?"
        params.append(service)
    if start or end:
        lo, hi = day_bounds(hall, start or date(2000, 1, 1), end or date(2999, 12, 31))
        sql += " AND r.rated_at >= ? AND r.rated_at < ?"
        params += [lo, hi]
    sql += " ORDER BY r.rated_at DESC, r.id DESC"
    on = today(hall)
    out = []
    for row in db.query(sql, params):
        item = rating_json(hall, db, dict(row), on)
        if overdue_only and not item["overdue"]:
            continue
        out.append(item)
        if len(out) >= limit:
            break
    return out


def get_rating(hall, rating_id: int) -> dict:
    db = hall.store.db()
    rows = list(db.query(RATING_SQL + " WHERE r.id = ?", [rating_id]))
    if not rows:
        raise NotFound(f"没有这条评价 (no rating {rating_id})")
    return rating_json(hall, db, dict(rows[0]))


def follow_up(hall, rating_id: int, action: str, note: str, actor) -> dict:
    """One follow-up step in one transaction, audited; returns the rating as JSON."""
    if action not in ACTIONS:
        raise Invalid(
            "action须为callback、rectified或appeal (action must be callback|rectified|appeal)"
        )
    note = (note or "").strip()
    if not note:
        what = {"callback": "回访情况", "rectified": "整改措施", "appeal": "申诉理由"}[action]
        raise Invalid(f"请填写{what} (a note is required)")
    if len(note) > NOTE_MAX:
        raise Invalid(f"说明最多{NOTE_MAX}字 (note longer than {NOTE_MAX})")
    allowed, to_status = ACTIONS[action]
    now = hall.clock.now()
    with hall.store.write() as db:
        rows = list(db.query(RATING_SQL + " WHERE r.id = ?", [rating_id]))
        if not rows:
            raise NotFound(f"没有这条评价 (no rating {rating_id})")
        row = dict(rows[0])
        if row["score"] not in BAD_SCORES:
            raise Conflict("只有差评需要回访整改 (only bad ratings are followed up)")
        if row["status"] not in allowed:
            hint = "，请先回访" if action == "rectified" and row["status"] == "open" else ""
            raise Conflict(
                f"该差评当前为「{STATUS_CN.get(row['status'], row['status'])}」，不能{ACTION_CN[action]}"
                f"{hint} (cannot {action} a rating that is {row['status']})"
            )
        changed = db.execute(
            "UPDATE ratings SET status = ? WHERE id = ? AND status = ?",
            [to_status, rating_id, row["status"]],
        ).rowcount
        if changed != 1:
            raise Conflict("该差评刚被他人处理，请刷新 (changed meanwhile, reload)")
        db["rating_followups"].insert(
            {
                "rating_id": rating_id,
                "action": action,
                "from_status": row["status"],
                "to_status": to_status,
                "note": note,
                "actor": actor.username,
                "at": to_iso(now),
            }
        )
        hall.engine.audit(
            db,
            actor,
            f"rating_{action}",
            f"rating:{rating_id}",
            now,
            ticket_id=row["ticket_id"],
            number=row["number"],
            day=row["day"],
            score=row["score"],
            from_status=row["status"],
            to_status=to_status,
            note=note,
        )
        row["status"] = to_status
        result = rating_json(hall, db, row)
    _announce(hall, result, action, actor)
    return result


@dataclass(frozen=True)
class RatingFollowedUp(ev.Event):
    """A 差评 follow-up step was recorded (回访, 整改, 申诉): open boards refresh."""

    NAME = "followup"
    action: str
    rating_id: int
    number: str
    status: str
    actor: str


def _announce(hall, rating: dict, action: str, actor) -> None:
    """Tell open supervisor boards, through the bus like every change (the broadcaster
    sends every domain event to /supervisor as `event`)."""
    hall.bus.publish(
        RatingFollowedUp(
            at=hall.engine.read.local_iso(hall.now_iso()),
            action=action,
            rating_id=rating["id"],
            number=rating["number"],
            status=rating["status"],
            actor=actor.username,
        )
    )
