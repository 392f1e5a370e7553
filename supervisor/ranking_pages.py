"""The 督查考评 ranking page: departments ranked on 好评率, 差评率, average wait and
service level, the best praised and the worst below goal told to improve."""

from __future__ import annotations

from flask import render_template, request

from hall import stats
from hall.app import current_hall

from . import charts
from .figure_pages import minutes
from .pages import MANAGERS, bp, hall_today, page, page_range, range_ctx

# --- 督查考评 ranking -----------------------------------------------------------------
RANK_KEYS = {
    "good_rate": ("好评率", True),
    "bad_rate": ("差评率", False),
    "avg_wait_s": ("平均等候", False),
    "service_level": ("服务达标率", True),
}


def _indicator(d: dict, key: str):
    if key in ("good_rate", "bad_rate"):
        return d["ratings"][key]
    return d[key]


def ranking_rows(figs: dict) -> list[dict]:
    rows = [dict(d) for d in figs["by_department"]]
    for key, (_label, higher_better) in RANK_KEYS.items():
        present = [r for r in rows if _indicator(r, key) is not None]
        present.sort(key=lambda r: _indicator(r, key), reverse=higher_better)
        rank, prev = 0, object()
        for i, r in enumerate(present, 1):
            value = _indicator(r, key)
            if value != prev:
                rank, prev = i, value
            r.setdefault("ranks", {})[key] = rank
    for r in rows:
        ranks = r.get("ranks", {})
        r.setdefault("ranks", {})
        r["overall"] = round(sum(ranks.values()) / len(ranks), 2) if ranks else None
    return rows


@bp.get("/ranking")
@page(*MANAGERS)
def ranking():
    hall = current_hall()
    today = hall_today()
    if request.args.get("from") or request.args.get("to"):
        start, end, error = page_range()
    else:
        start, end, error = today.replace(day=1), today, ""
    sort = request.args.get("sort", "overall")
    if sort not in RANK_KEYS and sort != "overall":
        sort = "overall"
    figs = stats.compute(hall, start, end)
    rows = ranking_rows(figs)
    if sort == "overall":
        # ties: the better 好评率, then the shorter average wait
        rows.sort(
            key=lambda r: (
                r["overall"] is None,
                r["overall"] or 0,
                -(r["ratings"]["good_rate"] or 0),
                r["avg_wait_s"] if r["avg_wait_s"] is not None else float("inf"),
                r["department"],
            )
        )
    else:
        higher = RANK_KEYS[sort][1]
        rows.sort(
            key=lambda r: (
                _indicator(r, sort) is None,
                -(_indicator(r, sort) or 0) if higher else (_indicator(r, sort) or 0),
            )
        )
    ranked = [r for r in rows if r["overall"] is not None]
    sl_goal = hall.cfg.supervisor["service_level_goal"]
    good_goal = hall.cfg.supervisor["good_rate_goal"]
    for r in rows:
        r["praise"] = bool(ranked) and r is ranked[0] and len(ranked) > 1
        below = (r["service_level"] is not None and r["service_level"] < sl_goal) or (
            r["ratings"]["good_rate"] is not None and r["ratings"]["good_rate"] < good_goal
        )
        r["improve"] = bool(ranked) and r is ranked[-1] and len(ranked) > 1 and below
        r["below_goal"] = below
    with_data = [r for r in rows if r["tickets"] or r["ratings"]["count"]]
    bars = {}
    for key, (label, higher) in RANK_KEYS.items():
        items = [r for r in with_data if _indicator(r, key) is not None]
        items.sort(key=lambda r: _indicator(r, key), reverse=higher)
        is_rate = key != "avg_wait_s"
        bars[key] = charts.hbar_chart(
            [
                {
                    "label": _short(r["department"]),
                    "value": (_indicator(r, key) * 100) if is_rate else minutes(_indicator(r, key)),
                    "text": charts.fmt_pct(_indicator(r, key))
                    if is_rate
                    else charts.fmt_duration(_indicator(r, key)),
                    "color": _rank_color(key, _indicator(r, key), hall),
                }
                for r in items
            ],
            vmax=100 if is_rate else None,
            label=label,
            width=460,
            label_width=150,
        )
    return render_template(
        "supervisor/ranking.html",
        f=figs,
        rows=rows,
        bars=bars,
        sort=sort,
        rank_keys=RANK_KEYS,
        **range_ctx(start, end, error),
    )


def _short(name: str, n: int = 10) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _rank_color(key, value, hall):
    goals = hall.cfg.supervisor
    if key == "good_rate":
        return charts.GREEN if value >= goals["good_rate_goal"] else charts.RED
    if key == "service_level":
        return charts.BLUE if value >= goals["service_level_goal"] else charts.RED
    if key == "bad_rate":
        return charts.RED if value > 1 - goals["good_rate_goal"] else charts.AMBER
    return charts.LIGHT_BLUE
