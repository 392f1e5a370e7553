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
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hallserver import (  # noqa: E402
    RedisServer,
    Server,
    add_users,
    bench_config,
    cpu_seconds,
    fill_queue,
    percentile,
    proc_status,
)
from bench.idle import IdleSockets  # noqa: E402
from bench.listeners import display_worker, display_worker_raw  # noqa: E402
from bench.workers import Results, clerk_loop, kiosk_loop  # noqa: E402


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
        # HTTP threads: WebSockets hold none (hall/compat/wsloop.py)
        threads = args.threads or 64
        # the bench's own clients (127.0.0.1) are the hall's screens, kiosks and clerks;
        # the idle connections come from other addresses and count as public
        security = {"rate_limit_exempt": ["127.0.0.1"]}
        if args.idle_sockets:
            security["socket_limit"] = max(3000, args.idle_sockets + 500)
        if args.servers > 1:
            redis = RedisServer(tmp)
        for _ in range(args.servers):
            server = Server(tmp, str(cfg_path), threads, redis.url if redis else "", security)
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

    ctx = mp.get_context("spawn")
    prefill_s = fill_queue(url, services, args.waiting) if args.waiting else 0.0
    idle = IdleSockets(ctx, urls, services, args) if args.idle_sockets else None
    status0 = proc_status(server.proc.pid) if server else {}

    # Displays next, in their own processes.
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
    status1 = proc_status(server.proc.pid) if server else {}
    health = requests.get(url + "/api/health", timeout=30).json()
    idle_out = idle.stop() if idle else {}

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
        "waiting_before": args.waiting,
        "prefill_s": round(prefill_s, 1),
        **idle_out,
        "server_threads": status1.get("Threads"),
        "server_threads_before_displays": status0.get("Threads"),
        "server_rss_mb": round(status1.get("VmRSS", 0) / 1024, 1) or None,
        "server_fds": status1.get("fds"),
        "server_sockets": health.get("sockets"),
        "date": time.strftime("%Y-%m-%d"),
    }
    out["errors"] += idle_out.get("idle_errors", 0)
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
        ("tickets waiting before the run", f"{out['waiting_before']}"),
    ]
    if out.get("idle_sockets"):
        rows += [
            (
                "idle public connections",
                f"{out['idle_sockets']} ({out['idle_phones']} phone pages): "
                f"{out['idle_joined_at_start']} joined in {out['idle_connect_s']} s, "
                f"{out['idle_live_at_end']} live at the end",
            ),
            (
                "phone re-reads p50 / p99",
                f"{out['phone_reads']}: {out['phone_read_p50_ms']} / {out['phone_read_p99_ms']} ms",
            ),
        ]
    rows += [
        (
            "server threads / RSS / fds",
            f"{out['server_threads']} / {out['server_rss_mb']} MB / {out['server_fds']}",
        ),
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
    p.add_argument(
        "--waiting", type=int, default=0, help="tickets issued before the run (a long queue)"
    )
    p.add_argument(
        "--idle-sockets",
        type=int,
        default=0,
        help="public connections held open during the run besides the measuring displays "
        "(bench/idle.py): idle screens and phone pages, from many loopback addresses",
    )
    p.add_argument(
        "--idle-phones",
        type=float,
        default=0.5,
        help="share of --idle-sockets that are phone pages following a ticket (default 0.5)",
    )
    p.add_argument(
        "--idle-per-address",
        type=int,
        default=4,
        help="idle connections per source address (under security.socket_limit_per_address)",
    )
    p.add_argument("--idle-procs", type=int, default=2, help="processes for the idle connections")
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
