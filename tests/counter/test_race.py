"""Two windows calling over shared services at the same time: every ticket exactly once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

TOTAL = 1000
PRE_ISSUED = 400
SERVICES = ("SB", "YB", "GJJ")  # windows 1 and 3 both serve all three


@pytest.mark.slow
def test_two_windows_race_over_shared_services(app, hall, clerk_at):
    windows = {1: clerk_at(1), 3: clerk_at(3)}
    for i in range(PRE_ISSUED):
        hall.engine.issue(SERVICES[i % 3])

    issuer_done = threading.Event()
    got: dict[int, list[int]] = {1: [], 3: []}
    errors: list[str] = []
    start = threading.Barrier(3)

    def issuer():
        kiosk = app.test_client()
        start.wait()
        try:
            for i in range(PRE_ISSUED, TOTAL):
                r = kiosk.post("/api/tickets", json={"service": SERVICES[i % 3]})
                if r.status_code != 201:
                    errors.append(f"issue {r.status_code} {r.get_json()}")
        finally:
            issuer_done.set()

    def window(number):
        c = windows[number]
        start.wait()
        while True:
            done = issuer_done.is_set()
            r = c.post(f"/api/windows/{number}/call-next")
            if r.status_code != 200:
                errors.append(f"call {number}: {r.status_code} {r.get_json()}")
                return
            t = r.get_json()["ticket"]
            if t is None:
                if done:
                    return
                continue
            got[number].append(t["id"])
            r = c.post(f"/api/tickets/{t['id']}/finish")
            if r.status_code != 200:
                errors.append(f"finish {t['number']}: {r.status_code} {r.get_json()}")
                return

    threads = [threading.Thread(target=issuer)] + [
        threading.Thread(target=window, args=(n,)) for n in windows
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert errors == []

    everything = got[1] + got[3]
    # Every ticket called once: none twice, none lost.
    assert len(everything) == TOTAL
    assert len(set(everything)) == TOTAL
    assert set(got[1]).isdisjoint(got[3])
    assert got[1] and got[3], "both windows really took part"
    db = hall.store.db()
    assert db.execute("SELECT COUNT(*) FROM tickets WHERE status = 'done'").fetchone()[0] == TOTAL
    calls = Counter(
        r["ticket_id"]
        for r in db.query("SELECT ticket_id FROM ticket_events WHERE kind = 'called'")
    )
    assert len(calls) == TOTAL and set(calls.values()) == {1}
    # Each ticket was finished at the window that called it.
    at = {r["id"]: r["window"] for r in db.query("SELECT id, window FROM tickets")}
    assert all(at[i] == 1 for i in got[1]) and all(at[i] == 3 for i in got[3])
