"""The appointments face's settings ([appointments])."""

from __future__ import annotations

from hall.settings import Setting

_s = Setting

SETTINGS = (
    # [appointments] (预约办: /book, kiosk check-in at /kiosk/checkin)
    _s(
        "appointments",
        "days_ahead_min",
        1,
        "Earliest bookable day, in working days from today (0 = today).",
    ),
    _s("appointments", "days_ahead_max", 5, "Latest bookable day, in working days from today."),
    _s(
        "appointments",
        "slot_minutes",
        30,
        "Slot length; slots run from opening, the last one ends by closing.",
    ),
    _s("appointments", "slot_capacity", 4, "Bookings per service per slot."),
    _s(
        "appointments",
        "checkin_early_minutes",
        30,
        "Check-in opens this many minutes before the slot starts.",
    ),
    _s(
        "appointments",
        "checkin_late_minutes",
        15,
        "On-time check-in ends this many minutes after the slot starts.",
    ),
    _s(
        "appointments",
        "no_show_limit",
        2,
        "More missed bookings than this in 30 days and a phone may not book.",
    ),
    _s(
        "appointments",
        "book_rate_limit_per_hour",
        10,
        "Bookings per client address per hour; 0 = off.",
    ),
    _s(
        "appointments",
        "lookup_rate_limit_per_minute",
        30,
        "Booking-code look-ups and cancellations per client address per minute; 0 = off.",
    ),
)
