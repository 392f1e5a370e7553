"""The county face's part of /api/openapi.json (its endpoints are in county/api.py)."""

from __future__ import annotations

from hall.apispec import (
    DATE,
    DATETIME,
    FLAG,
    MANAGERS,
    P_TICKET_ID,
    Q_FROM,
    Q_TO,
    STAFF,
    Part,
    array,
    binary,
    body,
    boolean,
    integer,
    json_response,
    number,
    obj,
    op,
    path_param,
    query,
    ref,
    string,
    text,
)

TAGS = ("county",)
SIGNED = (
    "Signed by a site: X-County-Site, X-County-Timestamp (Unix seconds, within "
    "[county] clock_skew_seconds), X-County-Signature v1=HMAC-SHA256 (docs/county.md)."
)
ANY = {}  # a free-form JSON value

SCHEMAS = {
    "CountyAck": obj({"site": string(), "acked": integer(0)}),
    "CountyBatch": body(
        {
            "site": string(32),
            "records": array(
                obj(
                    {
                        "seq": integer(1),
                        "t": string(),
                        "op": string(),
                        "pk": string(),
                        "at": string(),
                        "row": obj({}),
                    },
                    required=["seq", "t", "op", "pk", "row"],
                ),
                5000,
            ),
        },
        required=["site", "records"],
    ),
    "CountyBatchAnswer": obj({"acked": integer(0), "applied": integer(0)}),
    "Matter": obj(
        {
            "code": string(description="事项编码"),
            "name": string(),
            "department": string(),
            "levels": array(string()),
            "materials": array(string(), description="申请材料"),
            "legal_days": integer(0, nullable=True),
            "promised_days": integer(0, nullable=True),
            "fees": string(),
            "version": integer(1),
        }
    ),
    "CatalogueSave": body({"matters": array(obj({}), 2000)}, required=["matters"]),
    "CountySite": obj(
        {
            "id": string(),
            "name": string(),
            "level": string(),
            "level_name": string(),
            "link": string(description="online | offline | never | disabled"),
            "offline_since": DATETIME,
            "waiting": integer(0),
            "windows_open": integer(0),
            "longest_wait_s": number(nullable=True),
            "tickets": integer(0),
            "served": integer(0),
            "service_level": number(nullable=True),
            "bad_count": integer(0),
        }
    ),
    "CountyLinkStatus": obj(
        {
            "state": string(description="off | starting | online | offline | refused"),
            "backlog": integer(0, nullable=True),
            "last_shipped_at": DATETIME,
            "last_error": string(nullable=True),
        }
    ),
    "Visit": body(
        {
            "window": integer(1, 9999),
            "matter": text(64, description="事项编码 of the catalogue"),
            "case_no": text(64, description="办件编号"),
            "service": text(32),
        },
        required=["window"],
    ),
    "PointRate": body(
        {
            "score": integer(1, 5),
            "reasons": array(text(100), 20),
            "comment": text(500),
            "skip": boolean(description="the citizen left without rating: recorded unrated"),
        },
        description="score, or skip: true",
    ),
    "ProvinceSummary": obj(
        {
            "adapter": string(),
            "pending": integer(0),
            "delivered": integer(0),
            "failed": integer(0),
            "problems": array(obj({})),
        }
    ),
}


def _part() -> dict:
    part = Part(SCHEMAS)
    P_SITE = path_param("site_id", string(32))
    part.add(
        "/api/county/ack",
        "get",
        op(
            "The sequence the centre acknowledged",
            json_response(ref("CountyAck")),
            errors=(401, 403),
            tags=TAGS,
            description=SIGNED,
        ),
    )
    part.add(
        "/api/county/batches",
        "post",
        op(
            "A site's batch of records",
            json_response(ref("CountyBatchAnswer")),
            body="CountyBatch",
            body_required=True,
            errors=(401, 403, 409),
            tags=TAGS,
            description=SIGNED + " 409: a gap or a batch already received (with `acked`).",
        ),
    )
    part.add(
        "/api/county/catalogue",
        "get",
        op(
            "The catalogue (for a signed site: its level's matters); ETag / If-None-Match",
            json_response(obj({"matters": array(ref("Matter")), "count": integer(0)})),
            errors=(401, 403),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/catalogue",
        "put",
        op(
            "Put matters in the catalogue (a changed matter's version goes up)",
            json_response(
                obj({"added": integer(0), "changed": integer(0), "unchanged": integer(0)})
            ),
            roles=["admin"],
            write=True,
            body="CatalogueSave",
            body_required=True,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/sites",
        "get",
        op(
            "Every site at a glance",
            json_response(array(ref("CountySite"))),
            roles=MANAGERS,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/sites/{site_id}/stats",
        "get",
        op(
            "A site's figures (as its /api/stats), from its copy",
            json_response(obj({})),
            roles=MANAGERS,
            params=[P_SITE, Q_FROM, Q_TO],
            errors=(400, 404),
            tags=TAGS,
        ),
    )
    sort = query(
        "sort",
        string(20),
        description="overall | good_rate | bad_rate | avg_wait_s | service_level",
    )
    part.add(
        "/api/county/ranking",
        "get",
        op(
            "Sites within their level, departments county-wide",
            json_response(obj({})),
            roles=MANAGERS,
            params=[Q_FROM, Q_TO, sort],
            errors=(400,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/ratings",
        "get",
        op(
            "Every 差评 in the county",
            json_response(obj({"items": array(obj({}))})),
            roles=MANAGERS,
            params=[Q_FROM, Q_TO, query("overdue", FLAG), query("site", string(32))],
            errors=(400,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/export.xlsx",
        "get",
        op(
            "The month's workbook",
            binary("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
            roles=MANAGERS,
            params=[query("month", string(7, pattern="^[0-9]{4}-[0-9]{2}$"), required=True)],
            errors=(400,),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/province",
        "get",
        op(
            "Ratings to the province",
            json_response(ref("ProvinceSummary")),
            roles=MANAGERS,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/province/{key}/retry",
        "post",
        op(
            "重试: send a rating again now",
            json_response(obj({})),
            roles=MANAGERS,
            write=True,
            params=[path_param("key", string(120))],
            errors=(404, 409),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/link",
        "get",
        op(
            "This site's link to its centre",
            json_response(ref("CountyLinkStatus")),
            roles=MANAGERS,
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/matters",
        "get",
        op(
            "A service's offered matters (or the whole catalogue), with materials",
            json_response(array(ref("Matter"))),
            params=[query("service", string(32))],
            errors=(400, 404),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/visits",
        "post",
        op(
            "Village point: a walk-in served at once at a window",
            json_response(ref("Ticket")),
            status=201,
            roles=STAFF,
            write=True,
            body="Visit",
            body_required=True,
            errors=(404, 409),
            tags=TAGS,
        ),
    )
    part.add(
        "/api/county/visits/{ticket_id}/rating",
        "post",
        op(
            "Village point: the citizen rates on the tablet",
            json_response(ref("Rating")),
            status=201,
            roles=STAFF,
            write=True,
            body="PointRate",
            body_required=True,
            params=[P_TICKET_ID],
            errors=(404, 409),
            tags=TAGS,
        ),
    )
    return part.build()


PART = _part()
_unused = (DATE, ANY)
