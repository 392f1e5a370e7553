"""What one `python -m hall serve` process can hold, sized from the config at start.

- threads (`server.threads`) answer HTTP requests. WebSockets hold none on the event loop
  (hall/compat/wsloop.py); on the libraries' stock path every WebSocket holds one, and
  the gate (hall/sockets.py) then gives public ones a quarter of them.
- gunicorn's `worker_connections` caps the connections one worker holds (requests in
  progress, keep-alive, long-polls, and on the stock path every WebSocket). Its default
  of 1,000 made the server stop accepting at 1,000 screens (issue 13): it is set to
  threads + the public limit + HALL_ALLOWANCE (the hall's own screens and staff).
- the open-files limit (RLIMIT_NOFILE): the soft limit is raised to the hard limit; when
  even that is too small for the public limit, the limit is lowered to what fits, and
  the log says so.

`plan()` does this and returns the figures; serve logs them and /api/health reports them.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

HALL_ALLOWANCE = 1000  # the hall's own screens, pads and staff pages (never refused)
# Open files per live connection: the socket; on the stock path also its thread's
# SQLite connection (database, -wal and -shm).
FILES_PER_SOCKET = {True: 1, False: 4}
FILES_PER_THREAD = 3  # each thread's SQLite connection
FILES_RESERVE = 256  # the database, logs, audio files, printers, Redis, spare


def raise_open_files() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; (soft, hard) afterwards."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if want > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as e:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, want, e)
    return soft, hard


def plan(gate, threads: int) -> dict:
    """Size the process for `threads` and the gate's limits; returns the figures."""
    soft, hard = raise_open_files()
    gate.configure(threads, gate.event_mode)
    per_socket = FILES_PER_SOCKET[gate.event_mode]
    connections = gate.total or 10_000
    fixed = threads * FILES_PER_THREAD + FILES_RESERVE + HALL_ALLOWANCE * per_socket
    fits = max(0, (soft - fixed) // per_socket)
    if connections > fits:
        log.warning(
            "the open-files limit (%d) holds %d public live connections, not %d: "
            "security.socket_limit lowered (raise `ulimit -n` to hold more)",
            soft,
            fits,
            connections,
        )
        gate.total = max(fits, 1)
        connections = gate.total
    worker_connections = threads + connections + HALL_ALLOWANCE
    return {
        "threads": threads,
        "event_loop": gate.event_mode,
        "worker_connections": worker_connections,
        "open_files": soft,
        "open_files_hard": hard,
        "public_sockets": gate.total,
        "public_per_address": gate.per_address,
        "public_polling": gate.polling_limit,
    }


# Python's cycle collector stops every thread while it runs, and a full collection walks
# every object alive: with 2,000 open connections one took 100-700 ms on this machine
# (bench/load.py --idle-sockets 2000), the whole tail of issue and call -> display. The
# objects made at start (modules, the app) never die: they are frozen out of every
# collection; and a larger first generation lets a request's short-lived objects die
# young instead of being promoted, so that full collections come far less often.
GC_THRESHOLDS = (20_000, 20, 20)


def tune_gc() -> None:
    """In the serving process, once it is ready (gunicorn's post_worker_init)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def describe(figures: dict) -> str:
    """The capacity line serve logs at start."""
    how = (
        "WebSockets on one event thread"
        if figures["event_loop"]
        else "stock WebSockets: one thread each"
    )
    return (
        "hall capacity: {threads} HTTP threads; {how}; public live connections: "
        "{public_sockets} in all, {public_per_address} per address, {public_polling} "
        "long-polling; gunicorn worker_connections {worker_connections}; open files "
        "{open_files} (hard limit {open_files_hard})".format(how=how, **figures)
    )
