"""Many screens: one server, N hall displays, how fast does a call reach all of them?

    .venv/bin/python bench/displays.py [--clients 100] [--calls 40] [--procs 4] [--no-voice]

Starts the production server (`python -m hall serve`, gunicorn gthread, as
tests/conftest.py's LiveServer does) on a fresh database in a temp directory, connects
N python-socketio clients to /display over WebSocket, then makes calls through the API
(two clerks, windows 1 and 2, call-next / finish). For every call and every client the
latency is measured from just before the call-next request is sent to the moment the
client's `called` handler runs. Calls are made one at a time: the next call starts when
every client has the previous one (or after --wait seconds, then it counts as lost).

Prints a table and, last, one JSON line with the figures.

The displays run in --procs worker processes (default 4) on the same machine as the
server, so they take their share of the CPU: the figures are pessimistic. The load
average before the run is printed too: other work on the machine shows in the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import LiveServer  # noqa: E402


class BenchServer(LiveServer):
    """LiveServer with a chosen number of gunicorn threads (one per open WebSocket)."""

    def __init__(self, tmp: Path, threads: int, voice: bool = True, direct: bool = True):
        settings = {"voice": {"enabled": voice}, "server": {"direct_websocket_writes": direct}}
        super().__init__(tmp, settings=settings, threads=threads)


class Display:
    """One screen: a Socket.IO client on /display that notes when each call arrives."""

    def __init__(self, url: str, sink):
        import socketio

        self.sio = socketio.Client(reconnection=False)
        self.sink = sink  # sink(number, time.monotonic())
        self.snapshot_bytes = 0
        self.sio.on("called", self.on_called, namespace="/display")
        self.sio.on("snapshot", self.on_snapshot, namespace="/display")
        self.got_snapshot = threading.Event()
        self.url = url

    def connect(self) -> float:
        t0 = time.monotonic()
        self.sio.connect(
            self.url, namespaces=["/display"], transports=["websocket"], wait_timeout=30
        )
        self.got_snapshot.wait(30)
        return time.monotonic() - t0

    def on_snapshot(self, snap):
        self.snapshot_bytes = len(json.dumps(snap, ensure_ascii=False).encode())
        self.got_snapshot.set()

    def on_called(self, call):
        self.sink(call["number"], time.monotonic())


def display_worker(url: str, count: int, out, stop) -> None:
    """A process holding `count` displays; arrivals go to `out` as they happen.
    (time.monotonic() is one system-wide clock on Linux, so times compare across
    processes.)"""
    from bench.clients import dispatch_on_read_thread

    dispatch_on_read_thread()
    displays = [Display(url, lambda n, t: out.put(("arrived", n, t))) for _ in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        times = list(pool.map(lambda d: d.connect(), displays))
    ok = sum(d.sio.connected and d.got_snapshot.is_set() for d in displays)
    out.put(("ready", ok, times, displays[0].snapshot_bytes if displays else 0))
    stop.wait()
    for d in displays:
        try:
            d.sio.disconnect()
        except Exception:
            pass


class Board:
    """Arrival times of every call at every display."""

    def __init__(self, clients: int):
        self.clients = clients
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.done: dict[str, threading.Event] = {}

    def expect(self, number: str) -> threading.Event:
        with self.lock:
            self.times.setdefault(number, [])
            return self.done.setdefault(number, threading.Event())

    def arrived(self, number: str, t: float) -> None:
        with self.lock:
            got = self.times.setdefault(number, [])
            got.append(t)
            event = self.done.setdefault(number, threading.Event())
            if len(got) >= self.clients:
                event.set()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run(
    clients: int,
    calls: int,
    threads: int,
    wait: float,
    gap: float,
    procs: int,
    voice: bool = True,
    direct: bool = True,
) -> dict:
    import os

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="hall-bench-"))
    threads = threads or clients + 40
    server = BenchServer(tmp, threads, voice, direct).start()
    try:
        clerks = {w: server.session(f"bench{w}") for w in (1, 2)}
        for w, s in clerks.items():
            s.post(f"{server.url}/api/windows/{w}/open").raise_for_status()
        public = server.session()
        for i in range(calls):
            service = "SB" if i % 2 == 0 else "BDC"  # window 1 serves SB, window 2 BDC
            public.post(f"{server.url}/api/tickets", json={"service": service}).raise_for_status()

        board = Board(clients)
        ctx = mp.get_context("spawn")
        out, stop = ctx.Queue(), ctx.Event()
        shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
        workers = [
            ctx.Process(target=display_worker, args=(server.url, n, out, stop)) for n in shares if n
        ]
        t0 = time.monotonic()
        for w in workers:
            w.start()
        connected, connect_times, snapshot_bytes = 0, [], 0
        for _ in workers:
            kind, ok, times, size = out.get(timeout=120)
            connected += ok
            connect_times += times
            snapshot_bytes = snapshot_bytes or size
        connect_all = time.monotonic() - t0
        board.clients = connected

        def drain():
            while True:
                msg = out.get()
                if msg is None:
                    return
                board.arrived(msg[1], msg[2])

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()

        latencies: list[float] = []
        api_times: list[float] = []
        per_call_max: list[float] = []
        lost = 0
        current = {1: None, 2: None}
        for i in range(calls):
            w = 1 if i % 2 == 0 else 2
            s = clerks[w]
            if current[w]:
                s.post(f"{server.url}/api/tickets/{current[w]['id']}/finish").raise_for_status()
            time.sleep(gap)  # let the finish's own messages go out first
            start = time.monotonic()
            r = s.post(f"{server.url}/api/windows/{w}/call-next")
            api_times.append(time.monotonic() - start)
            r.raise_for_status()
            ticket = r.json()["ticket"]
            current[w] = ticket
            done = board.expect(ticket["number"])
            done.wait(wait)
            with board.lock:
                arrivals = list(board.times[ticket["number"]])
            lat = [t - start for t in arrivals]
            latencies += lat
            per_call_max.append(max(lat) if lat else float("nan"))
            lost += connected - len(arrivals)

        # late arrivals (after --wait) still count as delivered, not lost
        time.sleep(0.5)
        delivered = sum(len(v) for v in board.times.values())
        stop.set()
        out.put(None)
        for w in workers:
            w.join(30)
        ms = [x * 1000 for x in latencies]
        return {
            "clients": clients,
            "connected": connected,
            "calls": calls,
            "deliveries_expected": connected * calls,
            "delivered": delivered,
            "lost": max(0, connected * calls - delivered),
            "lost_within_wait": lost,
            "latency_ms": {
                "p50": round(percentile(ms, 50), 1),
                "p90": round(percentile(ms, 90), 1),
                "p99": round(percentile(ms, 99), 1),
                "max": round(max(ms), 1) if ms else None,
                "mean": round(statistics.fmean(ms), 1) if ms else None,
            },
            "last_display_ms": {
                "p50": round(percentile([x * 1000 for x in per_call_max], 50), 1),
                "max": round(max(per_call_max) * 1000, 1) if per_call_max else None,
            },
            "api_call_next_ms": {
                "p50": round(percentile([x * 1000 for x in api_times], 50), 1),
                "max": round(max(api_times) * 1000, 1),
            },
            "connect_s": {
                "all": round(connect_all, 2),
                "p50_each": round(percentile(connect_times, 50), 3),
            },
            "snapshot_bytes": snapshot_bytes,
            "client_processes": len(workers),
            "server_threads": threads,
            "voice": voice,
            "direct_websocket_writes": direct,
            "cpus": os.cpu_count(),
            "loadavg_1min_before": round(load_before, 2),
        }
    finally:
        server.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=100, help="displays to connect (100)")
    p.add_argument("--calls", type=int, default=40, help="calls to make (40)")
    p.add_argument("--procs", type=int, default=4, help="client processes (4)")
    p.add_argument(
        "--no-voice",
        action="store_true",
        help="voice off (no WAV rendered per call) for comparison",
    )
    p.add_argument(
        "--stock-writes",
        action="store_true",
        help="[server] direct_websocket_writes = false: Engine.IO's writer thread per "
        "connection, for comparison",
    )
    p.add_argument("--threads", type=int, default=0, help="server threads (clients + 40)")
    p.add_argument("--wait", type=float, default=5.0, help="seconds to wait for each call")
    p.add_argument("--gap", type=float, default=0.2, help="pause before each call, seconds")
    args = p.parse_args(argv)
    if args.clients < 1 or args.calls < 1 or args.procs < 1:
        p.error("--clients, --calls and --procs must be at least 1")
    res = run(
        args.clients,
        args.calls,
        args.threads,
        args.wait,
        args.gap,
        args.procs,
        not args.no_voice,
        not args.stock_writes,
    )
    lat = res["latency_ms"]
    rows = [
        ("displays connected", f"{res['connected']} / {res['clients']}"),
        ("connect all (s)", res["connect_s"]["all"]),
        ("snapshot size (bytes)", res["snapshot_bytes"]),
        ("calls", res["calls"]),
        ("deliveries", f"{res['delivered']} / {res['deliveries_expected']}"),
        ("lost", res["lost"]),
        ("call -> display p50 (ms)", lat["p50"]),
        ("call -> display p90 (ms)", lat["p90"]),
        ("call -> display p99 (ms)", lat["p99"]),
        ("call -> display max (ms)", lat["max"]),
        ("call -> last display p50 (ms)", res["last_display_ms"]["p50"]),
        ("API call-next p50 (ms)", res["api_call_next_ms"]["p50"]),
        ("client processes", res["client_processes"]),
        ("CPUs (load average before)", f"{res['cpus']} ({res['loadavg_1min_before']})"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    print()
    print(json.dumps(res, ensure_ascii=False))
    return 0 if res["lost"] == 0 and res["connected"] == res["clients"] else 1


if __name__ == "__main__":
    sys.exit(main())
