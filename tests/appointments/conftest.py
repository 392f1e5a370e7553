"""Fixtures for the appointment tests: an app on the test clock with chosen settings."""

from __future__ import annotations

import pytest

from hall import create_app
from hall.auth import create_user
from tests.conftest import PASSWORD, TEST_CONFIG, StaffClient

PHONE = "13812345678"


class Hall:
    """One app on the shared FrozenClock, with helpers that go through the HTTP API."""

    def __init__(self, app, clock):
        self.app = app
        self.hall = app.extensions["hall"]
        self.clock = clock
        self.client = app.test_client()
        self._staff: dict[str, StaffClient] = {}

    def book(self, date="2026-12-01", slot="09:00", phone=PHONE, service="SB", name="张三丰"):
        return self.client.post(
            "/api/appointments",
            json={"service": service, "date": date, "slot": slot, "name": name, "phone": phone},
        )

    def booked(self, **kw) -> str:
        r = self.book(**kw)
        assert r.status_code == 201, r.get_json()
        return r.get_json()["code"]

    def check_in(self, code, **body):
        return self.client.post(f"/api/appointments/{code}/check-in", json=body)

    def cancel(self, code):
        return self.client.post(f"/api/appointments/{code}/cancel", json={})

    def slots(self, date="2026-12-01", service="SB"):
        return self.client.get(f"/api/appointments/slots?service={service}&date={date}")

    def walk_in(self, service="SB"):
        return self.client.post("/api/tickets", json={"service": service})

    def service(self, code):
        r = self.client.get("/api/services")
        return next(s for s in r.get_json() if s["code"] == code)

    def booking(self, code) -> dict:
        rows = list(self.hall.store.db().query("SELECT * FROM appointments WHERE code = ?", [code]))
        return rows[0]

    def ticket(self, ticket_id) -> dict:
        return self.hall.engine.read.ticket(self.hall.store.db(), ticket_id)

    def staff(self, username, role="clerk") -> StaffClient:
        if username not in self._staff:
            create_user(self.hall.store, username, PASSWORD, role)
            c = self.app.test_client()
            r = c.post("/api/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.get_json()
            self._staff[username] = StaffClient(c, r.get_json()["csrf_token"], username)
        return self._staff[username]

    def clerk_at(self, window, username=None) -> StaffClient:
        c = self.staff(username or f"clerk{window}")
        r = c.post(f"/api/windows/{window}/open")
        assert r.status_code == 200, r.get_json()
        return c

    def audit(self, action) -> list[dict]:
        return list(
            self.hall.store.db().query(
                "SELECT * FROM audit_log WHERE action = ? ORDER BY id", [action]
            )
        )


@pytest.fixture
def make_hall(tmp_path, clock):
    """make_hall(appointments={...}, hours={...}) -> Hall on the test clock."""
    apps = []

    def make(**sections) -> Hall:
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": sections,
                "DATABASE": str(tmp_path / f"appt{len(apps)}.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
                "NO_VOICE": True,
            }
        )
        apps.append(app)
        return Hall(app, clock)

    yield make
    for app in apps:
        app.extensions["hall"].store.close()


@pytest.fixture
def h(make_hall):
    """The test hall with the default [appointments] settings: days ahead 1-5, 30-minute
    slots of 4 places, check-in 30 minutes early to 15 late, no-show limit 2."""
    return make_hall()
