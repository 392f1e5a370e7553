"""Admin changes to services, windows and users: validated, one transaction, audited.

The engine reads these tables on every operation, so a change takes effect at once,
without a restart. Services and windows are never deleted (tickets refer to them):
they are deactivated. sync_config leaves an admin edit alone until the config entry
itself changes.
"""

from __future__ import annotations

import json
import re

from hall import events as ev
from hall import validate as v
from hall.auth import MIN_PASSWORD, USERNAME_RE, hash_password
from hall.clock import to_iso
from hall.errors import Conflict, Forbidden, Invalid, NotFound
from hall.validate import MISSING as _MISSING
from hall.vocabulary import STAFF_ROLES

CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
PREFIX_RE = re.compile(r"[A-Z]")
ROLE_CN = {"clerk": "窗口人员", "supervisor": "主管", "admin": "管理员"}


def _changes(old: dict, new: dict) -> dict:
    return {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}


# --- services -----------------------------------------------------------------------
SERVICE_FIELDS = {
    "code",
    "name",
    "department",
    "prefix",
    "target_wait_minutes",
    "daily_quota",
    "service_minutes",
    "matters",
    "active",
    "sort",
}


def service_json(row: dict) -> dict:
    return {
        "code": row["code"],
        "name": row["name"],
        "department": row["department"],
        "prefix": row["prefix"],
        "target_wait_minutes": row["target_wait_minutes"],
        "daily_quota": row["daily_quota"] or 0,
        "service_minutes": row["service_minutes"],
        "matters": json.loads(row["matters"] or "[]"),
        "active": bool(row["active"]),
        "sort": row["sort"],
    }


def list_services(hall) -> list[dict]:
    db = hall.store.db()
    return [service_json(r) for r in db.query("SELECT * FROM services ORDER BY sort, code")]


def _service_values(data: dict, creating: bool) -> dict:
    v.unknown_fields(data, SERVICE_FIELDS if creating else SERVICE_FIELDS - {"code"})
    values = {
        "name": v.text(data, "name", "业务名称", required=creating),
        "department": v.text(data, "department", "部门", required=creating),
        "prefix": v.text(data, "prefix", "号码字母", required=creating, max_len=1),
        "target_wait_minutes": v.number(data, "target_wait_minutes", "目标等候分钟", int, 0, 600),
        "daily_quota": v.number(data, "daily_quota", "每日限号", int, 0, 100000),
        "service_minutes": v.number(data, "service_minutes", "平均办理分钟", float, 0, 600),
        "matters": v.string_list(
            data, "matters", label="事项", max_items=30, max_len=50, unique=True, default=_MISSING
        ),
        "active": v.field(data, "active", bool, label="启用", default=_MISSING),
        "sort": v.number(data, "sort", "排序", int, -100000, 100000),
    }
    if values["prefix"] is not _MISSING and not PREFIX_RE.fullmatch(values["prefix"]):
        raise Invalid("号码字母须为一个大写字母A-Z (prefix must be one letter A-Z)")
    values = {k: x for k, x in values.items() if x is not _MISSING}
    if "matters" in values:
        values["matters"] = json.dumps(values["matters"], ensure_ascii=False)
    if "active" in values:
        values["active"] = int(values["active"])
    if "service_minutes" in values:
        values["service_minutes"] = float(values["service_minutes"])
    return values


def create_service(hall, data: dict, actor) -> dict:
    code = v.text(data, "code", "业务代码", required=True, max_len=16)
    if not CODE_RE.fullmatch(code):
        raise Invalid("业务代码须为1-16位字母数字 (code: 1-16 letters/digits)")
    values = _service_values(data, creating=True)
    now = hall.clock.now()
    with hall.store.write() as db:
        if list(db.query("SELECT 1 FROM services WHERE code = ?", [code])):
            raise Conflict(f"业务代码{code}已存在 (service {code} exists)")
        sort = values.pop("sort", None)
        if sort is None:
            sort = (db.execute("SELECT MAX(sort) FROM services").fetchone()[0] or 0) + 1
        row = {
            "code": code,
            "target_wait_minutes": 15,
            "daily_quota": 0,
            "service_minutes": 8.0,
            "matters": "[]",
            "active": 1,
            **values,
            "sort": sort,
            "config_hash": None,
            "updated_at": to_iso(now),
        }
        db["services"].insert(row)
        hall.engine.audit(db, actor, "service_create", f"service:{code}", now, values=_plain(row))
        created = service_json(db["services"].get(code))
    return created


def update_service(hall, code: str, data: dict, actor) -> dict:
    values = _service_values(data, creating=False)
    if not values:
        raise Invalid("没有要修改的字段 (nothing to change)")
    now = hall.clock.now()
    with hall.store.write() as db:
        rows = list(db.query("SELECT * FROM services WHERE code = ?", [code]))
        if not rows:
            raise NotFound(f"没有业务{code} (no service {code})")
        old = dict(rows[0])
        changes = _changes(old, values)
        if changes:
            db["services"].update(code, {**values, "updated_at": to_iso(now)})
            hall.engine.audit(db, actor, "service_update", f"service:{code}", now, changes=changes)
        updated = service_json(db["services"].get(code))
    return updated


def _plain(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("config_hash", "updated_at")}


# --- windows ------------------------------------------------------------------------
WINDOW_FIELDS = {"number", "name", "services", "secondary", "active"}


def window_json(hall, db, row: dict) -> dict:
    read = hall.engine.read
    return {
        "number": row["number"],
        "name": row["name"],
        "state": row["state"],
        "clerk": row["clerk"],
        "active": bool(row["active"]),
        **read.window_services(db, row["number"]),
    }


def list_windows(hall) -> list[dict]:
    db = hall.store.db()
    return [window_json(hall, db, r) for r in db.query("SELECT * FROM windows ORDER BY number")]


def _window_values(db, data: dict, creating: bool, current: dict | None = None) -> dict:
    v.unknown_fields(data, WINDOW_FIELDS if creating else WINDOW_FIELDS - {"number"})
    values = {
        "name": v.text(data, "name", "窗口名称", required=False),
        "services": v.string_list(
            data,
            "services",
            label="主办业务",
            max_items=30,
            max_len=50,
            unique=True,
            default=_MISSING,
        ),
        "secondary": v.string_list(
            data,
            "secondary",
            label="兼办业务",
            max_items=30,
            max_len=50,
            unique=True,
            default=_MISSING,
        ),
        "active": v.field(data, "active", bool, label="启用", default=_MISSING),
    }
    values = {k: x for k, x in values.items() if x is not _MISSING}
    primary = values.get("services", (current or {}).get("services", []))
    secondary = values.get("secondary", (current or {}).get("secondary", []))
    if creating or "services" in values or "secondary" in values:
        if not primary:
            raise Invalid("每个窗口至少要有一项主办业务 (a window needs at least one service)")
        known = {r["code"] for r in db.query("SELECT code FROM services")}
        unknown = [c for c in primary + secondary if c not in known]
        if unknown:
            raise Invalid(f"没有这些业务：{', '.join(unknown)} (unknown services {unknown})")
        overlap = sorted(set(primary) & set(secondary))
        if overlap:
            message = f"{', '.join(overlap)}已是主办业务 ({overlap} already primary)"
            if "services" in values and "secondary" in values:
                raise Invalid(message)  # the body contradicts itself
            raise Conflict(message)  # the body against the window's current services
        values["services"], values["secondary"] = primary, secondary
    return values


def _publish_window(hall, db, number: int, actor, now) -> None:
    w = hall.engine.read.window(db, number)
    hall.bus.publish(
        ev.WindowChanged(
            at=hall.engine.read.local_iso(to_iso(now)),
            number=w["number"],
            name=w["name"],
            state=w["state"] if w["active"] else "closed",
            clerk=w["clerk"],
            pause_reason=w["pause_reason"],
            actor=actor.username,
        )
    )


def create_window(hall, data: dict, actor) -> dict:
    from hall.sync import set_window_services

    number = v.number(data, "number", "窗口号", int, 1, 9999, required=True)
    now = hall.clock.now()
    with hall.store.write() as db:
        if list(db.query("SELECT 1 FROM windows WHERE number = ?", [number])):
            raise Conflict(f"{number}号窗口已存在 (window {number} exists)")
        values = _window_values(db, data, creating=True)
        name = values.get("name") or f"{number}号窗口"
        db["windows"].insert(
            {
                "number": number,
                "name": name,
                "state": "closed",
                "active": int(values.get("active", True)),
                "config_hash": None,
                "state_since": to_iso(now),
            }
        )
        set_window_services(db, number, values["services"], values["secondary"])
        hall.engine.audit(
            db,
            actor,
            "window_create",
            f"window:{number}",
            now,
            values={"name": name, "services": values["services"], "secondary": values["secondary"]},
        )
        created = window_json(hall, db, db["windows"].get(number))
    _publish_window(hall, hall.store.db(), number, actor, now)
    return created


def update_window(hall, number: int, data: dict, actor) -> dict:
    from hall.sync import set_window_services

    now = hall.clock.now()
    with hall.store.write() as db:
        rows = list(db.query("SELECT * FROM windows WHERE number = ?", [number]))
        if not rows:
            raise NotFound(f"没有{number}号窗口 (no window {number})")
        old = window_json(hall, db, rows[0])
        values = _window_values(db, data, creating=False, current=old)
        if not values:
            raise Invalid("没有要修改的字段 (nothing to change)")
        if values.get("active") is False and rows[0]["state"] != "closed":
            raise Conflict(f"{old['name']}正在使用，请先签退再停用 (close the window first)")
        changes = _changes(old, values)
        if "name" in values or "active" in values:
            db.execute(
                "UPDATE windows SET name = ?, active = ? WHERE number = ?",
                [values.get("name", old["name"]), int(values.get("active", old["active"])), number],
            )
        if "services" in changes or "secondary" in changes:
            set_window_services(db, number, values["services"], values["secondary"])
        if changes:
            hall.engine.audit(db, actor, "window_update", f"window:{number}", now, changes=changes)
        updated = window_json(hall, db, db["windows"].get(number))
    if changes:
        _publish_window(hall, hall.store.db(), number, actor, now)
    return updated


# --- users --------------------------------------------------------------------------
USER_FIELDS = {
    "username",
    "password",
    "role",
    "display_name",
    "staff_no",
    "windows",
    "skills",
    "active",
}


def user_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "username": row["username"],
        "role": row["role"],
        "role_name": ROLE_CN.get(row["role"], row["role"]),
        "display_name": row["display_name"] or row["username"],
        "staff_no": row["staff_no"] or "",
        "windows": json.loads(row["windows"] or "[]"),
        "skills": json.loads(row["skills"] or "[]"),
        "active": bool(row["active"]),
        "created_at": row["created_at"],
    }


def list_users(hall) -> list[dict]:
    db = hall.store.db()
    return [user_json(r) for r in db.query("SELECT * FROM users ORDER BY role, username")]


def _user_values(db, data: dict, creating: bool) -> dict:
    v.unknown_fields(data, USER_FIELDS if creating else USER_FIELDS - {"username"})
    values = {
        "role": v.field(data, "role", str, required=creating, label="角色", default=_MISSING),
        "display_name": v.text(data, "display_name", "姓名", max_len=32, blank_ok=True),
        "staff_no": v.text(data, "staff_no", "工号", max_len=32, blank_ok=True),
        "windows": v.field(data, "windows", list, label="可用窗口", default=_MISSING),
        "skills": v.field(data, "skills", list, label="业务资质", default=_MISSING),
        "active": v.field(data, "active", bool, label="启用", default=_MISSING),
        "password": v.field(
            data, "password", str, required=creating, label="密码", default=_MISSING
        ),
    }
    values = {k: x for k, x in values.items() if x is not _MISSING}
    if "role" in values and values["role"] not in STAFF_ROLES:
        raise Invalid(f"角色须为{'/'.join(STAFF_ROLES)} (role must be one of {STAFF_ROLES})")
    if "password" in values:
        if len(values["password"]) < MIN_PASSWORD or len(values["password"]) > 256:
            raise Invalid(
                f"密码至少{MIN_PASSWORD}位 (password: at least {MIN_PASSWORD} characters)"
            )
    if "windows" in values:
        wins = values["windows"]
        if len(wins) > 100 or not all(isinstance(w, int) and not isinstance(w, bool) for w in wins):
            raise Invalid("可用窗口须为窗口号列表 (windows must be a list of window numbers)")
        known = {r["number"] for r in db.query("SELECT number FROM windows")}
        unknown = [w for w in wins if w not in known]
        if unknown:
            raise Invalid(f"没有这些窗口：{unknown} (unknown windows {unknown})")
        values["windows"] = json.dumps(sorted(set(wins)))
    if "skills" in values:
        values["skills"] = json.dumps(check_skills(db, values["skills"]), ensure_ascii=False)
    if "active" in values:
        values["active"] = int(values["active"])
    return values


def check_skills(db, skills) -> list[str]:
    """业务资质: service codes a clerk is qualified for (balanced calling, docs/flow.md)."""
    if len(skills) > 100 or not all(isinstance(c, str) for c in skills):
        raise Invalid("业务资质须为业务编号列表 (skills must be a list of service codes)")
    known = {r["code"] for r in db.query("SELECT code FROM services")}
    unknown = [c for c in skills if c not in known]
    if unknown:
        raise Invalid(f"没有这些业务：{unknown} (unknown services {unknown})")
    return sorted(set(skills))


def _audit_user_values(values: dict) -> dict:
    out = {k: v for k, v in values.items() if k != "password"}
    if "password" in values:
        out["password"] = "(已修改)"
    return out


def create_user(hall, data: dict, actor) -> dict:
    username = v.field(data, "username", str, required=True, label="用户名", default=_MISSING)
    if not USERNAME_RE.fullmatch(username):
        raise Invalid("用户名须为2-32位字母数字 (username: 2-32 letters/digits/._-)")
    now = hall.clock.now()
    hash_for = _prehash(data)
    with hall.store.write() as db:
        values = _user_values(db, data, creating=True)
        if list(db.query("SELECT 1 FROM users WHERE username = ?", [username])):
            raise Conflict(f"用户{username}已存在 (user exists)")
        row = {
            "username": username,
            "password_hash": hash_for(values.pop("password")),
            "role": values["role"],
            "display_name": values.get("display_name") or username,
            "staff_no": values.get("staff_no", ""),
            "windows": values.get("windows", "[]"),
            "skills": values.get("skills", "[]"),
            "active": values.get("active", 1),
            "created_at": to_iso(now),
        }
        uid = db["users"].insert(row).last_pk
        hall.engine.audit(
            db,
            actor,
            "user_create",
            f"user:{username}",
            now,
            values=_audit_user_values({k: v for k, v in row.items() if k != "password_hash"}),
        )
        created = user_json(db["users"].get(uid))
    return created


def _prehash(data):
    """Hash a given password before the write transaction (scrypt takes ~100 ms, and
    the hall's writes wait for a transaction); inside, the validated value is hashed
    only if it is not the one already hashed."""
    given = data.get("password") if isinstance(data, dict) else None
    done = hash_password(given) if isinstance(given, str) and len(given) >= MIN_PASSWORD else None

    def hash_for(password: str) -> str:
        return done if done is not None and password == given else hash_password(password)

    return hash_for


def update_user(hall, username: str, data: dict, actor) -> dict:
    now = hall.clock.now()
    hash_for = _prehash(data)
    with hall.store.write() as db:
        rows = list(db.query("SELECT * FROM users WHERE username = ?", [username]))
        if not rows:
            raise NotFound(f"没有用户{username} (no user {username})")
        old = dict(rows[0])
        values = _user_values(db, data, creating=False)
        if not values:
            raise Invalid("没有要修改的字段 (nothing to change)")
        if username == actor.username:
            if values.get("active") == 0 or values.get("role", "admin") != "admin":
                raise Forbidden("不能停用自己或取消自己的管理员权限 (you cannot lock yourself out)")
        password = values.pop("password", None)
        changes = _changes(old, values)
        if password is not None:
            values["password_hash"] = hash_for(password)
            changes["password"] = "(已修改)"
        ended = False
        if changes:
            db["users"].update(old["id"], values)
            if values.get("active") == 0 or password is not None:
                # A locked-out or re-keyed account must log in again.
                db.execute("DELETE FROM sessions WHERE user_id = ?", [old["id"]])
            # Its open staff sockets are closed either way (a role change included): a
            # socket that reconnects is checked again with the new role.
            ended = values.get("active") == 0 or password is not None or "role" in changes
            hall.engine.audit(db, actor, "user_update", f"user:{username}", now, changes=changes)
        updated = user_json(db["users"].get(old["id"]))
    if ended:  # after the commit: close the user's open staff sockets at once
        hall.auth.announce_ended(username, (), "user_update")
    return updated
