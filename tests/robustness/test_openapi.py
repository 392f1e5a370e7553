"""The OpenAPI description is true: every /api route (with its methods) of every face is
described, nothing that does not exist is, the parameter names are Flask's, and the
description is a structurally valid OpenAPI 3.0 document (checked here: no validator
package is installed on the hall's offline machines)."""

from __future__ import annotations

import inspect
import re

from hall.openapi import spec

from .conftest import HTTP_METHODS, PARAM_RE, op_id, operations

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def rule_template(rule) -> str:
    """/api/tickets/<int:ticket_id>/<action> -> /api/tickets/{ticket_id}/{action}"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def api_routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            for m in rule.methods - IGNORED_METHODS:
                out.add((rule.rule, m))
    return out


def sample_url(path: str, op: dict) -> str:
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}

    def value(m):
        schema = params.get(m.group(1), {}).get("schema", {"type": "integer"})
        return "7" if schema["type"] == "integer" else "abc"

    return PARAM_RE.sub(value, path)


def test_served_at_api_openapi_json(app, client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    assert r.get_json() == spec(app)
    assert r.get_json()["openapi"].startswith("3.0")


def test_every_route_described_and_nothing_else(app):
    adapter = app.url_map.bind("hall.test")
    covered: set[tuple[str, str]] = set()
    wrong = []
    for path, method, op in operations():
        url = sample_url(path, op)
        try:
            rule, args = adapter.match(url, method=method.upper(), return_rule=True)
        except Exception as e:  # NotFound / MethodNotAllowed: the spec lists a ghost
            wrong.append(f"{op_id(path, method)}: no such route ({type(e).__name__})")
            continue
        template = rule_template(rule)
        # A generic rule (<action>) is described per action: the literal must sit where
        # the variable is; every other variable keeps Flask's name.
        expected = template
        for name, val in args.items():
            if f"{{{name}}}" not in path:
                expected = expected.replace(f"{{{name}}}", str(val))
        if expected != path:
            wrong.append(f"{op_id(path, method)}: served by {rule.rule} ({rule.endpoint})")
        covered.add((rule.rule, method.upper()))
    missing = sorted(api_routes(app) - covered)
    assert not wrong, wrong
    assert not missing, f"routes missing from hall/openapi.py: {missing}"


def test_described_actions_are_exactly_the_views_actions(app):
    """POST /api/tickets/<id>/<action> and /api/windows/<n>/<action>: the literal actions
    the view accepts (its `action == "..."` branches) are the ones described."""
    described: dict[str, set[str]] = {}
    adapter = app.url_map.bind("hall.test")
    for path, method, op in operations():
        rule, args = adapter.match(sample_url(path, op), method=method.upper(), return_rule=True)
        if "action" in args:
            described.setdefault(rule.endpoint, set()).add(args["action"])
    assert set(described) == {"api.ticket_action", "api.window_action"}
    for endpoint, actions in described.items():
        source = inspect.getsource(app.view_functions[endpoint])
        in_view = set(re.findall(r'action == "([a-z-]+)"', source))
        assert in_view == actions, endpoint


def test_unknown_action_is_a_json_404(client, clerk_at):
    c = clerk_at(1)
    r = c.post("/api/windows/1/explode")
    assert r.status_code == 404 and "error" in r.get_json()


# --- structural validation (OpenAPI 3.0.3) --------------------------------------------
TOP_KEYS = {"openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs"}
PATH_ITEM_KEYS = {"summary", "description", "servers", "parameters", "$ref", *HTTP_METHODS}
PATH_ITEM_KEYS |= {"options", "head", "trace"}
OP_KEYS = {
    "tags", "summary", "description", "externalDocs", "operationId", "parameters",
    "requestBody", "responses", "callbacks", "deprecated", "security", "servers",
}  # fmt: skip
PARAM_KEYS = {
    "name", "in", "description", "required", "deprecated", "allowEmptyValue", "style",
    "explode", "allowReserved", "schema", "example", "examples", "content",
}  # fmt: skip
SCHEMA_KEYS = {
    "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
    "maxProperties", "minProperties", "required", "enum", "type", "allOf", "oneOf", "anyOf",
    "not", "items", "properties", "additionalProperties", "description", "format", "default",
    "nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example",
    "deprecated", "$ref",
}  # fmt: skip
TYPES = {"string", "integer", "number", "boolean", "array", "object"}


def _ext(key: str) -> bool:
    return key.startswith("x-")


def check_schema(s, where: str, doc: dict, errors: list[str]) -> None:
    if not isinstance(s, dict):
        errors.append(f"{where}: schema is not an object")
        return
    if "$ref" in s:
        ref = s["$ref"]
        if not ref.startswith("#/components/schemas/"):
            errors.append(f"{where}: $ref {ref} outside components/schemas")
        elif ref.rsplit("/", 1)[1] not in doc.get("components", {}).get("schemas", {}):
            errors.append(f"{where}: $ref {ref} does not resolve")
        extra = set(s) - {"$ref", "nullable", "description"}
        if extra:
            errors.append(f"{where}: keys beside $ref: {extra}")
        return
    for key in s:
        if key not in SCHEMA_KEYS and not _ext(key):
            errors.append(f"{where}: unknown schema keyword {key!r}")
    if "type" in s and s["type"] not in TYPES:
        errors.append(f"{where}: bad type {s['type']!r}")
    if s.get("type") == "array" and "items" not in s:
        errors.append(f"{where}: array without items")
    if "enum" in s and (not isinstance(s["enum"], list) or not s["enum"]):
        errors.append(f"{where}: enum must be a non-empty list")
    for lo, hi in (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems")):
        if lo in s and hi in s and s[lo] > s[hi]:
            errors.append(f"{where}: {lo} > {hi}")
    if "pattern" in s:
        re.compile(s["pattern"])
    props = s.get("properties", {})
    if not isinstance(props, dict):
        errors.append(f"{where}: properties must be an object")
        props = {}
    for req in s.get("required", []):
        if props and req not in props:
            errors.append(f"{where}: required {req!r} is not a property")
    for name, sub in props.items():
        check_schema(sub, f"{where}.{name}", doc, errors)
    if "items" in s:
        check_schema(s["items"], f"{where}[]", doc, errors)
    if isinstance(s.get("additionalProperties"), dict):
        check_schema(s["additionalProperties"], f"{where}.*", doc, errors)
    for key in ("allOf", "oneOf", "anyOf"):
        for i, sub in enumerate(s.get(key, [])):
            check_schema(sub, f"{where}.{key}[{i}]", doc, errors)


def check_content(content, where, doc, errors):
    if not isinstance(content, dict) or not content:
        errors.append(f"{where}: content must be a non-empty map")
        return
    for mime, media in content.items():
        if "/" not in mime:
            errors.append(f"{where}: bad media type {mime}")
        if "schema" in media:
            check_schema(media["schema"], f"{where}[{mime}]", doc, errors)


def validate(doc: dict) -> list[str]:
    errors: list[str] = []
    for key in doc:
        if key not in TOP_KEYS and not _ext(key):
            errors.append(f"unknown top-level key {key!r}")
    if not re.fullmatch(r"3\.0\.\d+", str(doc.get("openapi", ""))):
        errors.append("openapi must be 3.0.x")
    info = doc.get("info", {})
    if not info.get("title") or not isinstance(info.get("version"), str):
        errors.append("info needs title and version (a string)")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        if scheme.get("type") == "apiKey" and scheme.get("in") not in ("query", "header", "cookie"):
            errors.append(f"securityScheme {name}: bad 'in'")
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        check_schema(s, f"#/components/schemas/{name}", doc, errors)
    op_ids = set()
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/"):
            errors.append(f"{path}: must start with /")
        for key in item:
            if key not in PATH_ITEM_KEYS and not _ext(key):
                errors.append(f"{path}: unknown key {key!r}")
        templated = set(PARAM_RE.findall(path))
        for method in set(item) & set(HTTP_METHODS):
            op = item[method]
            where = op_id(path, method)
            for key in op:
                if key not in OP_KEYS and not _ext(key):
                    errors.append(f"{where}: unknown key {key!r}")
            if "operationId" in op:
                if op["operationId"] in op_ids:
                    errors.append(f"{where}: duplicate operationId")
                op_ids.add(op["operationId"])
            seen, path_params = set(), set()
            for p in op.get("parameters", []):
                for key in p:
                    if key not in PARAM_KEYS and not _ext(key):
                        errors.append(f"{where}: parameter key {key!r}")
                if p.get("in") not in ("query", "header", "path", "cookie"):
                    errors.append(f"{where}: parameter {p.get('name')} bad 'in'")
                if (p.get("name"), p.get("in")) in seen:
                    errors.append(f"{where}: duplicate parameter {p.get('name')}")
                seen.add((p.get("name"), p.get("in")))
                if ("schema" in p) == ("content" in p):
                    errors.append(f"{where}: parameter needs exactly one of schema/content")
                if "schema" in p:
                    check_schema(p["schema"], f"{where} param {p['name']}", doc, errors)
                if p.get("in") == "path":
                    path_params.add(p["name"])
                    if p.get("required") is not True:
                        errors.append(f"{where}: path parameter {p['name']} must be required")
            if path_params != templated:
                errors.append(f"{where}: path parameters {path_params} != template {templated}")
            if "requestBody" in op:
                check_content(op["requestBody"].get("content"), f"{where} body", doc, errors)
            responses = op.get("responses")
            if not isinstance(responses, dict) or not responses:
                errors.append(f"{where}: no responses")
                continue
            for code, resp in responses.items():
                if code != "default" and not re.fullmatch(r"[1-5](\d\d|XX)", code):
                    errors.append(f"{where}: bad response code {code!r}")
                if not resp.get("description"):
                    errors.append(f"{where} {code}: response needs a description")
                if "content" in resp:
                    check_content(resp["content"], f"{where} {code}", doc, errors)
            for req in op.get("security", []):
                for name in req:
                    if name not in schemes:
                        errors.append(f"{where}: unknown security scheme {name}")
    return errors


def test_description_is_structurally_valid(app):
    assert validate(spec()) == []
    assert validate(spec(app)) == []  # with the hall's configured values


def test_validator_catches_mistakes():
    """The hand-written validator is not a rubber stamp."""
    import copy

    doc = copy.deepcopy(spec())
    doc["paths"]["/api/tickets"]["post"]["responses"]["201"]["content"]["application/json"][
        "schema"
    ] = {"$ref": "#/components/schemas/Nope"}
    doc["paths"]["/api/pad/{number}"]["get"]["parameters"] = []
    doc["components"]["schemas"]["Ticket"]["properties"]["id"]["type"] = "int"
    errors = validate(doc)
    assert any("does not resolve" in e for e in errors)
    assert any("path parameters" in e for e in errors)
    assert any("bad type" in e for e in errors)


def test_errors_are_described_with_the_error_schema():
    for path, method, op in operations():
        for code, resp in op["responses"].items():
            if code.startswith("4"):
                schema = resp["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, op_id(path, method)
        if op.get("x-roles"):
            assert {"401", "403"} <= set(op["responses"]), op_id(path, method)
