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
    window holds the session, the citizen taps (channel "pad")."""
    score = field(data, "score", int, required=True)
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
