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
