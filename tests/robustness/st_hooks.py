"""schemathesis hooks for the hall's API: keep out of the generated data what JSON Schema
(OpenAPI 3.0) cannot say and the operations' descriptions state. Used by
test_conformance.py and by the command line (docs/security.md):
SCHEMATHESIS_HOOKS=tests.robustness.st_hooks st run ...
"""

from __future__ import annotations

from datetime import date

import schemathesis

# Operations whose `to` defaults to `from` and may be at most this many days after it.
RANGE_LIMITS = {"/api/stats": 366, "/api/export/tickets.csv": 366, "/api/export/report.xlsx": 366}


def _day(value):
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@schemathesis.hook("filter_query")
def range_in_order(ctx, query):
    """from <= to (and at most 366 days apart where the operation says so)."""
    if not query:
        return True
    start, end = _day(query.get("from")), _day(query.get("to"))
    path = ctx.operation.path if ctx.operation is not None else ""
    if start is not None and end is not None:
        if end < start:
            return False
        if path in RANGE_LIMITS and (end - start).days > RANGE_LIMITS[path]:
            return False
    return True


@schemathesis.hook("filter_body")
def window_services_apart(ctx, body):
    """A window's body does not name a service both primary and secondary."""
    path = ctx.operation.path if ctx.operation is not None else ""
    if not path.startswith("/api/admin/windows") or not isinstance(body, dict):
        return True
    primary, secondary = body.get("services"), body.get("secondary")
    if isinstance(primary, list) and isinstance(secondary, list):
        return not set(map(str, primary)) & set(map(str, secondary))
    return True
