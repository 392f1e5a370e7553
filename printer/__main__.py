"""Command line for installers: render a sample ticket, test-print, check status.

    python -m printer render --width 576 --out ticket.png
    python -m printer print --driver network --host 192.168.1.50 [--mode text]
    python -m printer print --driver dummy --out job.bin      # raw ESC/POS bytes
    python -m printer status --driver usb --vendor-id 0x0416 --product-id 0x5011

Exit status 0 when the ticket printed / the printer is ok, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from .layout import MODES
from .render import render_ticket
from .service import PrintService
from .slip import TicketSlip
from .transport import DRIVERS


def _sample_slip(args) -> TicketSlip:
    return TicketSlip(
        hall_name=args.hall,
        number=args.number,
        service_name=args.service,
        waiting_ahead=3,
        eta_minutes=9,
        issued_at=datetime.now().astimezone(),
        qr_url=args.url,
        footer="打印测试 Printer test",
        window_hint=args.hint,
    )


def _config(args) -> dict:
    cfg = {"driver": args.driver, "mode": args.mode, "width_dots": args.width}
    for key in (
        "host",
        "port",
        "timeout",
        "vendor_id",
        "product_id",
        "device",
        "baudrate",
        "path",
        "font_path",
        "profile",
    ):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    if args.no_status:
        cfg["check_status"] = False
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m printer", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("render", "print", "status"))
    parser.add_argument("--driver", choices=DRIVERS, default="dummy")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--vendor-id", dest="vendor_id")
    parser.add_argument("--product-id", dest="product_id")
    parser.add_argument("--device")
    parser.add_argument("--baudrate", type=int)
    parser.add_argument("--path")
    parser.add_argument("--profile")
    parser.add_argument("--font", dest="font_path")
    parser.add_argument("--mode", choices=MODES, default="image")
    parser.add_argument("--width", type=int, default=576, help="576 (80 mm) or 384 (58 mm)")
    parser.add_argument("--no-status", action="store_true", help="do not send DLE EOT")
    parser.add_argument("--out", help="render: PNG path; print with dummy: file for the bytes")
    parser.add_argument("--hall", default="政务服务中心")
    parser.add_argument("--number", default="A001")
    parser.add_argument("--service", default="打印测试")
    parser.add_argument("--hint", default="")
    parser.add_argument("--url", default="https://example.gov.cn/q/A001")
    args = parser.parse_args(argv)

    if args.command == "render":
        img = render_ticket(_sample_slip(args), width_dots=args.width, font_path=args.font_path)
        out = args.out or f"ticket_{args.width}.png"
        img.save(out)
        print(f"{out}: {img.width}x{img.height}")
        return 0

    service = PrintService("cli", _config(args))
    if args.command == "status":
        status = service.check()
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0 if status["status"] == "ok" else 1

    result = service.print(_sample_slip(args))
    if result.printed and args.out and service.last_output is not None:
        with open(args.out, "wb") as fh:
            fh.write(service.last_output)
    print(
        json.dumps(
            {
                "printed": result.printed,
                "error": result.error,
                "bytes": len(service.last_output or b""),
                "status": service.status(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if result.printed else 1


if __name__ == "__main__":
    sys.exit(main())
