"""The display face's settings ([display])."""

from __future__ import annotations

from hall.config import ConfigError
from hall.settings import Setting

_s = Setting

LAYOUTS = ("standard", "calls", "windows")
GROUPS = ("service", "department")

SETTINGS = (
    # [display]
    _s("display", "recent_calls", 8, "Recent calls listed on the hall display (6-10)."),
    _s("display", "highlight_seconds", 6, "How long a new call blinks."),
    _s("display", "layout", "standard", "Default /display layout: standard | calls | windows."),
    _s("display", "group_by", "service", "Waiting counts per service or per department."),
    _s("display", "voice", True, "Displays speak calls (per display: /display?voice=0)."),
    _s(
        "display", "replay_seconds", 300, "After a reconnect, announce missed calls up to this old."
    ),
    _s(
        "display",
        "zones",
        {},
        "Named zone displays: zone name = [service codes], /display?zone=<name>.",
    ),
)


def check_config(cfg) -> None:
    """[display] values the loader's type check cannot judge; a wrong one stops start-up."""
    d = cfg.display
    if not 1 <= d["recent_calls"] <= 10:
        raise ConfigError("display.recent_calls: must be between 1 and 10")
    if d["highlight_seconds"] < 0 or d["replay_seconds"] < 0:
        raise ConfigError("display.highlight_seconds / replay_seconds: must not be negative")
    if d["layout"] not in LAYOUTS:
        raise ConfigError(f"display.layout: must be one of {', '.join(LAYOUTS)}")
    if d["group_by"] not in GROUPS:
        raise ConfigError(f"display.group_by: must be one of {', '.join(GROUPS)}")
    codes = {s["code"] for s in cfg.services}
    for name, services in d["zones"].items():
        if not isinstance(services, list) or not services:
            raise ConfigError(f"display.zones.{name}: expected a non-empty list of service codes")
        for code in services:
            if code not in codes:
                raise ConfigError(f"display.zones.{name}: unknown service code {code!r}")
