"""The citizen face: citizens beyond the touchscreen.

    ID cards at the kiosk (刷身份证取号): GA 467 readers on a serial port (ga467.py,
        cardreader.py; the server's own port or a kiosk machine's agent) and keyboard-mode
        readers typing into the page; per-person daily limit, 绿色通道 by age (cards.py)
    即将到号 messages: channels none/http/modem (channels.py, pdu.py), the outbox and its
        sender thread (notify.py)
    /m: taking a number from a phone, door-QR and kiosk check-in (mobile.py, remote.py)
    长者模式 at the kiosk and 呼叫帮办 at the guide desk (elder.py, help.py)

See docs/citizen.md. Voice packs are the core's (hall/voicepack.py).
"""

from hall.face import Command, Face, IssueOption, PersonalData

from .schema import m100_citizen, m101_sms_msgid
from .settings import SETTINGS, check_config

FACE = Face(
    name="citizen",
    summary="ID-card ticketing, 即将到号 messages, phone ticketing, elder mode",
    blueprints=("citizen.api:bp", "citizen.pages:bp", "citizen.mobile:bp"),
    namespaces=(
        "citizen.namespaces:CitizenNamespace",
        "citizen.namespaces:HelpdeskNamespace",
    ),
    settings=SETTINGS,
    check_config=check_config,
    migrations=(m100_citizen, m101_sms_msgid),
    setup="citizen.state:setup",
    subscribers=("citizen.state:subscriber",),
    routes=("citizen.namespaces:routes",),
    issue_options=(
        IssueOption("phone", str, max_len=20, help="a mobile number for 即将到号 messages"),
    ),
    issue_hooks=("citizen.hooks:issue_hook",),
    provides={"page_addons": "citizen.addons:make"},
    commands=(
        Command(
            "idcard-agent",
            "read a GA 467 ID-card reader on this kiosk machine and report cards to the hall",
            "citizen.agent:configure",
            "citizen.agent:run",
        ),
    ),
    openapi="citizen.openapi:PART",
    # Erased once [privacy] retention_days have passed (python -m hall purge): the keyed
    # hash and masked form of ID numbers, and phone numbers. Figures never read them.
    personal_data=(
        PersonalData("citizen_ids", "id_key", "day", None, "身份证号（加密摘要）"),
        PersonalData("citizen_ids", "id_masked", "day", None, "身份证号（掩码）"),
        PersonalData("citizen_cards", "id_key", "created_at", None, "刷卡记录（加密摘要）"),
        PersonalData("citizen_cards", "id_masked", "created_at", None, "刷卡记录（掩码）"),
        PersonalData("sms_subscriptions", "phone", "day", None, "即将到号手机号"),
        PersonalData("sms_outbox", "phone", "day", None, "短信手机号"),
        PersonalData("sms_codes", "phone", "day", None, "验证码手机号"),
        PersonalData("remote_tickets", "phone", "day", None, "线上取号手机号"),
    ),
)
