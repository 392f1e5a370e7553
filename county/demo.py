"""`python -m hall county-demo`: a county on this machine, on loopback.

A centre (county/demo_data/centre.toml, the demo catalogue loaded) and four sites: the
county hall (config.toml), two township centres (township_a.toml, township_b.toml) and
a village point (village.toml). Each site is `python -m hall demo` (past working days
seeded on its first start, demo accounts with fresh passwords), registered at the
centre with a fresh key given to it in its environment, shipping live. Prints every URL
and the accounts; Ctrl-C stops them all. Data: --dir (instance/county-demo).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "demo_data"
START_TIMEOUT = 180

#: (site id, level, config, offer override or None)
SITES = (
    (
        "xian",
        "county",
        ROOT / "config.toml",
        {
            "SB": ["340722-SB-001", "340722-SB-002", "340722-SB-003"],
            "YB": ["340722-YB-001", "340722-YB-002"],
            "MZ": ["340722-MZ-001", "340722-MZ-002"],
            "HJ": ["340722-HJ-001"],
            "BDC": ["340722-BDC-001"],
            "ZHSL": ["340722-ZHSL-001"],
        },
    ),
    ("tanggou", "township", DATA / "township_a.toml", None),
    ("hengbu", "township", DATA / "township_b.toml", None),
    ("bailiu", "village", DATA / "village.toml", None),
)


def configure(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="listen address of every process")
    p.add_argument(
        "--base-port", type=int, default=5100, help="the centre; sites on the next ports"
    )
    p.add_argument("--dir", default="instance/county-demo", help="where the databases are kept")
    p.add_argument("--fresh", action="store_true", help="start from empty databases")


def _centre(folder: Path, centre_url: str) -> tuple[dict[str, str], str]:
    """Register the sites at the centre (fresh keys) and load the catalogue; returns
    ({site: key}, the centre supervisor's new password)."""
    from hall import create_app
    from hall.auth import create_user, hash_password

    from . import catalogue, centre

    app = create_app(
        {
            "HALL_CONFIG": str(DATA / "centre.toml"),
            "HALL": {"hall": {"public_url": centre_url}},
            "DATABASE": str(folder / "centre.sqlite3"),
            "NO_VOICE": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        catalogue.save(hall, catalogue.load_file(str(DATA / "catalogue.toml")))
        keys = {}
        names = {"county": "枞阳县政务服务中心"}
        for site_id, level, config, _ in SITES:
            import tomllib

            name = names.get(level) or tomllib.loads(config.read_text("utf-8"))["hall"]["name"]
            if centre.get_site(hall.store.db(), site_id):
                keys[site_id] = centre.rotate(hall, site_id, grace_hours=0)
            else:
                keys[site_id] = centre.add_site(hall, site_id, name, level)
        password = secrets.token_urlsafe(9)
        db = hall.store.db()
        if list(db.query("SELECT 1 FROM users WHERE username = 'county'")):
            with hall.store.write() as w:
                w.execute(
                    "UPDATE users SET password_hash = ? WHERE username = 'county'",
                    [hash_password(password)],
                )
        else:
            create_user(hall.store, "county", password, "supervisor", display_name="县数据资源局")
        return keys, password
    finally:
        hall.store.close()


class Child:
    """One `python -m hall ...` process, its output kept in a log file."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path, ready: str):
        self.name = name
        self.ready = ready
        self.lines: list[str] = []
        self.seen = threading.Event()
        self.log = open(log, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hall", *args],
            cwd=str(ROOT),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            if not self.seen.is_set():
                self.lines.append(line.rstrip("\n"))
                if self.ready in line:
                    self.seen.set()

    def accounts(self) -> list[str]:
        """The demo's account lines (username role password)."""
        out, inside = [], False
        for line in self.lines:
            if line.startswith("Demo accounts"):
                inside = True
            elif inside and line.startswith("  "):
                out.append(line.strip())
            elif inside and out:
                break
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _wait_up(url: str, child: Child) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise SystemExit(f"{child.name} stopped; see its log:\n" + "\n".join(child.lines[-20:]))
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{child.name} did not start in {START_TIMEOUT} s")


def run(args) -> int:
    folder = (ROOT / args.dir).resolve() if not os.path.isabs(args.dir) else Path(args.dir)
    if args.fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    host, base = args.host, args.base_port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    centre_url = f"http://{shown}:{base}"
    keys, password = _centre(folder, centre_url)

    def _terminate(signum, frame):  # a kill ends the children too (finally below)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HALL_")}
    base_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    children: list[Child] = []
    try:
        env = dict(
            base_env,
            HALL_CONFIG=str(DATA / "centre.toml"),
            HALL_DATABASE=str(folder / "centre.sqlite3"),
            HALL_SETTINGS=json.dumps({"hall": {"public_url": centre_url}}),
        )
        centre = Child(
            "centre",
            ["serve", "--host", host, "--port", str(base), "--threads", "64"],
            env,
            folder / "centre.log",
            "hall serving on",
        )
        children.append(centre)
        _wait_up(centre_url, centre)
        urls = []
        for i, (site_id, _level, config, offer) in enumerate(SITES, 1):
            port = base + i
            settings = {
                "hall": {"faces": ["county"]},
                "county": {"centre_url": centre_url, "site_id": site_id},
            }
            if offer:
                settings["county"]["offer"] = offer
            env = dict(
                base_env,
                HALL_CONFIG=str(config),
                HALL_DATABASE=str(folder / f"{site_id}.sqlite3"),
                HALL_COUNTY_KEY=keys[site_id],
                HALL_SETTINGS=json.dumps(settings),
            )
            child = Child(
                site_id,
                ["demo", "--host", host, "--port", str(port), "--threads", "64"],
                env,
                folder / f"{site_id}.log",
                "Open http",
            )
            children.append(child)
            urls.append((site_id, f"http://{shown}:{port}", child))
        for _site_id, url, child in urls:
            _wait_up(url, child)
            child.seen.wait(30)
        _print(centre_url, password, urls, folder)
        while all(c.proc.poll() is None for c in children):
            time.sleep(1)
        stopped = next(c for c in children if c.proc.poll() is not None)
        print(f"{stopped.name} stopped (see {folder / (stopped.name + '.log')}); stopping the rest")
        return 1
    except KeyboardInterrupt:
        print("\nstopping the county demo")
        return 0
    finally:
        for c in reversed(children):
            c.stop()


def _print(centre_url: str, password: str, urls, folder: Path) -> None:
    names = {
        "xian": "县政务服务中心",
        "tanggou": "汤沟镇便民服务中心",
        "hengbu": "横埠镇便民服务中心",
        "bailiu": "白柳村为民服务站",
    }
    print("\n" + "=" * 72)
    print("县域政务服务 demo: a county centre and its sites, shipping live")
    print("=" * 72)
    print(f"\n县中心 (centre)       {centre_url}/county")
    print(
        f"  ranking {centre_url}/county/ranking   差评 {centre_url}/county/ratings   "
        f"省平台 {centre_url}/county/province"
    )
    print(f"  account: county (supervisor)  {password}")
    for site_id, url, child in urls:
        print(f"\n{names.get(site_id, site_id)} ({site_id})  {url}/")
        if site_id == "bailiu":
            print(f"  village point {url}/county/point   supervisor {url}/supervisor")
        else:
            print(
                f"  kiosk {url}/kiosk/K1   display {url}/display   counter {url}/counter   "
                f"supervisor {url}/supervisor"
            )
        accounts = [" ".join(a.split()) for a in child.accounts()]
        if accounts:
            print("  accounts (user role password): " + "; ".join(accounts))
    print(f"\nlogs and databases: {folder}    Ctrl-C stops everything\n", flush=True)
