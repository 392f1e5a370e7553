"""The counter face: the clerk's console (/counter), the guide desk (/counter/guide) and
the 好差评 rating pad (/counter/pad/<window>), with their API blueprint and the /pad
Socket.IO namespace. See docs/counter.md."""

from __future__ import annotations

from .pages import bp


def init_app(app) -> None:
    from hall.realtime import add_namespace, socketio

    from . import pad
    from .api import bp as api_bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    # Kept in the Socket.IO handler list; every app's init_app serves it.
    add_namespace(pad.PadNamespace(pad.PAD))
    hall = app.extensions["hall"]
    hall.pad_timer = pad.PadTimer(hall)
    hall.bus.subscribe(pad.on_event(hall, hall.pad_timer, socketio))


__all__ = ["bp", "init_app"]
