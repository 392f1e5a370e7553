"""Server-rendered inline SVG charts (no chart library, nothing from outside the hall).

Each function returns Markup; every label is escaped. Charts scale to their container
(viewBox + width 100%) and use the page's CJK font.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

BLUE = "#0b4ea2"
LIGHT_BLUE = "#6f9fd8"
GREEN = "#2e7d32"
AMBER = "#e8a317"
RED = "#c62828"
GREY = "#9aa5b4"
GRID = "#e3e8ef"
INK = "#3b4656"
SCORE_COLORS = {5: "#2e7d32", 4: "#66a33a", 3: "#b8b02b", 2: "#e07b24", 1: "#c62828"}


def _e(text) -> str:
    return str(escape(text))


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def svg(width: int, height: int, body: str, label: str, cls: str = "chart") -> Markup:
    return Markup(
        f'<svg class="{cls}" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
        f"<title>{_e(label)}</title>{body}</svg>"
    )


def nice_scale(value: float, ticks: int = 4, integer: bool = False) -> tuple[float, float]:
    """(top, step): a round step (1, 2, 2.5, 5 x 10^n) and the top of the axis.

    integer: counts get whole-number steps (no 2.5, never below 1)."""
    if value <= 0:
        return (4.0, 1.0) if integer else (1.0, 0.25)
    raw = value / ticks
    exp = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * exp for m in steps if raw <= m * exp + 1e-9)
    if integer:
        step = max(1.0, round(step))
    return step * math.ceil(value / step - 1e-9), step


def fmt_duration(seconds) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        m, sec = divmod(s, 60)
        return f"{m}分{sec:02d}秒" if sec else f"{m}分"
    h, rest = divmod(s, 3600)
    return f"{h}时{rest // 60:02d}分"


def fmt_minutes(seconds) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f}分"


def fmt_pct(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


def bar_chart(
    labels: list[str],
    series: list[dict],
    *,
    width: int = 720,
    height: int = 280,
    y_fmt=lambda v: _f(v),
    value_fmt=None,
    target: float | None = None,
    target_label: str = "",
    label: str = "",
    over_color: str | None = None,
) -> Markup:
    """Vertical bars. series: [{name, values, color, kind: bar|dot}] (bars grouped).

    With `target`, a dashed line is drawn and bars above it take `over_color`.
    """
    left, right, top, bottom = 58, 16, 38, 30
    pw, ph = width - left - right, height - top - bottom
    values = [v for s in series for v in s["values"] if v is not None]
    if target is not None:
        values.append(target)
    integer = all(float(v).is_integer() for v in values)
    # a little headroom above the tallest bar for its value label
    vmax, step = nice_scale(max(values) * 1.08 if values else 0, integer=integer)
    n = max(len(labels), 1)
    slot = pw / n
    bars = [s for s in series if s.get("kind", "bar") == "bar"]
    dots = [s for s in series if s.get("kind") == "dot"]
    bw = min(slot * 0.72 / max(len(bars), 1), 46)
    out = []

    def y(v):
        return top + ph - (v / vmax) * ph

    for i in range(round(vmax / step) + 1):
        v = step * i
        yy = y(v)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(yy)}" y2="{_f(yy)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{_f(yy + 4)}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{_e(y_fmt(v))}</text>'
        )
    step = max(1, math.ceil(n / 16))
    for i, lab in enumerate(labels):
        cx = left + slot * (i + 0.5)
        if i % step == 0:
            out.append(
                f'<text x="{_f(cx)}" y="{height - bottom + 18}" text-anchor="middle" '
                f'font-size="12" fill="{INK}">{_e(lab)}</text>'
            )
        group_w = bw * len(bars)
        for j, s in enumerate(bars):
            v = s["values"][i]
            if v is None:
                continue
            x = cx - group_w / 2 + j * bw
            color = s.get("color", BLUE)
            if over_color and target is not None and v > target:
                color = over_color
            h = max(ph * v / vmax, 1 if v else 0)
            text = value_fmt(v) if value_fmt else ""
            out.append(
                f'<rect x="{_f(x + 1)}" y="{_f(top + ph - h)}" width="{_f(bw - 2)}" '
                f'height="{_f(h)}" rx="3" fill="{color}"><title>{_e(lab)} {_e(s["name"])}: '
                f"{_e(value_fmt(v) if value_fmt else _f(v))}</title></rect>"
            )
            if text and v and bw >= 18:
                out.append(
                    f'<text x="{_f(x + bw / 2)}" y="{_f(top + ph - h - 5)}" text-anchor="middle" '
                    f'font-size="11" fill="{INK}">{_e(text)}</text>'
                )
        for s in dots:
            v = s["values"][i]
            if v is None:
                continue
            out.append(
                f'<circle cx="{_f(cx)}" cy="{_f(y(v))}" r="5" fill="#fff" '
                f'stroke="{s.get("color", AMBER)}" stroke-width="3"><title>{_e(lab)} '
                f"{_e(s['name'])}: {_e(value_fmt(v) if value_fmt else _f(v))}</title></circle>"
            )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + ph}" y2="{top + ph}" '
        f'stroke="{GREY}" stroke-width="1.5"/>'
    )
    if target is not None:
        ty = y(target)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(ty)}" y2="{_f(ty)}" stroke="{RED}" '
            f'stroke-width="2" stroke-dasharray="6 4"/><text x="{width - right}" '
            f'y="{_f(ty - 6)}" text-anchor="end" font-size="12" fill="{RED}">'
            f"{_e(target_label)}</text>"
        )
    lx = left
    for s in series:
        kind = s.get("kind", "bar")
        color = s.get("color", BLUE if kind == "bar" else AMBER)
        mark = (
            f'<rect x="{lx}" y="8" width="14" height="12" rx="2" fill="{color}"/>'
            if kind == "bar"
            else f'<circle cx="{lx + 7}" cy="14" r="5" fill="#fff" stroke="{color}" '
            f'stroke-width="3"/>'
        )
        out.append(
            f'{mark}<text x="{lx + 20}" y="19" font-size="12" fill="{INK}">{_e(s["name"])}</text>'
        )
        lx += 30 + 13 * len(s["name"])
    if not values or max(values) == 0:
        out.append(
            f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" font-size="16" '
            f'fill="{GREY}">暂无数据</text>'
        )
    return svg(width, height, "".join(out), label)


def _mix(c1: str, c2: str, t: float) -> str:
    a = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c2[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def heatmap(
    rows: list[str],
    cols: list[str],
    values: list[list[int]],
    *,
    label: str = "",
    width: int = 720,
    marks: list[list[bool]] | None = None,
    unit: str = "张",
    per: str = "/时",
    left: int = 52,
) -> Markup:
    """A grid; darker = more. values[r][c]; marks[r][c] draws a red frame (e.g. more
    windows needed than configured)."""
    top, right, bottom = 26, 10, 30
    cw = (width - left - right) / max(len(cols), 1)
    ch = 34
    height = top + ch * len(rows) + bottom
    vmax = max((v for r in values for v in r), default=0) or 1
    out = []
    for c, lab in enumerate(cols):
        out.append(
            f'<text x="{_f(left + cw * (c + 0.5))}" y="{top - 8}" text-anchor="middle" '
            f'font-size="12" fill="{INK}">{_e(lab)}</text>'
        )
    for r, lab in enumerate(rows):
        yy = top + ch * r
        out.append(
            f'<text x="{left - 8}" y="{_f(yy + ch / 2 + 4)}" text-anchor="end" font-size="13" '
            f'fill="{INK}">{_e(lab)}</text>'
        )
        for c, v in enumerate(values[r]):
            t = v / vmax
            fill = "#f3f5f8" if not v else _mix("#dbe8f8", "#0b3f86", t**0.8)
            ink = "#ffffff" if t > 0.5 else INK
            x = left + cw * c
            marked = bool(marks and marks[r][c])
            frame = f' class="mark" stroke="{RED}" stroke-width="2.5"' if marked else ""
            out.append(
                f'<rect x="{_f(x + 1.5)}" y="{_f(yy + 1.5)}" width="{_f(cw - 3)}" '
                f'height="{ch - 3}" rx="4" fill="{fill}"{frame}>'
                f"<title>{_e(lab)} {_e(cols[c])}：{v}{_e(unit)}</title></rect>"
            )
            if v:
                out.append(
                    f'<text x="{_f(x + cw / 2)}" y="{_f(yy + ch / 2 + 4)}" text-anchor="middle" '
                    f'font-size="12" fill="{ink}">{v}</text>'
                )
    # legend
    ly = height - 12
    for i in range(6):
        t = i / 5
        out.append(
            f'<rect x="{left + i * 26}" y="{ly - 9}" width="24" height="10" rx="2" '
            f'fill="{_mix("#dbe8f8", "#0b3f86", t**0.8)}"/>'
        )
    out.append(
        f'<text x="{left + 6 * 26 + 6}" y="{ly}" font-size="11" fill="{INK}">'
        f"少 → 多（最多{vmax}{_e(unit)}{_e(per)}）</text>"
    )
    return svg(width, height, "".join(out), label)


def hbar_chart(
    items: list[dict],
    *,
    width: int = 520,
    row: int = 30,
    label: str = "",
    vmax=None,
    label_width: int = 120,
    text_width: int = 70,
) -> Markup:
    """Horizontal bars: items [{label, value, text, color}]."""
    left, right, top = label_width, text_width, 6
    height = top * 2 + row * max(len(items), 1)
    pw = width - left - right
    top_value = vmax if vmax is not None else max((i["value"] or 0 for i in items), default=0)
    top_value = top_value or 1
    out = []
    for k, it in enumerate(items):
        yy = top + row * k
        v = it["value"] or 0
        w = pw * v / top_value
        out.append(
            f'<text x="{left - 8}" y="{_f(yy + row / 2 + 4)}" text-anchor="end" font-size="13" '
            f'fill="{INK}">{_e(it["label"])}</text>'
            f'<rect x="{left}" y="{_f(yy + 5)}" width="{_f(pw)}" height="{row - 10}" rx="4" '
            f'fill="#f0f3f7"/>'
            f'<rect x="{left}" y="{_f(yy + 5)}" width="{_f(max(w, 0))}" height="{row - 10}" '
            f'rx="4" fill="{it.get("color", BLUE)}"/>'
            f'<text x="{_f(left + pw + 8)}" y="{_f(yy + row / 2 + 4)}" font-size="13" '
            f'fill="{INK}">{_e(it.get("text", _f(v)))}</text>'
        )
    if not items:
        out.append(
            f'<text x="{width / 2}" y="{height / 2 + 5}" text-anchor="middle" font-size="14" '
            f'fill="{GREY}">暂无数据</text>'
        )
    return svg(width, height, "".join(out), label)


def gauge(fraction, *, text: str, sub: str = "", color: str = BLUE, label: str = "") -> Markup:
    """A ring showing a share (0..1); None draws an empty grey ring."""
    size, r, sw = 140, 54, 14
    c = 2 * math.pi * r
    frac = max(0.0, min(1.0, fraction)) if fraction is not None else 0.0
    out = [
        f'<circle cx="70" cy="70" r="{r}" fill="none" stroke="#e9edf3" stroke-width="{sw}"/>',
        f'<circle cx="70" cy="70" r="{r}" fill="none" stroke="{color}" stroke-width="{sw}" '
        f'stroke-linecap="round" stroke-dasharray="{_f(c * frac)} {_f(c)}" '
        f'transform="rotate(-90 70 70)"/>'
        if frac > 0
        else "",
        f'<text x="70" y="{76 if not sub else 72}" text-anchor="middle" font-size="24" '
        f'font-weight="bold" fill="{INK}">{_e(text)}</text>',
    ]
    if sub:
        out.append(
            f'<text x="70" y="94" text-anchor="middle" font-size="12" fill="{GREY}">{_e(sub)}</text>'
        )
    return svg(size, size, "".join(out), label, cls="gauge")
