"""Village service points (为民服务站): one window, no kiosk, no printer.

The person on duty records a walk-in directly (POST /api/county/visits: the window, the
matter, optionally the case number): the engine issues, calls and starts it in one
transaction (hall/engine/walkins.py). 办结 is the core's finish (with the case number);
the citizen then rates on the same tablet (POST /api/county/visits/<id>/rating, the
clerk signed in at that window, channel "pad") or on their phone from the QR code
(/t/<token>). The visits ship and count like tickets (source "walk_in").
"""

from __future__ import annotations

import base64
import io

from hall.errors import Forbidden, Invalid, NotFound
from hall.validate import field, string_list

from .state import state_of


def qr_data_uri(text: str) -> str:
    """A QR code as a data: PNG (the page's CSP allows data: images)."""
    import qrcode

    img = qrcode.make(text, box_size=6, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def phone_url(hall, token: str) -> str:
    return f"{hall.cfg.hall['public_url'].rstrip('/')}/t/{token}"


def record_visit(hall, data: dict, actor) -> dict:
    window = field(data, "window", int, required=True)
    matter = field(data, "matter", str, default=None, max_len=64)
    case_no = field(data, "case_no", str, default=None, max_len=64)
    service = field(data, "service", str, default=None, max_len=32)
    matter = (matter or "").strip() or None
    case_no = (case_no or "").strip() or None
    if matter and state_of(hall).catalogue.get(matter) is None:
        raise Invalid(f"事项清单中没有{matter} (unknown matter)")
    service = service or hall.cfg.sections["county"]["point_service"] or None
    t = hall.engine.walk_in(window, actor, service=service, matter=matter, case_no=case_no)
    db = hall.store.db()
    out = hall.engine.read.ticket_json(db, t, staff=True)
    out["token"] = t["token"]
    out["matter"] = state_of(hall).catalogue.get(matter) if matter else None
    out["case_no"] = case_no
    out["phone_url"] = phone_url(hall, t["token"])
    return out


def rate_at_point(hall, ticket_id: int, data: dict, actor) -> dict:
    """The citizen rates on the point's tablet: the clerk signed in at the ticket's
    window holds the session, the citizen taps (channel "pad"). {"skip": true}: the
    citizen left without rating (recorded as unrated, never as good)."""
    skip = field(data, "skip", bool, default=False)
    score = None if skip else field(data, "score", int, required=True)
    reasons = string_list(data, "reasons")
    comment = field(data, "comment", str, default="", max_len=500).strip()
    db = hall.store.db()
    t = hall.engine.read.ticket(db, ticket_id)
    if t is None:
        raise NotFound("没有这张票 (no such ticket)")
    w = hall.engine.read.window(db, t["window"]) if t["window"] else None
    if w is None or w["clerk"] != actor.username:
        raise Forbidden("只能在办理该事项的窗口评价 (rate at the window that served it)")
    rating = hall.engine.rate(t["id"], score, reasons, comment, channel="pad")
    return {k: v for k, v in rating.items() if k != "clerk"}


def point_view(hall, actor, number: int | None = None) -> dict:
    """Everything /county/point shows: the window, the visit in hand, the visit waiting
    for its rating (with the QR code of its phone page), the matters, today's visits."""
    db = hall.store.db()
    read = hall.engine.read
    windows = read.windows(db)
    mine = next((w for w in windows if w["clerk"] == actor.username), None)
    w = next((x for x in windows if x["number"] == number), None) or mine or (windows or [None])[0]
    if w is None:
        raise NotFound("没有窗口 (no window)")
    st = state_of(hall)
    service = (
        hall.cfg.sections["county"]["point_service"]
        or (read.window_services(db, w["number"])["services"] or [None])[0]
    )
    matters = st.catalogue.offered(service) if service else []
    current = read.current_ticket(db, w["number"])
    today = read.today()
    unrated = list(
        db.query(
            "SELECT t.* FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id "
            "WHERE t.window = ? AND t.status = 'done' AND t.day = ? AND t.clerk = ? "
            "AND r.id IS NULL ORDER BY t.finished_at DESC LIMIT 1",
            [w["number"], today, actor.username],
        )
    )
    to_rate = None
    if unrated and current is None:
        t = unrated[0]
        to_rate = {
            **read.ticket_json(db, t, staff=True),
            "matter": st.catalogue.of_ticket(t["id"]),
            "qr": qr_data_uri(phone_url(hall, t["token"])),
        }
    visits = []
    for t in db.query(
        "SELECT t.*, r.score FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id "
        "WHERE t.window = ? AND t.day = ? ORDER BY t.id DESC LIMIT 12",
        [w["number"], today],
    ):
        m = st.catalogue.of_ticket(t["id"])
        visits.append(
            {
                "id": t["id"],
                "number": t["number"],
                "status": t["status"],
                "matter": m["name"] if m else None,
                "case_no": m["case_no"] if m else None,
                "score": t["score"],
                "at": (read.local_iso(t["issued_at"]) or "")[11:16],
            }
        )
    return {
        "window": read.window_json(db, w),
        "signed_in": w["clerk"] == actor.username,
        "taken_by": w["clerk"] if w["clerk"] and w["clerk"] != actor.username else None,
        "service": service,
        "matters": matters,
        "current": {
            **read.ticket_json(db, current, staff=True),
            "matter": st.catalogue.of_ticket(current["id"]),
        }
        if current
        else None,
        "to_rate": to_rate,
        "visits": visits,
    }
