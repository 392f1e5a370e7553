"""The display face's pages: the hall's big screens and the small screens above windows.

Pages are rendered on the server from the same public snapshot the /display Socket.IO
namespace sends (hall.snapshots.public_snapshot); display.js keeps them live, re-renders
from a fresh snapshot on every (re)connect and speaks each call exactly once.

    /display                      hall display (1920x1080)
    /display?services=BDC,SB      zone display: only those services' calls and queues
    /display?zone=<name>          a zone named in [display] zones
    /display?layout=calls|windows other layouts; ?group=department; ?voice=0
    /display/window/<n>           the screen above window n
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

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


# --- what a page shows (shared by both pages; display.js mirrors these rules) ---------------
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


def local_now(hall) -> datetime:
    return hall.clock.now().astimezone(hall.cfg.tz)


def date_text(now: datetime) -> str:
    return f"{now.year}年{now.month}月{now.day}日 星期{WEEKDAYS[now.weekday()]}"


def _page_data(hall, snap: dict) -> dict:
    """data-* attributes display.js reads."""
    d = hall.cfg.display
    return {
        "tz": hall.cfg.hall["timezone"],
        "now": snap["at"],
        "last-event-id": snap["last_event_id"],
        "highlight": d["highlight_seconds"],
        "replay": d["replay_seconds"],
        "recent": d["recent_calls"],
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
    from hall.snapshots import public_snapshot

    hall = _hall()
    d = hall.cfg.display
    try:
        services, zone = _services_arg(hall)
        layout = _choice("layout", d["layout"], LAYOUTS)
        group = _choice("group", d["group_by"], GROUPS)
        voice = _flag("voice", d["voice"])
    except BadOption as e:
        return _bad(str(e))
    snap = public_snapshot(hall, services)
    calls = board(snap["calls"])
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
        snap=snap,
        latest=calls[0] if calls else None,
        recent=calls[1 : d["recent_calls"] + 1],
        recent_slots=d["recent_calls"],
        queue=queue_rows(snap, services, group),
        windows=zone_windows(snap, services),
        service_names={s["code"]: s["name"] for s in snap["services"]},
        zone=zone,
        layout=layout,
        group=group,
        date_text=date_text(now),
        time_text=now.strftime("%H:%M:%S"),
        data=data,
    )


@bp.get("/window/<int:number>")
def window_display(number: int):
    from hall.snapshots import public_snapshot

    hall = _hall()
    try:
        voice = _flag("voice", False)
    except BadOption as e:
        return _bad(str(e))
    snap = public_snapshot(hall)
    window = next((w for w in snap["windows"] if w["number"] == number), None)
    if window is None:
        return _bad(f"没有{number}号窗口 (no window {number})", 404)
    names = {s["code"]: s["name"] for s in snap["services"]}
    now = local_now(hall)
    data = {
        **_page_data(hall, snap),
        "kind": "window",
        "window": number,
        "voice": int(voice),
    }
    return render_template(
        "display/window.html",
        snap=snap,
        w=window,
        service_names=names,
        date_text=date_text(now),
        time_text=now.strftime("%H:%M"),
        data=data,
    )
