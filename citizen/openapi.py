"""The citizen face's part of /api/openapi.json (its endpoints: citizen/api.py and
citizen/mobile.py)."""

from __future__ import annotations

from hall.apispec import (
    MANAGERS,
    MAX_ID,
    STAFF,
    Part,
    array,
    binary,
    body,
    boolean,
    integer,
    json_response,
    obj,
    op,
    path_param,
    ref,
    string,
    text,
    values,
)

TAGS = ("citizen",)
KIOSK = values("hall.openapi:kiosk_ids", string(32, description="a [[kiosks]] id"))
PHONE = string(20, pattern="^1[3-9][0-9]{9}$", description="a mainland mobile number")
# A number of this shape whose check digit (GB 11643) is wrong is no one's: 404.
ID_NUMBER = string(
    18,
    pattern="^[1-9][0-9]{5}(19[0-9]{2}|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])"
    "[0-9]{3}[0-9X]$",
    description="an 18-character resident ID number with its GB 11643 check digit",
)
SERVICE = text(32, blank=False, description="a service code")

SCHEMAS = {
    "CardScan": body({"kiosk": {**KIOSK, "nullable": True}, "number": ID_NUMBER}, ["number"]),
    "CardAgent": body({"kiosk": KIOSK, "number": ID_NUMBER}, ["kiosk", "number"]),
    "CardRead": obj(
        {
            "card": string(description="the read's token: one number, for expires_in seconds"),
            "masked": string(description="3408**********1234"),
            "elder": boolean(),
            "priority": boolean(),
            "expires_in": integer(0),
        },
        required=["card", "masked", "elder", "priority", "expires_in"],
    ),
    "CardScanned": {
        "allOf": [
            ref("CardRead"),
            obj(
                {
                    "booking": obj(
                        {
                            "state": string(
                                enum=["early", "due", "late"],
                                description="due: POST /api/idcard/check-in checks it in",
                            ),
                            "service": string(),
                            "service_name": string(),
                            "slot": string(description="HH:MM"),
                            "checkin_opens": string(description="HH:MM"),
                            "checkin_closes": string(description="HH:MM"),
                        },
                        ["state", "service", "slot"],
                        nullable=True,
                        description="the card holder's booking today (given with the ID "
                        "number), or null",
                    )
                }
            ),
        ]
    },
    "CardCheckIn": body(
        {
            "card": text(64, description="the token of a card read"),
            "kiosk": {**KIOSK, "nullable": True},
        },
        ["card"],
    ),
    "CardCheckedIn": {
        "allOf": [
            ref("IssuedTicket"),
            obj(
                {
                    "late": boolean(),
                    "appointment": obj(
                        {
                            "service": string(),
                            "date": string(),
                            "slot": string(),
                            "status": string(),
                        },
                        ["service", "date", "slot", "status"],
                    ),
                }
            ),
        ]
    },
    "AgentAnswer": obj({"masked": string(), "elder": boolean(), "priority": boolean()}, ["masked"]),
    "CardTicket": body(
        {
            "card": text(64, description="the token of a card read"),
            "service": SERVICE,
            "kiosk": {**KIOSK, "nullable": True},
            "phone": {**PHONE, "description": "for 即将到号 messages"},
        },
        ["card", "service"],
    ),
    "SmsSubscribe": body({"token": text(64), "phone": PHONE}, ["token", "phone"]),
    "SmsSubscribed": obj(
        {"ok": boolean(), "number": string(), "phone": string(description="masked")},
        ["ok", "number", "phone"],
    ),
    "SmsReport": obj(
        {
            "channel": string(),
            "day": string(),
            "counts": {"type": "object", "additionalProperties": integer(0)},
            "problems": array({"type": "object"}),
        },
        ["channel", "counts", "problems"],
    ),
    "HelpRaise": body({"kiosk": KIOSK}, ["kiosk"]),
    "HelpRaised": obj({"id": integer(0), "new": boolean()}, ["id", "new"]),
    "HelpAlert": obj(
        {
            "id": integer(0),
            "kiosk": string(),
            "kiosk_name": string(),
            "text": string(),
            "at": string(nullable=True),
        },
        ["id", "kiosk", "text"],
    ),
    "HelpAck": obj({"id": integer(0), "acked_by": string()}, ["id", "acked_by"]),
    "MobileCode": body({"phone": PHONE}, ["phone"]),
    "MobileCodeSent": obj(
        {"sent": boolean(), "phone": string(), "minutes": integer(0)}, ["sent", "phone"]
    ),
    "MobileTicket": body(
        {
            "service": SERVICE,
            "phone": PHONE,
            "code": string(
                6, pattern="^[0-9]{6}$", description="the SMS code (when a channel is configured)"
            ),
        },
        ["service", "phone"],
    ),
    "MobileArrive": body(
        {"token": text(64), "door": text(32, description="the door QR's code of the day")},
        ["token", "door"],
    ),
    "KioskArrive": body(
        {
            "number": string(5, pattern="^[A-Za-z][0-9]{3,4}$", description="e.g. A005"),
            "last4": string(4, pattern="^[0-9]{4}$", description="last four digits of the phone"),
        },
        ["number", "last4"],
    ),
}


def _part() -> dict:
    part = Part(SCHEMAS)
    add = part.add
    add(
        "/api/idcard/scan",
        "post",
        op(
            "A keyboard-mode reader's number, from the kiosk page: the read's token",
            json_response(ref("CardScanned")),
            status=201,
            body="CardScan",
            body_required=True,
            errors=(404, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/idcard/agent",
        "post",
        op(
            "A kiosk machine's reader agent reports a card (X-Agent-Key)",
            json_response(ref("AgentAnswer")),
            status=201,
            body="CardAgent",
            body_required=True,
            errors=(403, 404),
            tags=TAGS,
        ),
    )
    add(
        "/api/idcard/tickets",
        "post",
        op(
            "Take a number with a card read (per-person limit; 绿色通道 by age)",
            json_response(ref("IssuedTicket")),
            status=201,
            body="CardTicket",
            body_required=True,
            errors=(404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/idcard/check-in",
        "post",
        op(
            "预约签到 by ID card: the card holder's booking whose check-in window is open",
            json_response(ref("CardCheckedIn")),
            status=201,
            body="CardCheckIn",
            body_required=True,
            errors=(400, 404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/sms/subscribe",
        "post",
        op(
            "Leave a phone number for a ticket's 即将到号 messages",
            json_response(ref("SmsSubscribed")),
            body="SmsSubscribe",
            body_required=True,
            errors=(404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/sms",
        "get",
        op(
            "The day's messages and failures",
            json_response(ref("SmsReport")),
            roles=MANAGERS,
            tags=TAGS,
        ),
    )
    add(
        "/api/help",
        "post",
        op(
            "呼叫帮办 from a kiosk",
            json_response(ref("HelpRaised")),
            status=201,
            body="HelpRaise",
            body_required=True,
            errors=(429,),
            tags=TAGS,
        ),
    )
    add(
        "/api/help",
        "get",
        op("Open 呼叫帮办 alerts", json_response(array(ref("HelpAlert"))), roles=STAFF, tags=TAGS),
    )
    add(
        "/api/help/{alert_id}/ack",
        "post",
        op(
            "A guide takes an alert",
            json_response(ref("HelpAck")),
            roles=STAFF,
            write=True,
            params=[path_param("alert_id", integer(0, MAX_ID))],
            errors=(404, 409),
            tags=TAGS,
        ),
    )
    add(
        "/api/m/code",
        "post",
        op(
            "Send the SMS code for a phone ticket",
            json_response(ref("MobileCodeSent")),
            body="MobileCode",
            body_required=True,
            errors=(409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/m/tickets",
        "post",
        op(
            "Take a number from a phone (线上取号)",
            json_response(ref("IssuedTicket")),
            status=201,
            body="MobileTicket",
            body_required=True,
            errors=(403, 404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/m/arrive",
        "post",
        op(
            "Check in a phone ticket with the door QR's code",
            json_response(ref("Ticket")),
            body="MobileArrive",
            body_required=True,
            errors=(403, 404, 409),
            tags=TAGS,
        ),
    )
    add(
        "/api/kiosk/arrive",
        "post",
        op(
            "Check in a phone ticket at the kiosk (number and phone digits)",
            json_response(ref("Ticket")),
            body="KioskArrive",
            body_required=True,
            errors=(404, 409, 429),
            tags=TAGS,
        ),
    )
    add(
        "/api/m/door.png",
        "get",
        op(
            "Staff: today's door QR (线上取号 check-in) as a PNG",
            binary("image/png", "the QR code"),
            roles=STAFF,
            tags=TAGS,
        ),
    )
    return part.build()


PART = _part()
