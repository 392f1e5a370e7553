"""The counter face's part of /api/openapi.json (its endpoints are in counter/api.py):
the clerk console's window state, the clerk's windows, the rating pad."""

from __future__ import annotations

from hall.apispec import (
    DATETIME,
    MANAGERS,
    MAX_ID,
    P_WINDOW,
    STAFF,
    Part,
    array,
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

TAGS = ("counter",)
REASON = values("counter.openapi:rating_reasons", string(20, description="from ratings.reasons"))

SCHEMAS = {
    "PadState": obj(
        {
            "window": integer(),
            "window_name": string(),
            "state": string(),
            "pause_reason": string(),
            "staff_no": string(),
            "signed_in": boolean(),
            "prompt": obj(
                {
                    "ticket_id": integer(),
                    "number": string(),
                    "service_name": string(),
                    "finished_at": DATETIME,
                    "expires_at": DATETIME,
                    "remaining_seconds": {"type": "number"},
                },
                nullable=True,
            ),
            "reasons": array(string()),
            "timeout_seconds": integer(),
            "now": DATETIME,
        },
        required=["window", "state"],
    ),
    "PadRate": {
        **body(
            {
                "score": integer(1, 5),
                "reasons": array(REASON, 10, description="差评 only; ignored for 3-5"),
                "comment": text(200),
                "ticket": integer(1, MAX_ID, description="the ticket the pad showed"),
            },
            required=["score"],
        ),
        "description": "a score of 1-2 (差评) needs a reason or a comment",
        "anyOf": [
            obj({"score": integer(3, 5)}),
            obj({"reasons": array(REASON, 10, minItems=1)}, required=["reasons"]),
            obj({"comment": text(200, blank=False)}, required=["comment"]),
        ],
    },
}


def rating_reasons(hall) -> list[str]:
    return list(hall.cfg.ratings["reasons"])


def _part() -> dict:
    part = Part(SCHEMAS)
    part.add(
        "/api/windows/{number}/state",
        "get",
        op(
            "Clerk console state of a window",
            json_response({"type": "object"}),
            roles=STAFF,
            params=[P_WINDOW],
            errors=(404,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/windows/{number}/callable",
        "get",
        op(
            "选号叫号: waiting tickets this window may call by choice, in calling order",
            json_response(
                array(
                    obj(
                        {
                            "id": integer(),
                            "number": string(),
                            "service": string(),
                            "service_name": string(),
                            "priority": boolean(),
                            "transferred": boolean(),
                            "journey": boolean(),
                            "skill": boolean(),
                            "waited_seconds": integer(0, nullable=True),
                            "waited_text": string(),
                        }
                    )
                )
            ),
            roles=STAFF,
            params=[P_WINDOW],
            errors=(404,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/counter/me",
        "get",
        op(
            "The clerk, the window signed in at, the windows allowed",
            json_response(obj({"user": {"type": "object"}, "window": {}, "windows": array({})})),
            roles=STAFF,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/pad/{number}",
        "get",
        op(
            "Rating pad state of a window",
            json_response(ref("PadState")),
            params=[P_WINDOW],
            errors=(403, 404),
            tags=TAGS,
            description=PAIRED,
        ),
    )
    part.add(
        "/api/pad/{number}/rating",
        "post",
        op(
            "Rate the window's last finished ticket at the pad",
            json_response(
                obj(
                    {
                        "score": integer(1, 5),
                        "label": string(),
                        "reasons": array(string()),
                        "bad": boolean(),
                        "state": ref("PadState"),
                    }
                )
            ),
            status=201,
            body="PadRate",
            body_required=True,
            params=[P_WINDOW],
            errors=(403, 404, 409),
            tags=TAGS,
            description=PAIRED + " Content-Type must be application/json; pad addresses may "
            "be limited by counter.pad_addresses.",
        ),
    )
    part.add(
        "/api/pad/{number}/timeout",
        "post",
        op(
            "The pad's countdown ran out",
            json_response(obj({"recorded": integer(0), "state": ref("PadState")})),
            body="Empty",
            body_required=True,
            params=[P_WINDOW],
            errors=(403, 404),
            tags=TAGS,
            description=PAIRED + " Content-Type must be application/json: send {} (a "
            "cross-site form cannot).",
        ),
    )
    _pairing(part)
    return part.build()


# --- trusted pads: pairing (counter/pairing.py) ----------------------------------------
PAIRED = "Only for the window's paired pad (cookie hall_pad); any other device gets 403."

PAIRING_SCHEMAS = {
    "PadDevice": obj(
        {
            "id": integer(1),
            "window": integer(1),
            "window_name": string(),
            "paired_at": DATETIME,
            "paired_by": string(),
            "last_seen": DATETIME,
            "address": string(nullable=True),
            "revoked_at": DATETIME,
            "revoked_by": string(nullable=True),
            "active": boolean(),
        }
    ),
    "PairingCode": obj(
        {"code": string(description="shown once"), "window": integer(1), "expires_at": DATETIME}
    ),
    "PairPad": body({"code": text(16, blank=False)}, required=["code"]),
    "NewPairingCode": body({"window": integer(1, 99_999)}, required=["window"]),
}


def _pairing(part: Part) -> None:
    part.schemas.update(PAIRING_SCHEMAS)
    part.add(
        "/api/pad/{number}/pair",
        "post",
        op(
            "Pair this device as the window's rating pad with a one-time code",
            json_response(
                obj({"window": integer(1), "window_name": string(), "device": integer(1)})
            ),
            status=201,
            body="PairPad",
            body_required=True,
            params=[P_WINDOW],
            errors=(403, 404, 429),
            tags=TAGS,
            description="Sets the device cookie hall_pad (HttpOnly, SameSite=Strict). 403 for a "
            "wrong, used or expired code; 10 tries a minute per address.",
        ),
    )
    part.add(
        "/api/pads",
        "get",
        op(
            "Paired rating pads, and the codes still open",
            json_response(obj({"devices": array(ref("PadDevice")), "codes": array(obj({}))})),
            roles=MANAGERS,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/pads/pairing-codes",
        "post",
        op(
            "A one-time pairing code for a window's pad",
            json_response(ref("PairingCode")),
            status=201,
            roles=MANAGERS,
            write=True,
            body="NewPairingCode",
            body_required=True,
            errors=(404,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/pads/{device_id}/revoke",
        "post",
        op(
            "Revoke a paired pad",
            json_response(ref("PadDevice")),
            roles=MANAGERS,
            write=True,
            body="Empty",
            params=[path_param("device_id", integer(0, MAX_ID))],
            errors=(404, 409),
            tags=TAGS,
        ),
    )


PART = _part()
