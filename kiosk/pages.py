"""Kiosk pages (blueprint "kiosk", /kiosk): the touchscreen where citizens take a number.

Everything a screen shows is rendered here; kiosk.js only keeps it live (waiting counts,
estimates, open/closed from Socket.IO `queue` and /api/services), counts down back to
the start and guards against a double tap.

    GET  /kiosk, /kiosk/<id>              start screen (services by department)
    GET  /kiosk/<id>?service=CODE         second level: the service's sub-matters
    POST /kiosk, /kiosk/<id>              take a number (form: service, matter) and show
                                          the ticket: number, people ahead, wait, QR
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, render_template, request

from hall import issuing
from hall.app import current_hall
from hall.errors import HallError
from hall.hours import WEEKDAY_CN
from hall.interfaces import MATTERS

from . import printing

log = logging.getLogger(__name__)

bp = Blueprint(
    "kiosk",
    __name__,
    url_prefix="/kiosk",
    template_folder="templates",
    static_folder="static",
)

STATUS_WORDS = {
    "waiting": "等候中",
    "called": "请到窗口办理",
    "serving": "办理中",
    "done": "已办结",
    "no_show": "过号",
    "cancelled": "已取消",
}


def short(message: str) -> str:
    """The Chinese half of a "中文 (english)" or "中文 / english" message."""
    text = (message or "").split(" (")[0]
    return text.split(" / ")[0].strip()


def _kiosk(kiosk_id: str | None) -> dict | None:
    if kiosk_id is None:
        return None
    kiosk = current_hall().cfg.kiosk(kiosk_id) if len(kiosk_id) <= 32 else None
    if kiosk is None:
        abort(404)
    return kiosk


def services_view(hall) -> tuple[list[dict], list[dict]]:
    """(services as /api/services gives them, the same grouped by department in order)."""
    db = hall.store.db()
    read = hall.engine.read
    counts = read.waiting_counts(db)
    services = [read.service_json(db, s, counts) for s in read.services(db)]
    # The county's catalogue matters a service offers (interface "matters", when a face
    # provides it): a second level like the sub-matters, each with its materials.
    catalogue = hall.faces.interface(MATTERS)
    for s in services:
        s["catalogue"] = catalogue.offered(s["code"]) if catalogue is not None else []
    groups: dict[str, list[dict]] = {}
    for s in services:
        groups.setdefault(s["department"], []).append(s)
    out = [{"department": d, "services": items} for d, items in groups.items()]
    journeys = journeys_view(hall, services)
    if journeys:
        out.append({"department": "一件事 · 多窗联办", "services": journeys, "journey": True})
    return services, out


def journeys_view(hall, services: list[dict]) -> list[dict]:
    """一件事 tiles: one number through every step; open when every step is."""
    by_code = {s["code"]: s for s in services}
    out = []
    for j in hall.engine.read.journeys():
        steps = [by_code.get(code) for code in j["steps"]]
        first = steps[0]
        plan = hall.cfg.journey(j["code"])
        out.append(
            {
                "code": j["code"],
                "name": j["name"],
                "prefix": (plan and plan["prefix"]) or (first["prefix"] if first else ""),
                "steps": [
                    s["name"] if s else code for s, code in zip(steps, j["steps"], strict=True)
                ],
                "open": all(s is not None and s["open"] for s in steps),
                "waiting": first["waiting"] if first else 0,
            }
        )
    return out


def grid_columns(groups: list[dict], most: int) -> int:
    """Grid columns: `most`, fewer when all services fit in one row (a small hall)."""
    return max(1, min(most, sum(len(g["services"]) for g in groups)))


def grid_rows(groups: list[dict], columns: int, wide_from: int) -> int:
    """Rows the department grid takes (CSS grid, dense): a department spans as many
    columns as it has services (all columns from `wide_from` services on)."""
    free: list[int] = []
    for grp in groups:
        n = len(grp["services"])
        span = columns if n >= min(wide_from, columns) else n
        for i, left in enumerate(free):
            if left >= span:
                free[i] -= span
                break
        else:
            free.append(columns - span)
    return max(1, len(free))


def when_label(dt) -> str:
    return f"{dt.month}月{dt.day}日 {WEEKDAY_CN[dt.weekday()]} {dt:%H:%M}"


def render(kiosk: dict | None, *, mode="start", status=200, **extra):
    hall = current_hall()
    now = hall.clock.now()
    local = hall.hours.local(now)
    services, groups = services_view(hall)
    hall_open = hall.hours.is_open(now)
    nxt = None if hall_open else hall.hours.next_opening(now)
    kid = kiosk["id"] if kiosk else None
    settings = hall.cfg.sections["kiosk"]
    ctx = dict(
        hall_name=hall.cfg.hall["name"],
        notice=hall.cfg.hall["notice"],
        kiosk=kiosk,
        kiosk_id=kid,
        home=f"/kiosk/{kid}" if kid else "/kiosk",
        checkin_url=f"/kiosk/checkin?kiosk={kid}" if kid else "/kiosk/checkin",
        services=services,
        groups=groups,
        codes=",".join(s["code"] for s in services),
        cols_landscape=grid_columns(groups, 6),
        cols_portrait=grid_columns(groups, 3),
        rows_landscape=grid_rows(groups, grid_columns(groups, 6), 6),
        rows_portrait=grid_rows(groups, grid_columns(groups, 3), 3),
        hall_open=hall_open,
        next_open=when_label(nxt) if nxt else None,
        today=f"{local.year}年{local.month}月{local.day}日 {WEEKDAY_CN[local.weekday()]}",
        clock=f"{local:%H:%M}",
        mode=mode,
        settings=settings,
        return_seconds=settings["return_seconds"],
        idle_seconds=settings["idle_seconds"],
        public_book=f"{hall.cfg.hall['public_url'].rstrip('/')}/book",
        error=None,
        ticket=None,
        service=None,
        matter=None,
    )
    ctx.update(extra)
    resp = render_template("kiosk/kiosk.html", **ctx)
    return resp, status, {"Cache-Control": "no-store"}


@bp.get("")
@bp.get("/")
@bp.get("/<kiosk_id>")
def start(kiosk_id: str | None = None):
    kiosk = _kiosk(kiosk_id)
    code = request.args.get("service")
    if code:
        hall = current_hall()
        services, _ = services_view(hall)
        svc = next((s for s in services if s["code"] == code[:32]), None)
        wanted = request.args.get("matter", "")[:64]
        chosen = next((m for m in (svc or {}).get("catalogue", []) if m["code"] == wanted), None)
        if svc and chosen and svc["open"]:
            # A catalogue matter tapped: its materials first, then the number.
            return render(kiosk, mode="materials", service=svc, matter=chosen)
        if svc and (svc["matters"] or svc["catalogue"]) and svc["open"]:
            return render(kiosk, mode="matters", service=svc)
    return render(kiosk)


@bp.post("")
@bp.post("/")
@bp.post("/<kiosk_id>")
def take(kiosk_id: str | None = None):
    """Take a number for the form's service (and matter); show the ticket."""
    kiosk = _kiosk(kiosk_id)
    hall = current_hall()
    code = (request.form.get("service") or "").strip()[:32]
    journey = (request.form.get("journey") or "").strip()[:32] or None
    if journey:
        code = None  # 一件事: the journey's first step is the service
    matter = (request.form.get("matter") or "").strip()[: printing.MAX_MATTER]
    row = hall.engine.read.service(hall.store.db(), code) if code else None
    catalogue = hall.faces.interface(MATTERS)
    offered = catalogue.offered(code) if catalogue is not None and row is not None else []
    if row is not None and not matter:
        if _matters(row) or offered:
            # A service with sub-matters: choose one first (second level).
            services, _ = services_view(hall)
            s = next((s for s in services if s["code"] == code), None)
            if s and s["open"]:
                return render(kiosk, mode="matters", service=s)
    if row is not None and matter and matter not in _matters(row):
        if not any(m["code"] == matter for m in offered):
            matter = ""
    # /kiosk (no id) prints on the [printer] default; /kiosk/<id> on that kiosk's printer.
    options = {"print": True if kiosk is None else None, "matter": matter or None}
    try:
        _, body = issuing.issue(
            hall,
            code,
            address=request.remote_addr or "",
            kiosk=kiosk["id"] if kiosk else None,
            options={k: v for k, v in options.items() if v is not None},
            source="kiosk",
            journey=journey,
        )
    except HallError as e:
        return render(kiosk, error=short(e.message), status=e.status)
    body.setdefault("printed", False)
    body["matter"] = body.get("matter") or matter
    fault = body.get("printer") is not None and not body.get("printed")
    settings = hall.cfg.sections["kiosk"]
    return render(
        kiosk,
        mode="ticket",
        ticket=body,
        print_fault=fault,
        print_error=printing.CITIZEN_FAULT.get(body.get("print_status"), "打印机故障"),
        return_seconds=settings["fault_return_seconds"] if fault else settings["return_seconds"],
    )


def _matters(row) -> list[str]:
    return json.loads(row["matters"] or "[]")


@bp.errorhandler(404)
def not_found(e):
    return not_found_page("没有这台取号机", "请联系大厅工作人员。")


def not_found_page(title: str, detail: str = ""):
    hall = current_hall()
    html = render_template(
        "kiosk/notfound.html", hall_name=hall.cfg.hall["name"], title=title, detail=detail
    )
    return html, 404, {"Cache-Control": "no-store"}
