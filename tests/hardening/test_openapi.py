"""The OpenAPI description is true, and every endpoint survives fuzzing from it.

- every /api route of the app (core and faces) is described, and nothing described is
  missing from the app;
- every operation is fuzzed with hypothesis-generated path parameters, query strings and
  bodies (valid by the schema, or not at all), anonymous and as a logged-in admin that
  sends its CSRF token: never a 500, never a stack trace, every /api error is JSON.

HALL_FUZZ_EXAMPLES (default 12) sets the examples per operation and mode;
HALL_FUZZ_RANDOM=1 draws new examples each run instead of the fixed derandomized set.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from hall import openapi

from .conftest import ADMIN, login

EXAMPLES = int(os.environ.get("HALL_FUZZ_EXAMPLES", "12"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("HALL_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
SPEC = openapi.spec()
OPERATIONS = [
    (path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()
]
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def sample_path(path: str, op: dict) -> str:
    """The path with a plausible value in each template."""
    out = path
    for p in op.get("parameters", []):
        if p["in"] == "path":
            value = "7" if p["schema"].get("type") == "integer" else "abc"
            out = out.replace("{" + p["name"] + "}", value)
    return out


# --- the description is true ----------------------------------------------------------
def test_spec_is_served_and_well_formed(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["paths"] == json.loads(json.dumps(SPEC["paths"]))
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(doc)))
    assert refs <= set(doc["components"]["schemas"])
    for path, item in doc["paths"].items():
        templated = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, f"{method} {path}: path parameters"
            assert op["responses"], f"{method} {path}: no responses"
            assert len({p["name"] for p in op.get("parameters", [])}) == len(
                op.get("parameters", [])
            ), f"{method} {path}: a parameter twice"


def test_every_api_route_is_described_and_nothing_else(app):
    adapter = app.url_map.bind("hall.test")
    described: set[tuple[str, str]] = set()
    for path, method, op in OPERATIONS:
        try:
            rule, _ = adapter.match(sample_path(path, op), method=method.upper(), return_rule=True)
        except (NotFound, MethodNotAllowed, RequestRedirect) as e:
            pytest.fail(
                f"the spec lists {method.upper()} {path}, the app has no such route "
                f"({type(e).__name__})"
            )
        described.add((rule.rule, method.upper()))
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) & METHODS):
            if (rule.rule, method) not in described:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes missing from hall/openapi.py: {missing}"


@pytest.mark.parametrize(
    "prefix, handler",
    [("/api/tickets/{ticket_id}/", "ticket_action"), ("/api/windows/{number}/", "window_action")],
)
def test_every_action_of_a_dispatching_route_is_described(prefix, handler):
    """/api/tickets/<id>/<action> dispatches on the action's name: the spec must list
    exactly the actions the handler knows (plus the faces' own literal routes)."""
    from hall import api

    source = inspect.getsource(getattr(api, handler))
    actions = set(re.findall(r'action == "([a-z-]+)"', source))
    assert actions, "no actions found in the handler"
    described = {p[len(prefix) :] for p, _, _ in OPERATIONS if p.startswith(prefix)}
    described = {d for d in described if "/" not in d and "{" not in d}
    faces = {"reprint", "state"}  # literal routes of the kiosk and counter faces
    assert actions == described - faces


# --- fuzzing --------------------------------------------------------------------------
SPECIAL_TEXT = [
    "",
    " ",
    "0",
    "-1",
    "null",
    "true",
    "A001",
    "SB",
    "BDC",
    "K1",
    "default",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"; DROP TABLE tickets; --',
    "%00",
    "\x00",
    "中文业务",
    "😀" * 10,
    "x" * 300,
    "2026-11-30",
    "2026-02-30",
    "9999-12-31",
    "08:30",
    "25:99",
    "callback",
    "rectified",
    "appeal",
    "open",
    "none",
    "clerk",
    "admin",
    "supervisor",
]


def text(max_len: int | None = None) -> st.SearchStrategy:
    size = min(max_len or 60, 60) + 5
    return st.one_of(st.sampled_from(SPECIAL_TEXT), st.text(max_size=size))


# Values that mean something in the seeded hall, by field name: fuzzed requests then
# often get past validation and reach the engine.
KNOWN_FIELDS = {
    "service": ["SB", "YB", "BDC", "GJJ", "CRJ"],
    "services": [["SB"], ["BDC", "YB"]],
    "secondary": [[], ["GJJ"]],
    "window": [1, 2, 3, 4],
    "windows": [[1], [2, 3]],
    "kiosk": ["K1", "default"],
    "reasons": [["态度不好"], ["效率低", "其他"]],
    "date": ["2026-11-30", "2026-12-01", "2026-12-02"],
    "slot": ["09:00", "09:30", "14:00"],
    "phone": ["13800138000"],
    "name": ["张三"],
    "role": ["clerk", "supervisor"],
    "password": ["correct-horse-42", "new-password-123"],
    "username": ["clerk1", "newclerk"],
    "prefix": ["Q", "A"],
    "code": ["NEW", "SB"],
    "number": [5, 6],
}


def from_schema(
    schema: dict, depth: int = 0, name: str | None = None, strict: bool = False
) -> st.SearchStrategy:
    """Values that fit a (small) JSON schema, with the edges included. strict: a field
    the seeded hall knows takes one of its known values only (likely a valid request)."""
    if name in KNOWN_FIELDS:
        if strict:
            return st.sampled_from(KNOWN_FIELDS[name])
        return st.one_of(st.sampled_from(KNOWN_FIELDS[name]), from_schema(schema, depth))
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[1]
        return from_schema(SPEC["components"]["schemas"][ref], depth, None, strict)
    if "allOf" in schema:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            if "$ref" in part:
                part = SPEC["components"]["schemas"][part["$ref"].rsplit("/", 1)[1]]
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return from_schema(merged, depth, None, strict)
    if "oneOf" in schema or "anyOf" in schema:
        options = schema.get("oneOf") or schema.get("anyOf")
        return st.one_of(*[from_schema(o, depth + 1, name, strict) for o in options])
    base: st.SearchStrategy
    kind = schema.get("type")
    if "enum" in schema:
        base = st.sampled_from(schema["enum"])
    elif kind == "string":
        base = text(schema.get("maxLength"))
        if schema.get("format") == "date":
            base = st.one_of(st.dates().map(lambda d: d.isoformat()), base)
    elif kind == "integer":
        lo, hi = schema.get("minimum", -5), schema.get("maximum", 10**6)
        base = st.one_of(
            st.integers(lo, min(hi, lo + 20)),
            st.integers(lo - 3, hi + 3),
            st.sampled_from([0, -1, 2**31, 2**63 - 1, -(2**63)]),
        )
    elif kind == "number":
        base = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers())
    elif kind == "boolean":
        base = st.booleans()
    elif kind == "array":
        base = st.lists(
            from_schema(schema.get("items", {}), depth + 1),
            max_size=min(schema.get("maxItems", 4), 4) + 1,
        )
    elif kind == "object" and depth < 3:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        base = st.fixed_dictionaries(
            {k: from_schema(v, depth + 1, k, strict) for k, v in props.items() if k in required},
            optional={
                k: from_schema(v, depth + 1, k, strict)
                for k, v in props.items()
                if k not in required
            },
        )
    else:
        base = any_json(depth)
    if schema.get("nullable"):
        base = st.one_of(st.none(), base)
    return base


def any_json(depth: int = 0) -> st.SearchStrategy:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        text(),
    )
    if depth >= 2:
        return leaves
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.lists(kids, max_size=4), st.dictionaries(text(20), kids, max_size=4)
        ),
        max_leaves=8,
    )


def param_value(p: dict, known: dict) -> st.SearchStrategy:
    schema = p["schema"]
    pool = known.get(p["name"], [])
    if schema.get("type") == "integer":
        plain = st.one_of(st.integers(0, 12), st.integers(0, 2**70)).map(str)
    else:
        plain = from_schema(schema, name=p["name"]).map(str)
    garbage = text().map(str)
    parts = [plain, plain, garbage]
    if p["name"] in KNOWN_FIELDS:
        parts.insert(0, st.sampled_from(KNOWN_FIELDS[p["name"]]).map(str))
    if pool:
        parts.insert(0, st.sampled_from(pool))
    return st.one_of(*parts)


def request_strategy(path: str, method: str, op: dict, known: dict) -> st.SearchStrategy:
    params = op.get("parameters", [])
    path_params = {p["name"]: param_value(p, known) for p in params if p["in"] == "path"}
    query_params = {
        p["name"]: param_value(p, known)
        for p in params
        if p["in"] == "query" and not p.get("required")
    }
    required_query = {
        p["name"]: param_value(p, known) for p in params if p["in"] == "query" and p.get("required")
    }
    body_schema = (
        (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
    )
    if body_schema is not None:
        body = st.one_of(
            from_schema(body_schema, strict=True).map(lambda b: ("json", b)),
            from_schema(body_schema).map(lambda b: ("json", b)),
            any_json().map(lambda b: ("json", b)),
            st.binary(max_size=64).map(lambda b: ("raw", b)),
            st.just(("none", None)),
        )
    elif method != "get":
        body = st.one_of(st.just(("none", None)), any_json().map(lambda b: ("json", b)))
    else:
        body = st.just(("none", None))
    return st.fixed_dictionaries(
        {
            "path": st.fixed_dictionaries(path_params),
            "query": st.fixed_dictionaries(required_query, optional=query_params),
            "extra_query": st.dictionaries(text(10), text(20), max_size=2),
            "body": body,
        }
    )


def known_values(app) -> dict:
    hall = app.extensions["hall"]
    db = hall.store.db()
    ids = [str(r["id"]) for r in db.query("SELECT id FROM tickets")]
    return {
        "ticket_id": ids,
        "token": app.config["SEEDED"]["tokens"],
        "number": ["1", "2", "3", "4"],
        "rating_id": [str(r["id"]) for r in db.query("SELECT id FROM ratings")],
        "username": ["clerk1", "clerk2", "boss", "nobody"],  # never the fuzzing admin
        "code": ["SB", "BDC", "CRJ", "ZZ"],
        "service": ["SB", "BDC", "CRJ"],
    }


def build_url(path: str, drawn: dict) -> str:
    url = path
    for name, value in drawn["path"].items():
        url = url.replace("{" + name + "}", quote(str(value), safe="") or "x")
    q = {**drawn["extra_query"], **drawn["query"]}
    if q:
        url += "?" + urlencode(q)
    return url


TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlite3.", "werkzeug.")


def check_response(r, method: str, url: str, drawn: dict) -> None:
    where = f"{method.upper()} {url} body={drawn['body']!r:.200}"
    assert r.status_code < 500, f"{r.status_code} on {where}: {r.data[:300]!r}"
    body = r.get_data(as_text=True) if r.mimetype.startswith(("text", "application/json")) else ""
    for marker in TRACE_MARKERS:
        assert marker not in body, f"stack trace in the body of {where}"
    if r.status_code >= 400 and url.startswith("/api/"):
        data = r.get_json(silent=True)
        assert isinstance(data, dict) and isinstance(data.get("error"), str), (
            f"{r.status_code} without a JSON error on {where}: {r.data[:200]!r}"
        )


def send(client, method: str, url: str, drawn: dict, headers: dict):
    kind, body = drawn["body"]
    kwargs: dict = {"headers": headers}
    if kind == "json":
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = "application/json"
    elif kind == "raw":
        kwargs["data"] = body
        kwargs["content_type"] = "application/json"
    return client.open(url, method=method.upper(), **kwargs)


@pytest.fixture
def clients(seeded_app):
    # Fuzzing POST /api/login fails logins; the frozen clock never lets a lockout expire.
    with seeded_app.extensions["hall"].store.write() as db:
        db.execute("DELETE FROM login_failures")
    admin, csrf = login(seeded_app, ADMIN)
    return {"anonymous": (seeded_app.test_client(), {}), "admin": (admin, {"X-CSRF-Token": csrf})}


@pytest.mark.parametrize("mode", ["anonymous", "admin"])
@pytest.mark.parametrize(
    "path, method", [(p, m) for p, m, _ in OPERATIONS], ids=[f"{m} {p}" for p, m, _ in OPERATIONS]
)
def test_fuzz_operation(seeded_app, clients, path, method, mode):
    op = SPEC["paths"][path][method]
    client, headers = clients[mode]
    strategy = request_strategy(path, method, op, known_values(seeded_app))

    @SETTINGS
    @given(drawn=strategy)
    def run(drawn):
        url = build_url(path, drawn)
        r = send(client, method, url, drawn, headers)
        check_response(r, method, url, drawn)

    run()
    if mode == "admin" and path != "/api/logout":
        # Fuzzing must not have locked the admin out (e.g. by a lost session).
        assert client.get("/api/me").status_code == 200
