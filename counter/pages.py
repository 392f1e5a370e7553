"""Pages of the counter face, rendered on the server; static JS keeps them live."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from hall.app import current_hall
from hall.interfaces import PRINTERS

from . import pad, pairing
from .state import signed_in_window, user_info, window_state, windows_for

bp = Blueprint(
    "counter",
    __name__,
    url_prefix="/counter",
    template_folder="templates",
    static_folder="static",
)


# One source for the keyboard map: the page shows it, counter.js reads it from data-keys.
# (action, label, keys). Numpad digit N mirrors FN, for the small keypads many halls use.
SHORTCUTS = [
    ("call", "叫号", ["F1", "Enter", "Numpad1", "NumpadEnter"]),
    ("recall", "重呼", ["F2", "Numpad2"]),
    ("noshow", "过号", ["F3", "Numpad3"]),
    ("finish", "办结", ["F4", "Numpad4"]),
    ("transfer", "转办", ["F5", "Numpad5"]),
    ("pause", "暂停/恢复", ["F6", "Numpad6"]),
    ("start", "开始办理", ["F7", "Numpad7"]),
    ("close", "签退", ["F8", "Numpad8"]),
    ("park", "挂起", ["F9", "Numpad9"]),
    ("choose", "选号", ["F10", "Numpad0"]),
]
KEY_LABELS = {
    "Enter": "回车",
    "NumpadEnter": "小键盘回车",
    **{f"Numpad{i}": f"小键盘{i}" for i in range(10)},
}


def _session():
    hall = current_hall()
    cur = hall.auth.current()
    if cur is None:
        return hall, None, None
    user = user_info(hall.store.db(), cur[0]["username"])
    return hall, user, cur[1]["csrf_token"]


def _shortcuts():
    return [
        {
            "action": action,
            "label": label,
            "keys": keys,
            "shown": [KEY_LABELS.get(k, k) for k in keys],
        }
        for action, label, keys in SHORTCUTS
    ]


@bp.get("", strict_slashes=False)
def clerk():
    hall, user, csrf = _session()
    common = {"hall_name": hall.cfg.hall["name"], "user": user, "csrf": csrf}
    if user is None:
        return render_template("counter/login.html", title="窗口叫号", **common)
    db = hall.store.db()
    actor = hall.auth.actor()
    number = signed_in_window(db, actor.username)
    if number is None:
        return render_template(
            "counter/choose.html",
            title="窗口叫号",
            windows=windows_for(hall, db, actor),
            **common,
        )
    state = window_state(hall, db, number, actor)
    read = hall.engine.read
    return render_template(
        "counter/console.html",
        title=f"{state['name']} · 窗口叫号",
        w=state,
        shortcuts=_shortcuts(),
        pause_reasons=hall.cfg.counter["pause_reasons"],
        call_reasons=hall.cfg.counter["call_reasons"],
        park_reasons=hall.cfg.counter["park_reasons"],
        other_windows=[
            {"number": x["number"], "name": x["name"], "state": x["state"]}
            for x in read.windows(db)
            if x["number"] != number
        ],
        services=[{"code": s["code"], "name": s["name"]} for s in read.services(db)],
        **common,
    )


def _printers(hall) -> list[dict]:
    """Printers the guide desk may print on (the "printers" interface, when a face
    provides it): "default" is the [printer] section, the others are kiosks."""
    printers = hall.faces.interface(PRINTERS) or {}
    return [
        {"id": name, "name": printers.label(name), "kiosk": hall.cfg.kiosk(name) is not None}
        for name in printers
    ]


@bp.get("/guide")
def guide():
    hall, user, csrf = _session()
    common = {"hall_name": hall.cfg.hall["name"], "user": user, "csrf": csrf}
    if user is None:
        return render_template("counter/login.html", title="导办台", **common)
    db = hall.store.db()
    read = hall.engine.read
    counts = read.waiting_counts(db)
    no_shows = list(
        db.query(
            "SELECT * FROM tickets WHERE day = ? AND status = 'no_show' ORDER BY finished_at DESC "
            "LIMIT 30",
            [read.today()],
        )
    )
    return render_template(
        "counter/guide.html",
        title="导办台",
        services=[read.service_json(db, s, counts) for s in read.services(db)],
        priority_reasons=hall.cfg.counter["priority_reasons"],
        requeue_limit=hall.cfg.queue["requeue_limit"],
        printers=_printers(hall),
        no_shows=[
            {
                "id": t["id"],
                "number": t["number"],
                "service_name": (read.service(db, t["service"]) or {}).get("name", t["service"]),
                "requeue_left": max(0, hall.cfg.queue["requeue_limit"] - t["requeues"]),
            }
            for t in no_shows
        ],
        **common,
    )


@bp.get("/pad/<int:number>")
def pad_page(number: int):
    hall = current_hall()
    if not 0 < number < 100_000:
        abort(404)
    state = pad.pad_state(hall, number)
    if state is None:
        abort(404)
    device = pairing.device_of(hall)
    if device is None or device["window"] != number:
        # Not (or not here) a paired pad: the pairing form (counter/pads_pages.py).
        from .pads_pages import pair_form

        return pair_form(hall, state, device)
    pairing.seen(hall, device)
    pad.sweep(hall)
    state = pad.pad_state(hall, number)
    return render_template(
        "counter/pad.html",
        title=f"{state['window_name']} · 服务评价",
        hall_name=hall.cfg.hall["name"],
        s=state,
        scores=[{"score": k, "label": v, "bad": k in pad.BAD} for k, v in pad.SCORES.items()],
    )
