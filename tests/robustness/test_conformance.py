"""Conformance of the served description (GET /api/openapi.json) and the server, checked
with schemathesis in-process (WSGI), anonymously and as a logged-in admin.

For every operation schemathesis generates requests from the served description (its
examples, coverage and fuzzing phases: valid and invalid data, boundary values, methods
the path does not have) and checks every answer:

    not_a_server_error        never a 5xx
    status_code_conformance   the status is one the operation describes
    content_type_conformance  the Content-Type is the described one
    response_schema_conformance  the body matches the described schema
    positive_data_acceptance  a request the description calls valid is not refused
                              (400 or 405): only 401/403 (who), 404 (no such thing),
                              409 (not now), 429 (too many) may turn it down
    unsupported_method        a method the path does not have: 405 with an Allow header

Deterministic: derandomized hypothesis, a bounded number of examples per operation, no
example database. The same checks from the command line against a running hall are in
docs/security.md.

Two rules JSON Schema cannot say are kept out of the generated data (filter hooks in
st_hooks.py, also for the command line) and stated in the operations' descriptions: `to` is not before `from` (and, for figures
and exports, at most 366 days after it); an admin window body does not name a service
both primary and secondary.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
import schemathesis.specs.openapi.checks  # noqa: E402,F401  (registers the OpenAPI checks)
from hypothesis import HealthCheck, settings

from hall import create_app
from hall.auth import create_user, hash_password
from hall.clock import FrozenClock
from hall.face import OPTIONAL

from ..conftest import PASSWORD, TEST_CONFIG, local
from . import st_hooks  # noqa: F401  (registers the filter hooks)

CHECKS = schemathesis.checks.CHECKS.get_by_names(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "positive_data_acceptance",
        "unsupported_method",
    ]
)
EXAMPLES = 25
ADMIN = "st_admin"


def _make_app(tmp_dir):
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_dir / "hall.sqlite3"),
            "CLOCK": FrozenClock(local(2026, 11, 30, 9, 0)),
            "TESTING": True,
            # The optional faces too (hall.face.OPTIONAL): their endpoints conform as well.
            "FACES": list(OPTIONAL),
        }
    )
    hall = app.extensions["hall"]
    create_user(hall.store, ADMIN, PASSWORD, "admin")
    kiosk = app.test_client()
    for service in ("SB", "YB", "BDC"):
        assert kiosk.post("/api/tickets", json={"service": service}).status_code == 201
    return app


def _cleanup(app, folder: str) -> None:
    app.extensions["hall"].store.close()
    shutil.rmtree(folder, ignore_errors=True)


# One hall for the module, built at import: schemathesis reads the served description
# when the tests are collected, one test per operation (and per xdist worker).
_FOLDER = tempfile.mkdtemp(prefix="hall-conformance-")
APP = _make_app(Path(_FOLDER))
atexit.register(_cleanup, APP, _FOLDER)
schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json",
    APP,
    config=schemathesis.Config.from_dict(
        {"generation": {"with-security-parameters": False, "database": "none"}}
    ),
)


# --- who asks --------------------------------------------------------------------------
def admin_headers(app) -> dict:
    """Cookie and CSRF token of a fresh admin session (the run may log the admin out,
    change the password or the role: the account is restored first)."""
    hall = app.extensions["hall"]
    with hall.store.write() as db:
        db.execute(
            "UPDATE users SET active = 1, role = 'admin', windows = '[]', password_hash = ? "
            "WHERE username = ?",
            [hash_password(PASSWORD), ADMIN],
        )
        db.execute("DELETE FROM login_failures")
    c = app.test_client()
    r = c.post("/api/login", json={"username": ADMIN, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    cookie = c.get_cookie("hall_session")
    return {"Cookie": f"hall_session={cookie.value}", "X-CSRF-Token": r.get_json()["csrf_token"]}


_SESSION: dict = {}


def session_for(app) -> dict:
    headers = _SESSION.get(id(app))
    if headers is not None:
        r = app.test_client().get("/api/me", headers=headers)
        if r.status_code == 200:
            return headers
    headers = _SESSION[id(app)] = admin_headers(app)
    return headers


SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@SETTINGS
def test_conformance_anonymous(case):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_conformance_as_admin(case):
    case.call_and_validate(headers=session_for(APP), checks=CHECKS)
