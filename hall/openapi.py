"""The OpenAPI 3.0 description of every /api endpoint of every face (GET /api/openapi.json).

Built as a plain dict, kept true by tests/robustness/test_openapi.py (every route of
app.url_map is described, nothing else is) and used by the fuzzer there
(tests/robustness/test_fuzz.py), which generates requests from these schemas.

`x-roles` on an operation lists the staff roles allowed (absent: anyone). Staff
requests carry the session cookie `hall_session`; every state-changing staff request
also carries `X-CSRF-Token` (from the login answer or GET /api/me).
"""

from __future__ import annotations

import copy

STAFF = ["clerk", "supervisor", "admin"]
MANAGERS = ["supervisor", "admin"]
ADMIN = ["admin"]
MAX_ID = 2**63 - 1

# --- schema helpers -----------------------------------------------------------------


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _str(max_len: int | None = None, **kw) -> dict:
    out = {"type": "string", **kw}
    if max_len is not None:
        out["maxLength"] = max_len
    return out


def _int(lo: int | None = None, hi: int | None = None, **kw) -> dict:
    out = {"type": "integer", **kw}
    if lo is not None:
        out["minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


def _bool(**kw) -> dict:
    return {"type": "boolean", **kw}


def _obj(props: dict, required=(), **kw) -> dict:
    out = {"type": "object", "properties": props, **kw}
    if required:
        out["required"] = list(required)
    return out


def _list(items: dict, max_items: int | None = None, **kw) -> dict:
    out = {"type": "array", "items": items, **kw}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


DATE = _str(10, format="date", description="YYYY-MM-DD (hall-local day)")
DATETIME = _str(format="date-time", nullable=True, description="hall-local ISO time")

SCHEMAS: dict = {
    "Error": _obj(
        {"error": _str(description="中文 (English) reason")},
        required=["error"],
    ),
    "Ok": _obj({"ok": _bool()}, required=["ok"]),
    "Ticket": _obj(
        {
            "id": _int(1),
            "number": _str(description="prefix letter + 3 digits, e.g. A005"),
            "service": _str(),
            "service_name": _str(),
            "department": _str(nullable=True),
            "status": _str(enum=["waiting", "called", "serving", "done", "no_show", "cancelled"]),
            "priority": _bool(),
            "issued_at": DATETIME,
            "called_at": DATETIME,
            "finished_at": DATETIME,
            "window": _int(nullable=True),
            "window_name": _str(nullable=True),
            "target_window": _int(nullable=True),
            "waiting_ahead": _int(0),
            "eta_minutes": _int(0),
            "requeues": _int(0),
            "day": DATE,
            "rated": _bool(),
            "token": _str(description="only for the ticket's holder (issue answer, token look-up)"),
            "priority_reason": _str(description="staff views only"),
            "source": _str(description="staff views only"),
            "clerk": _str(nullable=True, description="staff views only"),
        },
        required=["id", "number", "service", "status", "priority", "window", "eta_minutes"],
    ),
    "IssuedTicket": {
        "allOf": [
            _ref("Ticket"),
            _obj(
                {
                    "printed": _bool(),
                    "print_error": _str(nullable=True),
                    "printer": _str(nullable=True),
                    "print_status": _str(),
                    "matter": _str(),
                }
            ),
        ]
    },
    "Service": _obj(
        {
            "code": _str(),
            "name": _str(),
            "department": _str(),
            "prefix": _str(),
            "waiting": _int(0),
            "eta_minutes": _int(0),
            "target_wait_minutes": _int(),
            "open": _bool(),
            "closed_reason": _str(),
            "daily_quota": _int(nullable=True),
            "remaining": _int(nullable=True),
            "matters": _list(_str()),
        },
        required=["code", "name", "department", "prefix", "waiting", "eta_minutes", "open"],
    ),
    "Window": _obj(
        {
            "number": _int(1),
            "name": _str(),
            "state": _str(enum=["open", "paused", "closed"]),
            "clerk": _str(nullable=True),
            "pause_reason": _str(nullable=True),
            "state_since": DATETIME,
            "current": _obj(
                {
                    "id": _int(),
                    "number": _str(),
                    "service": _str(),
                    "status": _str(),
                    "called_at": DATETIME,
                },
                nullable=True,
            ),
            "services": _list(_str()),
            "secondary": _list(_str()),
        },
        required=["number", "name", "state"],
    ),
    "Rating": _obj(
        {
            "id": _int(),
            "ticket_id": _int(),
            "score": _int(1, 5, nullable=True),
            "reasons": _list(_str()),
            "comment": _str(),
            "channel": _str(enum=["qr", "pad", "timeout"]),
            "status": _str(),
            "deadline": _str(nullable=True),
        }
    ),
    "RatingFollowUp": _obj(
        {
            "id": _int(),
            "ticket_id": _int(),
            "number": _str(),
            "score": _int(1, 5, nullable=True),
            "score_name": _str(),
            "reasons": _list(_str()),
            "comment": _str(),
            "status": _str(),
            "status_name": _str(),
            "deadline": _str(nullable=True),
            "overdue": _bool(),
        }
    ),
    "Me": _obj(
        {
            "username": _str(),
            "role": _str(enum=STAFF),
            "display_name": _str(),
            "staff_no": _str(),
            "csrf_token": _str(),
        },
        required=["username", "role", "csrf_token"],
    ),
    "Printer": _obj(
        {
            "kiosk": _str(),
            "name": _str(),
            "driver": _str(),
            "status": _str(),
            "status_name": _str(),
            "last_error": _str(nullable=True),
            "checked_at": DATETIME,
            "paper_low": _bool(),
        }
    ),
    "Appointment": _obj(
        {
            "code": _str(),
            "service": _str(),
            "service_name": _str(),
            "date": DATE,
            "slot": _str(description="HH:MM"),
            "slot_end": _str(),
            "status": _str(),
            "status_text": _str(),
            "name": _str(description="masked unless staff"),
            "phone": _str(description="masked unless an admin asks for one record"),
            "ticket_number": _str(nullable=True),
        },
        required=["code", "service", "date", "slot", "status"],
    ),
    "PadState": _obj(
        {
            "window": _int(),
            "window_name": _str(),
            "state": _str(),
            "signed_in": _bool(),
            "pending": _obj({}, nullable=True),
            "reasons": _list(_str()),
            "timeout_seconds": _int(),
            "now": DATETIME,
        },
        required=["window", "state"],
    ),
    "AdminService": _obj(
        {
            "code": _str(),
            "name": _str(),
            "department": _str(),
            "prefix": _str(),
            "target_wait_minutes": _int(),
            "daily_quota": _int(),
            "service_minutes": {"type": "number", "nullable": True},
            "matters": _list(_str()),
            "active": _bool(),
            "sort": _int(nullable=True),
        },
        required=["code", "name", "active"],
    ),
    "AdminWindow": _obj(
        {
            "number": _int(),
            "name": _str(),
            "state": _str(),
            "clerk": _str(nullable=True),
            "active": _bool(),
            "services": _list(_str()),
            "secondary": _list(_str()),
        },
        required=["number", "name", "active"],
    ),
    "User": _obj(
        {
            "id": _int(),
            "username": _str(),
            "role": _str(enum=STAFF),
            "role_name": _str(),
            "display_name": _str(),
            "staff_no": _str(),
            "windows": _list(_int()),
            "active": _bool(),
            "created_at": _str(nullable=True),
        },
        required=["username", "role", "active"],
    ),
}

# --- request bodies -----------------------------------------------------------------
SERVICE_FIELDS = {
    "name": _str(50, minLength=1),
    "department": _str(50, minLength=1),
    "prefix": _str(1, pattern="^[A-Z]$"),
    "target_wait_minutes": _int(0, 600),
    "daily_quota": _int(0, 100000),
    "service_minutes": {"type": "number", "minimum": 0, "maximum": 600},
    "matters": _list(_str(50, minLength=1), 30),
    "active": _bool(),
    "sort": _int(-100000, 100000),
}
WINDOW_FIELDS = {
    "name": _str(50, minLength=1),
    "services": _list(_str(50, minLength=1), 30, minItems=1, description="primary services"),
    "secondary": _list(_str(50, minLength=1), 30),
    "active": _bool(),
}
USER_FIELDS = {
    "password": _str(256, minLength=8),
    "role": _str(enum=STAFF),
    "display_name": _str(32),
    "staff_no": _str(32),
    "windows": _list(_int(1, 9999), 100, description="windows a clerk may use; [] = any"),
    "active": _bool(),
}

BODIES: dict = {
    "IssueTicket": _obj(
        {
            "service": _str(32, description="service code"),
            "priority": _bool(description="绿色通道: staff only, needs priority_reason"),
            "priority_reason": _str(200),
            "kiosk": _str(32, description="a [[kiosks]] id: prints on its printer"),
            "print": _bool(description="print on the default printer"),
            "matter": _str(50, description="sub-matter, printed on the ticket"),
        },
        required=["service"],
    ),
    "Rate": _obj(
        {
            "score": _int(1, 5),
            "reasons": _list(_str(100, minLength=1), 20),
            "comment": _str(500),
        },
        required=["score"],
    ),
    "Login": _obj({"username": _str(64), "password": _str(256)}, required=["username", "password"]),
    "Empty": _obj({}, description="no fields; an empty body is fine"),
    "Cancel": _obj({"reason": _str(200)}),
    "Transfer": {
        **_obj(
            {
                "service": _str(32, description="转办: to the head of this service's queue"),
                "window": _int(1, 9999, description="转窗: to this window"),
                "note": _str(500),
            }
        ),
        "description": "exactly one of service and window",
    },
    "Reprint": _obj({"kiosk": _str(32, description="printer: a kiosk id or 'default'")}),
    "Pause": _obj({"reason": _str(50)}),
    "Close": _obj({"force": _bool(description="supervisor: sign the clerk out (强制签退)")}),
    "FollowUp": _obj(
        {"action": _str(20, enum=["callback", "rectified", "appeal"]), "note": _str(1000)},
        required=["action", "note"],
    ),
    "ServiceCreate": _obj(
        {"code": _str(16, pattern="^[A-Za-z0-9_-]{1,16}$"), **SERVICE_FIELDS},
        required=["code", "name", "department", "prefix"],
        additionalProperties=False,
    ),
    "ServiceUpdate": _obj(SERVICE_FIELDS, additionalProperties=False, minProperties=1),
    "WindowCreate": _obj(
        {"number": _int(1, 9999), **WINDOW_FIELDS},
        required=["number", "services"],
        additionalProperties=False,
    ),
    "WindowUpdate": _obj(WINDOW_FIELDS, additionalProperties=False, minProperties=1),
    "UserCreate": _obj(
        {"username": _str(32, pattern="^[A-Za-z0-9_.-]{2,32}$"), **USER_FIELDS},
        required=["username", "password", "role"],
        additionalProperties=False,
    ),
    "UserUpdate": _obj(USER_FIELDS, additionalProperties=False, minProperties=1),
    "Book": _obj(
        {
            "service": _str(64),
            "date": _str(64, description="YYYY-MM-DD"),
            "slot": _str(64, description="HH:MM, a slot of GET /api/appointments/slots"),
            "name": _str(64),
            "phone": _str(64, description="11-digit mainland mobile number"),
        },
        required=["service", "date", "slot", "name", "phone"],
    ),
    "CheckIn": _obj({"kiosk": _str(32)}),
    "PadRate": _obj(
        {
            "score": _int(1, 5),
            "reasons": _list(_str(20, minLength=1), 10, description="from ratings.reasons"),
            "comment": _str(200),
            "ticket": _int(1, MAX_ID, description="the ticket the pad showed"),
        },
        required=["score"],
    ),
}

# --- parameters ---------------------------------------------------------------------
P_TICKET_ID = {"name": "ticket_id", "in": "path", "required": True, "schema": _int(0, MAX_ID)}
P_TOKEN = {"name": "token", "in": "path", "required": True, "schema": _str(64)}
P_WINDOW = {"name": "number", "in": "path", "required": True, "schema": _int(0, MAX_ID)}
P_RATING = {"name": "rating_id", "in": "path", "required": True, "schema": _int(0, MAX_ID)}
P_CODE = {"name": "code", "in": "path", "required": True, "schema": _str(32)}
P_USERNAME = {"name": "username", "in": "path", "required": True, "schema": _str(64)}


def _q(name: str, schema: dict, required: bool = False, description: str = "") -> dict:
    out = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        out["description"] = description
    return out


Q_FROM = _q("from", DATE, description="first day (default today)")
Q_TO = _q("to", DATE, description="last day (default from); at most 366 days")
FLAG = _str(enum=["0", "1", "true", "false"])

# --- responses ----------------------------------------------------------------------
ERRORS = {
    400: "bad input (type, size, format) or broken JSON",
    401: "not logged in",
    403: "wrong role, missing X-CSRF-Token, or not allowed here",
    404: "no such thing",
    409: "not possible in the current state; nothing changed",
    413: "request body over 1 MB",
    429: "too many requests",
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _binary(mime: str, description: str) -> dict:
    return {
        "description": description,
        "content": {mime: {"schema": {"type": "string", "format": "binary"}}},
    }


def _op(
    summary: str,
    ok: dict,
    *,
    status: int = 200,
    roles: list[str] | None = None,
    body: str | None = None,
    params: list[dict] = (),
    errors: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    write: bool = False,
    body_required: bool = False,
    description: str = "",
) -> dict:
    op: dict = {"summary": summary, "tags": list(tags) or ["core"]}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    codes = set(errors)
    if body is not None:
        codes |= {400, 413}
    if roles:
        op["x-roles"] = list(roles)
        codes |= {401, 403}
        op["security"] = [{"session": [], "csrf": []}] if write else [{"session": []}]
    else:
        op["security"] = []
    responses = {str(status): ok}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    op["responses"] = responses
    return op


def _paths() -> dict:
    ticket = _json(_ref("Ticket"))
    window = _json(_ref("Window"))
    paths: dict = {}

    def add(path: str, method: str, op: dict) -> None:
        paths.setdefault(path, {})[method] = op

    # --- core: services, tickets, auth, windows, figures -----------------------------
    add("/api/openapi.json", "get", _op("This description", _json({"type": "object"})))
    add(
        "/api/services",
        "get",
        _op("Services with waiting counts and estimates", _json(_list(_ref("Service")))),
    )
    add(
        "/api/tickets",
        "post",
        _op(
            "Take a number (kiosk, API client or staff)",
            _json(_ref("IssuedTicket"), "the new ticket, with its token"),
            status=201,
            body="IssueTicket",
            body_required=True,
            errors=(403, 404, 409, 429),
            description="Anonymous callers are rate limited per address; `priority` only "
            "from logged-in staff (403 otherwise), with a reason. Staff send X-CSRF-Token.",
        ),
    )
    add(
        "/api/tickets",
        "get",
        _op(
            "Staff look-up: the day's tickets (no tokens)",
            _json(_list(_ref("Ticket"))),
            roles=STAFF,
            params=[
                _q("date", DATE, description="default today"),
                _q("number", _str(8), description="e.g. A005"),
                _q("status", _str(16)),
            ],
            errors=(400,),
        ),
    )
    add(
        "/api/tickets/{token}",
        "get",
        _op("A ticket by its token (the holder)", ticket, params=[P_TOKEN], errors=(404,)),
    )
    for action, summary, body, errs in (
        ("recall", "重呼: call the ticket again", "Empty", (404, 409)),
        ("start", "开始办理: called -> serving", "Empty", (404, 409)),
        ("no-show", "过号", "Empty", (404, 409)),
        ("requeue", "重新排队 a no-show", "Empty", (404, 409)),
        ("finish", "办结", "Empty", (404, 409)),
        ("cancel", "Cancel a ticket", "Cancel", (404, 409)),
        ("transfer", "转办/转窗: to a service or a window", "Transfer", (404, 409)),
    ):
        add(
            f"/api/tickets/{{ticket_id}}/{action}",
            "post",
            _op(
                summary,
                ticket,
                roles=STAFF,
                write=True,
                body=body,
                params=[P_TICKET_ID],
                errors=errs,
            ),
        )
    add(
        "/api/tickets/{token}/rating",
        "post",
        _op(
            "好差评 by the ticket's holder (QR code)",
            _json(_ref("Rating")),
            status=201,
            body="Rate",
            body_required=True,
            params=[P_TOKEN],
            errors=(404, 409),
            description="Only after 办结; a score of 1-2 needs a reason or a comment; once.",
        ),
    )
    add(
        "/api/login",
        "post",
        _op(
            "Staff login (new session id, CSRF token)",
            _json(_ref("Me")),
            body="Login",
            body_required=True,
            errors=(401, 429),
        ),
    )
    add(
        "/api/logout",
        "post",
        _op("Log out (ends the session server-side)", _json(_ref("Ok")), errors=(403,)),
    )
    add("/api/me", "get", _op("Who is logged in", _json(_ref("Me")), errors=(401,)))
    add(
        "/api/windows",
        "get",
        _op("Windows, their state and current ticket", _json(_list(_ref("Window")))),
    )
    for action, summary, body, resp in (
        ("open", "签到开窗 (or resume a paused window)", "Empty", window),
        ("pause", "暂停服务", "Pause", window),
        ("close", "签退关窗 (force: supervisor)", "Close", window),
        (
            "call-next",
            "叫号: the next ticket for this window",
            "Empty",
            _json(_obj({"ticket": {**_ref("Ticket"), "nullable": True}}, required=["ticket"])),
        ),
    ):
        add(
            f"/api/windows/{{number}}/{action}",
            "post",
            _op(
                summary,
                resp,
                roles=STAFF,
                write=True,
                body=body,
                params=[P_WINDOW],
                errors=(404, 409),
            ),
        )
    add(
        "/api/stats",
        "get",
        _op(
            "Figures for a date range",
            _json({"type": "object"}),
            roles=MANAGERS,
            params=[Q_FROM, Q_TO],
            errors=(400,),
            tags=("supervisor",),
        ),
    )

    # --- kiosk face -----------------------------------------------------------------
    add(
        "/api/printers",
        "get",
        _op(
            "Printer status per kiosk",
            _json(_list(_ref("Printer"))),
            roles=MANAGERS,
            params=[_q("check", FLAG, description="ask every printer first")],
            tags=("kiosk",),
        ),
    )
    add(
        "/api/tickets/{token}/ticket.png",
        "get",
        _op(
            "The ticket as printed",
            _binary("image/png", "PNG"),
            params=[P_TOKEN],
            errors=(404,),
            tags=("kiosk",),
        ),
    )
    add(
        "/api/tickets/{token}/qr.png",
        "get",
        _op(
            "QR code of the ticket's phone page",
            _binary("image/png", "PNG"),
            params=[P_TOKEN],
            errors=(404,),
            tags=("kiosk",),
        ),
    )
    add(
        "/api/kiosk/book-qr/{code}.png",
        "get",
        _op(
            "QR code of the booking page for a service",
            _binary("image/png", "PNG"),
            params=[{**P_CODE, "schema": _str(16)}],
            errors=(404,),
            tags=("kiosk",),
        ),
    )
    add(
        "/api/tickets/{ticket_id}/reprint",
        "post",
        _op(
            "补打: print a ticket again",
            _json(
                _obj(
                    {
                        "printed": _bool(),
                        "error": _str(nullable=True),
                        "print_error": _str(nullable=True),
                        "printer": _str(),
                        "ticket": _ref("Ticket"),
                    }
                )
            ),
            roles=STAFF,
            write=True,
            body="Reprint",
            params=[P_TICKET_ID],
            errors=(404, 409),
            tags=("kiosk",),
        ),
    )

    # --- counter face ---------------------------------------------------------------
    add(
        "/api/windows/{number}/state",
        "get",
        _op(
            "Clerk console state of a window",
            _json({"type": "object"}),
            roles=STAFF,
            params=[P_WINDOW],
            errors=(404,),
            tags=("counter",),
        ),
    )
    add(
        "/api/counter/me",
        "get",
        _op(
            "The clerk, the window signed in at, the windows allowed",
            _json(_obj({"user": {"type": "object"}, "window": {}, "windows": _list({})})),
            roles=STAFF,
            tags=("counter",),
        ),
    )
    add(
        "/api/pad/{number}",
        "get",
        _op(
            "Rating pad state of a window",
            _json(_ref("PadState")),
            params=[P_WINDOW],
            errors=(404,),
            tags=("counter",),
        ),
    )
    add(
        "/api/pad/{number}/rating",
        "post",
        _op(
            "Rate the window's last finished ticket at the pad",
            _json(
                _obj(
                    {
                        "score": _int(1, 5),
                        "label": _str(),
                        "reasons": _list(_str()),
                        "bad": _bool(),
                        "state": _ref("PadState"),
                    }
                )
            ),
            status=201,
            body="PadRate",
            body_required=True,
            params=[P_WINDOW],
            errors=(403, 404, 409),
            tags=("counter",),
            description="Content-Type must be application/json; pad addresses may be limited "
            "by counter.pad_addresses.",
        ),
    )
    add(
        "/api/pad/{number}/timeout",
        "post",
        _op(
            "The pad's countdown ran out",
            _json(_obj({"recorded": _int(0), "state": _ref("PadState")})),
            body="Empty",
            params=[P_WINDOW],
            errors=(403, 404),
            tags=("counter",),
        ),
    )

    # --- supervisor face ------------------------------------------------------------
    add(
        "/api/export/tickets.csv",
        "get",
        _op(
            "Tickets as CSV",
            _binary("text/csv", "CSV, UTF-8"),
            roles=MANAGERS,
            params=[Q_FROM, Q_TO],
            errors=(400,),
            tags=("supervisor",),
        ),
    )
    add(
        "/api/export/report.xlsx",
        "get",
        _op(
            "Figures as an Excel workbook",
            _binary("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
            roles=MANAGERS,
            params=[Q_FROM, Q_TO],
            errors=(400,),
            tags=("supervisor",),
        ),
    )
    add(
        "/api/ratings",
        "get",
        _op(
            "Ratings (好差评) with follow-up state",
            _json(_list(_ref("RatingFollowUp"))),
            roles=MANAGERS,
            params=[
                _q("status", _str(100), description="comma-separated follow-up statuses"),
                _q("service", _str(32)),
                Q_FROM,
                Q_TO,
                _q("bad", FLAG),
                _q("overdue", FLAG),
                _q("limit", _int(1, 5000)),
            ],
            errors=(400,),
            tags=("supervisor",),
        ),
    )
    add(
        "/api/ratings/{rating_id}",
        "get",
        _op(
            "One rating with its follow-ups",
            _json(_ref("RatingFollowUp")),
            roles=MANAGERS,
            params=[P_RATING],
            errors=(404,),
            tags=("supervisor",),
        ),
    )
    add(
        "/api/ratings/{rating_id}/follow-up",
        "post",
        _op(
            "差评 follow-up: callback, rectified or appeal",
            _json(_ref("RatingFollowUp")),
            roles=MANAGERS,
            write=True,
            body="FollowUp",
            body_required=True,
            params=[P_RATING],
            errors=(404, 409),
            tags=("supervisor",),
        ),
    )
    add(
        "/api/audit",
        "get",
        _op(
            "Audit log search",
            _json(_list({"type": "object"})),
            roles=MANAGERS,
            params=[
                Q_FROM,
                Q_TO,
                _q("ticket", _str(20), description="ticket number or id"),
                _q("user", _str(64)),
                _q("action", _str(32)),
                _q("limit", _int(1, 2000)),
            ],
            errors=(400,),
            tags=("supervisor",),
        ),
    )
    add(
        "/api/supervisor/board",
        "get",
        _op("Live board", _json({"type": "object"}), roles=MANAGERS, tags=("supervisor",)),
    )
    for kind, ref, create_body, update_body, param in (
        ("services", "AdminService", "ServiceCreate", "ServiceUpdate", {**P_CODE}),
        ("windows", "AdminWindow", "WindowCreate", "WindowUpdate", {**P_WINDOW}),
        ("users", "User", "UserCreate", "UserUpdate", {**P_USERNAME}),
    ):
        add(
            f"/api/admin/{kind}",
            "get",
            _op(f"Admin: all {kind}", _json(_list(_ref(ref))), roles=ADMIN, tags=("admin",)),
        )
        add(
            f"/api/admin/{kind}",
            "post",
            _op(
                f"Admin: create one of {kind}",
                _json(_ref(ref)),
                status=201,
                roles=ADMIN,
                write=True,
                body=create_body,
                body_required=True,
                errors=(409,),
                tags=("admin",),
            ),
        )
        name = param["name"]
        for method in ("patch", "post"):
            add(
                f"/api/admin/{kind}/{{{name}}}",
                method,
                _op(
                    f"Admin: change one of {kind}"
                    + (" (POST: the same, for plain clients)" if method == "post" else ""),
                    _json(_ref(ref)),
                    roles=ADMIN,
                    write=True,
                    body=update_body,
                    body_required=True,
                    params=[param],
                    errors=(404, 409),
                    tags=("admin",),
                ),
            )

    # --- appointments face ----------------------------------------------------------
    tag = ("appointments",)
    add(
        "/api/appointments/slots",
        "get",
        _op(
            "Bookable slots of a service on a day",
            _json(_list({"type": "object"})),
            params=[_q("service", _str(32), required=True), _q("date", DATE, required=True)],
            errors=(400, 404),
            tags=tag,
        ),
    )
    add(
        "/api/appointments/days",
        "get",
        _op("Bookable days", _json(_list(DATE)), tags=tag),
    )
    add(
        "/api/appointments",
        "post",
        _op(
            "Book a slot",
            _json(_ref("Appointment")),
            status=201,
            body="Book",
            body_required=True,
            errors=(403, 404, 409, 429),
            tags=tag,
        ),
    )
    add(
        "/api/appointments",
        "get",
        _op(
            "Staff: one day's bookings",
            _json(_list(_ref("Appointment"))),
            roles=STAFF,
            params=[_q("date", DATE), _q("service", _str(32)), _q("status", _str(16))],
            errors=(400,),
            tags=tag,
        ),
    )
    add(
        "/api/appointments/{code}",
        "get",
        _op(
            "One booking by its code",
            _json(_ref("Appointment")),
            params=[P_CODE],
            errors=(404,),
            tags=tag,
        ),
    )
    add(
        "/api/appointments/{code}/qr.png",
        "get",
        _op(
            "QR code of a booking",
            _binary("image/png", "PNG"),
            params=[P_CODE],
            errors=(404,),
            tags=tag,
        ),
    )
    add(
        "/api/appointments/{code}/cancel",
        "post",
        _op(
            "Cancel a booking (the holder of the code)",
            _json(_ref("Appointment")),
            body="Empty",
            params=[P_CODE],
            errors=(403, 404, 409),
            tags=tag,
        ),
    )
    add(
        "/api/appointments/{code}/check-in",
        "post",
        _op(
            "Check in at the kiosk: issues the ticket",
            _json(_ref("IssuedTicket")),
            status=201,
            body="CheckIn",
            params=[P_CODE],
            errors=(403, 404, 409, 429),
            tags=tag,
        ),
    )
    return paths


def build() -> dict:
    """The whole description (a fresh copy each time)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "hall: 政务服务大厅排队叫号 API",
            "version": "1",
            "description": 'JSON in and out. Every error is {"error": "中文 (English)"} '
            "with a 4xx status; request bodies over 1 MB are refused (413). Staff "
            "log in with POST /api/login and send X-CSRF-Token on every write.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": t} for t in ("core", "kiosk", "counter", "supervisor", "admin", "appointments")
        ],
        "paths": _paths(),
        "components": {
            "schemas": copy.deepcopy({**SCHEMAS, **BODIES}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "hall_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


_CACHE: dict | None = None


def spec() -> dict:
    global _CACHE
    if _CACHE is None:
        _CACHE = build()
    return _CACHE
