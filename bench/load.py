"""Load benchmark: kiosks issuing, clerks calling, Socket.IO displays listening.

    python bench/load.py --displays 100 --clerks 10 --kiosks 5 --seconds 20

Starts its own `python -m hall serve` on a fresh temporary database (unless --url is
given), with a generated config that has enough windows for the clerks. All clients are
real and talk over loopback:

- K kiosk threads POST /api/tickets every --kiosk-interval seconds on average (default 2;
  0 = as fast as the server answers, a throughput test);
- M clerk threads, each logged in as its own user at its own window, loop call-next ->
  (hold the ticket --clerk-pause seconds on average) -> finish;

With --arrivals poisson (the default) a kiosk's gaps and a clerk's hold times are drawn
from an exponential distribution with that mean, and every client starts at a random
moment of its first period, as citizens and clerks do: tickets and calls arrive as a
Poisson stream. --arrivals fixed keeps every client on a fixed period and starts them
all at the same instant, so that all kiosks and clerks hit the server together, every
period: a worst case for the tail.
- N /display Socket.IO clients over WebSocket (in --display-procs separate processes, so
  the clients do not share one GIL with the kiosks and clerks) record when each `called`
  message arrives.

call -> display latency is measured from the moment the clerk's call-next request is
sent to the moment a display receives the `called` message for that ticket (matched by
ticket id), on the system-wide monotonic clock. A call that some display never received
(within --grace seconds after the run) counts in lost_calls.

Prints a table and, as its last line, one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import LiveServer  # noqa: E402

PASSWORD = "bench-password-42"
SERVICES = [
    ("BDC", "不动产登记", "自然资源局", "A", 10),
    ("SB", "社会保险", "人社局", "B", 6),
    ("YB", "医疗保障", "医保局", "C", 6),
    ("GJJ", "住房公积金", "公积金中心", "D", 8),
]


# --- helpers --------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no data."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_config(windows: int, kiosks: int, voice: bool) -> str:
    """A hall with 4 services and `windows` windows that each serve all of them."""
    lines = [
        "[hall]",
        'name = "压测大厅"',
        'timezone = "Asia/Shanghai"',
        "",
        "[hours]",
        "always_open = true",
        "",
        "[security]",
        "ticket_rate_limit_per_minute = 0",
        "login_max_failures = 0",
        "",
        "[voice]",
        f"enabled = {'true' if voice else 'false'}",
        "repeat = 1",
        "",
    ]
    for code, name, dept, prefix, minutes in SERVICES:
        lines += [
            "[[services]]",
            f'code = "{code}"',
            f'name = "{name}"',
            f'department = "{dept}"',
            f'prefix = "{prefix}"',
            f"service_minutes = {minutes}",
            "",
        ]
    codes = ", ".join(f'"{s[0]}"' for s in SERVICES)
    for n in range(1, windows + 1):
        lines += [
            "[[windows]]",
            f"number = {n}",
            f'name = "{n}号窗口"',
            f"services = [{codes}]",
            "",
        ]
    for k in range(1, kiosks + 1):
        lines += ["[[kiosks]]", f'id = "K{k}"', f'name = "{k}号取号机"', ""]
    return "\n".join(lines)


class Server(LiveServer):
    """`python -m hall serve` on a fresh database in a temp dir, no ticket rate limit."""

    def __init__(self, tmp: Path, config: str, threads: int, message_queue: str = ""):
        super().__init__(
            tmp,
            config=config,
            threads=threads,
            start_timeout=60,
            settings={
                "security": {"ticket_rate_limit_per_minute": 0},
                "server": {"message_queue": message_queue},
            },
        )


class RedisServer:
    """Debian's redis-server on a free port in a temp dir (for --servers N)."""

    def __init__(self, tmp: Path):
        import shutil

        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(tmp),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the gunicorn worker)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def add_users(names: list[str], env: dict | None) -> None:
    """`python -m hall user add NAME --role clerk` with the password on stdin (in parallel)."""
    procs = []
    for name in names:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "hall", "user", "add", name, "--role", "clerk"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=str(ROOT),
                env=env,
                text=True,
            )
        )
    for p in procs:
        _, err = p.communicate(PASSWORD + "\n", timeout=120)
        if p.returncode != 0 and "exists" not in err and "已存在" not in err:
            raise RuntimeError(f"user add failed: {err[-500:]}")


# --- displays (own processes) ---------------------------------------------------------
def display_worker(url: str, count: int, conn, worker: int) -> None:
    """Connect `count` /display clients; record (ticket_id, arrival) per client."""
    import socketio

    from bench.clients import dispatch_on_read_thread

    dispatch_on_read_thread()

    arrivals: list[dict[int, float]] = [dict() for _ in range(count)]
    snapshots = [0] * count
    clients = []
    errors = 0

    def make(i):
        sio = socketio.Client(reconnection=True, logger=False, engineio_logger=False)

        @sio.on("called", namespace="/display")
        def called(data, i=i):
            now = time.monotonic()
            tid = data.get("ticket_id") if isinstance(data, dict) else None
            if tid is not None and not data.get("recall"):
                arrivals[i].setdefault(tid, now)

        @sio.on("snapshot", namespace="/display")
        def snap(data, i=i):
            snapshots[i] += 1

        return sio

    for i in range(count):
        sio = make(i)
        for attempt in range(5):
            try:
                sio.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
                break
            except Exception:
                time.sleep(0.2 * (attempt + 1))
        else:
            errors += 1
        clients.append(sio)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sum(1 for s in snapshots if s) < count - errors:
        time.sleep(0.05)
    conn.send({"ready": worker, "connected": sum(1 for s in snapshots if s), "errors": errors})
    conn.recv()  # "stop"
    conn.send({"arrivals": arrivals, "errors": errors})
    for sio in clients:
        try:
            sio.disconnect()
        except Exception:
            pass
    conn.close()


def display_worker_raw(url: str, count: int, conn, worker: int) -> None:
    """`count` /display clients speaking Engine.IO 4 / Socket.IO 5 over WebSocket
    directly, all in one thread (select): a client costs almost nothing, so what is
    measured is the server, as with real displays on their own machines."""
    import select

    import websocket

    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    ws_url += "/socket.io/?EIO=4&transport=websocket"
    arrivals: list[dict[int, float]] = [dict() for _ in range(count)]
    ready = [False] * count
    socks = []
    errors = 0
    for i in range(count):
        try:
            ws = websocket.create_connection(ws_url, timeout=10)
            opened = ws.recv()
            if not opened.startswith("0"):
                raise RuntimeError(f"unexpected open packet {opened[:40]!r}")
            ws.send("40/display,")
            socks.append((i, ws))
        except Exception:  # noqa: BLE001
            errors += 1
    by_fd = {ws.sock.fileno(): (i, ws) for i, ws in socks}
    prefix = '42/display,["called",'
    stop = False
    announced = False
    deadline = time.monotonic() + 15
    while not stop:
        readable, _, _ = select.select(list(by_fd), [], [], 0.05)
        now = time.monotonic()
        for fd in readable:
            i, ws = by_fd[fd]
            try:
                msg = ws.recv()
            except Exception:  # noqa: BLE001
                errors += 1
                del by_fd[fd]
                continue
            if msg == "2":
                ws.send("3")  # pong
            elif msg.startswith(prefix):
                data = json.loads(msg[len("42/display,") :])[1]
                if not data.get("recall"):
                    arrivals[i].setdefault(data["ticket_id"], now)
            elif msg.startswith('42/display,["snapshot"'):
                ready[i] = True
        if not announced and (all(ready[i] for i, _ in socks) or now > deadline):
            conn.send({"ready": worker, "connected": sum(ready), "errors": errors})
            announced = True
        if announced and conn.poll():
            conn.recv()  # "stop"
            stop = True
    conn.send({"arrivals": arrivals, "errors": errors})
    for _, ws in socks:
        try:
            ws.close()
        except Exception:  # noqa: BLE001
            pass
    conn.close()


# --- kiosks and clerks ----------------------------------------------------------------
class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.issue_ms: list[float] = []
        self.call_ms: list[float] = []
        self.finish_ms: list[float] = []
        self.calls: dict[int, float] = {}  # ticket id -> monotonic time the call was sent
        self.errors = 0
        self.error_samples: list[str] = []
        self.empty_calls = 0

    def error(self, text: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(text[:300])


class Session:
    """requests.Session that, like a browser, retries once when a kept-alive connection
    turns out to have been closed by the server meanwhile (gunicorn keepalive: 5 s); the
    server closes an idle connection before reading a request, so nothing was done."""

    def __init__(self):
        import requests

        self._requests = requests
        self.s = requests.Session()
        self.headers = self.s.headers

    def post(self, url, **kw):
        try:
            return self.s.post(url, **kw)
        except self._requests.ConnectionError:
            return self.s.post(url, **kw)


def kiosk_loop(url, kiosk_id, services, stop, res: Results, interval: float, printing: bool, rng):

    s = Session()
    i = 0
    if interval and rng:
        stop.wait(rng.uniform(0, interval))  # kiosks do not start in step
    while not stop.is_set():
        service = services[i % len(services)]
        i += 1
        t0 = time.monotonic()
        try:
            body = {"service": service, "kiosk": kiosk_id, "print": printing}
            r = s.post(url + "/api/tickets", json=body, timeout=30)
            dt = (time.monotonic() - t0) * 1000
            if r.status_code != 201:
                res.error(f"issue {r.status_code} {r.text}")
            else:
                with res.lock:
                    res.issue_ms.append(dt)
        except Exception as e:  # noqa: BLE001 - a benchmark counts every failure
            res.error(f"issue {e!r}")
        if interval:
            stop.wait(rng.expovariate(1 / interval) if rng else interval)


def clerk_loop(url, username, window, stop, res: Results, pause: float, idle: float, ready, rng):

    s = Session()
    try:
        r = s.post(
            url + "/api/login", json={"username": username, "password": PASSWORD}, timeout=30
        )
        r.raise_for_status()
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = s.post(url + f"/api/windows/{window}/open", json={}, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"open window {window}: {r.status_code} {r.text}")
    except Exception as e:  # noqa: BLE001
        res.error(f"clerk setup {e!r}")
        ready.wait()
        return
    ready.wait()
    if pause and rng:
        stop.wait(rng.uniform(0, pause))  # clerks do not call in step
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            r = s.post(url + f"/api/windows/{window}/call-next", json={}, timeout=30)
            dt = (time.monotonic() - t0) * 1000
            if r.status_code != 200:
                res.error(f"call {r.status_code} {r.text}")
                stop.wait(0.1)
                continue
            ticket = r.json()["ticket"]
            with res.lock:
                res.call_ms.append(dt)
                if ticket is None:
                    res.empty_calls += 1
                else:
                    res.calls[ticket["id"]] = t0
            if ticket is None:
                stop.wait(idle)  # nobody waiting: the clerk tries again in a moment
                continue
            if pause:  # hold the ticket; at the end of the run, finish it at once
                stop.wait(rng.expovariate(1 / pause) if rng else pause)
            t1 = time.monotonic()
            r = s.post(url + f"/api/tickets/{ticket['id']}/finish", json={}, timeout=30)
            if r.status_code != 200:
                res.error(f"finish {r.status_code} {r.text}")
            else:
                with res.lock:
                    res.finish_ms.append((time.monotonic() - t1) * 1000)
        except Exception as e:  # noqa: BLE001
            res.error(f"clerk {e!r}")
            stop.wait(0.1)


# --- main -----------------------------------------------------------------------------
def run(args) -> dict:
    servers: list[Server] = []
    redis = None
    urls = [args.url] if args.url else []
    if not args.url:
        tmp = Path(tempfile.mkdtemp(prefix="hall-bench-"))
        cfg_path = tmp / "bench.toml"
        cfg_path.write_text(
            bench_config(max(args.clerks, 4), max(args.kiosks, 1), args.voice), encoding="utf-8"
        )
        threads = args.threads or (args.displays + args.clerks + args.kiosks + 64)
        if args.servers > 1:
            redis = RedisServer(tmp)
        for _ in range(args.servers):
            server = Server(tmp, str(cfg_path), threads, redis.url if redis else "")
            server.start()
            servers.append(server)
            urls.append(server.url)
            print(
                f"server pid {server.proc.pid} on {server.url}, log {server.log_path}",
                file=sys.stderr,
                flush=True,
            )
    try:
        return _run(args, urls, servers)
    finally:
        for server in servers:
            server.stop()
        if redis:
            redis.stop()
        if servers and not args.keep_tmp:
            import shutil

            shutil.rmtree(servers[0].tmp, ignore_errors=True)


def _run(args, urls: list[str], servers: list[Server]) -> dict:
    import requests

    url = urls[0]
    server = servers[0] if servers else None
    usernames = [f"bench{i + 1}" for i in range(args.clerks)]
    if server or args.create_users:
        add_users(usernames, server.env() if server else None)
    windows = [w["number"] for w in requests.get(url + "/api/windows", timeout=10).json()]
    if len(windows) < args.clerks:
        raise SystemExit(
            f"{args.clerks} clerks need {args.clerks} windows; the hall has {len(windows)}"
        )
    services = [
        s["code"]
        for s in requests.get(url + "/api/services", timeout=10).json()
        if s["open"] and not s["daily_quota"]
    ]
    if not services:
        raise SystemExit("no open service without a daily quota to issue for")

    # Displays first, in their own processes.
    ctx = mp.get_context("spawn")
    procs, conns = [], []
    procs_wanted = max(args.display_procs, len(urls))
    per = math.ceil(args.displays / procs_wanted) if args.displays else 0
    remaining = args.displays
    worker = 0
    t_connect = time.monotonic()
    while remaining > 0:
        n = min(per, remaining)
        parent, child = ctx.Pipe()
        target = display_worker_raw if args.client == "raw" else display_worker
        p = ctx.Process(
            target=target, args=(urls[worker % len(urls)], n, child, worker), daemon=True
        )
        p.start()
        procs.append(p)
        conns.append(parent)
        remaining -= n
        worker += 1
    connected = 0
    display_errors = 0
    for c in conns:
        if not c.poll(120):
            raise RuntimeError("a display worker did not get ready in 120 s")
        msg = c.recv()
        connected += msg["connected"]
        display_errors += msg["errors"]
    connect_s = time.monotonic() - t_connect

    res = Results()
    stop = threading.Event()
    ready = threading.Barrier(args.clerks + 1) if args.clerks else None
    threads = []
    for i, name in enumerate(usernames):
        t = threading.Thread(
            target=clerk_loop,
            args=(
                urls[i % len(urls)],
                name,
                windows[i],
                stop,
                res,
                args.clerk_pause,
                args.clerk_idle,
                ready,
                random.Random(args.seed * 1000 + i) if args.arrivals == "poisson" else None,
            ),
            daemon=True,
        )
        t.start()
        threads.append(t)
    if ready:
        ready.wait()
    t_start = time.monotonic()
    cpu0 = sum(cpu_seconds(sv.proc.pid) for sv in servers)
    clients0 = sum(cpu_seconds(p.pid) for p in procs) + sum(os.times()[:2])
    load0 = os.getloadavg()[0]
    for k in range(args.kiosks):
        t = threading.Thread(
            target=kiosk_loop,
            args=(
                urls[k % len(urls)],
                f"K{k + 1}" if not args.url else None,
                services[k:] + services[:k],
                stop,
                res,
                args.kiosk_interval,
                args.print,
                random.Random(args.seed * 1000 + 500 + k) if args.arrivals == "poisson" else None,
            ),
            daemon=True,
        )
        t.start()
        threads.append(t)
    time.sleep(args.seconds)
    stop.set()
    elapsed_run = time.monotonic() - t_start
    server_cpu = (sum(cpu_seconds(sv.proc.pid) for sv in servers) - cpu0) if servers else None
    clients_cpu = sum(cpu_seconds(p.pid) for p in procs) + sum(os.times()[:2]) - clients0
    load1 = os.getloadavg()[0]
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - t_start
    time.sleep(args.grace)

    arrivals: list[dict[int, float]] = []
    for c in conns:
        c.send("stop")
    for c in conns:
        msg = c.recv()
        arrivals.extend(msg["arrivals"])
        display_errors += msg["errors"]
    for p in procs:
        p.join(30)

    latencies = []
    lost = 0
    for tid, sent in res.calls.items():
        got = [a[tid] for a in arrivals if tid in a]
        if len(got) < len(arrivals):
            lost += 1
        latencies.extend((g - sent) * 1000 for g in got)

    issued = len(res.issue_ms)
    out = {
        "tickets_issued": issued,
        "tickets_per_s": round(issued / elapsed, 1) if elapsed else 0.0,
        "issue_p50_ms": round(percentile(res.issue_ms, 50), 1),
        "issue_p99_ms": round(percentile(res.issue_ms, 99), 1),
        "calls": len(res.calls),
        "calls_per_s": round(len(res.calls) / elapsed, 1) if elapsed else 0.0,
        "call_p50_ms": round(percentile(res.call_ms, 50), 1),
        "call_p99_ms": round(percentile(res.call_ms, 99), 1),
        "finish_p99_ms": round(percentile(res.finish_ms, 99), 1),
        "call_to_display_p50_ms": round(percentile(latencies, 50), 1),
        "call_to_display_p99_ms": round(percentile(latencies, 99), 1),
        "call_to_display_max_ms": round(max(latencies), 1) if latencies else 0.0,
        "deliveries": len(latencies),
        "errors": res.errors + display_errors,
        "lost_calls": lost,
        "displays": connected,
        "clerks": args.clerks,
        "kiosks": args.kiosks,
        "seconds": round(elapsed, 1),
        "display_connect_s": round(connect_s, 1),
        "client": args.client,
        "servers": max(len(servers), 1),
        "voice": bool(args.voice),
        "print": bool(args.print),
        "kiosk_interval_s": args.kiosk_interval,
        "clerk_pause_s": args.clerk_pause,
        "arrivals": args.arrivals,
        "server_cpu_pct": round(100 * server_cpu / elapsed_run, 1) if server_cpu else None,
        "clients_cpu_pct": round(100 * clients_cpu / elapsed_run, 1),
        "loadavg": round(max(load0, load1), 1),
    }
    if res.error_samples:
        out["error_samples"] = res.error_samples
    return out


def table(out: dict) -> str:
    rows = [
        ("displays connected", f"{out['displays']} (in {out['display_connect_s']} s)"),
        ("clerks / kiosks", f"{out['clerks']} / {out['kiosks']}"),
        ("run", f"{out['seconds']} s"),
        ("tickets issued", f"{out['tickets_issued']} ({out['tickets_per_s']}/s)"),
        ("issue latency p50 / p99", f"{out['issue_p50_ms']} / {out['issue_p99_ms']} ms"),
        ("calls", f"{out['calls']} ({out['calls_per_s']}/s)"),
        ("call-next latency p50 / p99", f"{out['call_p50_ms']} / {out['call_p99_ms']} ms"),
        ("finish latency p99", f"{out['finish_p99_ms']} ms"),
        (
            "call -> display p50 / p99 / max",
            f"{out['call_to_display_p50_ms']} / {out['call_to_display_p99_ms']} / "
            f"{out['call_to_display_max_ms']} ms ({out['deliveries']} deliveries)",
        ),
        ("errors / lost calls", f"{out['errors']} / {out['lost_calls']}"),
        ("server CPU (100% = one core)", f"{out['server_cpu_pct']} %"),
        ("benchmark clients' CPU", f"{out['clients_cpu_pct']} % (same machine)"),
        ("machine load average", f"{out['loadavg']} (2 cores; other work skews the figures)"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def sweep(args) -> dict:
    """Run the benchmark with more and more displays until call -> display p99 passes
    the mark: how many screens one server process holds at this load."""
    rows = []
    held = 0
    for n in [int(x) for x in args.sweep.split(",")]:
        args.displays = n
        args.display_procs = max(args.display_procs, (n + 99) // 100)
        out = run(args)
        rows.append(out)
        ok = (
            out["call_to_display_p99_ms"] <= args.mark_ms
            and not out["errors"]
            and not out["lost_calls"]
            and out["displays"] == n
        )
        print(
            f"  {n:>5} displays: call->display p99 {out['call_to_display_p99_ms']} ms, "
            f"issue p99 {out['issue_p99_ms']} ms, errors {out['errors']}, lost "
            f"{out['lost_calls']} -> {'ok' if ok else 'over the mark'}",
            flush=True,
        )
        if not ok:
            break
        held = n
    return {
        "max_displays": held,
        "mark_ms": args.mark_ms,
        "client": args.client,
        "servers": args.servers,
        "kiosk_interval_s": args.kiosk_interval,
        "clerk_pause_s": args.clerk_pause,
        "arrivals": args.arrivals,
        "runs": [
            {
                k: r[k]
                for k in (
                    "displays",
                    "call_to_display_p50_ms",
                    "call_to_display_p99_ms",
                    "issue_p99_ms",
                    "errors",
                    "lost_calls",
                    "server_cpu_pct",
                )
            }
            for r in rows
        ],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--displays", type=int, default=100)
    p.add_argument("--clerks", type=int, default=10)
    p.add_argument("--kiosks", type=int, default=5)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--url", help="benchmark a running server instead of starting one")
    p.add_argument(
        "--servers",
        type=int,
        default=1,
        help="start N server processes on one database with a Redis message "
        "queue (scale-out); clients are spread over them round-robin",
    )
    p.add_argument(
        "--create-users",
        action="store_true",
        help="with --url: add the bench users through `python -m hall user add` "
        "(same HALL_CONFIG/HALL_DATABASE as the server)",
    )
    p.add_argument(
        "--kiosk-interval",
        type=float,
        default=2.0,
        help="seconds between a kiosk's tickets (default 2: 5 kiosks give 2.5 tickets/s, "
        "about 35x the peak hour of a 16-window county hall); 0 = as fast as answered",
    )
    p.add_argument(
        "--clerk-pause",
        type=float,
        default=2.0,
        help="seconds a clerk holds a ticket before finishing it (default 2; 0 = at once)",
    )
    p.add_argument(
        "--clerk-idle",
        type=float,
        default=1.0,
        help="seconds an idle clerk waits before calling again when nobody waited",
    )
    p.add_argument(
        "--client",
        choices=["socketio", "raw"],
        default="socketio",
        help="display client: python-socketio (a thread per client) or raw "
        "Engine.IO over websocket-client (all clients of a process in one "
        "select loop; cheap, so the server is what is measured)",
    )
    p.add_argument(
        "--display-procs", type=int, default=2, help="processes the display clients are spread over"
    )
    p.add_argument("--threads", type=int, help="server threads (default: enough for all)")
    p.add_argument(
        "--print",
        action="store_true",
        help="kiosks print each ticket (the slip is rendered for the dummy printer, "
        "in the request, as a kiosk with a printer does)",
    )
    p.add_argument(
        "--voice",
        action="store_true",
        help="render call announcements (espeak-ng) as production does",
    )
    p.add_argument(
        "--grace", type=float, default=2.0, help="seconds to wait for late messages after the run"
    )
    p.add_argument(
        "--keep-tmp", action="store_true", help="keep the temp dir (database, server logs)"
    )
    p.add_argument(
        "--sweep",
        help="comma-separated display counts (e.g. 100,200,300): "
        "run each until call->display p99 passes --mark-ms",
    )
    p.add_argument("--mark-ms", type=float, default=100.0)
    p.add_argument(
        "--arrivals",
        choices=("poisson", "fixed"),
        default="poisson",
        help="poisson: random gaps and hold times with the given means, clients start at "
        "random moments (default); fixed: fixed periods, all clients in step (worst case)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for --arrivals poisson")
    args = p.parse_args(argv)
    if args.sweep:
        out = sweep(args)
        print(json.dumps(out, ensure_ascii=False), flush=True)
        return 0
    out = run(args)
    print(table(out), flush=True)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if not out["errors"] and not out["lost_calls"] else 1


if __name__ == "__main__":
    sys.exit(main())
