"""The kiosk face's settings: [kiosk], [printer] and [[kiosks]]."""

from __future__ import annotations

import re

from hall.config import ConfigError
from hall.settings import REQUIRED, Setting
from printer.transport import DRIVERS, PRINTER_SETTINGS

_s = Setting

SETTINGS = (
    # [kiosk] (取号机 pages /kiosk, /kiosk/<id>; the phone page /t/<token>)
    _s(
        "kiosk",
        "return_seconds",
        12,
        "Seconds the ticket stays on the kiosk screen before it returns to the start.",
    ),
    _s(
        "kiosk",
        "fault_return_seconds",
        60,
        "The same when the ticket could not be printed (time to photograph it).",
    ),
    _s(
        "kiosk",
        "idle_seconds",
        45,
        "An untouched sub-matter screen returns to the start after this many seconds.",
    ),
    _s(
        "kiosk",
        "printer_poll_seconds",
        30.0,
        "Ask every printer its status this often (paper out between tickets); 0 = never.",
    ),
    # [printer]: the printer library's own list (one source), plus the ticket's footer.
    *(_s("printer", key, default, help) for key, default, help in PRINTER_SETTINGS),
    _s("printer", "footer", "请留意叫号，过号请重新取号", "Closing line on every ticket."),
    # [[kiosks]]
    _s("kiosks[]", "id", REQUIRED, "Kiosk id used in /kiosk/<id>."),
    _s("kiosks[]", "name", "", "Kiosk name."),
    _s("kiosks[]", "printer", {}, "Printer settings for this kiosk (same keys as [printer])."),
)


def check_config(cfg) -> None:
    """Kiosk ids, each kiosk's printer keys, and the printer section's choices."""
    printer_keys = {setting.key for setting in SETTINGS if setting.section == "printer"}
    kiosk_ids: set[str] = set()
    for i, kiosk in enumerate(cfg.kiosks):
        kid = kiosk["id"]
        if not isinstance(kid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", kid):
            raise ConfigError(f"kiosks[{i}].id: {kid!r} must be letters/digits")
        if kid in kiosk_ids:
            raise ConfigError(f"kiosks[{i}].id: duplicate kiosk id {kid!r}")
        kiosk_ids.add(kid)
        for key in kiosk["printer"]:
            if key not in printer_keys:
                raise ConfigError(f"kiosks[{i}].printer.{key}: unknown setting")
    if cfg.printer["driver"] not in DRIVERS:
        raise ConfigError(f"printer.driver: unknown driver {cfg.printer['driver']!r}")
    if cfg.printer["paper_width_mm"] not in (58, 80):
        raise ConfigError("printer.paper_width_mm: must be 58 or 80")
    if cfg.printer["mode"] not in ("image", "text"):
        raise ConfigError("printer.mode: must be image or text")
