"""The application factory and the per-app hall context."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from flask import Flask, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import config as config_mod
from .auth import Auth
from .clock import Clock, to_iso
from .db import Store
from .engine import Engine
from .errors import HallError
from .events import EventBus
from .face import INSTALLED, Face, FaceRegistry, declarations, resolve
from .hours import Hours
from .ratelimit import RateLimiter
from .sync import sync_config

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
# Everything is served from the hall's own origin: no CDN, no inline script.
# connect-src 'self' covers the Socket.IO WebSocket to this host (CSP 3); "ws:" would let
# a page connect to any host at all.
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
ROOT = Path(__file__).resolve().parent.parent


class HallContext:
    """Everything a request needs: config, storage, clock, events, engine, auth, and the
    installed faces. Its slots are fixed: a face keeps its own state in the face
    registry (hall.faces.state(name)) and publishes services for other faces there
    (hall.faces.interface(name)), never as new attributes here."""

    __slots__ = (
        "cfg",
        "store",
        "clock",
        "bus",
        "hours",
        "engine",
        "auth",
        "voice",
        "ticket_limiter",
        "broadcaster",
        "faces",
        "__weakref__",
    )

    def __init__(self, cfg, store, clock, bus, voice=None, faces: FaceRegistry | None = None):
        self.cfg: config_mod.HallConfig = cfg
        self.store: Store = store
        self.clock: Clock = clock
        self.bus: EventBus = bus
        self.hours: Hours = Hours(cfg)
        self.engine: Engine = Engine(store, cfg, clock, bus, self.hours)
        self.auth: Auth = Auth(self)
        self.voice = voice
        self.ticket_limiter: RateLimiter = RateLimiter(
            cfg.security["ticket_rate_limit_per_minute"], 60.0, cfg.security["rate_limit_exempt"]
        )
        self.broadcaster = None  # hall.realtime.Broadcaster, set by create_app
        self.faces: FaceRegistry = faces or FaceRegistry([])

    def now_iso(self) -> str:
        return to_iso(self.clock.now())

    def with_audio(self, call: dict) -> dict:
        """Add the announcement's WAV URL (rendered lazily and cached by the voice module)."""
        audio = None
        if self.voice is not None and call.get("window") is not None:
            audio = f"/audio/call/{quote(call['number'])}/{call['window']}.wav"
        return {**call, "audio": audio}


class StrictJSON(DefaultJSONProvider):
    """Request bodies as strict JSON: no NaN/Infinity, integers that fit SQLite, no lone
    surrogates (they cannot be stored or sent back as UTF-8), and nesting too deep for
    the parser is a ValueError (400), not a RecursionError (500). Werkzeug's get_json
    turns the ValueError into "body is not valid JSON"."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        _check_json(value)
        return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_json(value, depth: int = 0) -> None:
    if depth > 64:
        raise ValueError("JSON nested too deeply")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("lone surrogate in a JSON string") from None
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError("integer out of range")
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)


class BoundedInt(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def current_hall() -> HallContext:
    return current_app.extensions["hall"]


def _secret_key(db_path: str) -> str:
    """HALL_SECRET_KEY, else a key generated once and kept beside the database."""
    if os.environ.get("HALL_SECRET_KEY"):
        return os.environ["HALL_SECRET_KEY"]
    if db_path == ":memory:":
        return secrets.token_hex(32)
    path = Path(db_path).resolve().parent / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _make_voice(cfg, instance_path: str):
    if not cfg.voice["enabled"]:
        return None
    from .voice import Voice
    from .voicecli import build_default_soon, pack_dir
    from .voicepack import Pack, PackError

    v = cfg.voice
    pack = None
    folder = pack_dir(v["pack"])
    if folder is not None:
        try:
            pack = Pack.load(folder)
        except PackError as e:
            if v["pack"] == "default":
                build_default_soon(v)  # first start: espeak-ng phrases until it is built
            else:
                log.warning("voice pack not used: %s", e)
    voice = Voice(
        os.path.join(instance_path, "audio"),
        voice=v["voice"],
        speed=v["speed"],
        repeat=v["repeat"],
        chime=v["chime"],
        template=v["template"],
        espeak=v["espeak"],
        max_files=v["cache_files"],
        pack=pack,
    )
    return voice if voice.available() else None


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app.

    test_config keys: HALL_CONFIG (path), HALL (a dict merged over the file, or used
    alone when no file), DATABASE, CLOCK, SECRET_KEY, FACES (extra face packages to
    install after the hall's own), HALL_SCHEDULER (run the daily jobs' thread; default:
    not under TESTING), plus any Flask setting.
    """
    test_config = dict(test_config or {})
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.json = StrictJSON(app)
    overrides = test_config.pop("HALL", None)
    test_faces = list(test_config.pop("FACES", ()))
    if test_faces:
        overrides = dict(overrides or {})
        hall_section = dict(overrides.get("hall") or {})
        hall_section["faces"] = [*hall_section.get("faces", []), *test_faces]
        overrides["hall"] = hall_section
    # The loader reads [hall] faces and the faces' settings with the rest of the config.
    cfg = config_mod.load(test_config.pop("HALL_CONFIG", None), overrides)
    faces = FaceRegistry(declarations(INSTALLED + tuple(cfg.hall["faces"])))
    db_path = test_config.pop("DATABASE", None) or cfg.hall["database"]
    if db_path != ":memory:" and not os.path.isabs(db_path):
        db_path = str(ROOT / db_path)
    clock = test_config.pop("CLOCK", None) or Clock()
    instance = str(Path(db_path).resolve().parent) if db_path != ":memory:" else app.instance_path
    app.config.update(
        SECRET_KEY=_secret_key(db_path),
        MAX_CONTENT_LENGTH=MAX_BODY,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="hall_session",
        SESSION_COOKIE_SECURE=cfg.security["secure_cookies"],
        # The cookie lives as long as the server keeps the session (security.session_hours).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.security["session_hours"]),
        JSON_AS_ASCII=False,
        HALL_INSTANCE=instance,
    )
    app.json.ensure_ascii = False
    app.config.update(test_config)

    # Ids beyond SQLite's 64-bit integers would overflow in a query: 404, not 500.
    app.url_map.converters["int"] = BoundedInt
    store = Store(db_path, faces.migrations())
    bus = EventBus()
    voice = _make_voice(cfg, instance) if not app.config.get("NO_VOICE") else None
    hall = HallContext(cfg, store, clock, bus, voice, faces)
    app.extensions["hall"] = hall
    sync_config(store, cfg, clock.now())

    from .api import bp as api_bp
    from .health import bp as health_bp
    from .realtime import Broadcaster, origin_policy, socketio
    from .web import bp as web_bp

    hall.broadcaster = Broadcaster(hall, app)
    bus.subscribe(hall.broadcaster)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    for face in faces:
        _install_face(app, hall, face)
    from . import privacy, scheduler

    privacy.check(privacy.declared(hall))  # a bad declaration stops start-up
    scheduler.install(app, hall)
    kwargs = {
        "async_mode": "threading",
        "cors_allowed_origins": origin_policy(cfg),
        "logger": False,
        # A client's events are handled in order on the thread that reads it (one of the
        # WebSocket loop's handler threads), not on a new thread per event.
        "async_handlers": False,
    }
    if cfg.server["message_queue"]:
        kwargs["message_queue"] = cfg.server["message_queue"]
    event_loop = False
    if cfg.server["direct_websocket_writes"]:
        from .compat import fanout, wsevent

        event_loop = wsevent.install()
        wsevent.PUBLIC_GAP = cfg.server["public_write_ms"] / 1000
        if not event_loop:
            fanout.install()  # direct writes on the stock path at least
    # Every face's namespaces are registered (above) before init_app, which builds this
    # app's Socket.IO server with all of them.
    socketio.init_app(app, **kwargs)
    from .sockets import Gate

    room_paths = [
        h.namespace for h in socketio.namespace_handlers if getattr(h, "idle_until_room", False)
    ]
    gate = Gate(cfg, socketio, room_paths)
    gate.install(app, event_loop)  # outside Socket.IO's middleware: sees every session
    app.extensions["hall_gate"] = gate
    if cfg.security["trust_proxy"]:  # outermost: the gate sees the client's address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    _register_errors(app)
    _register_security_headers(app)
    _register_page_addons(app, hall)
    return app


def _register_page_addons(app: Flask, hall: HallContext) -> None:
    """`page_addons(page, **context)` in every template: what other faces add to a
    page (hall.interfaces.PAGE_ADDONS, from every face that provides it, in face
    order), or nothing when no face provides it."""
    from .interfaces import PAGE_ADDONS

    def page_addons(page: str, **context) -> dict:
        out = {"scripts": [], "styles": [], "buttons": [], "data": {}}
        for provider in hall.faces.interfaces(PAGE_ADDONS):
            try:
                part = provider.for_page(page, **context) or {}
                lists = {k: list(part.get(k) or ()) for k in ("scripts", "styles", "buttons")}
                data = dict(part.get("data") or {})
            except Exception:  # an add-on must never break the page it is added to
                log.exception("page add-ons for %s failed", page)
                continue
            for key, items in lists.items():
                out[key].extend(i for i in items if i not in out[key])
            for key, value in data.items():
                out["data"].setdefault(key, value)
            for key, value in part.items():  # a key the interface does not name yet
                out.setdefault(key, value)
        return out

    app.jinja_env.globals["page_addons"] = page_addons


def _install_face(app: Flask, hall: HallContext, face: Face) -> None:
    """Everything a face declared, in the contract's order (hall/face.py)."""
    from .realtime import add_namespace

    for name, ref in face.provides.items():
        hall.faces.provide(name, resolve(ref)(app, hall))
    if face.setup is not None:
        hall.faces.set_state(face.name, resolve(face.setup)(app, hall))
    for ref in face.subscribers:
        hall.bus.subscribe(resolve(ref)(hall))
    for ref in face.routes:
        hall.broadcaster.add_route(resolve(ref)(hall))
    for ref in face.issue_hooks:
        hall.faces.add_issue_hook(face.name, resolve(ref)(hall))
    for ref in face.blueprints:
        app.register_blueprint(resolve(ref))
    for ref in face.namespaces:
        ns_cls = resolve(ref)
        add_namespace(ns_cls())
        hall.broadcaster.add_namespace(ns_cls)


def _register_errors(app: Flask) -> None:
    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.is_json

    @app.errorhandler(HallError)
    def hall_error(e: HallError):
        return jsonify(error=e.message), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if not wants_json():
            return e
        messages = {
            400: "请求格式错误 (bad request)",
            404: "找不到 (not found)",
            405: "不支持的方法 (method not allowed)",
            413: "请求体过大，上限1MB (request body over 1 MB)",
        }
        resp = jsonify(error=messages.get(e.code, e.description or e.name))
        resp.status_code = e.code
        # A 405 names the methods the path has (RFC 9110), as Werkzeug's own page does.
        for name, value in e.get_headers():
            if name.lower() == "allow":
                resp.headers["Allow"] = value
        return resp

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        # The route's pattern, not the path: a path may hold a ticket's token.
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        log.exception("unhandled error on %s %s", request.method, rule)
        if wants_json():
            return jsonify(error="服务器内部错误 (internal error)"), 500
        return "服务器内部错误 (internal error)", 500


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(resp):
        for name, value in SECURITY_HEADERS:
            resp.headers.setdefault(name, value)
        return resp
