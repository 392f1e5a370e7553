"""GET /api/openapi.json: the OpenAPI 3.0 description of every /api endpoint of a hall.

The core describes its own endpoints here (hall/api.py, and the shared schemas: Ticket,
Error, ...); each face describes its endpoints in its own part, next to its routes
(`Face.openapi = "<face>.openapi:PART"`, written with hall/apispec.py). spec(app) merges
the core's part with the parts of the app's installed faces, then fills in what the
hall's configuration decides (`x-values`: kiosk ids, rating reasons, bookable days).

Kept true by tests/robustness/test_openapi.py (every route of app.url_map is described,
nothing else is), fuzzed by test_fuzz.py and checked with schemathesis by
test_conformance.py: a request the description calls valid is not refused with 400, an
answer matches its schema.

`x-roles` on an operation lists the staff roles allowed (absent: anyone). Staff
requests carry the session cookie `hall_session`; every state-changing staff request
also carries `X-CSRF-Token` (from the login answer or GET /api/me).
"""

from __future__ import annotations

import copy
import weakref

from .apispec import (
    DATE,
    DATETIME,
    MANAGERS,
    MAX_ID,
    P_TICKET_ID,
    P_TOKEN,
    P_WINDOW,
    Q_FROM,
    Q_TO,
    STAFF,
    TICKET_STATUS,
    Part,
    array,
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
from .face import INSTALLED, IssueOption, declarations, resolve
from .vocabulary import WINDOW_STATES

SCHEMAS: dict = {
    "Error": obj({"error": string(description="中文 (English) reason")}, required=["error"]),
    "Ok": obj({"ok": boolean()}, required=["ok"]),
    "Ticket": obj(
        {
            "id": integer(1),
            "number": string(description="prefix letter + 3 digits, e.g. A005"),
            "service": string(),
            "service_name": string(),
            "department": string(nullable=True),
            "status": TICKET_STATUS,
            "priority": boolean(),
            "issued_at": DATETIME,
            "called_at": DATETIME,
            "finished_at": DATETIME,
            "window": integer(nullable=True),
            "window_name": string(nullable=True),
            "target_window": integer(nullable=True),
            "waiting_ahead": integer(0),
            "eta_minutes": integer(0),
            "requeues": integer(0),
            "day": DATE,
            "rated": boolean(),
            "token": string(
                description="only for the ticket's holder (issue answer, token look-up)"
            ),
            "priority_reason": string(nullable=True, description="staff views only"),
            "source": string(description="staff views only"),
            "clerk": string(nullable=True, description="staff views only"),
            "journey": obj(
                {
                    "code": string(),
                    "name": string(),
                    "step": integer(0, description="index of the current step"),
                    "steps": array(
                        obj(
                            {
                                "service": string(),
                                "name": string(),
                                "state": enum(["done", "current", "todo"]),
                            }
                        )
                    ),
                },
                nullable=True,
                description="一件事: the journey and its steps; null for an ordinary ticket",
            ),
        },
        required=["id", "number", "service", "status", "priority", "window", "eta_minutes"],
    ),
    "IssuedTicket": {
        "allOf": [ref("Ticket"), obj({"token": string()}, required=["token"])],
        "description": "the new ticket with its token; the faces' issue hooks add their "
        "fields (the kiosk face: printed, print_error, printer, print_status, matter)",
    },
    "Service": obj(
        {
            "code": string(),
            "name": string(),
            "department": string(),
            "prefix": string(),
            "waiting": integer(0),
            "eta_minutes": integer(0),
            "target_wait_minutes": integer(nullable=True),
            "open": boolean(),
            "closed_reason": string(),
            "daily_quota": integer(nullable=True),
            "remaining": integer(nullable=True),
            "matters": array(string()),
        },
        required=["code", "name", "department", "prefix", "waiting", "eta_minutes", "open"],
    ),
    "Window": obj(
        {
            "number": integer(1),
            "name": string(),
            "state": enum(WINDOW_STATES),
            "clerk": string(nullable=True),
            "pause_reason": string(nullable=True),
            "state_since": DATETIME,
            "current": obj(
                {
                    "id": integer(),
                    "number": string(),
                    "service": string(),
                    "status": TICKET_STATUS,
                    "called_at": DATETIME,
                },
                nullable=True,
            ),
            "services": array(string()),
            "secondary": array(string()),
        },
        required=["number", "name", "state"],
    ),
    "Rating": obj(
        {
            "id": integer(),
            "ticket_id": integer(),
            "score": integer(1, 5, nullable=True),
            "reasons": array(string()),
            "comment": string(),
            "channel": enum(["qr", "pad", "timeout"]),
            "status": string(),
            "deadline": string(nullable=True),
        }
    ),
    "Me": obj(
        {
            "username": string(),
            "role": enum(STAFF),
            "display_name": string(),
            "staff_no": string(),
            "csrf_token": string(),
        },
        required=["username", "role", "csrf_token"],
    ),
}

REASON = text(100, blank=False)

BODIES: dict = {
    # "IssueTicket" is built per hall: the faces' IssueOption fields join it (issue_body).
    "Rate": {
        **body(
            {"score": integer(1, 5), "reasons": array(REASON, 20), "comment": text(500)},
            required=["score"],
        ),
        "description": "a score of 1-2 (差评) needs a reason or a comment",
        "anyOf": [
            obj({"score": integer(3, 5)}),
            obj({"reasons": array(REASON, 20, minItems=1)}, required=["reasons"]),
            obj({"comment": text(500, blank=False)}, required=["comment"]),
        ],
    },
    "Login": body({"username": text(64), "password": text(256)}, required=["username", "password"]),
    "Empty": body({}, description="no fields; an empty body is fine"),
    "Cancel": body({"reason": text(200)}),
    "Finish": body(
        {
            "case_no": text(64, description="办件编号, typed or scanned at 办结 (optional)"),
            "matter": text(64, description="事项编码 of the catalogue matter handled (optional)"),
        }
    ),
    "Park": body({"reason": text(200, description="why it is set aside (logged)")}),
    "CallTicket": body(
        {
            "ticket": integer(1, MAX_ID, description="a waiting ticket this window may serve"),
            "reason": text(200, blank=False, description="why out of order (logged, audited)"),
        },
        required=["ticket", "reason"],
    ),
    "Transfer": {
        **body(
            {
                "service": text(32, description="转办: to the head of this service's queue"),
                "window": integer(1, 9999, description="转窗: to this window"),
                "note": text(500),
            }
        ),
        "description": "exactly one of service and window",
        "oneOf": [obj({}, required=["service"]), obj({}, required=["window"])],
    },
    "Pause": body({"reason": text(50)}),
    "Close": body({"force": boolean(description="supervisor: sign the clerk out (强制签退)")}),
}

ISSUE_FIELDS = {
    "service": text(32, description="service code (or journey)"),
    "journey": text(32, description="一件事: a journey code of GET /api/journeys"),
    "priority": boolean(description="绿色通道: staff only, needs priority_reason"),
    "priority_reason": text(200),
    "kiosk": values(
        "hall.openapi:kiosk_ids", string(32, description="a [[kiosks]] id: prints on its printer")
    ),
}


def issue_body(options: list[IssueOption]) -> dict:
    """The body of POST /api/tickets: the core's fields plus the faces' IssueOptions."""
    props = dict(ISSUE_FIELDS)
    for o in options:
        if o.kind is bool:
            schema = boolean()
        elif o.kind is int:
            schema = integer(-(2**63), 2**63 - 1)
        else:
            schema = text(o.max_len)
        if o.help:
            schema["description"] = o.help
        props[o.name] = schema
    return {
        **body(props),
        "description": "exactly one of service and journey; priority: true needs a "
        "priority_reason (and a staff session)",
        "oneOf": [{"required": ["service"]}, {"required": ["journey"]}],
        "anyOf": [
            obj({"priority": boolean(enum=[False])}),
            obj({"priority_reason": text(200, blank=False)}, required=["priority_reason"]),
        ],
    }


def _core_paths() -> dict:
    part = Part()
    add = part.add
    ticket = json_response(ref("Ticket"))
    window = json_response(ref("Window"))

    add("/api/openapi.json", "get", op("This description", json_response({"type": "object"})))
    add(
        "/api/services",
        "get",
        op("Services with waiting counts and estimates", json_response(array(ref("Service")))),
    )
    add(
        "/api/tickets",
        "post",
        op(
            "Take a number (kiosk, API client or staff)",
            json_response(ref("IssuedTicket"), "the new ticket, with its token"),
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
        op(
            "Staff look-up: the day's tickets (no tokens)",
            json_response(array(ref("Ticket"))),
            roles=STAFF,
            params=[
                query("date", DATE, description="default today"),
                query("number", string(8), description="e.g. A005"),
                query("status", TICKET_STATUS),
            ],
            errors=(400,),
        ),
    )
    add(
        "/api/journeys",
        "get",
        op(
            "一件事: the journeys a number can be taken for",
            json_response(
                array(obj({"code": string(), "name": string(), "steps": array(string())}))
            ),
        ),
    )
    add(
        "/api/tickets/{token}",
        "get",
        op("A ticket by its token (the holder)", ticket, params=[P_TOKEN], errors=(404,)),
    )
    for action, summary, name in (
        ("recall", "重呼: call the ticket again", "Empty"),
        ("start", "开始办理: called -> serving", "Empty"),
        ("no-show", "过号", "Empty"),
        ("requeue", "重新排队 a no-show", "Empty"),
        ("finish", "办结 (with the case number, optional)", "Finish"),
        ("cancel", "Cancel a ticket", "Cancel"),
        ("transfer", "转办/转窗: to a service or a window", "Transfer"),
        ("park", "挂起: set the ticket in hand aside at its window", "Park"),
        ("resume", "恢复 a parked ticket at its window (serving)", "Empty"),
    ):
        add(
            f"/api/tickets/{{ticket_id}}/{action}",
            "post",
            op(
                summary,
                ticket,
                roles=STAFF,
                write=True,
                body=name,
                params=[P_TICKET_ID],
                errors=(404, 409),
            ),
        )
    add(
        "/api/tickets/{token}/rating",
        "post",
        op(
            "好差评 by the ticket's holder (QR code)",
            json_response(ref("Rating")),
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
        op(
            "Staff login (new session id, CSRF token)",
            json_response(ref("Me")),
            body="Login",
            body_required=True,
            errors=(401, 429),
        ),
    )
    add(
        "/api/logout",
        "post",
        op("Log out (ends the session server-side)", json_response(ref("Ok")), errors=(403,)),
    )
    add("/api/me", "get", op("Who is logged in", json_response(ref("Me")), errors=(401,)))
    add(
        "/api/windows",
        "get",
        op("Windows, their state and current ticket", json_response(array(ref("Window")))),
    )
    for action, summary, name, resp in (
        ("open", "签到开窗 (or resume a paused window)", "Empty", window),
        ("pause", "暂停服务", "Pause", window),
        ("close", "签退关窗 (force: supervisor)", "Close", window),
        (
            "call-next",
            "叫号: the next ticket for this window",
            "Empty",
            json_response(
                obj({"ticket": {**ref("Ticket"), "nullable": True}}, required=["ticket"])
            ),
        ),
        (
            "call",
            "选号叫号: call a chosen waiting ticket, with a reason",
            "CallTicket",
            json_response(obj({"ticket": ref("Ticket")}, required=["ticket"])),
        ),
    ):
        add(
            f"/api/windows/{{number}}/{action}",
            "post",
            op(
                summary,
                resp,
                roles=STAFF,
                write=True,
                body=name,
                params=[P_WINDOW],
                errors=(404, 409),
            ),
        )
    add(
        "/api/stats",
        "get",
        op(
            "Figures for a date range",
            json_response({"type": "object"}),
            roles=MANAGERS,
            params=[Q_FROM, Q_TO],
            errors=(400,),
            tags=("supervisor",),
        ),
    )
    return part.paths


# --- operations: GET /api/health (hall/health.py), a block of its own -----------------
HEALTH_SCHEMAS: dict = {
    "Health": obj(
        {
            "ok": boolean(description="false when the database cannot be written (503)"),
            "at": DATETIME,
            "database": obj({"writable": boolean(), "error": string(nullable=True)}),
            "connections": obj(
                {},
                additionalProperties=integer(0),
                nullable=True,
                description="Socket.IO clients per namespace in this process (null: unknown)",
            ),
            "connections_total": integer(0, nullable=True),
            "pending_events": integer(0, description="events not yet pushed to the screens"),
            "printers": array(obj({}), nullable=True, description="null: no printer face"),
            "backup": obj(
                {
                    "at": DATETIME,
                    "ok": boolean(nullable=True),
                    "last_ok_at": DATETIME,
                    "stale": boolean(description="no good backup in the last day"),
                }
            ),
            "privacy": obj({"retention_days": integer(0), "last_purge": DATETIME}),
            "scheduler": obj({"running": boolean()}),
            "compat": obj({}, description="hall.compat.report(): private library paths on"),
        },
        required=["ok", "database", "backup"],
    )
}


def _health_paths() -> dict:
    health = op(
        "Health of the running hall (no login; counts and states only)",
        json_response(ref("Health")),
        description="Built at most once per 2 seconds per server process.",
    )
    health["responses"]["503"] = json_response(ref("Health"), "the database cannot be written")
    return {"/api/health": {"get": health}}


# --- what the hall's configuration decides (x-values) ---------------------------------
def kiosk_ids(hall) -> list[str]:
    return [k["id"] for k in hall.cfg.kiosks]


# --- the merge ------------------------------------------------------------------------
TAGS = ("core", "kiosk", "counter", "supervisor", "admin", "appointments")


def core_part(options: list[IssueOption]) -> dict:
    return {
        "paths": {**_core_paths(), **_health_paths()},
        "schemas": {**SCHEMAS, **BODIES, **HEALTH_SCHEMAS, "IssueTicket": issue_body(options)},
    }


def build(parts: list[dict]) -> dict:
    """The document from parts (the core's first); a path's method or a schema name
    described by two parts is an error."""
    paths: dict = {}
    schemas: dict = {}
    for part in parts:
        for path, item in part.get("paths", {}).items():
            target = paths.setdefault(path, {})
            for method, operation in item.items():
                if method in target:
                    raise ValueError(f"{method.upper()} {path} is described twice")
                target[method] = operation
        for name, schema in part.get("schemas", {}).items():
            if name in schemas:
                raise ValueError(f"schema {name} is described twice")
            schemas[name] = schema
    tags = list(TAGS)
    for item in paths.values():
        for operation in item.values():
            tags += [t for t in operation.get("tags", ()) if t not in tags]
    return copy.deepcopy(
        {
            "openapi": "3.0.3",
            "info": {
                "title": "hall: 政务服务大厅排队叫号 API",
                "version": "1",
                "description": 'JSON in and out. Every error is {"error": "中文 (English)"} '
                "with a 4xx status; request bodies over 1 MB are refused (413). Staff "
                "log in with POST /api/login and send X-CSRF-Token on every write. Text "
                "fields refuse control characters.",
            },
            "servers": [{"url": "/"}],
            "tags": [{"name": t} for t in tags],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "hall_session"},
                    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                },
            },
        }
    )


def configure(doc: dict, hall) -> dict:
    """A copy of doc with every `x-values` schema's enum taken from the hall (a schema
    whose list is empty allows no value)."""
    cache: dict[str, list] = {}

    def walk(node):
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        source = out.get("x-values")
        if isinstance(source, str):
            if source not in cache:
                cache[source] = list(resolve(source)(hall))
            allowed = cache[source]
            if allowed:
                out["enum"] = allowed
            else:
                out = {"not": {}, "x-values": source, "description": "none in this hall"}
        return out

    return walk(doc)


_STATIC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DEFAULT: dict | None = None


def static_spec(faces=None) -> dict:
    """The description before the hall's configuration is applied: the core and faces
    (a FaceRegistry, or the installed faces' declarations when None)."""
    global _DEFAULT
    if faces is None:
        if _DEFAULT is None:
            declared = declarations(INSTALLED)
            options = [o for f in declared for o in f.issue_options]
            parts = [resolve(f.openapi) for f in declared if f.openapi is not None]
            _DEFAULT = build([core_part(options), *parts])
        return _DEFAULT
    if faces not in _STATIC:
        _STATIC[faces] = build([core_part(faces.issue_options()), *faces.openapi_parts()])
    return _STATIC[faces]


def spec(app=None) -> dict:
    """The description of app's API (default: the current app). Outside an app context
    and without app: the installed faces', with no configured values (x-values left)."""
    if app is None:
        from flask import current_app, has_app_context

        if not has_app_context():
            return static_spec()
        app = current_app
    hall = app.extensions["hall"]
    return configure(static_spec(hall.faces), hall)
