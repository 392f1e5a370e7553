"""Faults: the server SIGKILLed under load, 100 displays reconnecting at once, a printer
storm on a hanging printer. All against real `python -m hall serve` processes."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import requests
import socketio

from ..conftest import ARTIFACTS, LiveServer
from ..fakeprinter import FakePrinter
from .conftest import KIND_STATUS, WideServer, rows


def save_artifact(name: str, data: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(data, ensure_ascii=False, indent=2))


def check_books(db_path: str) -> list[dict]:
    """The database is whole: every ticket issued once with its event, the status its
    log implies, numbers 1..N per prefix and day, the counter at N, no orphan events.
    Returns the tickets."""
    assert rows(db_path, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    tickets = rows(db_path, "SELECT * FROM tickets ORDER BY id")
    events: dict[int, list[dict]] = {}
    for e in rows(db_path, "SELECT * FROM ticket_events ORDER BY id"):
        events.setdefault(e["ticket_id"], []).append(e)
    assert set(events) <= {t["id"] for t in tickets}, "orphan ticket_events"
    for t in tickets:
        evs = events.get(t["id"], [])
        assert evs and evs[0]["kind"] == "issued", f"{t['number']}: half-written (no issue event)"
        assert sum(e["kind"] == "issued" for e in evs) == 1
        implied = "waiting"
        for e in evs:
            implied = KIND_STATUS[e["kind"]] or implied
        assert t["status"] == implied, (t["number"], t["status"], [e["kind"] for e in evs])
    seqs: dict[tuple, list[int]] = {}
    for t in tickets:
        seqs.setdefault((t["day"], t["prefix"]), []).append(t["seq"])
    counters = {(c["day"], c["prefix"]): c["last"] for c in rows(db_path, "SELECT * FROM counters")}
    for key, got in seqs.items():
        assert sorted(got) == list(range(1, len(got) + 1)), f"{key}: duplicates or gaps"
        assert counters[key] == len(got), f"{key}: counter {counters[key]} != {len(got)}"
    active = Counter(t["window"] for t in tickets if t["status"] in ("called", "serving"))
    assert all(n == 1 for n in active.values()), active
    return tickets


# --- (a) SIGKILL under load ------------------------------------------------------------
def test_sigkill_under_load_loses_and_duplicates_nothing(live_server):
    url = live_server.url
    clerk = live_server.session("crash_clerk", "clerk")
    assert clerk.post(url + "/api/windows/1/open").status_code == 200
    lock = threading.Lock()
    killed = threading.Event()
    stop = threading.Event()
    issued: list[dict] = []  # 201 bodies the kiosks got
    refused: list[tuple] = []  # any other answer
    errors: list[tuple] = []  # no answer: (thread, before or after the kill, error)
    finished: list[int] = []  # ticket ids whose finish got a 200
    services = ["SB", "YB", "BDC", "GJJ"]

    def kiosk(i: int) -> None:
        s = requests.Session()
        n = 0
        while not stop.is_set():
            service = services[(i + n) % len(services)]
            n += 1
            try:
                r = s.post(url + "/api/tickets", json={"service": service}, timeout=10)
            except requests.RequestException as e:
                with lock:
                    errors.append((i, "after" if killed.is_set() else "before", type(e).__name__))
                time.sleep(0.05)
                continue
            with lock:
                if r.status_code == 201:
                    issued.append(r.json())
                else:
                    refused.append((r.status_code, r.text[:200]))

    def counter() -> None:
        while not stop.is_set():
            try:
                r = clerk.post(url + "/api/windows/1/call-next", timeout=10)
                t = r.json().get("ticket") if r.status_code == 200 else None
                if t:
                    f = clerk.post(url + f"/api/tickets/{t['id']}/finish", timeout=10)
                    if f.status_code == 200:
                        with lock:
                            finished.append(t["id"])
            except (requests.RequestException, ValueError):
                time.sleep(0.05)

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=counter))
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 30
        while len(issued) < 80 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(issued) >= 80, f"load did not build up: {len(issued)} issued, {errors[:3]}"
        killed.set()
        live_server.stop(kill=True)  # SIGKILL, requests in flight
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    seen_before_kill = [e for e in errors if e[1] == "before"]
    assert not seen_before_kill and not refused, (seen_before_kill, refused)

    live_server.start()
    tickets = check_books(live_server.db_path)
    by_id = {t["id"]: t for t in tickets}
    by_token = Counter(t["token"] for t in tickets)

    # every 201 the kiosks saw is in the database, exactly once, as it was answered
    for body in issued:
        t = by_id.get(body["id"])
        assert t is not None, f"{body['number']} answered 201 but lost"
        assert (t["number"], t["token"], t["service"]) == (
            body["number"],
            body["token"],
            body["service"],
        )
        assert by_token[body["token"]] == 1
    # the clerk's finished tickets stayed finished
    for tid in finished:
        assert by_id[tid]["status"] == "done"
    # committed but never answered: only requests in flight at the kill (one per kiosk),
    # and each is a whole, ordinary ticket (check_books)
    unseen = [t for t in tickets if t["id"] not in {b["id"] for b in issued}]
    assert len(unseen) <= 4, [t["number"] for t in unseen]
    assert all(t["status"] == "waiting" or t["id"] in finished or t["window"] == 1 for t in unseen)

    # numbering continues after the restart: next = max + 1 per prefix, no reuse
    before = {}
    for t in tickets:
        before[t["prefix"]] = max(before.get(t["prefix"], 0), t["seq"])
    prefixes = {"SB": "B", "YB": "C", "BDC": "A", "GJJ": "D"}
    for service, prefix in prefixes.items():
        r = requests.post(live_server.url + "/api/tickets", json={"service": service}, timeout=10)
        assert r.status_code == 201
        assert r.json()["number"] == f"{prefix}{before.get(prefix, 0) + 1:03d}"
    check_books(live_server.db_path)
    # the window the clerk had open is still theirs, and serving goes on
    assert clerk.post(url + "/api/windows/1/call-next").status_code in (200, 409)

    save_artifact(
        "robustness-crash.json",
        {
            "answered_201": len(issued),
            "no_answer_at_kill": len(errors),
            "committed_but_unanswered": [t["number"] for t in unseen],
            "finished": len(finished),
            "tickets_in_db": len(tickets),
        },
    )


# --- (b) 100 displays reconnecting at once ---------------------------------------------
DISPLAYS = 100


class Screen:
    """One hall display: a python-socketio client on /display that reconnects by itself."""

    def __init__(self, url: str):
        self.snapshots = 0
        self.fresh = threading.Event()  # a snapshot since the last reset
        self.calls: list[str] = []
        self.called = threading.Event()
        self.client = socketio.Client(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
            randomization_factor=0.5,
        )
        self.client.on("snapshot", self._snapshot, namespace="/display")
        self.client.on("called", self._called, namespace="/display")
        self.url = url

    def _snapshot(self, data):
        assert "calls" in data and "queue" in data and "windows" in data
        self.snapshots += 1
        self.fresh.set()

    def _called(self, data):
        self.calls.append(data["number"])
        self.called.set()

    def connect(self):
        self.client.connect(
            self.url, namespaces=["/display"], transports=["websocket"], wait_timeout=20
        )


def wait_all(events, seconds: float) -> int:
    """How many of the events are set within the deadline (all, when things work)."""
    deadline = time.monotonic() + seconds
    for e in events:
        e.wait(max(0.0, deadline - time.monotonic()))
    return sum(e.is_set() for e in events)


def test_100_displays_reconnect_at_once_after_a_restart(tmp_path):
    server = WideServer(tmp_path).start()
    screens = [Screen(server.url) for _ in range(DISPLAYS)]
    try:
        for s in screens:
            s.connect()
        assert wait_all([s.fresh for s in screens], 60) == DISPLAYS
        for s in screens:
            s.fresh.clear()
        server.stop(kill=True)
        server.start()  # every screen comes back on its own
        back = wait_all([s.fresh for s in screens], 90)
        assert back == DISPLAYS, f"only {back} of {DISPLAYS} displays got a new snapshot"
        assert all(s.snapshots >= 2 for s in screens)

        # and they are live, not just painted: a call reaches every one of them
        clerk = server.session("recon_clerk", "clerk")
        assert clerk.post(server.url + "/api/windows/1/open").status_code == 200
        t = requests.post(server.url + "/api/tickets", json={"service": "SB"}, timeout=10).json()
        assert clerk.post(server.url + "/api/windows/1/call-next").status_code == 200
        got = wait_all([s.called for s in screens], 60)
        assert got == DISPLAYS, f"the call reached {got} of {DISPLAYS} displays"
        assert all(t["number"] in s.calls for s in screens)
    finally:
        for s in screens:
            try:
                s.client.disconnect()
            except Exception:
                pass
        server.stop()


# --- (c) printer storm -----------------------------------------------------------------
STORM = 50


def test_printer_storm_on_a_hanging_printer(tmp_path):
    with FakePrinter(mode="hang") as fp:
        printer = {"driver": "network", "host": fp.host, "port": fp.port, "timeout": 0.5}
        kiosks = [{"id": "K1", "name": "大厅取号机", "printer": printer}]
        server = LiveServer(tmp_path, settings={"kiosks": kiosks}).start()
        try:
            barrier = threading.Barrier(STORM)
            answers: list = []
            lock = threading.Lock()

            def kiosk_tap():
                barrier.wait()
                try:
                    r = requests.post(
                        server.url + "/api/tickets",
                        json={"service": "SB", "kiosk": "K1"},
                        timeout=120,
                    )
                    answer = (r.status_code, r.json())
                except requests.RequestException as e:
                    answer = (None, repr(e))
                with lock:
                    answers.append(answer)

            storm = [threading.Thread(target=kiosk_tap) for _ in range(STORM)]
            for t in storm:
                t.start()
            # the hall keeps answering while every kiosk request waits on the printer
            health, during = [], 0
            while any(t.is_alive() for t in storm):
                r = requests.get(server.url + "/healthz", timeout=10)
                health.append(r.status_code)
                services = requests.get(server.url + "/api/services", timeout=10)
                health.append(services.status_code)
                if any(t.is_alive() for t in storm):
                    during += 1
                time.sleep(0.05)
            for t in storm:
                t.join()
            assert during >= 1, "the storm ended before the health check could run"
            assert set(health) == {200}

            assert len(answers) == STORM
            assert all(status == 201 for status, _ in answers), answers[:3]
            bodies = [body for _, body in answers]
            assert all(b["printed"] is False and b["print_error"] for b in bodies)
            numbers = sorted(b["number"] for b in bodies)
            assert numbers == [f"B{i:03d}" for i in range(1, STORM + 1)]
            tickets = check_books(server.db_path)
            assert len(tickets) == STORM
            assert all(t["status"] == "waiting" for t in tickets)
        finally:
            server.stop()
