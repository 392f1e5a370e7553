"""Several processes on one database: 4 issuing, 2 windows calling, all at once.

No duplicate number, no gap, no ticket called or finished twice.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections import Counter

from .conftest import ROOT, TEST_CONFIG

PER_ISSUER = 60
ISSUERS = 4
SERVICES = ["SB", "YB", "GJJ", "SB", "YB"]  # all served at windows 1 and 3


def _app(db_path):
    sys.path.insert(0, str(ROOT))
    from hall import create_app

    return create_app(
        {
            "HALL_CONFIG": TEST_CONFIG,
            "DATABASE": db_path,
            "NO_VOICE": True,
            "HALL": {"hours": {"always_open": True}},
        }
    )


def issuer(db_path, index, start, out):
    app = _app(db_path)
    engine = app.extensions["hall"].engine
    start.wait()
    numbers = []
    for i in range(PER_ISSUER):
        t = engine.issue(SERVICES[(index + i) % len(SERVICES)])
        numbers.append(t["number"])
    out.put(("issued", numbers))


def caller(db_path, window, start, issuers_done, out):
    from hall.engine import Actor
    from hall.errors import Conflict

    app = _app(db_path)
    engine = app.extensions["hall"].engine
    actor = Actor(f"clerk{window}", "clerk")
    engine.open_window(window, actor)
    start.wait()
    served = []
    while True:
        try:
            t = engine.call_next(window, actor)
        except Conflict:
            continue
        if t is None:
            if issuers_done.is_set():
                # one more look: tickets issued just before the flag was set
                t = engine.call_next(window, actor)
                if t is None:
                    break
            else:
                continue
        engine.finish(t["id"], actor)
        served.append(t["id"])
    out.put(("served", served))


def test_four_issuers_two_callers(tmp_path):
    db_path = str(tmp_path / "conc.sqlite3")
    app = _app(db_path)  # migrate once up front
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    issuers_done = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=issuer, args=(db_path, i, start, out)) for i in range(ISSUERS)]
    procs += [
        ctx.Process(target=caller, args=(db_path, w, start, issuers_done, out)) for w in (1, 3)
    ]
    for p in procs:
        p.start()
    start.set()
    results = []
    for _ in range(ISSUERS):
        results.append(out.get(timeout=240))
    issuers_done.set()
    for _ in range(2):
        results.append(out.get(timeout=240))
    for p in procs:
        p.join(30)
        assert p.exitcode == 0

    issued = [n for kind, ns in results if kind == "issued" for n in ns]
    served = [i for kind, ids in results if kind == "served" for i in ids]
    total = ISSUERS * PER_ISSUER
    assert len(issued) == total and len(set(issued)) == total  # no duplicate number
    by_prefix = Counter(n[0] for n in issued)
    for prefix, count in by_prefix.items():
        seqs = sorted(int(n[1:]) for n in issued if n[0] == prefix)
        assert seqs == list(range(1, count + 1)), f"gap in {prefix}"
    assert len(served) == total and len(set(served)) == total  # every ticket served once

    db = app.extensions["hall"].store.db()
    rows = list(
        db.query(
            "SELECT ticket_id, SUM(kind = 'called') AS calls, SUM(kind = 'finished') AS fin "
            "FROM ticket_events GROUP BY ticket_id"
        )
    )
    assert len(rows) == total
    assert all(r["calls"] == 1 and r["fin"] == 1 for r in rows)
    assert db.execute("SELECT COUNT(*) FROM tickets WHERE status = 'done'").fetchone()[0] == total
