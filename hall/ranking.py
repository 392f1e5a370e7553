"""督查考评 ranking: the one definition of how units (departments of a hall, sites of a
county, departments county-wide) are ranked from their figures (hall.stats).

Four indicators: 好评率 and 服务达标率 (higher is better), 差评率 and average wait (lower
is better). Each unit gets its rank on each indicator it has a value for (equal values,
equal rank); `overall` is the mean of its ranks. Ties of `overall` go to the better
好评率, then the shorter average wait.
"""

from __future__ import annotations

RANK_KEYS = {
    "good_rate": ("好评率", True),
    "bad_rate": ("差评率", False),
    "avg_wait_s": ("平均等候", False),
    "service_level": ("服务达标率", True),
}


def indicator(d: dict, key: str):
    if key in ("good_rate", "bad_rate"):
        return d["ratings"][key]
    return d[key]


def rank_rows(rows: list[dict]) -> list[dict]:
    """Copies of the figure rows with `ranks` {indicator: rank} and `overall`."""
    rows = [dict(d) for d in rows]
    for key, (_label, higher_better) in RANK_KEYS.items():
        present = [r for r in rows if indicator(r, key) is not None]
        present.sort(key=lambda r: indicator(r, key), reverse=higher_better)
        rank, prev = 0, object()
        for i, r in enumerate(present, 1):
            value = indicator(r, key)
            if value != prev:
                rank, prev = i, value
            r.setdefault("ranks", {})[key] = rank
    for r in rows:
        ranks = r.get("ranks", {})
        r.setdefault("ranks", {})
        r["overall"] = round(sum(ranks.values()) / len(ranks), 2) if ranks else None
    return rows


def sort_key(sort: str, name_key: str = "department"):
    """The order of a ranking table: overall (ties: 好评率, then wait, then name) or one
    indicator, best first; units without a value last."""
    if sort == "overall":
        return lambda r: (
            r["overall"] is None,
            r["overall"] or 0,
            -(r["ratings"]["good_rate"] or 0),
            r["avg_wait_s"] if r["avg_wait_s"] is not None else float("inf"),
            r[name_key],
        )
    higher = RANK_KEYS[sort][1]
    return lambda r: (
        indicator(r, sort) is None,
        -(indicator(r, sort) or 0) if higher else (indicator(r, sort) or 0),
    )


def mark(rows: list[dict], sl_goal: float, good_goal: float) -> None:
    """First place 通报表扬; the last, when below a goal, 限期整改 (rows sorted overall)."""
    ranked = [r for r in rows if r["overall"] is not None]
    for r in rows:
        r["praise"] = bool(ranked) and r is ranked[0] and len(ranked) > 1
        below = (r["service_level"] is not None and r["service_level"] < sl_goal) or (
            r["ratings"]["good_rate"] is not None and r["ratings"]["good_rate"] < good_goal
        )
        r["improve"] = bool(ranked) and r is ranked[-1] and len(ranked) > 1 and below
        r["below_goal"] = below
