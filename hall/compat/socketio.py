"""Private parts of Flask-SocketIO and python-socketio the hall relies on."""

from __future__ import annotations

import logging

from . import TESTED, versions_ok

log = logging.getLogger(__name__)

_SOCKETIO = {k: TESTED[k] for k in ("python-socketio", "Flask-SocketIO")}
_checked: bool | None = None


def _ok() -> bool:
    global _checked
    if _checked is None:
        _checked = versions_ok(_SOCKETIO, "room look-ups and early message-queue start")
    return _checked


def add_namespace(socketio, handler) -> None:
    """Register a namespace handler once per process, before socketio.init_app.

    Flask-SocketIO builds a new server at every init_app (one per app) and registers
    the handlers kept in its `namespace_handlers` list; on_namespace() after the first
    init_app would reach the old server alone. (Public API except for the list.)"""
    if any(h.namespace == handler.namespace for h in socketio.namespace_handlers):
        return
    handler._set_socketio(socketio)
    socketio.namespace_handlers.append(handler)


def room_has_members(socketio, namespace: str, room: str) -> bool:
    """Whether anyone is in a room of this process (python-socketio's manager.rooms).
    On an untested version: True (the message is built and sent; nothing is lost)."""
    if not _ok():
        return True
    try:
        return bool(socketio.server.manager.rooms.get(namespace, {}).get(room))
    except AttributeError:  # no server (yet): nobody listens
        return False


def room_members(socketio, namespace: str, room: str) -> list[str]:
    """The session ids in a room of this process ([] when unknown)."""
    try:
        return list(socketio.server.manager.rooms.get(namespace, {}).get(room, {}) or ())
    except AttributeError:
        return []


def rooms_of(socketio, namespace: str) -> list[str]:
    """The rooms of a namespace in this process (python-socketio's manager.rooms)."""
    try:
        return [r for r in socketio.server.manager.rooms.get(namespace, {}) if r is not None]
    except AttributeError:
        return []


def start_message_queue(socketio) -> None:
    """Subscribe to the message queue now, not at the first client's connect.

    python-socketio starts its Redis listener when the first client connects, and the
    subscription then takes a moment: a message another process published in that moment
    never reached this process's first screens. `serve` calls this in the worker
    process, before it accepts connections (threads do not survive gunicorn's fork)."""
    server = socketio.server
    if server is None or server.manager_initialized:
        return
    if not _ok():
        return
    server.manager_initialized = True
    server.manager.initialize()


def connection_counts(socketio) -> dict[str, int] | None:
    """Clients connected to each namespace of this process ({"/display": 12, ...}):
    every client of a namespace is in its room None (python-socketio's manager.rooms).
    None on an untested version (the health report then says "unknown")."""
    if not _ok():
        return None
    try:
        rooms = socketio.server.manager.rooms
    except AttributeError:  # no server (yet): nobody is connected
        return {}
    return {ns: len(by_room.get(None, ()) or ()) for ns, by_room in list(rooms.items())}


# --- Engine.IO sessions, for the admission gate (hall/sockets.py) ------------------------
_hooks = False


def hooks_installed() -> bool:
    return _hooks


def watch_sessions(socketio, opened, closed) -> bool:
    """Call opened(eio_sid, environ) when an Engine.IO session is admitted and closed(eio_sid)
    when it ends, by wrapping the handlers python-socketio registered on its Engine.IO
    server (Server.eio.handlers, 'connect' and 'disconnect'). False on an untested
    version: the gate then counts a WebSocket for as long as its request lasts."""
    global _hooks
    if not _ok():
        return False
    eio = socketio.server.eio
    before_open = eio.handlers.get("connect")
    before_close = eio.handlers.get("disconnect")
    if getattr(before_open, "_hall_watch", False):
        return True

    def connect(sid, environ):
        ret = before_open(sid, environ) if before_open else None
        if ret is None or ret is True:
            opened(sid, environ)
        return ret

    def disconnect(sid, reason=None):
        try:
            if before_close is not None:
                return before_close(sid, reason)
            return None
        finally:
            closed(sid)

    connect._hall_watch = True
    eio.on("connect", connect)
    eio.on("disconnect", disconnect)
    _hooks = True
    return True


def session_alive(socketio, eio_sid: str) -> bool:
    """Whether an Engine.IO session is still open in this process (Server.eio.sockets)."""
    try:
        s = socketio.server.eio.sockets.get(eio_sid)
    except AttributeError:
        return False
    return s is not None and not s.closed


def session_joined(socketio, eio_sid: str, room_namespaces: frozenset) -> bool:
    """Whether a session has done what it came for: connected to a namespace and, in the
    namespaces of `room_namespaces` (e.g. /ticket), joined a room of its own choosing
    (followed a ticket). python-socketio's manager.rooms."""
    try:
        manager = socketio.server.manager
        namespaces = list(manager.rooms)
    except AttributeError:
        return True  # nothing to judge by: never close on a guess
    for ns in namespaces:
        sid = manager.sid_from_eio_sid(eio_sid, ns)
        if sid is None or not manager.is_connected(sid, ns):
            continue
        if ns not in room_namespaces:
            return True
        if any(room != sid for room in manager.get_rooms(sid, ns)):
            return True
    return False


def close_session(socketio, eio_sid: str, reason: str = "") -> None:
    """End an Engine.IO session now, without waiting for a long poll to take the close."""
    try:
        s = socketio.server.eio.sockets.get(eio_sid)
    except AttributeError:
        return
    if s is not None and not s.closed:
        s.close(wait=False, abort=False, reason=s.server.reason.SERVER_DISCONNECT)
