"""Trusted rating pads: a pad rates only once it has been paired.

A supervisor makes a one-time pairing code for a window (8 digits, valid
counter.pad_pairing_minutes, one use, a newer code for the window replaces an open one).
The pad's page shows a pairing form while the device is not paired; entering the code
gives the device a long random token in the cookie `hall_pad` (HttpOnly, SameSite=Strict:
page scripts cannot read it, other sites cannot send it). The database keeps only the
token's and the code's SHA-256. A paired pad rates at its own window only; a supervisor
sees the paired devices (window, paired_at, last_seen, address) and revokes them.
counter.pad_addresses, when set, still restricts which addresses may be pads at all.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import request

from hall.clock import from_iso, to_iso
from hall.errors import Conflict, Forbidden, NotFound, TooMany
from hall.ratelimit import RateLimiter

log = logging.getLogger(__name__)

COOKIE = "hall_pad"
COOKIE_YEARS = 5
CODE_DIGITS = 8
SEEN_EVERY = timedelta(seconds=60)  # last_seen is written at most this often
TRIES_PER_MINUTE = 10  # pairing attempts per address

NOT_PAIRED = (
    "此设备尚未配对为评价器，请联系大厅管理人员配对 (this device is not a paired rating pad)"
)
BAD_CODE = "配对码错误、已使用或已过期 (pairing code is wrong, used or expired)"


class PadPairing:
    """The counter face's state (hall.faces.state("counter")): the pairing-attempt limit."""

    def __init__(self):
        self.tries = RateLimiter(TRIES_PER_MINUTE, 60.0)


def setup(app, hall) -> PadPairing:
    return PadPairing()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def address() -> str:
    return request.remote_addr or "unknown"


def _window(hall, db, number: int) -> dict:
    w = hall.engine.read.window(db, number)
    if w is None or not w["active"]:
        raise NotFound(f"没有{number}号窗口 (no window {number})")
    return w


# --- supervisors ----------------------------------------------------------------------
def new_code(hall, window: int, actor) -> dict:
    """A one-time code for the window's pad: {code, window, expires_at}. Only its hash
    is stored; earlier open codes of the window stop working."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = hall.clock.now()
    expires = now + timedelta(minutes=hall.cfg.counter["pad_pairing_minutes"])

    def work(db, out):
        _window(hall, db, window)
        db.execute(
            "UPDATE pad_pairing_codes SET expires_at = ? WHERE window = ? AND used_at IS NULL "
            "AND expires_at > ?",
            [to_iso(now), window, to_iso(now)],
        )
        db["pad_pairing_codes"].insert(
            {
                "window": window,
                "code_hash": _hash(code),
                "created_at": to_iso(now),
                "created_by": actor.username,
                "expires_at": to_iso(expires),
            }
        )
        hall.engine.audit(db, actor, "pad_code", f"window:{window}", now)

    hall.engine.write(work)
    return {
        "code": code,
        "window": window,
        "expires_at": hall.engine.read.local_iso(to_iso(expires)),
    }


def device_json(hall, row: dict, names: dict | None = None) -> dict:
    read = hall.engine.read
    return {
        "id": row["id"],
        "window": row["window"],
        "window_name": (names or {}).get(row["window"], f"{row['window']}号窗口"),
        "paired_at": read.local_iso(row["paired_at"]),
        "paired_by": row["paired_by"] or "",
        "last_seen": read.local_iso(row["last_seen"]) if row["last_seen"] else None,
        "address": row["address"],
        "revoked_at": read.local_iso(row["revoked_at"]) if row["revoked_at"] else None,
        "revoked_by": row["revoked_by"],
        "active": row["revoked_at"] is None,
    }


def devices(hall) -> list[dict]:
    db = hall.store.db()
    names = {w["number"]: w["name"] for w in hall.engine.read.windows(db)}
    rows = db.query("SELECT * FROM pad_devices ORDER BY revoked_at IS NOT NULL, window, id")
    return [device_json(hall, r, names) for r in rows]


def open_codes(hall) -> list[dict]:
    """Codes not used and not expired (without the code: it was shown once)."""
    db = hall.store.db()
    read = hall.engine.read
    return [
        {
            "window": r["window"],
            "created_by": r["created_by"],
            "expires_at": read.local_iso(r["expires_at"]),
        }
        for r in db.query(
            "SELECT * FROM pad_pairing_codes WHERE used_at IS NULL AND expires_at > ? "
            "ORDER BY window",
            [hall.now_iso()],
        )
    ]


def revoke(hall, device_id: int, actor) -> dict:
    now = hall.clock.now()

    def work(db, out):
        rows = list(db.query("SELECT * FROM pad_devices WHERE id = ?", [device_id]))
        if not rows:
            raise NotFound(f"没有这个评价器 (no pad device {device_id})")
        if rows[0]["revoked_at"]:
            raise Conflict("该评价器已撤销 (already revoked)")
        db.execute(
            "UPDATE pad_devices SET revoked_at = ?, revoked_by = ? WHERE id = ?",
            [to_iso(now), actor.username, device_id],
        )
        hall.engine.audit(
            db, actor, "pad_revoke", f"pad:{device_id}", now, window=rows[0]["window"]
        )
        return list(db.query("SELECT * FROM pad_devices WHERE id = ?", [device_id]))[0]

    row = hall.engine.write(work)
    from .namespaces import disconnect_device

    disconnect_device(device_id)
    return device_json(hall, row)


# --- the pad ------------------------------------------------------------------------
def check_address(hall) -> None:
    allowed = hall.cfg.counter["pad_addresses"]
    if allowed and address() not in allowed:
        raise Forbidden("此设备不是评价器 (this address is not a rating pad)")


def pair(hall, window: int, code: str) -> tuple[dict, str]:
    """Pair this request's device with the window: (device row, token for the cookie).
    Refused for a wrong, used or expired code (403) and after too many tries (429)."""
    check_address(hall)
    state: PadPairing = hall.faces.state("counter")
    if not state.tries.allow(address()):
        raise TooMany("配对尝试过于频繁，请一分钟后再试 (too many pairing attempts, wait a minute)")
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    now = hall.clock.now()
    token = secrets.token_urlsafe(32)

    def work(db, out):
        _window(hall, db, window)
        rows = list(
            db.query(
                "SELECT * FROM pad_pairing_codes WHERE code_hash = ? AND window = ? "
                "AND used_at IS NULL AND expires_at > ?",
                [_hash(code), window, to_iso(now)],
            )
        )
        if not code.isdigit() or not rows:
            raise Forbidden(BAD_CODE)
        device_id = (
            db["pad_devices"]
            .insert(
                {
                    "window": window,
                    "token_hash": _hash(token),
                    "paired_at": to_iso(now),
                    "paired_by": rows[0]["created_by"],
                    "last_seen": to_iso(now),
                    "address": address(),
                }
            )
            .last_pk
        )
        db.execute(
            "UPDATE pad_pairing_codes SET used_at = ?, device_id = ? WHERE id = ?",
            [to_iso(now), device_id, rows[0]["id"]],
        )
        hall.engine.audit(db, None, "pad_paired", f"pad:{device_id}", now, window=window)
        return list(db.query("SELECT * FROM pad_devices WHERE id = ?", [device_id]))[0]

    return hall.engine.write(work), token


def set_cookie(hall, response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_YEARS * 365 * 86400,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=hall.cfg.security["secure_cookies"],
    )


def device_of(hall) -> dict | None:
    """The paired, unrevoked device this request comes from, or None."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 128:
        return None
    rows = list(
        hall.store.db().query(
            "SELECT * FROM pad_devices WHERE token_hash = ? AND revoked_at IS NULL",
            [_hash(token)],
        )
    )
    return rows[0] if rows else None


def require_pad(hall, window: int) -> dict:
    """The device may act as the pad of this window (403 otherwise); notes it was seen."""
    check_address(hall)
    device = device_of(hall)
    if device is None:
        raise Forbidden(NOT_PAIRED)
    if device["window"] != window:
        raise Forbidden(
            f"此评价器配对的是{device['window']}号窗口 "
            f"(this pad is paired with window {device['window']})"
        )
    seen(hall, device)
    return device


def seen(hall, device: dict) -> None:
    now = hall.clock.now()
    last = from_iso(device["last_seen"])
    if last is not None and now - last < SEEN_EVERY and device["address"] == address():
        return
    try:
        hall.engine.write(
            lambda db, out: db.execute(
                "UPDATE pad_devices SET last_seen = ?, address = ? WHERE id = ?",
                [to_iso(now), address(), device["id"]],
            )
        )
    except Exception:  # a busy database must not stop a rating
        log.exception("could not note pad %s as seen", device["id"])
