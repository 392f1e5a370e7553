"""Every configuration key, registered once with its default and its help.

The loader rejects keys that are not here, the README's config reference is checked
against this list by a test, so a setting cannot exist without being documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED = object()


@dataclass(frozen=True)
class Setting:
    section: str  # "hall", "services[]" for arrays of tables
    key: str
    default: Any
    help: str

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"


def _s(section, key, default, help):
    return Setting(section, key, default, help)


SETTINGS: list[Setting] = [
    # [hall]
    _s("hall", "name", "政务服务大厅", "Hall name, shown on screens and printed tickets."),
    _s(
        "hall",
        "timezone",
        "Asia/Shanghai",
        "IANA timezone of the hall; days and times shown in it.",
    ),
    _s(
        "hall",
        "public_url",
        "http://127.0.0.1:5000",
        "Address phones use to open /t/<token> (QR codes).",
    ),
    _s("hall", "notice", "", "Scrolling notice on hall displays."),
    _s(
        "hall",
        "database",
        "instance/hall.sqlite3",
        "SQLite database path (env HALL_DATABASE overrides).",
    ),
    # [[services]]
    _s("services[]", "code", REQUIRED, "Unique service code, e.g. BDC."),
    _s("services[]", "name", REQUIRED, "Service name shown to citizens."),
    _s("services[]", "department", REQUIRED, "Department that runs the service."),
    _s(
        "services[]",
        "prefix",
        REQUIRED,
        "Ticket letter (A-Z); numbers are prefix + 3 digits per day.",
    ),
    _s("services[]", "target_wait_minutes", 15, "Target wait; longer waits are flagged."),
    _s("services[]", "daily_quota", 0, "Numbers per day; 0 means unlimited."),
    _s(
        "services[]",
        "service_minutes",
        8,
        "Typical handling minutes, used for wait estimates before data.",
    ),
    _s("services[]", "matters", [], "Optional sub-matters shown as a second level at the kiosk."),
    _s("services[]", "active", True, "false closes the service for new tickets."),
    # [[windows]]
    _s("windows[]", "number", REQUIRED, "Window number (positive integer, unique)."),
    _s("windows[]", "name", "", "Window name, e.g. 综办窗口."),
    _s("windows[]", "services", REQUIRED, "Primary service codes served here."),
    _s("windows[]", "secondary", [], "Secondary service codes, called when primaries are empty."),
    # [hours]
    _s("hours", "days", ["mon", "tue", "wed", "thu", "fri"], "Opening days (mon..sun)."),
    _s("hours", "open", "08:30", "Opening time HH:MM (hall timezone)."),
    _s("hours", "close", "17:30", "Closing time HH:MM (hall timezone)."),
    _s("hours", "holidays", [], "Closed dates YYYY-MM-DD."),
    _s("hours", "workdays", [], "Extra working dates YYYY-MM-DD (调休 weekends that open)."),
    _s("hours", "always_open", False, "Ignore hours (demo and 7x24 self-service areas)."),
    # [queue]
    _s("queue", "requeue_limit", 1, "How many times a no-show may be put back in the queue."),
    _s(
        "queue",
        "estimate_sample",
        20,
        "Recent finished tickets used for the handling-time estimate.",
    ),
    # [printer]
    _s("printer", "driver", "dummy", "dummy | network | usb | serial | file."),
    _s("printer", "host", "", "network: printer address."),
    _s("printer", "port", 9100, "network: raw TCP port."),
    _s("printer", "timeout", 3.0, "Seconds before a printer that does not answer is a fault."),
    _s("printer", "vendor_id", 0, "usb: vendor id (e.g. 0x0416)."),
    _s("printer", "product_id", 0, "usb: product id."),
    _s("printer", "device", "", "serial: device, e.g. /dev/ttyUSB0."),
    _s("printer", "baudrate", 9600, "serial: baud rate."),
    _s("printer", "path", "", "file: device path, e.g. /dev/usb/lp0."),
    _s("printer", "paper_width_mm", 80, "58 (384 dots) or 80 (576 dots)."),
    _s("printer", "mode", "image", "image (any ESC/POS printer) | text (Chinese firmware)."),
    _s(
        "printer",
        "font",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "CJK font for image mode.",
    ),
    _s("printer", "footer", "请留意叫号，过号请重新取号", "Closing line on every ticket."),
    _s(
        "printer",
        "check_status",
        True,
        "Ask the printer for paper/online status (false for print servers that never answer).",
    ),
    _s(
        "printer",
        "profile",
        "",
        "python-escpos printer profile name (e.g. TM-T88V); empty = default.",
    ),
    _s("printer", "in_ep", 0x82, "usb: IN endpoint (status replies)."),
    _s("printer", "out_ep", 0x01, "usb: OUT endpoint."),
    # [[kiosks]]
    _s("kiosks[]", "id", REQUIRED, "Kiosk id used in /kiosk/<id>."),
    _s("kiosks[]", "name", "", "Kiosk name."),
    _s("kiosks[]", "printer", {}, "Printer settings for this kiosk (same keys as [printer])."),
    # [security]
    _s(
        "security",
        "ticket_rate_limit_per_minute",
        20,
        "Tickets per client address per minute; 0 = off.",
    ),
    _s(
        "security", "rate_limit_exempt", [], "Addresses exempt from the ticket rate limit (kiosks)."
    ),
    _s(
        "security", "login_max_failures", 5, "Failed logins (per user or address) before a lockout."
    ),
    _s("security", "login_lockout_seconds", 300, "Lockout length after too many failed logins."),
    _s("security", "session_hours", 12, "Staff sessions expire after this many hours."),
    _s("security", "trust_proxy", False, "Trust X-Forwarded-For from one reverse proxy (nginx)."),
    _s(
        "security",
        "secure_cookies",
        False,
        "Mark the session cookie Secure (set true when served over HTTPS).",
    ),
    # [server]
    _s("server", "host", "127.0.0.1", "serve: listen address."),
    _s("server", "port", 5000, "serve: listen port."),
    _s(
        "server", "threads", 200, "serve: worker threads (above the number of screens and clients)."
    ),
    _s(
        "server",
        "message_queue",
        "",
        "redis://... to share events between several server processes.",
    ),
    _s(
        "server",
        "direct_websocket_writes",
        True,
        "Write each Socket.IO message to every WebSocket from the sending thread, without "
        "blocking, instead of waking one writer thread per connection (hall/fanout.py; "
        "a screen that stops reading is cut off and reconnects).",
    ),
    # [ratings]
    _s(
        "ratings",
        "reasons",
        ["态度不好", "效率低", "材料要求不清", "多次跑腿", "其他"],
        "Reasons offered for 差评.",
    ),
    _s(
        "ratings",
        "pad_timeout_seconds",
        60,
        "Seconds the rating pad waits before recording unrated.",
    ),
    _s("ratings", "callback_days", 1, "Working days to call back a citizen after a 差评."),
    _s("ratings", "rectify_days", 10, "Working days to rectify a 差评."),
    # [voice]
    _s("voice", "enabled", True, "Render call announcements as WAV files with espeak-ng."),
    _s("voice", "template", "请{number}号到{window}号窗口办理", "Announcement text."),
    _s("voice", "speed", 150, "espeak-ng words per minute."),
    _s("voice", "repeat", 2, "Times each announcement is spoken."),
    _s("voice", "chime", True, "Play a chime before each announcement."),
    _s("voice", "espeak", "espeak-ng", "espeak-ng executable."),
    _s("voice", "voice", "cmn-latn-pinyin", "espeak-ng voice (cmn-latn-pinyin reads Mandarin)."),
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
    # [counter] (window clients: clerk console, guide desk, rating pad)
    _s(
        "counter",
        "pause_reasons",
        ["午休", "临时离开", "其他"],
        "Reasons offered when a clerk pauses a window.",
    ),
    _s(
        "counter",
        "priority_reasons",
        ["老年人", "残疾人", "军人", "孕妇", "其他"],
        "绿色通道 reasons at the guide desk.",
    ),
    _s("counter", "next_numbers", 6, "Next waiting numbers shown on the clerk's console."),
    _s("counter", "pad_addresses", [], "Client addresses allowed to submit pad ratings; [] = any."),
    # [appointments] (预约办: /book, kiosk check-in at /kiosk/checkin)
    _s(
        "appointments",
        "days_ahead_min",
        1,
        "Earliest bookable day, in working days from today (0 = today).",
    ),
    _s("appointments", "days_ahead_max", 5, "Latest bookable day, in working days from today."),
    _s(
        "appointments",
        "slot_minutes",
        30,
        "Slot length; slots run from opening, the last one ends by closing.",
    ),
    _s("appointments", "slot_capacity", 4, "Bookings per service per slot."),
    _s(
        "appointments",
        "checkin_early_minutes",
        30,
        "Check-in opens this many minutes before the slot starts.",
    ),
    _s(
        "appointments",
        "checkin_late_minutes",
        15,
        "On-time check-in ends this many minutes after the slot starts.",
    ),
    _s(
        "appointments",
        "no_show_limit",
        2,
        "More missed bookings than this in 30 days and a phone may not book.",
    ),
    _s(
        "appointments",
        "book_rate_limit_per_hour",
        10,
        "Bookings per client address per hour; 0 = off.",
    ),
    # [supervisor] (live board, figures, 督查考评 ranking)
    _s(
        "supervisor",
        "service_level_goal",
        0.85,
        "Goal for the share of tickets called within target; below it is flagged red.",
    ),
    _s(
        "supervisor",
        "good_rate_goal",
        0.95,
        "Goal for 好评率 in the ranking; below it is flagged red.",
    ),
    _s(
        "supervisor",
        "default_days",
        7,
        "Days shown by the figures pages when no range is given (ending today).",
    ),
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
]

BY_SECTION: dict[str, dict[str, Setting]] = {}
for _setting in SETTINGS:
    BY_SECTION.setdefault(_setting.section, {})[_setting.key] = _setting


def register(setting: Setting) -> None:
    """Faces add their own settings here at import time (once)."""
    if setting.key in BY_SECTION.get(setting.section, {}):
        raise ValueError(f"setting {setting.dotted} registered twice")
    SETTINGS.append(setting)
    BY_SECTION.setdefault(setting.section, {})[setting.key] = setting


def defaults(section: str) -> dict[str, Any]:
    return {
        k: (list(s.default) if isinstance(s.default, list) else s.default)
        for k, s in BY_SECTION.get(section, {}).items()
        if s.default is not REQUIRED
    }


def markdown() -> str:
    """The README's configuration reference, generated from this registry."""
    import json

    lines = []
    section = None
    for s in SETTINGS:
        if s.section != section:
            section = s.section
            title = f"[[{section[:-2]}]]" if section.endswith("[]") else f"[{section}]"
            lines += ["", f"#### `{title}`", "", "| key | default | meaning |", "|---|---|---|"]
        if s.default is REQUIRED:
            default = "required"
        else:
            default = "`" + json.dumps(s.default, ensure_ascii=False) + "`"
        name = s.section.rstrip("[]")
        lines.append(f"| `{name}.{s.key}` | {default} | {s.help} |")
    return "\n".join(lines).strip() + "\n"


README_BEGIN = "<!-- settings:begin (generated by: python -m hall settings --readme README.md) -->"
README_END = "<!-- settings:end -->"


def readme_block(text: str) -> str | None:
    if README_BEGIN not in text or README_END not in text:
        return None
    return text.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip() + "\n"


def write_readme(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{README_BEGIN}\n\n{markdown()}\n{README_END}{tail}")
