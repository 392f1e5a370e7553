"""The hall's ticket printers: one PrintService per kiosk (plus "default" for [printer]),
the after-issue hook that prints a new ticket, reprints, and the status monitor.

Printing always happens after the ticket's transaction has committed and never raises:
a printer fault gives `printed: false` and `print_error`, the ticket stands as issued.
Nothing here logs a ticket token (the key of /t/<token>).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime

from hall.background import Periodic
from hall.clock import from_iso
from hall.events import PrinterStatusChanged
from hall.face import IssueContext
from hall.interfaces import MATTERS, PRINTERS
from printer import STATUS_CN as PRINTER_CN

log = logging.getLogger(__name__)

DEFAULT = "default"  # the [printer] section's print service
MAX_MATTER = 50


# --- addresses -----------------------------------------------------------------------
def progress_url(hall, token: str) -> str:
    """The QR code's target: the ticket's progress page on a phone."""
    return f"{hall.cfg.hall['public_url'].rstrip('/')}/t/{token}"


def printer_config(hall, name: str | None) -> dict:
    """The merged printer section of a print service name (kiosk id or "default")."""
    kiosk = name if name and name != DEFAULT and hall.cfg.kiosk(name) else None
    return hall.cfg.printer_for(kiosk)


# --- set-up --------------------------------------------------------------------------
class HallPrinters(dict):
    """The "printers" interface (hall.interfaces.Printers): print service name ->
    printer.PrintService, "default" for [printer] and one per [[kiosks]] entry."""

    def __init__(self, hall):
        super().__init__()
        self._hall = weakref.ref(hall)

    def statuses(self) -> list[dict]:
        hall = self._hall()
        return [status_of(hall, name, svc) for name, svc in self.items()] if hall else []

    def label(self, name: str) -> str:
        hall = self._hall()
        kiosk = hall.cfg.kiosk(name) if hall else None
        return (kiosk or {}).get("name") or ("默认打印机" if name == DEFAULT else name)


def make_printers(app, hall) -> HallPrinters:
    from printer import PrintService

    def on_status(snapshot: dict) -> None:
        publish_status(hall, snapshot)

    printers = HallPrinters(hall)
    names = [DEFAULT] + [k["id"] for k in hall.cfg.kiosks if k["id"] != DEFAULT]
    for name in names:
        printers[name] = PrintService(
            name, printer_config(hall, name), hall_tz=hall.cfg.tz, on_status=on_status
        )
    return printers


def printers_of(hall) -> HallPrinters:
    return hall.faces.interface(PRINTERS)


@dataclass
class KioskState:
    monitor: PrinterMonitor


def setup(app, hall) -> KioskState:
    """The status monitor (started lazily in the serving process, never under TESTING
    unless app.config["KIOSK_PRINTER_POLL"] is true)."""
    monitor = PrinterMonitor(hall, float(hall.cfg.sections["kiosk"]["printer_poll_seconds"]))
    monitor.start_with(app, "KIOSK_PRINTER_POLL")
    return KioskState(monitor=monitor)


def local_time(hall, text: str | None) -> str | None:
    """An ISO time (the print service keeps UTC) in the hall's timezone."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(hall.cfg.tz).isoformat(timespec="seconds")
    except ValueError:
        return text


def status_of(hall, name: str, service) -> dict:
    """GET /api/printers entry: {kiosk, name, driver, status, status_name, last_error,
    checked_at (hall time), paper_low}."""
    try:
        s = dict(service.status())
    except Exception:  # a broken print service must not break the list
        log.exception("printer %s: status failed", name)
        s = {"driver": "?", "status": "error", "last_error": "状态读取失败 / status failed"}
    kiosk = hall.cfg.kiosk(name)
    status = s.get("status") or "unknown"
    return {
        "kiosk": name,
        "name": (kiosk or {}).get("name") or ("默认打印机" if name == DEFAULT else name),
        "driver": s.get("driver"),
        "status": status,
        "status_name": PRINTER_CN.get(status, status),
        "last_error": s.get("last_error"),
        "checked_at": local_time(hall, s.get("checked_at")),
        "paper_low": bool(s.get("paper_low")),
    }


def publish_status(hall, snapshot: dict) -> None:
    """PrintService.on_status: a `printer` event for supervisors (and the log)."""
    event = PrinterStatusChanged(
        at=hall.engine.read.local_iso(hall.now_iso()),
        kiosk=str(snapshot.get("kiosk")),
        driver=str(snapshot.get("driver")),
        status=str(snapshot.get("status")),
        last_error=snapshot.get("last_error"),
        checked_at=local_time(hall, snapshot.get("checked_at")),
    )
    if event.status == "ok":
        log.info("printer %s: ok", event.kiosk)
    else:
        log.warning("printer %s: %s %s", event.kiosk, event.status, event.last_error or "")
    hall.bus.publish(event)


# --- the slip ------------------------------------------------------------------------
def slip_for(
    hall, ticket: dict, printer_name: str | None, body: dict | None = None, hint="", materials=()
):
    """The TicketSlip of a ticket row (waiting ahead and wait estimate as of now)."""
    from printer import TicketSlip

    if body is None:
        body = hall.engine.read.ticket_json(hall.store.db(), ticket)
    pcfg = printer_config(hall, printer_name)
    return TicketSlip(
        hall_name=hall.cfg.hall["name"],
        number=ticket["number"],
        service_name=body.get("service_name") or ticket["service"],
        waiting_ahead=int(body.get("waiting_ahead") or 0),
        eta_minutes=int(body.get("eta_minutes") or 0),
        issued_at=from_iso(ticket["issued_at"]).astimezone(hall.cfg.tz),
        qr_url=progress_url(hall, ticket["token"]),
        footer=pcfg.get("footer") or "",
        window_hint=hint,
        materials=tuple(materials),
    )


def width_and_font(hall, printer_name: str | None) -> tuple[int, str | None]:
    from printer.transport import config_font, config_width_dots

    pcfg = printer_config(hall, printer_name)
    try:
        return config_width_dots(pcfg), config_font(pcfg)
    except (ValueError, TypeError):
        return 576, None


# --- printing after issue ------------------------------------------------------------
def valid_matter(hall, service_code: str, matter: str | None) -> str | None:
    """The matter if it is one of the service's configured sub-matters, else None."""
    if not matter:
        return None
    row = hall.engine.read.service(hall.store.db(), service_code)
    matters = json.loads(row["matters"] or "[]") if row else []
    return matter if matter in matters else None


def catalogue_matter(hall, service_code: str, matter: str | None) -> dict | None:
    """The county catalogue's matter (interface "matters") the choice names, if the
    service offers it: its name is printed, and its materials."""
    catalogue = hall.faces.interface(MATTERS)
    return catalogue.find(service_code, matter) if catalogue is not None and matter else None


def target_printer(hall, kiosk: str | None, wanted: bool | None) -> str | None:
    """Which print service prints a new ticket.

    A kiosk id prints on that kiosk's printer (its [[kiosks]] printer over [printer]);
    no kiosk prints only when the request says `print: true`, on "default" ([printer]).
    `print: false` never prints. The guide desk and API clients that send neither get
    no paper (the number is told or shown on their own screen).
    """
    if wanted is False:
        return None
    printers = printers_of(hall)
    if kiosk and kiosk in printers:
        return kiosk
    if wanted and DEFAULT in printers:
        return DEFAULT
    return None


#: What the kiosk screen tells the citizen when the ticket did not print.
CITIZEN_FAULT = {
    "paper_out": "打印机缺纸",
    "offline": "打印机未连接",
    "error": "打印机故障",
}


def matter_hint(matter: str | None) -> str:
    return f"办理事项：{matter}" if matter else ""


def issue_hook(hall):
    """The kiosk face's issue hook: print the new ticket (IssueContext.options `print`
    and `matter`); never raises: a printer fault gives printed: false."""

    def print_after_issue(ctx: IssueContext) -> dict:
        ticket = ctx.ticket
        extra: dict = {"printed": False, "print_error": None, "printer": None}
        # print_status: the printer's status after this attempt (ok, offline, paper_out,
        # error); absent when nothing was printed.
        try:
            matter = valid_matter(hall, ticket["service"], ctx.options.get("matter"))
            listed = catalogue_matter(hall, ticket["service"], ctx.options.get("matter"))
            materials: tuple = ()
            if listed:
                matter = listed["name"]
                materials = tuple(listed["materials"])
                extra["materials"] = list(materials)
            if matter:
                extra["matter"] = matter
            name = target_printer(hall, ctx.kiosk, ctx.options.get("print"))
            if name is None:
                return extra
            extra["printer"] = name
            slip = slip_for(hall, ticket, name, ctx.body, matter_hint(matter), materials)
            result = printers_of(hall)[name].print(slip)
            extra["printed"] = bool(result.printed)
            extra["print_error"] = result.error
            extra["print_status"] = result.status
            if not result.printed:
                log.warning(
                    "ticket %s (id %s) issued but not printed on %s: %s",
                    ticket["number"],
                    ticket["id"],
                    name,
                    result.error,
                )
        except Exception:  # the ticket is committed: a print bug must not lose it
            log.exception("ticket %s (id %s): printing failed", ticket["number"], ticket["id"])
            extra["printed"] = False
            extra["print_error"] = "打印失败 / printing failed"
            extra["print_status"] = "error"
        return extra

    return print_after_issue


# --- the status monitor --------------------------------------------------------------
def check_all(hall, services=None) -> None:
    """Ask every printer its status at once (each check is bounded by its own budget)."""
    services = list(services if services is not None else printers_of(hall).values())
    threads = []
    for svc in services:
        if not hasattr(svc, "check"):
            continue
        t = threading.Thread(target=_safe_check, args=(svc,), name="printer-check", daemon=True)
        t.start()
        threads.append((svc, t))
    for svc, t in threads:
        t.join(getattr(svc, "budget", 6.0) * 2 + 1)


def _safe_check(svc) -> None:
    try:
        svc.check()
    except Exception:  # check() never raises; a stand-in might
        log.exception("printer %s: check failed", getattr(svc, "name", "?"))


class PrinterMonitor(Periodic):
    """Polls every printer's status in a background thread, so a printer that ran out of
    paper (or went offline) between two tickets shows on /api/printers and the board."""

    def __init__(self, hall, interval: float):
        super().__init__("kiosk-printer-monitor", interval, lambda: check_all(hall))
        self.hall = hall
