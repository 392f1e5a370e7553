"""Clerk skills (业务资质): the services a clerk is qualified for beyond the window's own.
Under queue.policy = "balanced" a window takes tickets of these too (hall/calling.py).
Stored per user (users.skills, a JSON list of service codes); set on the admin page
(/supervisor/admin/users), with `python -m hall user skills NAME CODES`, or for the
demo hall by the rule below."""

from __future__ import annotations

import json

from .errors import Invalid, NotFound

#: The demo hall's general service (综合受理), every clerk's extra skill.
GENERAL = ("ZHSL",)


def department_skills(cfg, window: int, extra=GENERAL) -> list[str]:
    """The demo's rule: a clerk at `window` is qualified for every service of the
    departments of the window's primary services, plus the `extra` ones (综合受理)."""
    win = next((w for w in cfg.windows if w["number"] == window), None)
    if win is None:
        return []
    departments = {cfg.service(code)["department"] for code in win["services"]}
    codes = [s["code"] for s in cfg.services if s["department"] in departments]
    codes += [c for c in extra if cfg.service(c) is not None and c not in codes]
    return codes


def set_skills(store, username: str, codes: list[str]) -> list[str]:
    """Replace a user's skills (unknown service codes refused); returns them sorted."""
    with store.write() as db:
        if not list(db.query("SELECT 1 FROM users WHERE username = ?", [username])):
            raise NotFound(f"没有用户{username} (no user {username})")
        known = {r["code"] for r in db.query("SELECT code FROM services")}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise Invalid(f"没有这些业务：{unknown} (unknown services {unknown})")
        skills = sorted(set(codes))
        db.execute("UPDATE users SET skills = ? WHERE username = ?", [json.dumps(skills), username])
    return skills
