"""python -m hall county-demo (written below)."""


def configure(p) -> None:
    p.add_argument("--base-port", type=int, default=5100)


def run(args) -> int:
    raise SystemExit("not yet")
