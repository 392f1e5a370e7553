"""预约办 (appointments): book a slot on the phone, check in at the kiosk.

Pages: /book (mobile booking), /book/<code> (the booking, its QR code, cancel),
/kiosk/checkin (kiosk check-in screen, ?kiosk=<id> to print on that kiosk's printer).
API: /api/appointments... (see docs/appointments.md). Figures: appointment_stats().
"""

from __future__ import annotations

from .booking import Bookings, check_settings
from .stats import appointment_stats

__all__ = ["Bookings", "appointment_stats", "init_app"]


def init_app(app) -> None:
    from .api import bp as api_bp
    from .pages import bp as pages_bp

    hall = app.extensions["hall"]
    check_settings(hall.cfg)
    hall.appointments = Bookings(hall)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
