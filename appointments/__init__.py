"""预约办 (appointments): book a slot on the phone, check in at the kiosk.

Pages: /book (mobile booking), /book/<code> (the booking, its QR code, cancel),
/kiosk/checkin (kiosk check-in screen, ?kiosk=<id> to print on that kiosk's printer).
API: /api/appointments... (see docs/appointments.md). Figures: `appointments` in
/api/stats (appointments.stats.appointment_stats).
"""

from hall.face import Face, PersonalData

from .schema import (
    m007_appointments,
    m008_appointment_slot_capacities,
    m009_appointment_id_and_notify,
)
from .settings import SETTINGS

FACE = Face(
    name="appointments",
    summary="预约办: booking, kiosk check-in, figures",
    blueprints=("appointments.api:bp", "appointments.pages:bp"),
    settings=SETTINGS,
    migrations=(
        m007_appointments,
        m008_appointment_slot_capacities,
        m009_appointment_id_and_notify,
    ),
    provides={
        "bookings": "appointments.capacity:for_app",
        "booking_checkin": "appointments.checkin:for_app",
    },
    check_config="appointments.booking:check_settings",
    setup="appointments.booking:Bookings.for_app",
    figures={"appointments": "appointments.stats:appointment_stats"},
    openapi="appointments.openapi:PART",
    # Kept while the booking matters (the no-show limit looks back 30 days), then
    # reduced to the masked forms the pages show anyway.
    personal_data=(
        PersonalData(
            "appointments", "phone", "date", "appointments.booking:mask_phone", "预约手机号"
        ),
        PersonalData("appointments", "name", "date", "appointments.booking:mask_name", "预约姓名"),
        # The ID number given at booking: its keyed hash and masked form, erased.
        PersonalData("appointments", "id_key", "date", None, "预约身份证号（加密摘要）"),
        PersonalData("appointments", "id_masked", "date", None, "预约身份证号（掩码）"),
    ),
)
