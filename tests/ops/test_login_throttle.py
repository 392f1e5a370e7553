"""Login throttling that a stranger cannot turn against an account."""

from __future__ import annotations

from hall import create_app
from hall.auth import create_user

from ..conftest import PASSWORD, TEST_CONFIG

ATTACKER = "10.66.0.1"
OFFICE = "10.0.0.8"  # the admin's own PC


def login(app, password, address, username="admin", **kw):
    return app.test_client().post(
        "/api/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        **kw,
    )


def test_a_stranger_cannot_lock_the_admin_out(app, hall, clock):
    create_user(hall.store, "admin", PASSWORD, "admin")
    for i in range(5):
        assert login(app, f"guess-{i}", ATTACKER).status_code == 401
    # The attacker's address is throttled, even with the right password ...
    assert login(app, PASSWORD, ATTACKER).status_code == 429
    assert login(app, "guess-6", ATTACKER).status_code == 429
    # ... the real admin at another machine signs in at once ...
    assert login(app, PASSWORD, OFFICE).status_code == 200
    # ... and that does not lift the attacker's lockout.
    assert login(app, PASSWORD, ATTACKER).status_code == 429
    clock.advance(301)  # login_lockout_seconds
    assert login(app, "guess-7", ATTACKER).status_code == 401


def test_a_spray_from_many_addresses_is_slowed_not_a_lockout(tmp_path, clock):
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "spray.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
            "HALL": {"security": {"login_account_ceiling": 20, "login_max_delay_seconds": 60}},
        }
    )
    hall = app.extensions["hall"]
    try:
        create_user(hall.store, "admin", PASSWORD, "admin")
        assert login(app, PASSWORD, OFFICE).status_code == 200  # a machine the admin uses
        # 20 addresses, one guess each: under the ceiling, every guess is tried.
        for i in range(20):
            assert login(app, f"guess-{i}", f"10.77.0.{i}").status_code == 401
        # Over the ceiling: a new address must wait after the last failure.
        r = login(app, "guess-x", "10.77.1.1")
        assert r.status_code == 429 and "秒后再试" in r.get_json()["error"]
        # The admin's own machine is never slowed.
        assert login(app, PASSWORD, OFFICE).status_code == 200
        # One guess per wait: the spray goes at the pace the server sets, and the wait
        # grows (1 s, then 2 s after 5 more failures, ...).
        tried = 0
        for i in range(40):
            clock.advance(1)
            r = login(app, f"guess-{i}", f"10.78.0.{i}")
            assert r.status_code in (401, 429)
            tried += r.status_code == 401
        assert 10 <= tried < 40
        assert login(app, "again", "10.79.0.1").status_code == 429
        # The real user at a new machine is slowed too, never locked out: after the wait
        # they get in.
        clock.advance(60)
        assert login(app, PASSWORD, "10.50.0.1").status_code == 200
        # A spray keeps nobody out for good: after an hour the account is clear.
        clock.advance(3600)
        assert login(app, "late-guess", "10.79.0.2").status_code == 401
    finally:
        hall.store.close()


def test_a_forwarded_for_header_changes_nothing_without_a_trusted_proxy(app, hall):
    create_user(hall.store, "admin", PASSWORD, "admin")
    for i in range(5):
        r = login(app, f"guess-{i}", ATTACKER, headers={"X-Forwarded-For": f"192.0.2.{i}"})
        assert r.status_code == 401
    r = login(app, "guess", ATTACKER, headers={"X-Forwarded-For": "192.0.2.99"})
    assert r.status_code == 429


def test_behind_a_trusted_proxy_only_the_proxys_entry_counts(tmp_path, clock):
    """With security.trust_proxy the address is the one the proxy appended last to
    X-Forwarded-For; what the client wrote in front of it cannot spread its failures."""
    app = create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": str(tmp_path / "proxy.sqlite3"),
            "CLOCK": clock,
            "TESTING": True,
            "HALL": {"security": {"trust_proxy": True}},
        }
    )
    hall = app.extensions["hall"]
    try:
        create_user(hall.store, "admin", PASSWORD, "admin")
        for i in range(5):
            spoofed = {"X-Forwarded-For": f"192.0.2.{i}, {ATTACKER}"}
            assert login(app, f"g{i}", "127.0.0.1", headers=spoofed).status_code == 401
        spoofed = {"X-Forwarded-For": f"192.0.2.77, {ATTACKER}"}
        assert login(app, PASSWORD, "127.0.0.1", headers=spoofed).status_code == 429
        office = {"X-Forwarded-For": OFFICE}
        assert login(app, PASSWORD, "127.0.0.1", headers=office).status_code == 200
    finally:
        hall.store.close()
