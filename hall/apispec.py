"""Helpers to write an OpenAPI 3.0 part (the core's in hall/openapi.py, each face's in
<face>/openapi.py, declared as `Face.openapi = "<face>.openapi:PART"`).

A part is {"paths": {path: {method: operation}}, "schemas": {name: schema}}; hall/openapi.py
merges the core's part and every installed face's into GET /api/openapi.json.

Conventions the tests rely on (tests/robustness/test_openapi.py, test_conformance.py):
- every 4xx is described with the Error schema (op() adds them);
- a request body is a named schema of the part ("body" of op()), and says
  additionalProperties: false when the server refuses unknown fields;
- a value the hall's configuration decides (kiosk ids, rating reasons, bookable days)
  is declared with values("module:fn", schema): fn(hall) -> list, turned into an `enum`
  of the serving hall when the description is served.
"""

from __future__ import annotations

from .vocabulary import ADMIN_ROLES, MANAGER_ROLES, STAFF_ROLES, TICKET_STATUSES

STAFF = list(STAFF_ROLES)
MANAGERS = list(MANAGER_ROLES)
ADMIN = list(ADMIN_ROLES)
MAX_ID = 2**63 - 1  # SQLite INTEGER

# --- schemas --------------------------------------------------------------------------


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def string(max_len: int | None = None, **kw) -> dict:
    out = {"type": "string", **kw}
    if max_len is not None:
        out["maxLength"] = max_len
    return out


# A character that is a control character (C0 but tab and newline, DEL, C1): refused in
# every text field (hall.validate.CONTROL_RE).
_CONTROL = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"
# Characters that strip() removes or that are controls: a text of only these is blank.
_BLANK = "\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
NO_CONTROL = f"^[^{_CONTROL}]*$"
NOT_BLANK = f"^[^{_CONTROL}]*[^{_BLANK}][^{_CONTROL}]*$"


def text(max_len: int, *, blank: bool = True, **kw) -> dict:
    """A text field as hall.validate.field stores it: at most max_len characters, no
    control characters; blank=False: not empty or white space only."""
    if blank:
        return string(max_len, pattern=NO_CONTROL, **kw)
    return string(max_len, minLength=1, pattern=NOT_BLANK, **kw)


def integer(lo: int | None = None, hi: int | None = None, **kw) -> dict:
    out = {"type": "integer", **kw}
    if lo is not None:
        out["minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


def number(lo: float | None = None, hi: float | None = None, **kw) -> dict:
    out = {"type": "number", **kw}
    if lo is not None:
        out["minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


def boolean(**kw) -> dict:
    return {"type": "boolean", **kw}


def obj(props: dict, required=(), **kw) -> dict:
    out = {"type": "object", "properties": props, **kw}
    if required:
        out["required"] = list(required)
    return out


def body(props: dict, required=(), **kw) -> dict:
    """A request body: an object with these fields and no others."""
    return obj(props, required, additionalProperties=False, **kw)


def array(items: dict, max_items: int | None = None, **kw) -> dict:
    out = {"type": "array", "items": items, **kw}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


def enum(values, **kw) -> dict:
    return {"type": "string", "enum": list(values), **kw}


def values(source: str, schema: dict) -> dict:
    """schema whose allowed values the serving hall decides: source is "module:fn",
    fn(hall) -> list; the served description has them as the schema's enum."""
    return {**schema, "x-values": source}


# A hall-local day; the years hall.validate.parse_day accepts (1970-2999).
DATE = string(
    10,
    format="date",
    pattern="^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    description="YYYY-MM-DD (hall-local day, 1970-2999)",
)
DATETIME = string(format="date-time", nullable=True, description="hall-local ISO time")
FLAG = enum(["0", "1", "true", "false"])
TICKET_STATUS = enum(TICKET_STATUSES)

# --- parameters -----------------------------------------------------------------------


def path_param(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query(name: str, schema: dict, required: bool = False, description: str = "") -> dict:
    out = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        out["description"] = description
    return out


P_TICKET_ID = path_param("ticket_id", integer(0, MAX_ID))
P_TOKEN = path_param("token", string(64))
P_WINDOW = path_param("number", integer(0, MAX_ID))
P_CODE = path_param("code", string(32))

Q_FROM = query("from", DATE, description="first day (default today; with only `to`, `to`)")
Q_TO = query(
    "to", DATE, description="last day (default from); not before from, at most 366 days after"
)

# --- responses ------------------------------------------------------------------------
ERRORS = {
    400: "bad input (type, size, format) or broken JSON",
    401: "not logged in",
    403: "wrong role, missing X-CSRF-Token, or not allowed here",
    404: "no such thing",
    409: "not possible in the current state; nothing changed",
    413: "request body over 1 MB",
    429: "too many requests",
}


def json_response(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def binary(mime: str, description: str) -> dict:
    return {
        "description": description,
        "content": {mime: {"schema": {"type": "string", "format": "binary"}}},
    }


def op(
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
    """One operation. body names a schema of the part; roles: the staff roles allowed
    (401/403 added, and the session/CSRF security); 400 and 413 come with a body."""
    out: dict = {"summary": summary, "tags": list(tags) or ["core"]}
    if description:
        out["description"] = description
    if params:
        out["parameters"] = list(params)
    if body is not None:
        out["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body)}},
        }
    codes = set(errors)
    if body is not None:
        codes |= {400, 413}
    if roles:
        out["x-roles"] = list(roles)
        codes |= {401, 403}
        out["security"] = [{"session": [], "csrf": []}] if write else [{"session": []}]
    else:
        out["security"] = []
    responses = {str(status): ok}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    out["responses"] = responses
    return out


class Part:
    """A part being written: part.add(path, method, operation), part.schemas[name] = ...;
    part.build() -> {"paths", "schemas"} (an operation added twice is an error)."""

    def __init__(self, schemas: dict | None = None):
        self.paths: dict = {}
        self.schemas: dict = dict(schemas or {})

    def add(self, path: str, method: str, operation: dict) -> None:
        item = self.paths.setdefault(path, {})
        if method in item:
            raise ValueError(f"{method.upper()} {path} described twice")
        item[method] = operation

    def build(self) -> dict:
        return {"paths": self.paths, "schemas": self.schemas}
