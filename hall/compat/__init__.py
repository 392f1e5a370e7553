"""Every use of a library's private parts, behind version guards.

The hall relies on internals of five libraries for speed and for correctness across
processes: python-engineio and simple-websocket (direct WebSocket writes, fanout.py),
python-engineio, python-socketio and gunicorn (WebSockets served by one event thread and
broadcasts framed once, wsloop.py and wsevent.py), python-socketio and Flask-SocketIO
(namespace registration, room membership, the message-queue subscription, the sessions'
open and close for the admission gate, socketio.py). Nothing else in the hall touches a private
name of these libraries. Each path checks the installed version against the versions it
was written and tested with; on another version it falls back to the public behaviour
and logs why. `report()` says which paths are active (served in /api/health, checked by
a test against the served process).
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

log = logging.getLogger(__name__)

#: The versions whose internals this package was written and tested against.
TESTED = {
    "python-engineio": ("4.15.1",),
    "simple-websocket": ("1.1.0",),
    "python-socketio": ("5.18.1",),
    "Flask-SocketIO": ("5.7.0",),
    "gunicorn": ("27.0.1",),
}


def installed_version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def versions_ok(wanted: dict[str, tuple[str, ...]], what: str) -> bool:
    """True when every distribution in `wanted` is at a tested version; else log why
    `what` stays off."""
    for dist, versions in wanted.items():
        have = installed_version(dist)
        if have not in versions:
            log.warning(
                "%s off: %s is %s, written for %s (the library's public behaviour is used)",
                what,
                dist,
                have,
                ", ".join(versions),
            )
            return False
    return True


def report() -> dict:
    """Installed versions and which private paths are active in this process."""
    from . import fanout, socketio, wsevent

    return {
        "versions": {dist: installed_version(dist) for dist in TESTED},
        "direct_websocket_writes": fanout.installed(),
        "event_websockets": wsevent.installed(),
        "session_hooks": socketio.hooks_installed(),
    }
