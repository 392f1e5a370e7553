"""The display face's pages: the hall's big screens and the small screens above windows.

Pages are rendered on the server from the public snapshot (hall.snapshots.public_snapshot)
through the rules below (board, queue_rows, zone_windows, announcements: hall_view and
window_view). The /display Socket.IO namespace sends the same views (snapshot_for), so
display.js draws what it is given on every (re)connect and after every change, and speaks
each call exactly once.

    /display                      hall display (1920x1080)
    /display?services=BDC,SB      zone display: only those services' calls and queues
    /display?zone=<name>          a zone named in [display] zones
    /display?layout=calls|windows other layouts; ?group=department; ?voice=0
    /display/window/<n>           the screen above window n
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from hall.snapshots import public_snapshot, services_filter

from .settings import GROUPS, LAYOUTS

bp = Blueprint(
    "display",
    __name__,
    url_prefix="/display",
    template_folder="templates",
    static_folder="static",
)

WEEKDAYS = "一二三四五六日"
MAX_ARG = 200
FLAGS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


class BadOption(ValueError):
    """A query parameter a display page cannot use (400 with a Chinese explanation)."""


def _hall():
    from hall.app import current_hall

    return current_hall()


# --- what a screen shows: the rules, here only ------------------------------------------------
# The page is rendered from these, and the /display namespace sends their result (`view`)
# in every snapshot a display asks for: display.js draws what it is given, it has no copy.
VIEW_CALLS = 30  # calls read for a board: room for one line per ticket and window


def board(calls: list[dict]) -> list[dict]:
    """Calls newest first, one line per ticket and window: a recall moves it to the top."""
    seen: set = set()
    out = []
    for c in sorted(calls, key=lambda c: c["id"], reverse=True):
        key = (c["ticket_id"], c["window"])
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def queue_rows(snap: dict, services: list[str] | None, group: str) -> list[dict]:
    """Waiting counts per service (or summed per department), in the hall's order."""
    rows: list[dict] = []
    index: dict[str, dict] = {}
    for s in snap["services"]:
        if services and s["code"] not in services:
            continue
        label = s["department"] if group == "department" else s["name"]
        key = s["department"] if group == "department" else s["code"]
        if key not in index:
            index[key] = {"label": label, "waiting": 0}
            rows.append(index[key])
        index[key]["waiting"] += snap["queue"].get(s["code"], 0)
    return rows


def zone_windows(snap: dict, services: list[str] | None) -> list[dict]:
    if not services:
        return snap["windows"]
    wanted = set(services)
    return [w for w in snap["windows"] if wanted & set(w["services"] + w["secondary"])]


def announcements(calls: list[dict], at: str, replay_seconds: int) -> list[dict]:
    """The calls a screen speaks if it has not yet: oldest first, none older than
    replay_seconds (after a long outage the hall does not hear a string of stale calls)."""
    now = datetime.fromisoformat(at)
    fresh = [
        c
        for c in calls
        if c["at"] and (now - datetime.fromisoformat(c["at"])).total_seconds() <= replay_seconds
    ]
    return sorted(fresh, key=lambda c: c["id"])


def _size(n: int) -> str:
    return "many" if n > 8 else ("some" if n > 5 else "few")


def hall_view(hall, snap: dict, services: list[str] | None, group: str) -> dict:
    """What a hall display shows, ready to draw: the board (latest call and the recent
    ones), the waiting rows, the zone's windows, the notice; plus `announce`."""
    d = hall.cfg.display
    calls = board(snap["calls"])
    queue = queue_rows(snap, services, group)
    windows = zone_windows(snap, services)
    notice = snap["notice"] or ""
    return {
        "kind": "hall",
        "hall": snap["hall"],
        "latest": calls[0] if calls else None,
        "recent": calls[1 : d["recent_calls"] + 1],
        "queue": queue,
        "queue_size": _size(len(queue)),
        "windows": windows,
        "columns": 4 if len(windows) > 6 else 3,
        "notice": notice,
        "notice_seconds": max(20, len(notice) // 2 + 12),
        "announce": announcements(snap["calls"], snap["at"], d["replay_seconds"]),
    }


def window_view(hall, snap: dict, number: int) -> dict | None:
    """What the screen above window `number` shows (None: no such window)."""
    window = next((w for w in snap["windows"] if w["number"] == number), None)
    if window is None:
        return None
    names = {s["code"]: s["name"] for s in snap["services"]}
    calls = [c for c in snap["calls"] if c["window"] == number]
    return {
        "kind": "window",
        "window": window,
        "services_text": "办理业务："
        + " · ".join(names.get(code, code) for code in window["services"] + window["secondary"]),
        "announce": announcements(calls, snap["at"], hall.cfg.display["replay_seconds"]),
    }


def view_request(data) -> dict | None:
    """`{"view": {"kind": "hall", "group": "service"}}` or `{"view": {"kind": "window",
    "window": 3}}` from a display's auth or snapshot request, checked; None without one."""
    view = data.get("view") if isinstance(data, dict) else None
    if not isinstance(view, dict):
        return None
    if view.get("kind") == "window":
        number = view.get("window")
        if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 10000:
            return None
        return {"kind": "window", "window": number}
    group = view.get("group")
    return {"kind": "hall", "group": group if group in GROUPS else None}


def snapshot_for(hall, data) -> dict:
    """The /display snapshot for a connect or a request: public_snapshot, plus `view`
    when the display asked for one (the page's own rules applied on the server)."""
    services = services_filter(data)
    wanted = view_request(data)
    if wanted is None:
        return public_snapshot(hall, services)
    snap = public_snapshot(hall, services, limit=VIEW_CALLS)
    if wanted["kind"] == "window":
        snap["view"] = window_view(hall, snap, wanted["window"])
    else:
        group = wanted["group"] or hall.cfg.display["group_by"]
        snap["view"] = hall_view(hall, snap, services, group)
    return snap


def local_now(hall) -> datetime:
    return hall.clock.now().astimezone(hall.cfg.tz)


def date_text(now: datetime) -> str:
    return f"{now.year}年{now.month}月{now.day}日 星期{WEEKDAYS[now.weekday()]}"


def _page_data(hall, snap: dict) -> dict:
    """data-* attributes display.js reads."""
    return {
        "last-event-id": snap["last_event_id"],
        "highlight": hall.cfg.display["highlight_seconds"],
    }


# --- query parameters ---------------------------------------------------------------------
def _arg(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and len(value) > MAX_ARG:
        raise BadOption(f"参数{name}过长 ({name} is too long)")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = _arg(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in FLAGS:
        raise BadOption(f"参数{name}只能是0或1 ({name} must be 0 or 1)")
    return FLAGS[raw.lower()]


def _services_arg(hall) -> tuple[list[str] | None, str]:
    """(service codes or None for all, zone title) from ?zone= or ?services=."""
    known = {s["code"]: s for s in hall.cfg.services}
    by_lower = {c.lower(): c for c in known}
    zone = _arg("zone")
    raw = _arg("services")
    if zone:
        zones = hall.cfg.display["zones"]
        if zone not in zones:
            names = "、".join(zones) or "（未配置）"
            raise BadOption(f"没有名为“{zone}”的区域，可用：{names} (unknown zone)")
        if raw:
            raise BadOption("zone和services只能选一个 (use zone or services, not both)")
        return list(zones[zone]), zone
    if not raw:
        return None, ""
    codes: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        code = part if part in known else by_lower.get(part.lower())
        if code is None:
            raise BadOption(
                f"未知的业务代码“{part}”，可用：{'、'.join(known)} (unknown service code)"
            )
        if code not in codes:
            codes.append(code)
    if not codes:
        return None, ""
    return codes, "、".join(known[c]["name"] for c in codes)


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _arg(name) or default
    if value not in allowed:
        raise BadOption(
            f"参数{name}只能是{'、'.join(allowed)} ({name} must be one of {', '.join(allowed)})"
        )
    return value


def _bad(message: str, status: int = 400):
    hall = _hall()
    return (
        render_template("display/error.html", hall=hall.cfg.hall["name"], message=message),
        status,
    )


# --- pages ----------------------------------------------------------------------------------
@bp.get("")
@bp.get("/")
def hall_display():
    hall = _hall()
    d = hall.cfg.display
    try:
        services, zone = _services_arg(hall)
        layout = _choice("layout", d["layout"], LAYOUTS)
        group = _choice("group", d["group_by"], GROUPS)
        voice = _flag("voice", d["voice"])
    except BadOption as e:
        return _bad(str(e))
    snap = public_snapshot(hall, services, limit=VIEW_CALLS)
    now = local_now(hall)
    data = {
        **_page_data(hall, snap),
        "kind": "hall",
        "services": ",".join(services or []),
        "layout": layout,
        "group": group,
        "voice": int(voice),
    }
    return render_template(
        "display/hall.html",
        v=hall_view(hall, snap, services, group),
        zone=zone,
        layout=layout,
        group=group,
        date_text=date_text(now),
        time_text=now.strftime("%H:%M:%S"),
        data=data,
    )


@bp.get("/window/<int:number>")
def window_display(number: int):
    hall = _hall()
    try:
        voice = _flag("voice", False)
    except BadOption as e:
        return _bad(str(e))
    snap = public_snapshot(hall, limit=VIEW_CALLS)
    view = window_view(hall, snap, number)
    if view is None:
        return _bad(f"没有{number}号窗口 (no window {number})", 404)
    now = local_now(hall)
    data = {
        **_page_data(hall, snap),
        "kind": "window",
        "window": number,
        "voice": int(voice),
    }
    return render_template(
        "display/window.html",
        v=view,
        w=view["window"],
        time_text=now.strftime("%H:%M"),
        data=data,
    )
