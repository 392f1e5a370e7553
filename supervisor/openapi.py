"""The supervisor face's part of /api/openapi.json (its endpoints are in supervisor/api.py):
exports, 好差评 follow-up, audit search and the live board here; the admin endpoints
(services, windows, users) in supervisor/openapi_admin.py."""

from __future__ import annotations

from hall.apispec import (
    DATE,
    FLAG,
    MANAGERS,
    MAX_ID,
    Q_FROM,
    Q_TO,
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
    path_param,
    query,
    ref,
    string,
    text,
)

from .followup import ACTIONS, NOTE_MAX, STATUSES
from .openapi_admin import SCHEMAS as ADMIN_SCHEMAS
from .openapi_admin import add_admin
from .openapi_planner import SCHEMAS as PLANNER_SCHEMAS
from .openapi_planner import add_planner

TAGS = ("supervisor",)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
P_RATING = path_param("rating_id", integer(0, MAX_ID))

SCHEMAS = {
    "RatingFollowUp": obj(
        {
            "id": integer(),
            "ticket_id": integer(),
            "number": string(),
            "day": DATE,
            "service": string(),
            "service_name": string(),
            "department": string(nullable=True),
            "window": integer(nullable=True),
            "clerk": string(nullable=True),
            "clerk_name": string(nullable=True),
            "score": integer(1, 5, nullable=True),
            "score_name": string(),
            "bad": boolean(),
            "reasons": array(string()),
            "comment": string(),
            "channel": string(),
            "rated_at": string(nullable=True),
            "status": enum(STATUSES),
            "status_name": string(),
            "deadline": string(nullable=True),
            "callback_deadline": string(nullable=True),
            "overdue": enum(
                ["callback", "rectify"],
                nullable=True,
                description="null: on time; callback: the call back is late; rectify: the "
                "rectification deadline passed",
            ),
            "history": array(
                obj(
                    {
                        "action": string(),
                        "action_name": string(),
                        "from_status": string(),
                        "to_status": string(),
                        "note": string(),
                        "actor": string(nullable=True),
                        "at": string(nullable=True),
                    }
                )
            ),
        },
        required=["id", "ticket_id", "number", "status", "overdue"],
    ),
    "FollowUp": body(
        {
            "action": enum(
                sorted(ACTIONS), description="回访 callback, 整改 rectified, 申诉 appeal"
            ),
            "note": text(NOTE_MAX, blank=False),
        },
        required=["action", "note"],
    ),
    **ADMIN_SCHEMAS,
    **PLANNER_SCHEMAS,
}

RANGE = "`to` is not before `from` and at most 366 days after it (else 400)."


def _part() -> dict:
    part = Part(SCHEMAS)
    add = part.add
    for path, summary, mime, label in (
        ("/api/export/tickets.csv", "Tickets as CSV", "text/csv", "CSV, UTF-8"),
        ("/api/export/report.xlsx", "Figures as an Excel workbook", XLSX, "XLSX"),
    ):
        add(
            path,
            "get",
            op(
                summary,
                binary(mime, label),
                roles=MANAGERS,
                params=[Q_FROM, Q_TO],
                errors=(400,),
                tags=TAGS,
                description=RANGE,
            ),
        )
    add(
        "/api/ratings",
        "get",
        op(
            "Ratings (好差评) with follow-up state",
            json_response(array(ref("RatingFollowUp"))),
            roles=MANAGERS,
            params=[
                {
                    **query("status", array(enum(STATUSES)), description="follow-up statuses"),
                    "style": "form",
                    "explode": False,
                },
                query("service", string(32)),
                {**Q_FROM, "description": "first day (default: no limit)"},
                {**Q_TO, "description": "last day (default: no limit)"},
                query("bad", FLAG),
                query("overdue", FLAG),
                query("limit", integer(1, 5000)),
            ],
            errors=(400,),
            tags=TAGS,
            description="`to` is not before `from` (else 400).",
        ),
    )
    add(
        "/api/ratings/{rating_id}",
        "get",
        op(
            "One rating with its follow-ups",
            json_response(ref("RatingFollowUp")),
            roles=MANAGERS,
            params=[P_RATING],
            errors=(404,),
            tags=TAGS,
        ),
    )
    add(
        "/api/ratings/{rating_id}/follow-up",
        "post",
        op(
            "差评 follow-up: callback, rectified or appeal",
            json_response(ref("RatingFollowUp")),
            roles=MANAGERS,
            write=True,
            body="FollowUp",
            body_required=True,
            params=[P_RATING],
            errors=(404, 409),
            tags=TAGS,
        ),
    )
    add(
        "/api/audit",
        "get",
        op(
            "Audit log search",
            json_response(array({"type": "object"})),
            roles=MANAGERS,
            params=[
                {**Q_FROM, "description": "first day (default: no limit)"},
                {**Q_TO, "description": "last day (default: no limit)"},
                query(
                    "ticket",
                    string(20, pattern="^(#[0-9]{1,11}|[0-9]{1,12}|[A-Za-z][0-9]{1,4})?$"),
                    description="ticket number (A001) or id (123, #123)",
                ),
                query("user", string(64)),
                query("action", string(32)),
                query("limit", integer(1, 2000)),
            ],
            errors=(400,),
            tags=TAGS,
            description="`to` is not before `from` (else 400).",
        ),
    )
    add(
        "/api/supervisor/board",
        "get",
        op("Live board", json_response({"type": "object"}), roles=MANAGERS, tags=TAGS),
    )
    add_admin(part)
    add_planner(part)
    return part.build()


PART = _part()
