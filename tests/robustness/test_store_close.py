"""Store.close() while other threads query (a pad timer sweeping when a test app is torn
down) once closed their connections under them: a segfault that crashed a pytest worker
in the full suite. Run in a subprocess, so a crash fails this test, not the session."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from ..conftest import ROOT

SCRIPT = textwrap.dedent(
    """
    import faulthandler, sys, threading, time
    sys.path.insert(0, sys.argv[2])
    faulthandler.enable()
    from hall.db import Store

    store = Store(sys.argv[1])
    stop = threading.Event()
    reads = []

    def reader():
        n = 0
        while not stop.is_set():
            db = store.db()
            db.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 2000) SELECT SUM(x) FROM c"
            ).fetchone()
            n += 1
        reads.append(n)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    end = time.monotonic() + 3
    while time.monotonic() < end:
        store.close()
        time.sleep(0.0005)
    stop.set()
    for t in threads:
        t.join()
    store.close()
    print("reads", sum(reads))
    """
)


def test_close_never_pulls_a_connection_from_under_another_thread(tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "close.sqlite3"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert int(r.stdout.split()[-1]) > 0  # the readers really ran, without an error
