"""The admin endpoints' part of the supervisor face's description (services, windows,
users: supervisor/admin.py), merged by supervisor/openapi.py."""

from __future__ import annotations

from hall.apispec import (
    ADMIN,
    MAX_ID,
    Part,
    array,
    body,
    boolean,
    enum,
    integer,
    json_response,
    number,
    obj,
    op,
    path_param,
    ref,
    string,
    text,
    values,
)
from hall.vocabulary import STAFF_ROLES, WINDOW_STATES

TAGS = ("admin",)
SERVICE_CODE = values("supervisor.openapi_admin:service_codes", string(16))
WINDOW_NUMBER = values("supervisor.openapi_admin:window_numbers", integer(1, 9999))

SERVICE_FIELDS = {
    "name": text(50, blank=False),
    "department": text(50, blank=False),
    "prefix": string(1, pattern="^[A-Z]$"),
    "target_wait_minutes": integer(0, 600),
    "daily_quota": integer(0, 100000),
    "service_minutes": number(0, 600),
    "matters": array(text(50, blank=False), 30),
    "active": boolean(),
    "sort": integer(-100000, 100000),
}
WINDOW_FIELDS = {
    "name": text(50, blank=False),
    "services": array(SERVICE_CODE, 30, minItems=1, description="primary services"),
    "secondary": array(SERVICE_CODE, 30, description="not one of the primary services"),
    "active": boolean(),
}
USER_FIELDS = {
    "password": text(256, minLength=8),
    "role": enum(STAFF_ROLES),
    "display_name": text(32),
    "staff_no": text(32),
    "windows": array(WINDOW_NUMBER, 100, description="windows a clerk may use; [] = any"),
    "skills": array(
        SERVICE_CODE,
        100,
        description="业务资质: services the clerk is qualified for (balanced calling)",
    ),
    "active": boolean(),
}

SCHEMAS = {
    "AdminService": obj(
        {
            "code": string(),
            "name": string(),
            "department": string(),
            "prefix": string(),
            "target_wait_minutes": integer(nullable=True),
            "daily_quota": integer(),
            "service_minutes": number(nullable=True),
            "matters": array(string()),
            "active": boolean(),
            "sort": integer(nullable=True),
        },
        required=["code", "name", "active"],
    ),
    "AdminWindow": obj(
        {
            "number": integer(),
            "name": string(),
            "state": enum(WINDOW_STATES),
            "clerk": string(nullable=True),
            "active": boolean(),
            "services": array(string()),
            "secondary": array(string()),
        },
        required=["number", "name", "active"],
    ),
    "User": obj(
        {
            "id": integer(),
            "username": string(),
            "role": enum(STAFF_ROLES),
            "role_name": string(),
            "display_name": string(),
            "staff_no": string(),
            "windows": array(integer()),
            "skills": array(string()),
            "active": boolean(),
            "created_at": string(nullable=True),
        },
        required=["username", "role", "active"],
    ),
    "ServiceCreate": body(
        {"code": string(16, pattern="^[A-Za-z0-9_-]{1,16}$"), **SERVICE_FIELDS},
        required=["code", "name", "department", "prefix"],
    ),
    "ServiceUpdate": body(SERVICE_FIELDS, minProperties=1),
    "WindowCreate": body(
        {"number": integer(1, 9999), **WINDOW_FIELDS},
        required=["number", "services"],
        description="a service is primary or secondary, not both (else 400)",
    ),
    "WindowUpdate": body(
        WINDOW_FIELDS,
        minProperties=1,
        description="a service is primary or secondary, not both: 400 within the body, "
        "409 against the window's current services",
    ),
    "UserCreate": body(
        {"username": string(32, pattern="^[A-Za-z0-9_.-]{2,32}$"), **USER_FIELDS},
        required=["username", "password", "role"],
    ),
    "UserUpdate": body(USER_FIELDS, minProperties=1),
}


def service_codes(hall) -> list[str]:
    return [r["code"] for r in hall.store.db().query("SELECT code FROM services ORDER BY code")]


def window_numbers(hall) -> list[int]:
    db = hall.store.db()
    return [r["number"] for r in db.query("SELECT number FROM windows ORDER BY number")]


def add_admin(part: Part) -> None:
    for kind, schema, create, update, param in (
        ("services", "AdminService", "ServiceCreate", "ServiceUpdate", ("code", string(32))),
        ("windows", "AdminWindow", "WindowCreate", "WindowUpdate", ("number", integer(0, MAX_ID))),
        ("users", "User", "UserCreate", "UserUpdate", ("username", string(64))),
    ):
        part.add(
            f"/api/admin/{kind}",
            "get",
            op(f"Admin: all {kind}", json_response(array(ref(schema))), roles=ADMIN, tags=TAGS),
        )
        part.add(
            f"/api/admin/{kind}",
            "post",
            op(
                f"Admin: create one of {kind}",
                json_response(ref(schema)),
                status=201,
                roles=ADMIN,
                write=True,
                body=create,
                body_required=True,
                errors=(409,),
                tags=TAGS,
            ),
        )
        name = param[0]
        for method in ("patch", "post"):
            part.add(
                f"/api/admin/{kind}/{{{name}}}",
                method,
                op(
                    f"Admin: change one of {kind}"
                    + (" (POST: the same, for plain clients)" if method == "post" else ""),
                    json_response(ref(schema)),
                    roles=ADMIN,
                    write=True,
                    body=update,
                    body_required=True,
                    params=[path_param(*param)],
                    errors=(404, 409),
                    tags=TAGS,
                ),
            )
