"""The kiosk face: take a number at the touchscreen, print the ticket, follow it on a phone.

    /kiosk, /kiosk/<id>            the kiosk (pages.py); <id> from [[kiosks]]
    /t/<token>                     the ticket's progress page on a phone (phone.py)
    /api/printers, /api/tickets/<token>/ticket.png | qr.png,
    /api/tickets/<id>/reprint      the kiosk API (api.py)

init_app(app) builds one printer.PrintService per kiosk plus "default" ([printer]) into
HallContext.printers, prints every new ticket from HallContext.after_issue (printing.py)
and watches the printers' status. See docs/kiosk.md.
"""

from __future__ import annotations

from .api import bp as api_bp
from .pages import bp
from .phone import bp as phone_bp

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    from . import printing

    hall = app.extensions["hall"]
    printing.setup(app, hall)
    app.register_blueprint(bp)
    app.register_blueprint(phone_bp)
    app.register_blueprint(api_bp)
