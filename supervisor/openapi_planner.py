"""The staffing planner's part of the supervisor face's description
(supervisor/planner_views.py; docs/flow.md)."""

from __future__ import annotations

from hall.apispec import (
    DATE,
    MANAGERS,
    Part,
    array,
    binary,
    body,
    integer,
    json_response,
    obj,
    op,
    query,
    string,
)

TAGS = ("supervisor",)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Q_DAY = query("date", DATE, description="default: today, or the next working day")

SCHEMAS = {
    "PlannerDate": body({"date": DATE}, required=["date"]),
}


def add_planner(part: Part) -> None:
    part.add(
        "/api/planner",
        "get",
        op(
            "排班预测: forecast arrivals and windows needed per service and hour",
            json_response(
                obj(
                    {
                        "date": DATE,
                        "closed": {"type": "boolean"},
                        "method": string(),
                        "hours": array(integer()),
                        "services": array({"type": "object"}),
                        "totals": array({"type": "object"}),
                    },
                    required=["date", "services", "totals"],
                )
            ),
            roles=MANAGERS,
            params=[Q_DAY],
            errors=(400,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/planner/alerts",
        "get",
        op(
            "临时增开窗口: queues the open windows cannot clear within their target",
            json_response(array({"type": "object"})),
            roles=MANAGERS,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/planner/export.xlsx",
        "get",
        op(
            "The planner as an XLSX workbook",
            binary(XLSX, "XLSX"),
            roles=MANAGERS,
            params=[Q_DAY],
            errors=(400,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/planner/appointments",
        "post",
        op(
            "Set a future date's appointment slot capacities from the forecast",
            json_response(obj({"date": DATE, "capacities": {"type": "object"}})),
            roles=MANAGERS,
            write=True,
            body="PlannerDate",
            body_required=True,
            errors=(409,),
            tags=TAGS,
            description="409 for today or a past date, a closed day, or a hall without "
            "the appointments face.",
        ),
    )
