"""Faults: the server killed under load, 100 displays reconnecting at once, printer storms.

- kill -9 of `python -m hall serve` while kiosks issue and clerks call: after the restart
  every ticket a kiosk got an answer for is there with the same number and token, every
  call and finish a clerk got an answer for is kept, nothing is duplicated, numbers stay
  gap-free and the numbering goes on from where it was;
- 100 Socket.IO displays lose the server at once (kill -9 and restart): all of them come
  back by themselves, each gets a fresh snapshot, and the next call reaches all of them;
- a printer storm: kiosks issue many tickets at once while their printer hangs; every
  ticket is issued once (printed: false), the printer's status is announced once, not
  per ticket, and the next ticket prints when the printer is back.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import PASSWORD
from tests.fakeprinter import FakePrinter

from .conftest import WideLiveServer, check_consistent, db_rows

SERVICES = ["SB", "YB", "GJJ", "BDC"]


def _issue_loop(url, service, stop, out, errors):
    s = requests.Session()
    while not stop.is_set():
        try:
            r = s.post(url + "/api/tickets", json={"service": service}, timeout=10)
        except requests.RequestException:
            errors.append(service)
            return  # the server is gone
        if r.status_code == 201:
            out.append(r.json())
        else:
            errors.append(r.status_code)


def _clerk_loop(session, url, window, stop, calls, finishes):
    while not stop.is_set():
        try:
            r = session.post(f"{url}/api/windows/{window}/call-next", json={}, timeout=10)
            t = r.json().get("ticket") if r.status_code == 200 else None
            if t is None:
                time.sleep(0.02)
                continue
            calls.append(t)
            r = session.post(f"{url}/api/tickets/{t['id']}/finish", json={}, timeout=10)
            if r.status_code == 200:
                finishes.append(r.json())
        except requests.RequestException:
            return


def test_server_killed_under_load_loses_and_duplicates_nothing(live_server):
    url = live_server.url
    clerks = {}
    for window in (1, 3):
        s = live_server.session(f"clerk{window}")
        assert s.post(f"{url}/api/windows/{window}/open", json={}).status_code == 200
        clerks[window] = s

    stop = threading.Event()
    issued, calls, finishes, errors = [], [], [], []
    threads = [
        threading.Thread(target=_issue_loop, args=(url, svc, stop, issued, errors))
        for svc in SERVICES
    ] + [
        threading.Thread(target=_clerk_loop, args=(s, url, w, stop, calls, finishes))
        for w, s in clerks.items()
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(issued) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    live_server.stop(kill=True)  # SIGKILL in the middle of the traffic
    stop.set()
    for t in threads:
        t.join(15)
    assert len(issued) >= 60 and calls, "the load did not get going"
    assert not [e for e in errors if isinstance(e, int)], f"refused while up: {errors}"

    stored = check_consistent(live_server.db_path)
    by_token = {t["token"]: t for t in stored.values()}
    for t in issued:  # every answered issue is kept, with its number and token
        row = by_token.get(t["token"])
        assert row is not None, f"{t['number']} was issued but is gone"
        assert row["number"] == t["number"] and row["id"] == t["id"]
    statuses = {t["id"]: t["status"] for t in stored.values()}
    for t in calls:  # an answered call is never undone
        assert statuses[t["id"]] in ("called", "serving", "done"), t["number"]
    for t in finishes:
        assert statuses[t["id"]] == "done", t["number"]

    # Restarted on the same database: the numbering goes on, the clerks go on.
    live_server.start()
    last = {}
    for t in stored.values():
        last[t["prefix"]] = max(last.get(t["prefix"], 0), t["seq"])
    for service, prefix in (("SB", "B"), ("BDC", "A")):
        r = requests.post(url + "/api/tickets", json={"service": service}, timeout=10)
        assert r.status_code == 201
        assert r.json()["number"] == f"{prefix}{last.get(prefix, 0) + 1:03d}"
    s = requests.Session()
    r = s.post(url + "/api/login", json={"username": "clerk1", "password": PASSWORD})
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    held = [t for t in stored.values() if t["window"] == 1 and t["status"] == "called"]
    for t in held:  # the ticket in hand when the server died can be finished
        assert s.post(f"{url}/api/tickets/{t['id']}/finish", json={}).status_code == 200
    r = s.post(f"{url}/api/windows/1/call-next", json={})
    assert r.status_code == 200 and r.json()["ticket"] is not None
    check_consistent(live_server.db_path)


# --- 100 displays reconnecting at once ----------------------------------------------
DISPLAYS = 100


@pytest.fixture
def wide_server(tmp_path):
    server = WideLiveServer(tmp_path).start()
    yield server
    server.stop(kill=True)


def test_hundred_displays_reconnect_at_once_and_all_get_a_snapshot(wide_server):
    import socketio

    url = wide_server.url
    snapshots = [[] for _ in range(DISPLAYS)]
    called = [[] for _ in range(DISPLAYS)]
    queues = [[] for _ in range(DISPLAYS)]  # waiting counts as the display got them
    clients = []

    def view(i):
        return queues[i][-1] if queues[i] else {}

    def make(i):
        sio = socketio.Client(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=1.0,
            randomization_factor=0.5,
        )
        sio.on("called", lambda data, i=i: called[i].append(data), namespace="/display")

        def snapshot(data, i=i):
            snapshots[i].append(data)
            queues[i].append(data["queue"])

        sio.on("snapshot", snapshot, namespace="/display")
        sio.on("queue", lambda data, i=i: queues[i].append(data), namespace="/display")
        sio.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=20)
        return sio

    with ThreadPoolExecutor(max_workers=10) as pool:
        clients = list(pool.map(make, range(DISPLAYS)))
    try:
        _wait(lambda: all(len(s) >= 1 for s in snapshots), 30)

        clerk = wide_server.session("clerk1")
        assert clerk.post(url + "/api/windows/1/open", json={}).status_code == 200
        requests.post(url + "/api/tickets", json={"service": "SB"}, timeout=10)

        wide_server.stop(kill=True)  # every display loses the server at the same moment
        time.sleep(1.0)
        wide_server.start()
        # The state changed while they were away: a new ticket waits.
        r = requests.post(url + "/api/tickets", json={"service": "YB"}, timeout=10)
        assert r.status_code == 201

        _wait(lambda: all(len(s) >= 2 for s in snapshots), 60)
        # Each display knows the state: the snapshot at its reconnect shows the ticket
        # taken before the crash, and the one taken after it (by snapshot or by a
        # `queue` message, depending on who was first).
        assert all(s[-1]["queue"]["SB"] == 1 for s in snapshots)
        _wait(lambda: all(view(i)["YB"] == 1 for i in range(DISPLAYS)), 30)

        t = clerk.post(url + "/api/windows/1/call-next", json={}).json()["ticket"]
        _wait(lambda: all(any(c["ticket_id"] == t["id"] for c in cs) for cs in called), 30)
        got = sum(1 for cs in called if any(c["number"] == t["number"] for c in cs))
        assert got == DISPLAYS
    finally:
        for sio in clients:
            sio.disconnect()


def _wait(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    assert predicate(), "timed out"


# --- printer storms -----------------------------------------------------------------
def test_printer_storm_issues_every_ticket_once_and_announces_the_fault_once(tmp_path, clock):
    from hall import create_app
    from hall.events import PrinterStatusChanged
    from tests.conftest import TEST_CONFIG

    with FakePrinter(mode="hang") as fp:
        printer = {"driver": "network", "host": "127.0.0.1", "port": fp.port, "timeout": 0.5}
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": {
                    "kiosks": [
                        {"id": "K1", "name": "取号机", "printer": printer},
                        {"id": "K2", "name": "取号机二", "printer": printer},
                    ]
                },
                "DATABASE": str(tmp_path / "storm.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
                "NO_VOICE": True,
            }
        )
        hall = app.extensions["hall"]
        events = []
        hall.bus.subscribe(lambda e: isinstance(e, PrinterStatusChanged) and events.append(e))

        def issue(i):
            c = app.test_client()
            return c.post(
                "/api/tickets", json={"service": SERVICES[i % 4], "kiosk": f"K{i % 2 + 1}"}
            )

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(issue, range(36)))
        assert [r.status_code for r in answers] == [201] * 36
        bodies = [r.get_json() for r in answers]
        assert all(b["printed"] is False and b["print_error"] for b in bodies)
        numbers = [b["number"] for b in bodies]
        assert len(set(numbers)) == 36
        check_consistent(str(tmp_path / "storm.sqlite3"))
        # The fault is announced when the status changes, not once per ticket.
        per_kiosk = {}
        for e in events:
            per_kiosk.setdefault(e.kiosk, []).append(e.status)
        assert set(per_kiosk) == {"K1", "K2"}
        for statuses in per_kiosk.values():
            changes = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
            assert len(changes) == len(statuses) <= 2, statuses

        fp.mode = "ok"  # the printer is back
        for kiosk in ("K1", "K2"):
            body = (
                app.test_client()
                .post("/api/tickets", json={"service": "SB", "kiosk": kiosk})
                .get_json()
            )
            assert body["printed"] is True, body
        assert (
            db_rows(str(tmp_path / "storm.sqlite3"), "SELECT COUNT(*) AS n FROM tickets")[0]["n"]
            == 38
        )
        hall.store.close()
