"""呼叫帮办: a kiosk asks for a guide; the alert stays at the guide desk until a guide
acknowledges it. One open alert per kiosk (asking again while one is open changes
nothing)."""

from __future__ import annotations

from hall.clock import to_iso
from hall.errors import Conflict, Invalid, NotFound

from .events import HelpChanged


def kiosk_label(kiosk: dict) -> str:
    return kiosk.get("name") or f"{kiosk['id']}号取号机"


def raise_alert(hall, kiosk_id) -> dict:
    kiosk = hall.cfg.kiosk(kiosk_id) if isinstance(kiosk_id, str) and len(kiosk_id) <= 32 else None
    if kiosk is None:
        raise Invalid("未知的取号机 (unknown kiosk)")
    now = hall.clock.now()

    def run(db, out):
        rows = db.execute(
            "SELECT id FROM help_requests WHERE kiosk = ? AND acked_at IS NULL", [kiosk["id"]]
        ).fetchall()
        if rows:
            return {"id": rows[0][0], "new": False}
        rid = (
            db["help_requests"]
            .insert(
                {
                    "kiosk": kiosk["id"],
                    "kiosk_name": kiosk_label(kiosk),
                    "day": hall.engine.read.today(),
                    "at": to_iso(now),
                }
            )
            .last_rowid
        )
        out.append(
            HelpChanged(
                at=to_iso(now), id=rid, kiosk=kiosk["id"], kiosk_name=kiosk_label(kiosk), open=True
            )
        )
        return {"id": rid, "new": True}

    return hall.engine.write(run)


def acknowledge(hall, alert_id: int, actor) -> dict:
    now = hall.clock.now()

    def run(db, out):
        rows = list(db.query("SELECT * FROM help_requests WHERE id = ?", [alert_id]))
        if not rows:
            raise NotFound("没有这条求助 (no such alert)")
        r = rows[0]
        if r["acked_at"]:
            raise Conflict(f"已由{r['acked_by']}响应 (already acknowledged)")
        db.execute(
            "UPDATE help_requests SET acked_at = ?, acked_by = ? WHERE id = ?",
            [to_iso(now), actor.username, alert_id],
        )
        hall.engine.audit(db, actor, "help_ack", f"kiosk:{r['kiosk']}", now)
        out.append(
            HelpChanged(
                at=to_iso(now),
                id=alert_id,
                kiosk=r["kiosk"],
                kiosk_name=r["kiosk_name"],
                open=False,
                acked_by=actor.username,
            )
        )
        return {"id": alert_id, "acked_by": actor.username}

    return hall.engine.write(run)


def open_alerts(hall) -> list[dict]:
    read = hall.engine.read
    return [
        {
            "id": r["id"],
            "kiosk": r["kiosk"],
            "kiosk_name": r["kiosk_name"],
            "text": f"{r['kiosk_name']}需要帮助",
            "at": read.local_iso(r["at"]),
        }
        for r in hall.store.db().query(
            "SELECT * FROM help_requests WHERE acked_at IS NULL ORDER BY id"
        )
    ]
