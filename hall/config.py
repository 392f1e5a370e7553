"""Read and validate config.toml.

A wrong config stops start-up with a ConfigError that names the key, so a hall never
runs half-configured (a window serving a service that does not exist, a bad time...).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import settings as S

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
QUEUE_POLICIES = ("configured", "balanced")


class ConfigError(ValueError):
    pass


@dataclass
class HallConfig:
    path: str | None
    hall: dict[str, Any]
    services: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrays: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def kiosks(self) -> list[dict[str, Any]]:
        """[[kiosks]] (declared by the kiosk face; [] without it)."""
        return self.arrays.get("kiosks", [])

    def __getattr__(self, name: str) -> dict[str, Any]:
        # cfg.hours, cfg.printer, cfg.security ... for every table section
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    @property
    def journeys(self) -> list[dict[str, Any]]:
        """[[journeys]]: 一件事, one ticket through several services in order."""
        return self.arrays.get("journeys", [])

    def journey(self, code: str) -> dict[str, Any] | None:
        return next((j for j in self.journeys if j["code"] == code), None)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.hall["timezone"])

    def service(self, code: str) -> dict[str, Any] | None:
        return next((s for s in self.services if s["code"] == code), None)

    def kiosk(self, kiosk_id: str) -> dict[str, Any] | None:
        return next((k for k in self.kiosks if k["id"] == kiosk_id), None)

    def printer_for(self, kiosk_id: str | None) -> dict[str, Any]:
        """A kiosk's own printer settings, falling back to [printer]."""
        base = dict(self.sections.get("printer", {}))
        kiosk = self.kiosk(kiosk_id) if kiosk_id else None
        if kiosk and kiosk.get("printer"):
            base.update(kiosk["printer"])
        return base


def parse_hhmm(value: Any, key: str) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ConfigError(f'{key}: expected a time as "HH:MM", got {value!r}')
    hours, minutes = int(value[:2]), int(value[3:])
    if hours > 23 or minutes > 59:
        raise ConfigError(f"{key}: {value!r} is not a time of day")
    return time(hours, minutes)


def _parse_date(value: Any, key: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not a date YYYY-MM-DD") from None


def _check_type(key: str, value: Any, default: Any) -> Any:
    if default is S.REQUIRED or default is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]+", value):
            return int(value, 16)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
            if not isinstance(default, float) and value != int(value):
                raise ConfigError(f"{key}: expected a whole number, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
    elif isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
    return value


def _section(raw: dict, name: str, where: str) -> dict[str, Any]:
    known = S.BY_SECTION.get(name, {})
    out = S.defaults(name)
    for key, value in raw.items():
        dotted = f"{where}.{key}"
        if key not in known:
            raise ConfigError(f"{dotted}: unknown setting (see the README's config reference)")
        out[key] = _check_type(dotted, value, known[key].default)
    for key, setting in known.items():
        if setting.default is S.REQUIRED and key not in raw:
            raise ConfigError(f"{where}.{key}: required")
    return out


def load(path: str | os.PathLike | None = None, overrides: dict | None = None) -> HallConfig:
    """Load config from a TOML file (HALL_CONFIG, else ./config.toml) plus overrides."""
    raw: dict[str, Any] = {}
    if path is None:
        path = os.environ.get("HALL_CONFIG") or "config.toml"
    path = str(path)
    if Path(path).exists():
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    elif os.environ.get("HALL_CONFIG") or overrides is None:
        raise ConfigError(f"{path}: config file not found")
    overrides = dict(overrides or {})
    env_json = os.environ.get("HALL_SETTINGS")
    if env_json:
        # Deployment overrides as JSON, e.g. {"hours": {"always_open": true}}.
        try:
            env_overrides = json.loads(env_json)
        except json.JSONDecodeError as e:
            raise ConfigError(f"HALL_SETTINGS: not valid JSON: {e}") from None
        if not isinstance(env_overrides, dict):
            raise ConfigError("HALL_SETTINGS: must be a JSON object")
        for key, value in env_overrides.items():
            if isinstance(value, dict) and isinstance(overrides.get(key), dict):
                overrides[key] = {**value, **overrides[key]}
            else:
                overrides.setdefault(key, value)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return from_dict(raw, path)


def extra_faces(raw: dict[str, Any]) -> tuple[str, ...]:
    """[hall] faces: extra face packages (their settings are part of the config)."""
    faces = (raw.get("hall") or {}).get("faces") if isinstance(raw.get("hall"), dict) else None
    if faces is None:
        return ()
    if not isinstance(faces, list) or not all(
        isinstance(f, str) and re.fullmatch(r"[A-Za-z_][\w.]*", f) for f in faces
    ):
        raise ConfigError("hall.faces: expected a list of package names")
    return tuple(faces)


def from_dict(raw: dict[str, Any], path: str | None = None) -> HallConfig:
    try:
        S.ensure_faces(extra_faces(raw))
    except ModuleNotFoundError as e:
        raise ConfigError(f"hall.faces: no face package {e.name!r}") from None
    known_sections = {s.section.rstrip("[]") for s in S.SETTINGS}
    array_sections = {s.section[:-2] for s in S.SETTINGS if s.section.endswith("[]")}
    for name in raw:
        if name not in known_sections:
            raise ConfigError(f"[{name}]: unknown section")
    sections = {}
    for name in known_sections - array_sections:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}]: expected a table")
        sections[name] = _section(value, name, name)
    arrays = {}
    for name in array_sections:
        items = raw.get(name, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ConfigError(f"[[{name}]]: expected an array of tables")
        arrays[name] = [_section(item, f"{name}[]", f"{name}[{i}]") for i, item in enumerate(items)]
    if os.environ.get("HALL_DATABASE"):
        sections["hall"]["database"] = os.environ["HALL_DATABASE"]
    cfg = HallConfig(
        path=path,
        hall=sections["hall"],
        services=arrays["services"],
        windows=arrays["windows"],
        sections=sections,
        arrays=arrays,
    )
    validate(cfg)
    from .face import declared, resolve

    for face in declared():
        if face.check_config is not None:
            resolve(face.check_config)(cfg)
    return cfg


def validate(cfg: HallConfig) -> None:
    try:
        ZoneInfo(cfg.hall["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"hall.timezone: unknown timezone {cfg.hall['timezone']!r}") from None
    if not cfg.services:
        raise ConfigError("[[services]]: at least one service is required")
    codes: set[str] = set()
    for i, svc in enumerate(cfg.services):
        code = svc["code"]
        if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", code):
            raise ConfigError(f"services[{i}].code: {code!r} must be 1-16 letters/digits")
        if code in codes:
            raise ConfigError(f"services[{i}].code: duplicate service code {code!r}")
        codes.add(code)
        if not re.fullmatch(r"[A-Z]", str(svc["prefix"])):
            raise ConfigError(f"services[{i}].prefix: {svc['prefix']!r} must be one letter A-Z")
        for key in ("name", "department"):
            if not isinstance(svc[key], str) or not svc[key].strip():
                raise ConfigError(f"services[{i}].{key}: must be a non-empty string")
        for key in ("target_wait_minutes", "daily_quota", "service_minutes"):
            if svc[key] < 0:
                raise ConfigError(f"services[{i}].{key}: must not be negative")
    numbers: set[int] = set()
    for i, win in enumerate(cfg.windows):
        number = win["number"]
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ConfigError(f"windows[{i}].number: {number!r} must be a positive integer")
        if number in numbers:
            raise ConfigError(f"windows[{i}].number: duplicate window number {number}")
        numbers.add(number)
        if not win["name"]:
            win["name"] = f"{number}号窗口"
        for key in ("services", "secondary"):
            if not isinstance(win[key], list):
                raise ConfigError(f"windows[{i}].{key}: expected a list of service codes")
            for code in win[key]:
                if code not in codes:
                    raise ConfigError(f"windows[{i}].{key}: unknown service code {code!r}")
        if not win["services"]:
            raise ConfigError(f"windows[{i}].services: a window needs at least one service")
        overlap = set(win["services"]) & set(win["secondary"])
        if overlap:
            raise ConfigError(f"windows[{i}].secondary: {sorted(overlap)} already primary")
    _validate_journeys(cfg, codes)
    if cfg.queue["policy"] not in QUEUE_POLICIES:
        raise ConfigError(
            f"queue.policy: {cfg.queue['policy']!r} must be one of {list(QUEUE_POLICIES)}"
        )
    hours = cfg.hours
    for day in hours["days"]:
        if day not in DAY_NAMES:
            raise ConfigError(f"hours.days: {day!r} is not one of {DAY_NAMES}")
    if parse_hhmm(hours["open"], "hours.open") >= parse_hhmm(hours["close"], "hours.close"):
        raise ConfigError("hours.close: must be after hours.open")
    hours["holidays"] = [_parse_date(d, "hours.holidays").isoformat() for d in hours["holidays"]]
    hours["workdays"] = [_parse_date(d, "hours.workdays").isoformat() for d in hours["workdays"]]
    for key in ("requeue_limit", "estimate_sample", "priority_ratio", "park_limit"):
        if cfg.queue[key] < 0:
            raise ConfigError(f"queue.{key}: must not be negative")
    for key in ("socket_limit", "socket_limit_per_address", "socket_idle_seconds"):
        if cfg.security[key] < 0:
            raise ConfigError(f"security.{key}: must not be negative (0 = off)")
    if cfg.server["threads"] < 1:
        raise ConfigError("server.threads: at least 1")
    for key in ("login_account_ceiling", "login_max_delay_seconds"):
        if cfg.security[key] < 0:
            raise ConfigError(f"security.{key}: must not be negative")
    for section in ("backup", "privacy"):
        if cfg.sections[section]["at"]:
            parse_hhmm(cfg.sections[section]["at"], f"{section}.at")
    if cfg.backup["keep"] < 1:
        raise ConfigError("backup.keep: keep at least one backup")
    if cfg.privacy["retention_days"] < 31:
        # Appointments count missed bookings of the last 30 days (no-show limit).
        raise ConfigError("privacy.retention_days: at least 31 days")
    if cfg.security["ticket_rate_limit_per_minute"] < 0:
        raise ConfigError("security.ticket_rate_limit_per_minute: must not be negative")


def _validate_journeys(cfg: HallConfig, services: set[str]) -> None:
    seen: set[str] = set()
    for i, j in enumerate(cfg.journeys):
        code = j["code"]
        if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", code):
            raise ConfigError(f"journeys[{i}].code: {code!r} must be 1-16 letters/digits")
        if code in seen or code in services:
            raise ConfigError(f"journeys[{i}].code: {code!r} is already a journey or service")
        seen.add(code)
        if not isinstance(j["name"], str) or not j["name"].strip():
            raise ConfigError(f"journeys[{i}].name: must be a non-empty string")
        steps = j["steps"]
        if not isinstance(steps, list) or len(steps) < 2:
            raise ConfigError(f"journeys[{i}].steps: a journey needs at least two steps")
        for step in steps:
            if step not in services:
                raise ConfigError(f"journeys[{i}].steps: unknown service code {step!r}")
        if j["prefix"] and not re.fullmatch(r"[A-Z]", str(j["prefix"])):
            raise ConfigError(f"journeys[{i}].prefix: {j['prefix']!r} must be one letter A-Z")
