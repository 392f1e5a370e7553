"""python -m hall init | serve | demo | user add | settings | backup | restore | purge,
and the faces' commands (Face.commands: print-test, export, ...)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys

from .config import ConfigError
from .face import INSTALLED, OPTIONAL, declarations, resolve
from .vocabulary import STAFF_ROLES

DEMO_USERS = [
    ("admin", "admin", "系统管理员", "A0001"),
    ("supervisor", "supervisor", "大厅主管", "S0001"),
    ("guide", "clerk", "导办员", "G0001"),
    ("clerk1", "clerk", "窗口人员一", "C0001"),
    ("clerk2", "clerk", "窗口人员二", "C0002"),
    ("clerk3", "clerk", "窗口人员三", "C0003"),
    ("clerk4", "clerk", "窗口人员四", "C0004"),
]
# The demo clerks' home windows: each is qualified for the services of that window's
# departments plus 综合受理 (hall/skills.py), which balanced calling uses.
DEMO_HOME = {"clerk1": 1, "clerk2": 4, "clerk3": 7, "clerk4": 12}


def make_app(args, **overrides):
    """The app a command works on: --config (or HALL_CONFIG), plus overrides."""
    from .app import create_app

    test_config = {}
    if getattr(args, "config", None):
        test_config["HALL_CONFIG"] = args.config
    if overrides:
        test_config["HALL"] = overrides
    return create_app(test_config)


def cmd_init(args) -> int:
    app = make_app(args)
    hall = app.extensions["hall"]
    print(f"database ready: {hall.store.path}")
    print(f"services: {len(hall.cfg.services)}, windows: {len(hall.cfg.windows)}")
    return 0


def cmd_user_add(args) -> int:
    from .auth import create_user

    app = make_app(args)
    hall = app.extensions["hall"]
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    windows = [int(w) for w in args.windows.split(",") if w.strip()] if args.windows else []
    create_user(
        hall.store,
        args.name,
        password,
        args.role,
        windows=windows,
        display_name=args.display_name or "",
        staff_no=args.staff_no or "",
        now=hall.clock.now(),
    )
    if args.skills:
        from .skills import set_skills

        set_skills(hall.store, args.name, _codes(args.skills))
    print(f"user {args.name} ({args.role}) added")
    return 0


def _codes(text: str) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def cmd_user_skills(args) -> int:
    """业务资质: the services a clerk is qualified for (balanced calling)."""
    from .skills import set_skills

    hall = make_app(args).extensions["hall"]
    skills = set_skills(hall.store, args.name, _codes(args.codes))
    print(f"user {args.name} skills: {', '.join(skills) or '(none)'}")
    return 0


def serve(app, host: str, port: int, threads: int) -> None:
    """A production server: gunicorn, one worker, many threads (WebSocket-capable)."""
    from gunicorn.app.base import BaseApplication

    from . import capacity
    from .realtime import start_message_queue

    figures = capacity.plan(app.extensions["hall_gate"], threads)
    app.extensions["hall_capacity"] = figures  # /api/health
    print(capacity.describe(figures), flush=True)

    def ready(app) -> None:  # in the worker process, before it accepts connections
        start_message_queue(app)
        capacity.tune_gc()

    class HallServer(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("worker_connections", figures["worker_connections"])
            # Socket.IO long-polls and WebSockets stay open: no worker timeout kill.
            self.cfg.set("timeout", 0)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", None)
            self.cfg.set("errorlog", "-")
            # No shared control socket: several hall processes may run on one host.
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("post_worker_init", lambda worker: ready(app))

        def load(self):
            return app

    HallServer().run()


def cmd_serve(args) -> int:
    app = make_app(args)
    server = app.extensions["hall"].cfg.server
    host = args.host or server["host"]
    port = args.port or server["port"]
    print(f"hall serving on http://{host}:{port}/", flush=True)
    serve(app, host, port, args.threads or server["threads"])
    return 0


def cmd_backup(args) -> int:
    """A consistent copy of the running hall's database (hall/backup.py)."""
    from . import backup

    app = make_app(args)
    hall = app.extensions["hall"]
    row = backup.take(hall, args.path or None, trigger="command")
    if not row["ok"]:
        print(f"backup failed: {row.get('error')}", file=sys.stderr)
        return 1
    print(f"backup written: {row['path']} ({row['size']} bytes, integrity_check ok)")
    return 0


def _database_path(args) -> str:
    """The database a command works on, as create_app resolves it (without opening it)."""
    from .app import ROOT
    from .config import load

    path = load(getattr(args, "config", None)).hall["database"]
    if path != ":memory:" and not os.path.isabs(path):
        path = str(ROOT / path)
    return path


def cmd_restore(args) -> int:
    """Put a backup in place of the database; refused while a hall process uses it."""
    from datetime import datetime

    from . import backup

    try:
        done = backup.restore(_database_path(args), args.path, datetime.now())
    except backup.BackupError as e:
        print(f"restore refused: {e}", file=sys.stderr)
        return 1
    print(f"restored {done['restored']} from {done['from']}")
    if done["replaced"]:
        print(f"the replaced database is kept as {done['replaced']}")
    return 0


def cmd_purge(args) -> int:
    """Erase or mask citizens' personal data past [privacy] retention_days."""
    from . import privacy

    app = make_app(args)
    hall = app.extensions["hall"]
    result = privacy.purge(hall)
    print(f"personal data dated before {result['cutoff']} reduced:")
    for key, n in result["changed"].items():
        print(f"  {key}: {n} rows")
    return 0


def cmd_demo(args) -> int:
    from .auth import create_user

    os.environ.setdefault("HALL_DATABASE", os.path.abspath("instance/demo.sqlite3"))
    from .config import load

    server = load(getattr(args, "config", None)).server
    host = args.host or server["host"]
    port = args.port or server["port"]
    # A demo must let people take a number at any hour, and its QR codes must open on a
    # phone: point them at the address the demo really listens on.
    # The demo's kiosk, phone and screens are often one browser on this machine: its
    # loopback address is the hall's own kiosk, not a stranger (no daily cap).
    app = make_app(
        args,
        hours={"always_open": True},
        hall={"public_url": f"http://{_reachable_host(host)}:{port}"},
        security={"rate_limit_exempt": ["127.0.0.1", "::1"]},
    )
    hall = app.extensions["hall"]
    print(f"\n{hall.cfg.hall['name']} — demo (database {hall.store.path})")
    print("Demo accounts (new random passwords every start):")
    from .auth import hash_password

    for username, role, name, staff_no in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        db = hall.store.db()
        if list(db.query("SELECT 1 FROM users WHERE username = ?", [username])):
            with hall.store.write() as w:
                w.execute(
                    "UPDATE users SET password_hash = ? WHERE username = ?",
                    [hash_password(password), username],
                )
        else:
            create_user(
                hall.store,
                username,
                password,
                role,
                display_name=name,
                staff_no=staff_no,
                now=hall.clock.now(),
            )
        print(f"  {username:<11} {role:<11} {password}")
    _demo_skills(hall)
    for face in hall.faces:
        if face.demo is not None:
            resolve(face.demo)(hall)
    base = f"http://{host}:{port}"
    print(
        f"\nOpen {base}/  (kiosk {base}/kiosk, display {base}/display, "
        f"counter {base}/counter, supervisor {base}/supervisor; rating pads are paired "
        f"at {base}/counter/pads)\n",
        flush=True,
    )
    serve(app, host, port, args.threads or server["threads"])
    return 0


def _demo_skills(hall) -> None:
    from .skills import department_skills, set_skills

    for username, window in DEMO_HOME.items():
        skills = department_skills(hall.cfg, window)
        if skills:
            set_skills(hall.store, username, skills)


def _reachable_host(host: str) -> str:
    """The address others on the LAN can use when listening on all interfaces."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    import socket

    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def build_parser(commands=()) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hall", description="hall queueing system")
    p.add_argument("--config", help="config file (default: $HALL_CONFIG or ./config.toml)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create or migrate the database and load services/windows")
    for name in ("serve", "demo"):
        s = sub.add_parser(name, help="run the hall" if name == "serve" else "run the demo hall")
        s.add_argument("--host")
        s.add_argument("--port", type=int)
        s.add_argument("--threads", type=int)
    st = sub.add_parser("settings", help="print the configuration reference (markdown)")
    st.add_argument("--readme", help="rewrite the reference block in this README instead")
    bk = sub.add_parser("backup", help="back up the database now (safe while the hall runs)")
    bk.add_argument("path", nargs="?", help="file or folder (default: [backup] dir, pruned)")
    rs = sub.add_parser("restore", help="restore a backup (the server must be stopped)")
    rs.add_argument("path", help="the backup file")
    sub.add_parser("purge", help="erase personal data older than [privacy] retention_days")
    user = sub.add_parser("user", help="manage staff accounts")
    usub = user.add_subparsers(dest="user_command", required=True)
    add = usub.add_parser("add", help="add a user; the password is read from stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=list(STAFF_ROLES))
    add.add_argument("--windows", help="comma-separated window numbers a clerk may use")
    add.add_argument("--display-name")
    add.add_argument("--staff-no")
    add.add_argument("--skills", help="comma-separated service codes the clerk is qualified for")
    sk = usub.add_parser("skills", help="set the services a clerk is qualified for")
    sk.add_argument("name")
    sk.add_argument("codes", help="comma-separated service codes ('' clears)")
    from .voicecli import configure as voice_configure

    voice_configure(sub.add_parser("voice", help="voice packs: check one, build the default"))
    for command in commands:
        resolve(command.configure)(sub.add_parser(command.name, help=command.help))
    return p


def _face_packages(argv) -> tuple[str, ...]:
    """The hall's faces and the config's [hall] faces (a broken config: the hall's own;
    the command that loads it will say what is wrong)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    try:
        from .config import load

        return INSTALLED + tuple(load(known.config).hall["faces"])
    except (ConfigError, OSError):
        return INSTALLED


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The commands of the optional faces are there too (e.g. `county-demo` from a hall
    # whose config does not install the county face); each says so when its face is
    # needed and not installed.
    packages = _face_packages(argv)
    packages += tuple(p for p in OPTIONAL if p not in packages)
    commands = {c.name: c for face in declarations(packages) for c in face.commands}
    args = build_parser(commands.values()).parse_args(argv)
    handlers = {
        "init": cmd_init,
        "serve": cmd_serve,
        "demo": cmd_demo,
        "backup": cmd_backup,
        "restore": cmd_restore,
        "purge": cmd_purge,
    }
    try:
        if args.command == "user":
            if args.user_command == "skills":
                return cmd_user_skills(args)
            return cmd_user_add(args)
        if args.command == "voice":
            from .voicecli import run as voice_run

            return voice_run(args)
        if args.command == "settings":
            from .settings import markdown, write_readme

            if args.readme:
                write_readme(args.readme)
            else:
                print(markdown(_face_packages(argv)), end="")
            return 0
        if args.command in handlers:
            return handlers[args.command](args)
        return resolve(commands[args.command].run)(args)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # domain errors carry a readable message
        from .errors import HallError

        if isinstance(e, HallError):
            print(f"error: {e.message}", file=sys.stderr)
            return 1
        raise
