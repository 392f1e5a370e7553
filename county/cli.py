"""Commands of the county face:

python -m hall site add ID --name NAME --level county|township|village   (key shown once)
python -m hall site list | disable ID | enable ID | rotate ID [--grace-hours H]
python -m hall catalogue load FILE.toml|FILE.json | list
python -m hall county-demo [--base-port 5100]       (county/demo.py)
"""

from __future__ import annotations

import json

from hall.cli import make_app


def configure_site(p) -> None:
    sub = p.add_subparsers(dest="site_command", required=True)
    add = sub.add_parser("add", help="register a site; prints its key once")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--level", required=True, choices=["county", "township", "village"])
    sub.add_parser("list", help="the registered sites (key fingerprints only)")
    for name, help_ in (("disable", "refuse the site's batches"), ("enable", "accept them again")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("id")
    rot = sub.add_parser("rotate", help="a new key (shown once); the old one works a while")
    rot.add_argument("id")
    rot.add_argument("--grace-hours", type=float, default=None)


def _county_app(args):
    """The app of the config, which must install the county face."""
    app = make_app(args)
    hall = app.extensions["hall"]
    if not hall.faces.installed("county"):
        raise SystemExit(
            'this hall does not install the county face: add faces = ["county"] to [hall] '
            "in its config (docs/county.md)"
        )
    return hall


def run_site(args) -> int:
    from . import centre

    hall = _county_app(args)
    cmd = args.site_command
    if cmd == "add":
        key = centre.add_site(hall, args.id, args.name, args.level)
        print(f"site {args.id} ({args.level}) registered: {args.name}")
        print("key (shown once; give it to the site as the environment variable HALL_COUNTY_KEY):")
        print(key)
    elif cmd == "list":
        rows = [centre.site_json(hall, s) for s in centre.sites(hall)]
        if not rows:
            print("no sites")
        for r in rows:
            state = "active" if r["active"] else "disabled"
            print(
                f"{r['id']:<20} {r['level']:<9} {state:<9} key {r['key_fingerprint']}  "
                f"acked {r['acked_seq']}  seen {r['last_seen_at'] or '-'}  {r['name']}"
            )
    elif cmd in ("disable", "enable"):
        centre.set_active(hall, args.id, cmd == "enable")
        print(f"site {args.id} {cmd}d")
    elif cmd == "rotate":
        key = centre.rotate(hall, args.id, args.grace_hours)
        print(f"site {args.id}: new key (shown once; the old one works for the grace period):")
        print(key)
    return 0


def configure_catalogue(p) -> None:
    sub = p.add_subparsers(dest="catalogue_command", required=True)
    load = sub.add_parser("load", help="put the matters of a TOML ([[matters]]) or JSON file")
    load.add_argument("file")
    sub.add_parser("list", help="the catalogue as JSON")


def run_catalogue(args) -> int:
    from . import catalogue

    hall = _county_app(args)
    if args.catalogue_command == "load":
        counts = catalogue.save(hall, catalogue.load_file(args.file))
        print(
            f"catalogue: {counts['added']} added, {counts['changed']} changed, {counts['unchanged']} unchanged"
        )
    else:
        print(json.dumps(catalogue.centre_matters(hall.store.db()), ensure_ascii=False, indent=2))
    return 0
