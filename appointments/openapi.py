"""The appointments face's part of /api/openapi.json (its endpoints are in
appointments/api.py). The bookable days and slots are the serving hall's (x-values)."""

from __future__ import annotations

from hall.apispec import (
    DATE,
    DATETIME,
    P_CODE,
    STAFF,
    Part,
    array,
    binary,
    body,
    boolean,
    enum,
    integer,
    json_response,
    obj,
    op,
    query,
    ref,
    string,
    text,
    values,
)

from .booking import NAME_MAX, STATUSES

TAGS = ("appointments",)
BOOKABLE_DAY = values("appointments.openapi:bookable_days", DATE)
KIOSK = values("hall.openapi:kiosk_ids", string(32, description="a [[kiosks]] id"))
# A real name: Chinese characters or letters, with · . and spaces between.
NAME_CHARS = "\\u3400-\\u4dbf\\u4e00-\\u9fffA-Za-z"
NAME = string(
    NAME_MAX,
    minLength=1,
    pattern=f"^[{NAME_CHARS}·. ]*[{NAME_CHARS}][{NAME_CHARS}·. ]*$",
    description="the citizen's name",
)

ID_NUMBER = string(
    18,
    pattern="^[1-9][0-9]{5}(19[0-9]{2}|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])"
    "[0-9]{3}[0-9X]$",
    description="an 18-character resident ID number with its GB 11643 check digit",
)

SCHEMAS = {
    "Appointment": obj(
        {
            "code": string(),
            "service": string(),
            "service_name": string(),
            "date": DATE,
            "weekday": string(),
            "slot": string(description="HH:MM"),
            "slot_end": string(),
            "status": enum(STATUSES),
            "status_text": string(),
            "late": boolean(),
            "name": string(description="masked unless staff"),
            "phone": string(description="masked unless an admin asks for one record"),
            "checkin_opens": string(),
            "checkin_closes": string(),
            "created_at": DATETIME,
            "checked_in_at": DATETIME,
            "ticket_number": string(nullable=True),
            "id_masked": string(
                nullable=True, description="the ID number given at booking, masked (3408…1234)"
            ),
            "notify": boolean(description="the phone gets the ticket's 即将到号 messages"),
            "url": string(),
            "qr": string(),
        },
        required=["code", "service", "date", "slot", "status"],
    ),
    "Slot": obj(
        {"slot": string(), "end": string(), "left": integer(0), "over": boolean()},
        required=["slot", "left", "over"],
    ),
    "Book": body(
        {
            "service": text(32, blank=False, description="a service code"),
            "date": BOOKABLE_DAY,
            "slot": values(
                "appointments.openapi:slot_starts",
                string(5, description="HH:MM, a slot of GET /api/appointments/slots"),
            ),
            "name": NAME,
            "phone": string(11, pattern="^1[3-9][0-9]{9}$", description="mainland mobile"),
            "id_number": {
                **ID_NUMBER,
                "nullable": True,
                "description": "optional: the booker's resident ID number (GB 11643); only "
                "its keyed hash and masked form are kept; the card then checks in",
            },
            "notify": boolean(
                description="default true: once checked in, the phone gets the ticket's "
                "即将到号 and called messages (when the hall has an SMS channel)"
            ),
        },
        required=["service", "date", "slot", "name", "phone"],
    ),
    "CheckIn": body({"kiosk": KIOSK}),
    "CheckedIn": {
        "allOf": [
            ref("IssuedTicket"),
            obj({"late": boolean(), "appointment": {"type": "object"}}),
        ]
    },
}


def _bookings(hall):
    from .booking import Bookings

    return Bookings.of(hall)


def bookable_days(hall) -> list[str]:
    return [d.isoformat() for d in _bookings(hall).bookable_dates()]


def slot_starts(hall) -> list[str]:
    from .booking import hhmm

    b = _bookings(hall)
    starts = {hhmm(t) for day in b.bookable_dates() for t in b.slot_starts(day)}
    return sorted(starts)


def _part() -> dict:
    part = Part(SCHEMAS)
    add = part.add
    add(
        "/api/appointments/slots",
        "get",
        op(
            "Bookable slots of a service on a day",
            json_response(array(ref("Slot"))),
            params=[
                query("service", string(32, minLength=1), required=True),
                query("date", BOOKABLE_DAY, required=True),
            ],
            errors=(400, 404),
            tags=TAGS,
        ),
    )
    add("/api/appointments/days", "get", op("Bookable days", json_response(array(DATE)), tags=TAGS))
    add(
        "/api/appointments",
        "post",
        op(
            "Book a slot",
            json_response(ref("Appointment")),
            status=201,
            body="Book",
            body_required=True,
            errors=(403, 404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/appointments",
        "get",
        op(
            "Staff: one day's bookings",
            json_response(array(ref("Appointment"))),
            roles=STAFF,
            params=[
                query("date", DATE, description="default today"),
                query("service", string(32)),
                query("status", enum(STATUSES)),
            ],
            errors=(400,),
            tags=TAGS,
        ),
    )
    add(
        "/api/appointments/{code}",
        "get",
        op(
            "One booking by its code",
            json_response(ref("Appointment")),
            params=[P_CODE],
            errors=(404, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/appointments/{code}/qr.png",
        "get",
        op(
            "QR code of a booking",
            binary("image/png", "PNG"),
            params=[P_CODE],
            errors=(404, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/appointments/{code}/cancel",
        "post",
        op(
            "Cancel a booking (the holder of the code)",
            json_response(ref("Appointment")),
            body="Empty",
            params=[P_CODE],
            errors=(403, 404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/appointments/{code}/check-in",
        "post",
        op(
            "Check in at the kiosk: issues the ticket",
            json_response(ref("CheckedIn")),
            status=201,
            body="CheckIn",
            params=[P_CODE],
            errors=(403, 404, 409, 429),
            tags=TAGS,
        ),
    )
    return part.build()


PART = _part()
