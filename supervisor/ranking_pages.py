"""The 督查考评 ranking page: departments ranked on 好评率, 差评率, average wait and
service level, the best praised and the worst below goal told to improve."""

from __future__ import annotations

from flask import render_template, request

from hall import ranking as ranking_rules
from hall import stats
from hall.app import current_hall

from . import charts
from .figure_pages import minutes
from .pages import MANAGERS, bp, hall_today, page, page_range, range_ctx

# --- 督查考评 ranking: the rules are hall/ranking.py's (the county centre ranks by them too)
RANK_KEYS = ranking_rules.RANK_KEYS
_indicator = ranking_rules.indicator


def ranking_rows(figs: dict) -> list[dict]:
    return ranking_rules.rank_rows(figs["by_department"])


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
    rows.sort(key=ranking_rules.sort_key(sort, "department"))
    ranking_rules.mark(
        rows, hall.cfg.supervisor["service_level_goal"], hall.cfg.supervisor["good_rate_goal"]
    )
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
