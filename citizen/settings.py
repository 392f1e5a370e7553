"""The citizen face's settings: [idcard], [[card_readers]], [sms], [mobile], [elder]."""

from __future__ import annotations

import re

from hall.config import ConfigError
from hall.settings import REQUIRED, Setting

_s = Setting

CHANNELS = ("none", "http", "modem")
READER_KINDS = ("keyboard", "serial", "agent")

SETTINGS = (
    # [idcard] (刷身份证取号 at the kiosk)
    _s(
        "idcard",
        "daily_limit_per_service",
        1,
        "Numbers one person (by ID card) may take per service per day; 0 = no limit.",
    ),
    _s(
        "idcard",
        "priority_age",
        70,
        "A card showing at least this age gets a 绿色通道 ticket (reason 老年人); 0 = off.",
    ),
    _s("idcard", "card_seconds", 90, "A card read at a kiosk is valid this long for one number."),
    _s(
        "idcard",
        "agent_key",
        "",
        "Key the kiosk machines' reader agents send (python -m hall idcard-agent); "
        "empty = no agent accepted.",
    ),
    # [[card_readers]]
    _s("card_readers[]", "kiosk", REQUIRED, "Kiosk id (from [[kiosks]]) the reader sits at."),
    _s(
        "card_readers[]",
        "kind",
        "keyboard",
        "keyboard (types the number and Enter into the page), serial (a GA 467 module on "
        "the server's own port) or agent (a GA 467 module read by the kiosk machine's agent).",
    ),
    _s("card_readers[]", "port", "", "Serial port of a serial reader, e.g. /dev/ttyUSB0."),
    _s("card_readers[]", "baudrate", 115200, "Serial speed of the reader."),
    # [sms] (即将到号 messages)
    _s("sms", "channel", "none", "none, http (an SMS gateway) or modem (a GSM modem)."),
    _s("sms", "ahead", 3, "Send 即将到号 when this many people or fewer are ahead."),
    _s("sms", "signature", "【政务服务大厅】", "Signature put in front of every message."),
    _s(
        "sms",
        "text_ahead",
        "您的排队号{number}（{service}）前面还有{ahead}人，请回到大厅留意叫号。",
        "即将到号 text; placeholders {number} {service} {ahead}.",
    ),
    _s(
        "sms",
        "text_called",
        "请{number}号到{window}号窗口办理（{window_name}）。",
        "Called text; placeholders {number} {service} {window} {window_name}.",
    ),
    _s("sms", "text_code", "您的取号验证码是{code}，5分钟内有效。", "Verification code text."),
    _s(
        "sms",
        "http_url",
        "",
        "http: the gateway's URL (on the hall's network); may hold {msgid}.",
    ),
    _s(
        "sms",
        "http_body",
        '{"mobile": "{phone}", "content": "{text}"}',
        "http: POST body; {phone} {text} {sign} {msgid} are filled in (JSON-escaped when "
        "the content type is JSON, URL-encoded for a form). {msgid} is the message's own "
        "id (16 hex digits), the same on every attempt: put it where the gateway takes a "
        "client message id it deduplicates on (body, URL or a header), and a send "
        "interrupted by a crash is asked again; without it such a message is marked "
        "unknown for supervisors, never sent twice.",
    ),
    _s("sms", "http_content_type", "application/json", "http: Content-Type of the body."),
    _s(
        "sms",
        "http_headers",
        {},
        "http: extra headers (e.g. an API key); a value may hold {msgid}.",
    ),
    _s(
        "sms",
        "http_success",
        "",
        "http: text the answer must contain to count as sent; empty = any 2xx answer.",
    ),
    _s("sms", "http_timeout", 10.0, "http: seconds to wait for the gateway."),
    _s("sms", "modem_port", "", "modem: the GSM modem's serial port, e.g. /dev/ttyUSB1."),
    _s("sms", "modem_baudrate", 115200, "modem: serial speed."),
    _s("sms", "retry_seconds", 30, "First wait after a failed send; doubles up to 10 minutes."),
    _s(
        "sms",
        "poll_seconds",
        5.0,
        "The sender looks at queues and unsent messages at least this often.",
    ),
    # [mobile] (线上取号 at /m)
    _s("mobile", "enabled", True, "Citizens may take a number from their phone at /m."),
    _s(
        "mobile",
        "daily_cap_per_service",
        30,
        "Numbers taken from phones per service per day; 0 = no cap.",
    ),
    _s(
        "mobile",
        "arrival_required",
        False,
        "A phone ticket waits in place but is called only after it checks in at the door "
        "QR or the kiosk.",
    ),
    _s(
        "mobile",
        "verify_phone",
        True,
        "Ask for an SMS code before a phone ticket (only when [sms] channel is not none).",
    ),
    _s("mobile", "code_attempts", 5, "Wrong codes before a code is void."),
    # [elder] (长者模式 at the kiosk)
    _s("elder", "auto_age", 60, "A card showing at least this age opens elder mode; 0 = off."),
    _s("elder", "top_services", 4, "Services on elder mode's first screen (the most used)."),
    _s("elder", "speak", True, "Elder mode speaks its instructions and the result."),
)


def check_config(cfg) -> None:
    sms = cfg.sms
    if sms["channel"] not in CHANNELS:
        raise ConfigError(f"sms.channel: must be one of {', '.join(CHANNELS)}")
    if sms["channel"] == "http" and not re.match(r"https?://", sms["http_url"]):
        raise ConfigError("sms.http_url: an http:// or https:// URL is required")
    if sms["channel"] == "modem" and not sms["modem_port"]:
        raise ConfigError("sms.modem_port: required for the modem channel")
    for key in ("ahead", "retry_seconds"):
        if sms[key] < 0:
            raise ConfigError(f"sms.{key}: must not be negative")
    if sms["poll_seconds"] <= 0:
        raise ConfigError("sms.poll_seconds: must be positive")
    for key in ("daily_limit_per_service", "priority_age", "card_seconds"):
        if cfg.idcard[key] < 0:
            raise ConfigError(f"idcard.{key}: must not be negative")
    kiosks = {k["id"] for k in cfg.kiosks}
    seen = set()
    for i, r in enumerate(cfg.arrays.get("card_readers", [])):
        if r["kiosk"] not in kiosks:
            raise ConfigError(f"card_readers[{i}].kiosk: unknown kiosk {r['kiosk']!r}")
        if r["kiosk"] in seen:
            raise ConfigError(f"card_readers[{i}].kiosk: a second reader at {r['kiosk']!r}")
        seen.add(r["kiosk"])
        if r["kind"] not in READER_KINDS:
            raise ConfigError(f"card_readers[{i}].kind: must be one of {', '.join(READER_KINDS)}")
        if r["kind"] == "serial" and not r["port"]:
            raise ConfigError(f"card_readers[{i}].port: required for a serial reader")
    if cfg.elder["top_services"] < 1:
        raise ConfigError("elder.top_services: at least 1")
