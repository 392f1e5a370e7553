"""Hall-wide pages: the index of faces, health, and the call announcement audio."""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, render_template, send_file

from .app import current_hall

bp = Blueprint("web", __name__)

NUMBER_RE = re.compile(r"[A-Z][0-9]{3,4}", re.ASCII)


@bp.app_context_processor
def page_context() -> dict:
    """What hall/templates/base.html needs on every page (a face may pass its own)."""
    hall = current_hall()
    return {
        "hall_name": hall.cfg.hall["name"],
        "hall_tz": hall.cfg.hall["timezone"],
        "hall_now": hall.engine.read.local_iso(hall.now_iso()),
    }


@bp.get("/")
def index():
    hall = current_hall()
    return render_template(
        "index.html", hall=hall.cfg.hall, windows=hall.cfg.windows, kiosks=hall.cfg.kiosks
    )


def socketio_path():
    """Never reached by a client (Socket.IO's middleware answers /socket.io/ before
    Flask). Flask-SocketIO runs every event handler in a request context built from the
    connection's first request; without a rule for its path (long-polling, and WebSocket:
    Werkzeug tells them apart) each of those contexts made a NotFound with a traceback, a
    cycle of frames only the garbage collector frees: with a thousand phones, collections
    of 100-700 ms that stopped the whole server."""
    abort(404)


bp.add_url_rule("/socket.io/", "socketio_path", socketio_path, methods=["GET", "POST"])
bp.add_url_rule("/socket.io/", "socketio_websocket", socketio_path, websocket=True)


@bp.get("/healthz")
def healthz():
    current_hall().store.db().execute("SELECT 1").fetchone()
    return jsonify(ok=True)


@bp.get("/audio/call/<number>/<int:window>.wav")
def call_audio(number: str, window: int):
    """The spoken call, rendered once per phrase and cached (no path from the URL)."""
    hall = current_hall()
    voice = hall.voice
    if voice is None or not NUMBER_RE.fullmatch(number) or not 0 < window < 10000:
        abort(404)
    # Only a call that was made today is rendered: an anonymous client cannot make the
    # server render (and keep) announcements for numbers nobody called.
    if not hall.engine.read.was_called(hall.store.db(), number, window):
        abort(404)
    name = voice.wav_for_call(number, window)
    path = voice.path_for(name) if name else None
    if not path:
        abort(404)
    resp = send_file(path, mimetype="audio/wav", max_age=86400)
    return resp
