"""The appointments face's tables (applied by the core after its own; never rename)."""

from __future__ import annotations


def m007_appointments(db):
    """预约办: bookings of a service slot; checked in at the kiosk for a lane-1 ticket."""
    db["appointments"].create(
        {
            "id": int,
            "code": str,  # 8 characters, unambiguous alphabet; the booking's only secret
            "service": str,
            "date": str,  # hall-local YYYY-MM-DD
            "slot": str,  # HH:MM, hall-local slot start
            "name": str,
            "phone": str,
            "status": str,  # booked | checked_in | cancelled | missed
            "late": int,  # checked in after the on-time window (ordinary ticket)
            "ticket_id": int,
            "kiosk": str,
            "created_at": str,
            "cancelled_at": str,
            "checked_in_at": str,
            "missed_at": str,
        },
        pk="id",
        not_null={"code", "service", "date", "slot", "name", "phone", "status", "created_at"},
        defaults={"status": "booked", "late": 0},
        foreign_keys=[("service", "services", "code"), ("ticket_id", "tickets", "id")],
    )
    db["appointments"].create_index(["code"], unique=True)
    db["appointments"].create_index(["date", "service", "slot"])
    db["appointments"].create_index(["phone", "date"])
    db["appointments"].create_index(["status", "date"])


def m008_appointment_slot_capacities(db):
    """Bookable places per service, date and slot set from the staffing planner's
    forecast (a slot not listed keeps appointments.slot_capacity)."""
    db["appointment_capacities"].create(
        {"service": str, "date": str, "slot": str, "capacity": int},
        pk=("service", "date", "slot"),
        not_null={"capacity"},
        foreign_keys=[("service", "services", "code")],
    )


def m009_appointment_id_and_notify(db):
    """The booker's resident ID number when given at booking: only its keyed hash
    (hall.idnumber.key_of; check-in by ID card at the kiosk) and its masked form, never
    the number. notify: the booking's phone gets the ticket's 即将到号 and called
    messages once checked in (1 unless the booker said no)."""
    db["appointments"].add_column("id_key", str)
    db["appointments"].add_column("id_masked", str)
    db["appointments"].add_column("notify", int, not_null_default=1)
    db["appointments"].create_index(["id_key", "date"])
