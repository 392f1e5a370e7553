"""Every operation of the OpenAPI description, fuzzed with hypothesis.

For each operation: bodies generated from its schema, then mutated (wrong types, missing
fields, unknown fields, huge and odd unicode strings, nested junk), garbage JSON and
non-JSON bodies; path parameters valid or hostile (huge and negative numbers, unicode,
traversal strings); query parameters valid or junk; sent anonymously, as a logged-in
admin and as a clerk signed in at window 1 (with, or sometimes without, the CSRF token).

What must hold for every request: never a 500, never a traceback or a file path in the
body, and on /api every 4xx is JSON {"error": "..."}.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall.auth import hash_password
from hall.openapi import spec

from ..conftest import PASSWORD, ROOT
from .conftest import PARAM_RE, login, op_id, operations

OPS = operations()
EXAMPLES = 30
SERVICES = ["SB", "BDC", "YB", "GJJ", "CRJ"]
HOSTILE_TEXT = [
    "",
    " ",
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "....//....//etc/passwd",
    "%00",
    "\x00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"; DROP TABLE tickets; --',
    "{{7*7}}",
    "${jndi:ldap://x}",
    "\u202e\u200b\ufeff",
    "𠀀𪚥😀",
    "\ud800",
    "A" * 600,
    "中" * 300,
    "%s%s%s%n",
    "null",
    "[]",
]
HOSTILE_INTS = [0, -1, -(2**63), 2**63 - 1, 2**63, 2**64, 10**30, -(10**30)]
# Values that once broke a field somewhere: integers beyond SQLite's 64 bits, a lone
# surrogate (valid JSON, not encodable), booleans for integers, floats, empty things.
EDGE_VALUES = [*HOSTILE_INTS, "\ud800", "a\udfffb", True, 1.5, 1e308, "", [], {}, None, [10**30]]


# --- strategies from schemas ----------------------------------------------------------
def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def json_values(max_leaves: int = 10):
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
        | st.sampled_from(HOSTILE_TEXT)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


NAME_HINTS = {
    "service": st.sampled_from(SERVICES),
    "services": st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True),
    "secondary": st.lists(st.sampled_from(SERVICES), max_size=2, unique=True),
    "kiosk": st.sampled_from(["K1", "default", "K9"]),
    "window": st.integers(1, 5),
    "windows": st.lists(st.integers(1, 5), max_size=3),
    "slot": st.sampled_from(["09:00", "09:30", "14:00", "08:30", "25:99"]),
    "phone": st.sampled_from(["13800138000", "13912345678", "123", "1380013800a"]),
    "name": st.sampled_from(["张三", "李四", "<b>王五</b>"]) | st.text(min_size=1, max_size=10),
    "date": st.dates(date(2026, 11, 20), date(2027, 1, 10)).map(date.isoformat),
    "username": st.sampled_from(["fz_admin", "fz_clerk", "nobody", "new_user1"])
    | st.from_regex(r"[a-z0-9_]{2,12}", fullmatch=True),
    "password": st.sampled_from([PASSWORD, "wrong-password", "short"]),
}


def from_schema(schema: dict, name: str | None = None, depth: int = 0):
    schema = resolve(schema)
    if "allOf" in schema:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolve(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return from_schema(merged, name, depth)
    strat = _plain(schema, depth)
    if name in NAME_HINTS:
        strat = NAME_HINTS[name] | strat
    if schema.get("nullable"):
        strat = st.none() | strat
    return strat


def _plain(schema: dict, depth: int):
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date":
            return st.dates(date(2026, 1, 1), date(2027, 12, 31)).map(date.isoformat)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 40))
    if kind == "integer":
        return st.integers(
            schema.get("minimum", -(2**31)), min(schema.get("maximum", 2**31), 2**63 - 1)
        )
    if kind == "number":
        return st.floats(schema.get("minimum", -1e6), schema.get("maximum", 1e6))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(
            from_schema(schema["items"], None, depth + 1),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 5), 5),
        )
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if depth > 2 or not props:
            return st.fixed_dictionaries({})
        return st.fixed_dictionaries(
            {k: from_schema(v, k, depth + 1) for k, v in props.items() if k in required},
            optional={
                k: from_schema(v, k, depth + 1) for k, v in props.items() if k not in required
            },
        )
    return json_values()


def mutate(body_schema: dict):
    """A schema-valid object with one thing broken."""
    schema = resolve(body_schema)
    fields = sorted(schema.get("properties", {}))

    @st.composite
    def broken(draw):
        body = draw(from_schema(schema))
        if not isinstance(body, dict):
            return body
        how = draw(st.sampled_from(["wrong_type", "drop", "unknown", "huge", "nested", "edge"]))
        target = draw(st.sampled_from(fields)) if fields else "x"
        if how == "wrong_type":
            body[target] = draw(json_values(4))
        elif how == "drop":
            body.pop(target, None)
        elif how == "unknown":
            body[draw(st.text(min_size=1, max_size=20))] = draw(json_values(4))
        elif how == "huge":
            body[target] = draw(st.sampled_from(["x" * 100_000, "中" * 20_000, 10**40, [1] * 5000]))
        elif how == "edge":
            body[target] = draw(st.sampled_from(EDGE_VALUES))
        else:
            body[target] = {"a": [{"b": [{"c": draw(json_values(4))}]}]}
        return body

    return broken()


def body_parts(op: dict):
    """(data bytes or None, content type or None)."""
    schema = None
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
    json_ct = "application/json"
    choices = [
        st.just((None, None)),
        json_values().map(lambda v: (json.dumps(v).encode(), json_ct)),
        st.binary(max_size=200).map(lambda b: (b, json_ct)),
        st.binary(max_size=200).map(lambda b: (b, "application/octet-stream")),
        st.text(max_size=100).map(lambda t: (t.encode("utf-8", "surrogatepass"), "text/plain")),
        st.sampled_from(
            [
                (b"service=SB&priority=1", "application/x-www-form-urlencoded"),
                (b"[" * 100_000, json_ct),
                (b'{"a":' * 50_000, json_ct),
                (b'{"service": NaN, "score": Infinity}', json_ct),
                (b'{"score": 1e999}', json_ct),
                (b'{"service": "\\ud800"}', json_ct),
                (b"\xff\xfe\x00{", json_ct),
                (b'{"service": "SB"', json_ct),
                (b"x" * (1024 * 1024 + 10), json_ct),
            ]
        ),
    ]
    if schema is not None:
        valid = from_schema(schema).map(lambda v: (json.dumps(v).encode(), json_ct))
        broken = mutate(schema).map(lambda v: (json.dumps(v).encode(), json_ct))
        choices = [valid, valid, broken, broken] + choices
    return st.one_of(choices)


def path_value(param: dict, world: dict):
    schema = param["schema"]
    name = param["name"]
    hostile = st.sampled_from(HOSTILE_TEXT) | st.text(min_size=1, max_size=50)
    if schema["type"] == "integer":
        known = world["ids"].get(name, [1])
        valid = st.sampled_from(known) | st.integers(0, 50)
        value = st.one_of(valid, valid, st.sampled_from(HOSTILE_INTS), st.integers(), hostile)
    else:
        known = world["ids"].get(name, ["abc"])
        value = st.one_of(st.sampled_from(known), st.sampled_from(known), hostile)
    # Usually percent-encoded; sometimes raw, so "../" and "%" reach the router as they are.
    return st.tuples(value, st.sampled_from([True, True, True, False])).map(
        lambda vr: encode_segment(str(vr[0]), vr[1])
    )


def encode_segment(value: str, quoted: bool) -> str:
    """Percent-encoded, or raw (then only "?" and "#" are dropped, which would end the
    path; a lone surrogate cannot travel raw in a URL at all)."""
    raw = value.replace("?", "").replace("#", "")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        quoted = True
    return quote(value, safe="", errors="surrogatepass") if quoted else raw


def query_parts(op: dict):
    params = [p for p in op.get("parameters", []) if p["in"] == "query"]
    fixed = {
        p["name"]: (
            from_schema(p["schema"], p["name"]).map(str)
            | st.sampled_from(HOSTILE_TEXT)
            | st.integers().map(str)
        )
        for p in params
    }
    return st.fixed_dictionaries({}, optional=fixed) | st.dictionaries(
        st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=3
    )


# --- the world the fuzzer plays in ----------------------------------------------------
@pytest.fixture
def world(app, hall, clock):
    admin = login(app, "fz_admin", "admin")
    clerk = login(app, "fz_clerk", "clerk")
    kiosk = app.test_client()
    tokens, ids = [], []
    for service in ("SB", "SB", "YB", "BDC", "SB"):
        r = kiosk.post("/api/tickets", json={"service": service})
        assert r.status_code == 201
        tokens.append(r.get_json()["token"])
        ids.append(r.get_json()["id"])
    assert clerk.post("/api/windows/1/open").status_code == 200
    # one finished ticket with a bad rating (follow-up material), one called now
    t = clerk.post("/api/windows/1/call-next").get_json()["ticket"]
    assert clerk.post(f"/api/tickets/{t['id']}/finish").status_code == 200
    done_token = tokens[ids.index(t["id"])]
    r = kiosk.post(f"/api/tickets/{done_token}/rating", json={"score": 1, "comment": "太慢"})
    assert r.status_code == 201
    assert clerk.post("/api/windows/1/call-next").status_code == 200
    # a booking
    codes = ["ABC123"]
    day = kiosk.get("/api/appointments/days").get_json()[0]
    slots = kiosk.get(f"/api/appointments/slots?service=SB&date={day}").get_json()
    slot = next((s.get("slot") or s.get("start") for s in slots if s), "09:00")
    r = kiosk.post(
        "/api/appointments",
        json={"service": "SB", "date": day, "slot": slot, "name": "张三", "phone": "13800138000"},
    )
    if r.status_code == 201:
        codes.insert(0, r.get_json()["code"])
    return {
        "app": app,
        "hall": hall,
        "clients": {"anon": kiosk, "admin": admin, "clerk": clerk},
        "ids": {
            "ticket_id": ids,
            "token": tokens,
            "number": [1, 2, 3, 4],
            "rating_id": [1],
            "code": codes + SERVICES,
            "username": ["fz_admin", "fz_clerk", "nobody"],
        },
    }


USERS = {"admin": ("fz_admin", "admin"), "clerk": ("fz_clerk", "clerk")}


def client_for(world: dict, role: str):
    """The role's client, logged in again if the fuzzer logged it out or changed it."""
    c = world["clients"][role]
    if role == "anon" or c.get("/api/me").status_code == 200:
        return c
    username, user_role = USERS[role]
    with world["hall"].store.write() as db:
        db.execute(
            "UPDATE users SET active = 1, role = ?, windows = '[]', password_hash = ? "
            "WHERE username = ?",
            [user_role, hash_password(PASSWORD), username],
        )
        db.execute("DELETE FROM login_failures")
    fresh = login(world["app"], username, user_role)
    world["clients"][role] = fresh
    return fresh


TEXT_TYPES = ("application/json", "text/", "application/problem")


def check_response(r, where: str) -> None:
    assert r.status_code < 500, f"{where}: {r.status_code} {r.get_data(as_text=True)[:300]}"
    if r.mimetype.startswith(TEXT_TYPES):
        text = r.get_data(as_text=True)
        assert "Traceback" not in text, where
        assert str(ROOT) not in text and 'File "' not in text, where
    if 400 <= r.status_code < 500:
        assert r.mimetype == "application/json", f"{where}: {r.status_code} {r.mimetype}"
        body = r.get_json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), where
        assert body["error"], where


@pytest.mark.parametrize(("path", "method", "op"), OPS, ids=[op_id(p, m) for p, m, _ in OPS])
def test_fuzz_operation(world, path, method, op):
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        role=st.sampled_from(["anon", "admin", "clerk"]),
        csrf=st.sampled_from([True, True, True, False]),
        path_values=st.fixed_dictionaries({n: path_value(p, world) for n, p in params.items()}),
        query=query_parts(op),
        body=body_parts(op),
    )
    def run(role, csrf, path_values, query, body):
        url = PARAM_RE.sub(lambda m: path_values[m.group(1)], path)
        c = client_for(world, role)
        headers = {}
        if not csrf:
            headers["X-CSRF-Token"] = ""
        data, ctype = body
        raw_query = urlencode(
            {
                k.encode("utf-8", "surrogatepass"): v.encode("utf-8", "surrogatepass")
                for k, v in query.items()
            }
        )
        kwargs = {"query_string": raw_query, "headers": headers}
        if data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = ctype
        r = c.open(url, method=method.upper(), **kwargs)
        check_response(
            r, f"{op_id(path, method)} as {role}: {url[:200]} {data[:200] if data else ''!r}"
        )

    run()


def test_engine_still_consistent_after_fuzzing_everything(world):
    """A smoke pass over every operation once more, then the books must balance:
    no number twice, the event log matches every ticket's state."""
    hall = world["hall"]
    db = hall.store.db()
    dup = list(
        db.query("SELECT day, number, COUNT(*) n FROM tickets GROUP BY day, number HAVING n > 1")
    )
    assert dup == []
    orphans = db.execute(
        "SELECT COUNT(*) FROM ticket_events WHERE ticket_id NOT IN (SELECT id FROM tickets)"
    ).fetchone()[0]
    assert orphans == 0


def test_hostile_path_params_never_500(world):
    """Deterministic: the worst path values against every parametrized operation."""
    for path, method, _op in OPS:
        names = PARAM_RE.findall(path)
        if not names:
            continue
        for value in [*HOSTILE_TEXT[:15], *map(str, HOSTILE_INTS)]:
            for encoded in (encode_segment(value, True), encode_segment(value, False)):
                url = PARAM_RE.sub(lambda m, v=encoded: v, path)
                for role in ("anon", "admin"):
                    r = client_for(world, role).open(url, method=method.upper(), json={})
                    check_response(r, f"{op_id(path, method)} {url[:120]!r} as {role}")


RANGE_URLS = (
    "/api/stats",
    "/api/export/tickets.csv",
    "/api/export/report.xlsx",
    "/api/ratings",
    "/api/audit",
    "/api/tickets",
    "/api/appointments",
)
RANGE_PAGES = (
    "/supervisor/figures",
    "/supervisor/figures/windows",
    "/supervisor/ranking",
    "/supervisor/ratings",
    "/supervisor/audit",
    "/supervisor/report",
    "/book",
)


def test_day_range_extremes(world):
    """Date ranges at their limits on every range endpoint and page (a year of figures is
    allowed; year 1 and year 9999 once overflowed the day arithmetic: 500)."""
    admin = client_for(world, "admin")
    today = date(2026, 11, 30)
    for url in RANGE_URLS + RANGE_PAGES:
        for start, end in (
            (today - timedelta(days=366), today),
            (date(1, 1, 1), date(1, 1, 2)),
            (date(9999, 12, 30), date(9999, 12, 31)),
            (today, today - timedelta(days=1)),
        ):
            query = {"from": start.isoformat(), "to": end.isoformat(), "date": start.isoformat()}
            r = admin.get(url, query_string=query)
            if url.startswith("/api/"):
                check_response(r, f"{url} {start}..{end}")
            else:
                assert r.status_code == 200, f"{url} {start}..{end}: {r.status_code}"


BODY_OPS = [(p, m, op) for p, m, op in OPS if "requestBody" in op]


@pytest.mark.parametrize("role", ["anon", "admin", "clerk"])
def test_edge_values_in_every_body_field(world, role):
    """Deterministic: every edge value in every field of every request body."""
    for path, method, op in BODY_OPS:
        schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
        url = PARAM_RE.sub(lambda m: str(world["ids"].get(m.group(1), [1])[0]), path)
        for name in schema.get("properties", {}):
            for value in EDGE_VALUES + ["x" * 70_000, "<script>alert(1)</script>"]:
                # ensure_ascii: a lone surrogate travels as the JSON escape \ud800
                data = json.dumps({name: value}).encode()
                r = client_for(world, role).open(
                    url, method=method.upper(), data=data, content_type="application/json"
                )
                check_response(r, f"{op_id(path, method)} {name}={str(value)[:40]!r} as {role}")
