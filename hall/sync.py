"""Bring services and windows from config.toml into the database at start-up.

The database is what the engine reads, so an admin can change services and windows
without a restart. Each row remembers a hash of the config entry it came from: a config
entry that changed since the last start overwrites its row; an unchanged one leaves
the row (and any admin edit to it) alone.
"""

from __future__ import annotations

import hashlib
import json

from .clock import to_iso


def _hash(entry: dict) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()


def sync_config(store, cfg, now) -> dict[str, int]:
    changed = {"services": 0, "windows": 0}
    with store.write() as db:
        for sort, svc in enumerate(cfg.services):
            h = _hash(svc)
            row = list(db.query("SELECT config_hash FROM services WHERE code = ?", [svc["code"]]))
            if row and row[0]["config_hash"] == h:
                continue
            db["services"].upsert(
                {
                    "code": svc["code"],
                    "name": svc["name"],
                    "department": svc["department"],
                    "prefix": svc["prefix"],
                    "target_wait_minutes": svc["target_wait_minutes"],
                    "daily_quota": svc["daily_quota"],
                    "service_minutes": svc["service_minutes"],
                    "matters": json.dumps(svc["matters"], ensure_ascii=False),
                    "active": int(svc["active"]),
                    "sort": sort,
                    "config_hash": h,
                    "updated_at": to_iso(now),
                },
                pk="code",
            )
            changed["services"] += 1
        for win in cfg.windows:
            h = _hash(win)
            row = list(
                db.query("SELECT config_hash FROM windows WHERE number = ?", [win["number"]])
            )
            if row and row[0]["config_hash"] == h:
                continue
            if row:
                db.execute(
                    "UPDATE windows SET name = ?, active = 1, config_hash = ? WHERE number = ?",
                    [win["name"], h, win["number"]],
                )
            else:
                db["windows"].insert(
                    {
                        "number": win["number"],
                        "name": win["name"],
                        "state": "closed",
                        "active": 1,
                        "config_hash": h,
                        "state_since": to_iso(now),
                    }
                )
            set_window_services(db, win["number"], win["services"], win["secondary"])
            changed["windows"] += 1
    return changed


def set_window_services(db, number: int, primary: list[str], secondary: list[str]) -> None:
    db.execute("DELETE FROM window_services WHERE window = ?", [number])
    for tier, codes in ((1, primary), (2, secondary)):
        for code in codes:
            db.execute(
                "INSERT INTO window_services (window, service, tier) VALUES (?, ?, ?)",
                [number, code, tier],
            )
