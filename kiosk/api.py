"""Kiosk API (blueprint "kiosk_api", /api): printers, ticket images, reprint."""

from __future__ import annotations

import io
import logging

import qrcode
from flask import Blueprint, g, jsonify, send_file

from hall.app import current_hall
from hall.auth import require
from hall.errors import Conflict, Invalid, NotFound
from hall.validate import field, flag_arg, json_body
from hall.vocabulary import MANAGER_ROLES, STAFF_ROLES

from . import printing

log = logging.getLogger(__name__)
bp = Blueprint("kiosk_api", __name__, url_prefix="/api")

MAX_TOKEN = 64
MAX_ID = 2**63 - 1  # SQLite INTEGER


def ticket_by_token(token: str) -> dict:
    hall = current_hall()
    t = None
    if 0 < len(token) <= MAX_TOKEN:
        t = hall.engine.read.ticket_by_token(hall.store.db(), token)
    if t is None:
        raise NotFound("没有这张票 (no such ticket)")
    return t


def _png(img, max_age: int = 0):
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    buf.seek(0)
    resp = send_file(buf, mimetype="image/png", max_age=max_age)
    if not max_age:
        # The image carries the ticket's token (QR): no shared caches, no disk cache.
        resp.headers["Cache-Control"] = "private, no-store"
    return resp


def qr_png(url: str, box: int = 10):
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image()


# --- printers ------------------------------------------------------------------------
@bp.get("/printers")
@require(*MANAGER_ROLES)
def printers():
    """[{kiosk, name, driver, status, status_name, last_error, checked_at, paper_low}];
    `?check=1` asks every printer first (takes up to 2 × the printer timeout)."""
    hall = current_hall()
    if flag_arg("check"):
        printing.check_all(hall)
    return jsonify(printing.printers_of(hall).statuses())


# --- ticket images -------------------------------------------------------------------
@bp.get("/tickets/<token>/ticket.png")
def ticket_png(token: str):
    """The ticket as the printer prints it (image mode, the ticket's kiosk paper width)."""
    from printer import render_ticket

    hall = current_hall()
    t = ticket_by_token(token)
    name = t["kiosk"] if t["kiosk"] in printing.printers_of(hall) else printing.DEFAULT
    width, font = printing.width_and_font(hall, name)
    slip = printing.slip_for(hall, t, name)
    return _png(render_ticket(slip, width_dots=width, font_path=font))


@bp.get("/tickets/<token>/qr.png")
def ticket_qr(token: str):
    """The QR code of the ticket's progress page ({public_url}/t/<token>)."""
    hall = current_hall()
    t = ticket_by_token(token)
    return _png(qr_png(printing.progress_url(hall, t["token"])))


@bp.get("/kiosk/book-qr/<code>.png")
def book_qr(code: str):
    """QR of {public_url}/book?service=<code>, shown when a service's numbers are used up."""
    hall = current_hall()
    if len(code) > 16 or hall.cfg.service(code) is None:
        raise NotFound("没有这项业务 (unknown service)")
    url = f"{hall.cfg.hall['public_url'].rstrip('/')}/book?service={code}"
    return _png(qr_png(url, box=8), max_age=300)


# --- reprint -------------------------------------------------------------------------
@bp.post("/tickets/<int:ticket_id>/reprint")
@require(*STAFF_ROLES)
def reprint(ticket_id: int):
    """补打: print a ticket again. `{"kiosk": id}` picks the printer (a kiosk id or
    "default"); else the ticket's own kiosk, else "default"."""
    hall = current_hall()
    data = json_body()
    wanted = field(data, "kiosk", str, max_len=32)
    db = hall.store.db()
    read = hall.engine.read
    t = read.ticket(db, ticket_id) if 0 < ticket_id <= MAX_ID else None
    if t is None:
        raise NotFound(f"没有这张票 (no ticket {ticket_id})")
    if t["status"] in ("done", "cancelled"):
        word = "办结" if t["status"] == "done" else "取消"
        raise Conflict(f"{t['number']}已{word}，无需补打 (ticket is {t['status']})")
    printers = printing.printers_of(hall)
    if wanted is not None and wanted not in printers:
        raise Invalid(f"没有名为{wanted}的打印机 (unknown printer)")
    name = wanted
    if name is None:
        if t["kiosk"] in printers:
            name = t["kiosk"]
        elif printing.DEFAULT in printers:
            name = printing.DEFAULT
        elif len(printers) == 1:
            name = next(iter(printers))
    if name is None or not hasattr(printers.get(name), "print"):
        raise Conflict("未配置打印机，无法补打，请口头告知号码 (no printer configured for reprint)")
    slip = printing.slip_for(hall, t, name, hint="补打凭条")
    result = printers[name].print(slip)
    if not result.printed:
        log.warning(
            "reprint of ticket %s (id %s) on %s failed: %s",
            t["number"],
            t["id"],
            name,
            result.error,
        )
    with hall.store.write() as wdb:
        hall.engine.audit(
            wdb,
            g.actor,
            "reprint",
            f"ticket:{t['id']}",
            number=t["number"],
            printer=name,
            printed=bool(result.printed),
            error=result.error,
        )
    return jsonify(
        printed=bool(result.printed),
        error=result.error,
        print_error=result.error,
        printer=name,
        ticket=read.ticket_json(db, t, staff=True),
    )
