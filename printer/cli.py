"""``python -m hall print-test``: a sample ticket on a configured printer.

Declared as a command by the kiosk face (kiosk/__init__.py), which owns the printers.

    python -m hall print-test                 # the [printer] section
    python -m hall print-test --kiosk K1      # that kiosk's printer
    python -m hall print-test --status        # only ask the printer its status
    python -m hall print-test --png t.png     # also save the rendered image
"""

from __future__ import annotations

import json
from datetime import datetime

from .render import render_ticket
from .service import PrintService
from .slip import TicketSlip
from .transport import config_font, config_width_dots


def configure(parser) -> None:
    parser.description = "print a sample ticket on a configured printer"
    parser.add_argument("--kiosk", help="kiosk id (default: the [printer] section)")
    parser.add_argument("--status", action="store_true", help="only check the printer status")
    parser.add_argument("--png", help="also save the rendered ticket image to this file")


def sample_slip(cfg, printer_cfg: dict) -> TicketSlip:
    public = str(cfg.hall.get("public_url") or "http://127.0.0.1:5000").rstrip("/")
    return TicketSlip(
        hall_name=cfg.hall.get("name") or "政务服务大厅",
        number="A001",
        service_name="打印测试 Printer test",
        waiting_ahead=0,
        eta_minutes=0,
        issued_at=datetime.now(cfg.tz),
        qr_url=f"{public}/",
        footer=printer_cfg.get("footer") or "",
        window_hint="",
    )


def run(args) -> int:
    from hall.config import ConfigError, load

    cfg = load(getattr(args, "config", None))
    if args.kiosk and cfg.kiosk(args.kiosk) is None:
        raise ConfigError(f"no kiosk {args.kiosk!r} in the config")
    printer_cfg = cfg.printer_for(args.kiosk)
    service = PrintService(args.kiosk or "printer", printer_cfg, hall_tz=cfg.tz)
    if args.status:
        status = service.check()
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0 if status["status"] == "ok" else 1
    slip = sample_slip(cfg, printer_cfg)
    if args.png:
        render_ticket(
            slip, width_dots=config_width_dots(printer_cfg), font_path=config_font(printer_cfg)
        ).save(args.png)
    result = service.print(slip)
    print(
        json.dumps(
            {"printed": result.printed, "error": result.error, "status": service.status()},
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if result.printed else 1
