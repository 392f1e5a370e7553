"""Ticket printing for hall kiosks (plain library, no Flask).

Modelled on python-escpos: one escpos class per transport (``make_printer``),
layout code that takes a printer and never builds one (``print_slip``), and
tests that assert on ``escpos.printer.Dummy().output``.

Public API::

    TicketSlip(hall_name, number, service_name, waiting_ahead, eta_minutes,
               issued_at, qr_url, footer, window_hint="")
    render_ticket(slip, width_dots=576, font_path=None) -> PIL.Image (mode "1")
    print_slip(printer, slip, mode="image"|"text", width_dots=576, font_path=None)
    make_printer(cfg: dict) -> escpos printer (not opened)
    PRINTER_SETTINGS: list[(key, default, help)]
    PrintService(name, cfg, hall_tz=None, on_status=None)
        .print(slip) -> PrintResult(printed, error, status)
        .check() -> dict ; .status() -> dict ; .last_output -> bytes | None
"""

from .layout import print_slip
from .render import DEFAULT_FONT_PATH, render_ticket
from .service import STATUS_CN, STATUSES, PrinterFault, PrintResult, PrintService
from .slip import QR_CAPTION, TicketSlip
from .transport import DRIVERS, PRINTER_SETTINGS, make_printer

__all__ = [
    "DEFAULT_FONT_PATH",
    "DRIVERS",
    "PRINTER_SETTINGS",
    "QR_CAPTION",
    "STATUSES",
    "STATUS_CN",
    "PrintResult",
    "PrintService",
    "PrinterFault",
    "TicketSlip",
    "make_printer",
    "print_slip",
    "render_ticket",
]
