"""The phone page of one ticket (blueprint "kiosk_phone"): /t/<token>, the QR's target.

It shows that ticket only (number, service, status, people ahead, expected wait, the
window when called, and for a 一件事 journey its steps and the current one) and, after 办结, the 好差评 rating. phone.js keeps it live through
the /ticket Socket.IO namespace (`follow {token}`, then `ticket` and `queue`).
The token is the only key: it is never logged, never sent to another page (no
referrer), and the page is never cached.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from hall.app import current_hall
from hall.interfaces import MATTERS

from .pages import not_found_page

bp = Blueprint("kiosk_phone", __name__, template_folder="templates", static_folder=None)

MAX_TOKEN = 64
STEP_WORDS = {"done": "已办结", "current": "当前", "todo": "待办"}  # phone.js: the same
RATING_LEVELS = [
    (5, "非常满意"),
    (4, "满意"),
    (3, "基本满意"),
    (2, "不满意"),
    (1, "非常不满意"),
]


def status_view(t: dict) -> dict:
    """Headline words for a ticket JSON (the same rules phone.js applies)."""
    status = t["status"]
    journey = t.get("journey")
    if status == "waiting" and journey and journey["step"] > 0:
        step = journey["steps"][journey["step"]]["name"]
        return {"label": "等候中", "headline": f"上一步已办结，请等候{step}叫号", "tone": "waiting"}
    if status == "waiting":
        return {"label": "等候中", "headline": "请耐心等候叫号", "tone": "waiting"}
    if status == "called":
        where = f"{t['window']}号窗口" if t.get("window") else "窗口"
        return {"label": f"请到{where}", "headline": "请尽快前往窗口办理", "tone": "called"}
    if status == "serving":
        return {"label": "办理中", "headline": "正在办理", "tone": "serving"}
    if status == "parked":
        return {
            "label": "挂起",
            "headline": "业务暂时挂起，备齐材料后请回到窗口",
            "tone": "serving",
        }
    if status == "done":
        return {"label": "已办结", "headline": "业务已办结", "tone": "done"}
    if status == "no_show":
        return {"label": "过号", "headline": "您已过号，请到导办台咨询", "tone": "no_show"}
    return {"label": "已取消", "headline": "此号已取消", "tone": "cancelled"}


@bp.get("/t/<token>")
def progress(token: str):
    hall = current_hall()
    db = hall.store.db()
    read = hall.engine.read
    t = read.ticket_by_token(db, token) if 0 < len(token) <= MAX_TOKEN else None
    if t is None:
        return not_found_page("没有找到这张号票", "请核对二维码，或到导办台咨询。")
    ticket = read.ticket_json(db, t)  # no token in the page's data: the URL has it
    # The county catalogue's matter of the ticket and its materials (interface "matters").
    catalogue = hall.faces.interface(MATTERS)
    matter = catalogue.of_ticket(t["id"]) if catalogue is not None else None
    html = render_template(
        "kiosk/phone.html",
        token=token,  # for the forms other faces add (page_addons), never in the page's data
        hall_name=hall.cfg.hall["name"],
        t=ticket,
        view=status_view(ticket),
        levels=RATING_LEVELS,
        reasons=hall.cfg.ratings["reasons"],
        issued=(ticket["issued_at"] or "")[11:16],
        matter=matter,
        step_words=STEP_WORDS,
    )
    return html, 200, {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
