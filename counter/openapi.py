"""The counter face's part of /api/openapi.json (its endpoints are in counter/api.py):
the clerk console's window state, the clerk's windows, the rating pad."""

from __future__ import annotations

from hall.apispec import (
    DATETIME,
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
            errors=(404,),
            tags=TAGS,
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
            description="Content-Type must be application/json; pad addresses may be limited "
            "by counter.pad_addresses.",
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
            description="Content-Type must be application/json: send {} (a cross-site form "
            "cannot).",
        ),
    )
    return part.build()


PART = _part()
