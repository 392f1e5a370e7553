"""The server side of bench/load.py: a generated hall config, `python -m hall serve` on a
fresh database (one process, or several on one Redis), and the server's CPU and threads."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
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

    def __init__(
        self, tmp: Path, config: str, threads: int, message_queue: str = "", security=None
    ):
        super().__init__(
            tmp,
            config=config,
            threads=threads,
            start_timeout=60,
            settings={
                "security": {"ticket_rate_limit_per_minute": 0, **(security or {})},
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


def proc_status(pid: int) -> dict:
    """Threads and resident memory (KB) of the gunicorn worker (the child of `pid`)."""
    out: dict = {}
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        p = int(kids[0]) if kids else pid
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("Threads", "VmRSS"):
                out[k] = int(v.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{p}/fd"))
    except (OSError, ValueError):
        pass
    return out


def fill_queue(url: str, services: list[str], n: int) -> float:
    """Issue n tickets before the run (a hall with a long queue already); seconds taken."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    t0 = time.monotonic()

    def issue(i: int) -> None:
        r = requests.post(url + "/api/tickets", json={"service": services[i % len(services)]})
        r.raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(issue, range(n)))
    return time.monotonic() - t0
