"""Staff accounts, sessions, CSRF and login throttling.

Sessions live in the database (the cookie holds only a random id), so logout and a
supervisor's forced sign-out really end a session, and the id is renewed at every login.
Every state-changing request from a logged-in session must carry X-CSRF-Token.
"""

from __future__ import annotations

import functools
import json
import math
import re
import secrets
from datetime import timedelta

from flask import g, request, session
from werkzeug.security import check_password_hash, generate_password_hash

from .clock import from_iso, to_iso
from .engine import Actor
from .errors import Conflict, Forbidden, Invalid, TooMany, Unauthorized
from .events import SessionsEnded
from .vocabulary import STAFF_ROLES

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{2,32}")
MIN_PASSWORD = 8
# scrypt (werkzeug's default): salted and slow on purpose. Tests lower the cost.
HASH_METHOD = "scrypt"
# Account-wide failures (from every address) are counted over this long.
ACCOUNT_WINDOW = timedelta(hours=1)
# Checked even for unknown users so timing does not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=HASH_METHOD)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def create_user(
    store, username, password, role, *, windows=(), display_name="", staff_no="", now=None
) -> int:
    if not USERNAME_RE.fullmatch(username or ""):
        raise Invalid("用户名须为2-32位字母数字 (username: 2-32 letters/digits/._-)")
    if role not in STAFF_ROLES:
        raise Invalid(f"角色须为{'/'.join(STAFF_ROLES)} (role must be one of {STAFF_ROLES})")
    if not password or len(password) < MIN_PASSWORD:
        raise Invalid(f"密码至少{MIN_PASSWORD}位 (password: at least {MIN_PASSWORD} characters)")
    password_hash = hash_password(password)  # slow: outside the write transaction
    with store.write() as db:
        if list(db.query("SELECT 1 FROM users WHERE username = ?", [username])):
            raise Conflict(f"用户{username}已存在 (user exists)")
        return (
            db["users"]
            .insert(
                {
                    "username": username,
                    "password_hash": password_hash,
                    "role": role,
                    "display_name": display_name or username,
                    "staff_no": staff_no,
                    "windows": json.dumps(sorted(int(w) for w in windows)),
                    "active": 1,
                    "created_at": to_iso(now) if now else None,
                }
            )
            .last_pk
        )


def actor_from_user(user: dict) -> Actor:
    return Actor(user["username"], user["role"], tuple(json.loads(user["windows"] or "[]")))


class Auth:
    def __init__(self, hall):
        self.hall = hall

    @property
    def _sec(self):
        return self.hall.cfg.security

    @staticmethod
    def _active_user(db, username: str) -> dict | None:
        rows = list(db.query("SELECT * FROM users WHERE username = ? AND active = 1", [username]))
        return rows[0] if rows else None

    def _throttle(self, db, username: str, address: str, now) -> str | None:
        """None when this attempt may go ahead, else why not (the 429 message).

        Failures count per account *and* address: five wrong passwords from one machine
        lock that machine out of that account (login_max_failures), and a machine that
        fails on many accounts is locked out of all (4 times as many); neither stops the
        real user at another machine. Many addresses failing on one account (a spray)
        only slow it down: past login_account_ceiling failures within ACCOUNT_WINDOW,
        attempts from addresses that never signed in to the account must wait after the
        last failure, 1 s doubling every 5 failures up to login_max_delay_seconds. An
        address the user signed in from before is never slowed: the real user's own
        machine always gets through. The address is request.remote_addr, which only a
        trusted proxy (security.trust_proxy) may replace from X-Forwarded-For.
        """
        sec = self._sec
        limit = sec["login_max_failures"]
        if limit:
            since = to_iso(now - timedelta(seconds=sec["login_lockout_seconds"]))
            pair, by_addr = db.execute(
                "SELECT SUM(username = ? AND address = ?), SUM(address = ?) "
                "FROM login_failures WHERE at >= ?",
                [username, address, address, since],
            ).fetchone()
            if (pair or 0) >= limit or (by_addr or 0) >= limit * 4:
                return "登录失败次数过多，请稍后再试 (too many failed logins, try later)"
        ceiling = sec["login_account_ceiling"]
        if ceiling:
            since = to_iso(now - ACCOUNT_WINDOW)
            failures, last = db.execute(
                "SELECT COUNT(*), MAX(at) FROM login_failures WHERE username = ? AND at >= ?",
                [username, since],
            ).fetchone()
            if failures >= ceiling and not self._known(db, username, address):
                delay = min(sec["login_max_delay_seconds"], 2 ** min(20, (failures - ceiling) // 5))
                wait = delay - (now - from_iso(last)).total_seconds()
                if wait > 0:
                    return (
                        f"该账号登录失败过多，请{math.ceil(wait)}秒后再试 "
                        f"(too many failed logins on this account: wait {math.ceil(wait)} s)"
                    )
        return None

    @staticmethod
    def _known(db, username: str, address: str) -> bool:
        return bool(
            db.execute(
                "SELECT 1 FROM login_addresses WHERE username = ? AND address = ?",
                [username, address],
            ).fetchone()
        )

    def login(self, username: str, password: str, address: str) -> dict:
        hall = self.hall
        now = hall.clock.now()
        # The password hash is slow on purpose (~100 ms of scrypt): it is checked before
        # the write transaction, so that clerks signing in at opening time do not hold
        # up every ticket of the hall. The transaction then checks again that the user
        # is unchanged and the throttle still allows this attempt.
        db = hall.store.db()
        refused = self._throttle(db, username, address, now)
        if refused:
            raise TooMany(refused)
        user = self._active_user(db, username)
        ok = check_password_hash(user["password_hash"] if user else _DUMMY_HASH, password)
        with hall.store.write() as db:
            refused = self._throttle(db, username, address, now)
            if refused:
                raise TooMany(refused)
            current = self._active_user(db, username)
            if ok and (current is None or current["password_hash"] != user["password_hash"]):
                ok = False  # changed or disabled while the hash was being checked
            user = current
            if not (user and ok):
                db.execute(
                    "INSERT INTO login_failures (username, address, at) VALUES (?, ?, ?)",
                    [username, address, to_iso(now)],
                )
                db.execute(  # nothing older than a day is ever looked at
                    "DELETE FROM login_failures WHERE at < ?", [to_iso(now - timedelta(days=1))]
                )
                failed = True
            else:
                failed = False
                sid = secrets.token_urlsafe(32)
                csrf = secrets.token_urlsafe(32)
                hours = self._sec["session_hours"]
                db.execute(
                    "INSERT INTO sessions (sid, user_id, csrf_token, created_at, expires_at, "
                    "address) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        sid,
                        user["id"],
                        csrf,
                        to_iso(now),
                        to_iso(now + timedelta(hours=hours)),
                        address,
                    ],
                )
                # Only this address's failures: an attacker's address stays throttled.
                db.execute(
                    "DELETE FROM login_failures WHERE username = ? AND address = ?",
                    [username, address],
                )
                db.execute(
                    "INSERT OR REPLACE INTO login_addresses (username, address, last_ok_at) "
                    "VALUES (?, ?, ?)",
                    [username, address, to_iso(now)],
                )
                hall.engine.audit(db, actor_from_user(user), "login", f"user:{username}", now)
        if failed:
            # Committed above: the failure must count even though we refuse.
            raise Unauthorized("用户名或密码错误 (wrong username or password)")
        # A new session cookie at every login: an id planted before login is worthless.
        session.clear()
        session["sid"] = sid
        session.permanent = True
        return {
            "username": user["username"],
            "role": user["role"],
            "csrf_token": csrf,
            "display_name": user["display_name"],
        }

    def logout(self) -> None:
        sid = session.get("sid")
        cur = self.current()
        if sid:
            with self.hall.store.write() as db:
                db.execute("DELETE FROM sessions WHERE sid = ?", [sid])
            if cur is not None:
                self.announce_ended(cur[0]["username"], (sid,), "logout")
        session.clear()

    def end_sessions_of(self, username: str, reason: str = "") -> None:
        with self.hall.store.write() as db:
            db.execute(
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = ?)",
                [username],
            )
        self.announce_ended(username, (), reason)

    def announce_ended(self, username: str, session_ids: tuple, reason: str) -> None:
        """After the commit: the user's open staff sockets are closed (the broadcaster)."""
        self.hall.bus.publish(
            SessionsEnded(
                at=to_iso(self.hall.clock.now()),
                username=username,
                session_ids=session_ids,
                reason=reason,
            )
        )

    def session_valid(self, session_id: str) -> bool:
        """Whether a session still stands (exists, not expired, its user active)."""
        rows = list(
            self.hall.store.db().query(
                "SELECT s.expires_at, u.active FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.sid = ?",
                [session_id],
            )
        )
        return (
            bool(rows)
            and bool(rows[0]["active"])
            and rows[0]["expires_at"] > to_iso(self.hall.clock.now())
        )

    def current(self) -> tuple[dict, dict] | None:
        """(user, session row) for this request, or None."""
        if "auth" in g:
            return g.auth
        g.auth = None
        sid = session.get("sid")
        if sid:
            db = self.hall.store.db()
            rows = list(
                db.query(
                    "SELECT s.*, u.username, u.role, u.windows, u.display_name, u.staff_no, "
                    "u.active FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.sid = ?",
                    [sid],
                )
            )
            if rows and rows[0]["active"] and rows[0]["expires_at"] > to_iso(self.hall.clock.now()):
                g.auth = (rows[0], rows[0])
        return g.auth

    def actor(self) -> Actor | None:
        cur = self.current()
        return actor_from_user(cur[0]) if cur else None

    def check_csrf(self) -> None:
        cur = self.current()
        if cur is None:
            return
        sent = request.headers.get("X-CSRF-Token", "")
        if not secrets.compare_digest(sent, cur[1]["csrf_token"]):
            raise Forbidden("缺少或错误的CSRF令牌 (missing or wrong X-CSRF-Token)")


def require(*roles: str):
    """Decorator: 401 when not logged in, 403 for the wrong role, CSRF on writes."""
    roles = roles or STAFF_ROLES

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            from .app import current_hall

            hall = current_hall()
            actor = hall.auth.actor()
            if actor is None:
                raise Unauthorized("请先登录 (login required)")
            if actor.role not in roles:
                raise Forbidden("无权限 (your role may not do this)")
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                hall.auth.check_csrf()
            g.actor = actor
            return fn(*args, **kwargs)

        return wrapper

    return deco
