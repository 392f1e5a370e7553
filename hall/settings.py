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
    _s(
        "hall",
        "faces",
        [],
        "Extra face packages to install after the hall's own (docs/architecture.md).",
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
    _s(
        "queue",
        "policy",
        "configured",
        "Calling policy: configured (each window its primary services, then its secondary "
        "ones) | balanced (a window also takes tickets of services its clerk is qualified "
        "for, longest wait relative to each service's target first; docs/flow.md).",
    ),
    _s(
        "queue",
        "priority_ratio",
        0,
        "At most this many 绿色通道 tickets in a row at a window while an ordinary ticket "
        "has waited past its target; 0 = no limit.",
    ),
    _s("queue", "park_limit", 3, "Tickets a window may keep parked (挂起) at once."),
    # [[journeys]] 一件事: one ticket through several services in order
    _s("journeys[]", "code", REQUIRED, "Unique journey code, e.g. ESF (not a service code)."),
    _s("journeys[]", "name", REQUIRED, "Journey name shown to citizens, e.g. 二手房交易."),
    _s("journeys[]", "steps", REQUIRED, "Service codes in order (at least two)."),
    _s(
        "journeys[]",
        "prefix",
        "",
        "Ticket letter (A-Z); empty = the first step's service prefix.",
    ),
    _s("journeys[]", "active", True, "false stops issuing the journey."),
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
        "security",
        "login_max_failures",
        5,
        "Failed logins for one account from one address before that address is locked out "
        "of that account (an address is locked out of every account at 4 times this).",
    ),
    _s("security", "login_lockout_seconds", 300, "Lockout length after too many failed logins."),
    _s(
        "security",
        "login_account_ceiling",
        20,
        "Failed logins for one account from all addresses (within the lockout time) after which "
        "addresses that never signed in to it are slowed down (no lockout); 0 = off.",
    ),
    _s(
        "security",
        "login_max_delay_seconds",
        60,
        "Longest wait between two login attempts on an account over its ceiling (the wait "
        "doubles every 5 failures above it).",
    ),
    _s("security", "session_hours", 12, "Staff sessions expire after this many hours."),
    _s("security", "trust_proxy", False, "Trust X-Forwarded-For from one reverse proxy (nginx)."),
    _s(
        "security",
        "secure_cookies",
        False,
        "Mark the session cookie Secure (set true when served over HTTPS).",
    ),
    _s(
        "security",
        "allowed_origins",
        [],
        "Extra origins (scheme://host:port) whose pages may open Socket.IO connections; the "
        "page's own host and hall.public_url are always allowed, any other origin is refused.",
    ),
    _s(
        "security",
        "ticket_daily_cap_per_client",
        30,
        "Tickets one client address may take per day without a login (kiosks in "
        "rate_limit_exempt excepted); 0 = off.",
    ),
    _s(
        "security",
        "unusual_share",
        0.2,
        "Supervisors are warned when one client address takes at least this share of a "
        "service's tickets of the day (and at least 5 of them).",
    ),
    _s(
        "security",
        "socket_limit",
        3000,
        "Public live connections (Socket.IO /display, /kiosk, /ticket: screens and phones "
        "outside rate_limit_exempt, without a staff login) one server process holds; a new one "
        "over it is refused with 503 and Retry-After; 0 = no limit.",
    ),
    _s(
        "security",
        "socket_limit_per_address",
        10,
        "Public live connections from one client address (raise it when phones reach the "
        "server through NAT, all with one address); 0 = no limit.",
    ),
    _s(
        "security",
        "socket_idle_seconds",
        30,
        "A public live connection that has not joined a namespace (and, on /ticket, followed "
        "a ticket) within this many seconds is closed; 0 = never.",
    ),
    # [server]
    _s("server", "host", "127.0.0.1", "serve: listen address."),
    _s("server", "port", 5000, "serve: listen port."),
    _s(
        "server",
        "threads",
        64,
        "serve: threads answering HTTP requests. WebSockets do not hold one (one event thread "
        "reads them all, hall/compat/wsloop.py); public long-polling sessions may use an "
        "eighth of them. With the stock server path (untested library versions, or "
        "direct_websocket_writes off) every WebSocket holds a thread, and public ones are then "
        "limited to a quarter of them.",
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
        "Serve WebSockets from one event thread and write each Socket.IO message to every "
        "WebSocket from the sending thread, without blocking, instead of a reader, a writer and "
        "a ping thread per connection (hall/compat: wsloop.py, fanout.py; a screen that stops "
        "reading is cut off and reconnects). false = the libraries' stock threads.",
    ),
    _s(
        "server",
        "public_write_ms",
        250,
        "Public live connections (citizens' phones, screens not in "
        "security.rate_limit_exempt) get what was sent them in one write at most this often "
        "(milliseconds), the hall's own screens and staff at once: with 2,000 phones open, a "
        "write to each per call, finish and new ticket was half the server's CPU and slowed "
        "the kiosks (docs/bench.md). 0 = after every push.",
    ),
    # [backup]
    _s(
        "backup",
        "dir",
        "",
        'Folder for backups (python -m hall backup, and the daily one); "" = backups/ beside '
        "the database.",
    ),
    _s("backup", "keep", 7, "Backups kept in the folder; older ones are deleted."),
    _s(
        "backup",
        "at",
        "02:30",
        'Daily backup time HH:MM (hall timezone), run by the server; "" = no daily backup.',
    ),
    # [privacy]
    _s(
        "privacy",
        "retention_days",
        180,
        "Days a citizen's personal data (appointment names and phones, numbers in comments) is "
        "kept before it is erased or masked (python -m hall purge; daily in the server).",
    ),
    _s(
        "privacy",
        "at",
        "02:15",
        'Daily time HH:MM (hall timezone) the server erases expired personal data; "" = '
        "only by python -m hall purge.",
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
    _s(
        "voice",
        "pack",
        "default",
        "Voice pack the calls and kiosk prompts are spliced from (docs/voice.md): default "
        "(rendered from espeak-ng at install), a folder, or none (espeak-ng phrases).",
    ),
    _s(
        "voice",
        "cache_files",
        400,
        "Call announcements kept on disk (about 0.6 MB each); the oldest are removed.",
    ),
]

BY_SECTION: dict[str, dict[str, Setting]] = {}
for _setting in SETTINGS:
    BY_SECTION.setdefault(_setting.section, {})[_setting.key] = _setting


#: dotted setting name -> the face that declared it (core settings have none)
OWNER: dict[str, str] = {}


def register(setting: Setting, owner: str | None = None) -> None:
    """A face's setting (hall.face.declarations registers them). Registering the same
    setting again is harmless; a different one under a taken name is an error."""
    known = BY_SECTION.get(setting.section, {}).get(setting.key)
    if known == setting:
        return
    if known is not None:
        raise ValueError(f"setting {setting.dotted} registered twice")
    SETTINGS.append(setting)
    BY_SECTION.setdefault(setting.section, {})[setting.key] = setting
    if owner:
        OWNER[setting.dotted] = owner


def ensure_faces(extra=()) -> None:
    """Register the installed faces' settings (and those of `extra` face packages): the
    config loader, the settings reference and the README check need them before any
    app exists. Cheap after the first call (declarations are imported once)."""
    from .face import INSTALLED, declarations

    declarations(INSTALLED + tuple(extra))


def defaults(section: str) -> dict[str, Any]:
    return {
        k: (list(s.default) if isinstance(s.default, list) else s.default)
        for k, s in BY_SECTION.get(section, {}).items()
        if s.default is not REQUIRED
    }


def markdown(faces=None) -> str:
    """The configuration reference of the core and the hall's faces (or the faces
    named), generated from this registry."""
    import json

    from .face import INSTALLED, OPTIONAL

    faces = set(INSTALLED + OPTIONAL if faces is None else faces)
    ensure_faces(tuple(faces - set(INSTALLED)))
    lines = []
    section = None
    for s in SETTINGS:
        if OWNER.get(s.dotted, "") not in faces | {""}:
            continue
        if s.section != section:
            section = s.section
            title = f"[[{section[:-2]}]]" if section.endswith("[]") else f"[{section}]"
            lines += ["", f"#### `{title}`", ""]
            owner = OWNER.get(s.dotted, "")
            if owner in OPTIONAL:
                lines += [f'Face `{owner}`: read only where `[hall] faces = ["{owner}"]`.', ""]
            lines += ["| key | default | meaning |", "|---|---|---|"]
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
