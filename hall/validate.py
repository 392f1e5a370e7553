"""Request validation: every field checked for presence, type and size before use."""

from __future__ import annotations

from datetime import date

from flask import request

from .errors import Invalid

_MISSING = object()
# The days a hall can have data for. Outside them the date arithmetic of a range (a
# day's UTC bounds, the day after the last) overflows Python's datetime: 400, not 500.
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2999, 12, 31)


def json_body() -> dict:
    """The request's JSON object; 400 for broken JSON or anything but an object."""
    if not request.data:
        return {}
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise Invalid("请求体不是有效的JSON (body is not valid JSON)")
    if not isinstance(data, dict):
        raise Invalid("请求体须为JSON对象 (body must be a JSON object)")
    return data


def is_kind(value, kind) -> bool:
    """isinstance for JSON values: a bool is not a number; an int is a float."""
    if kind in (int, float) and isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def field(data: dict, name: str, kind, *, required: bool = False, default=None, max_len=None):
    value = data.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise Invalid(f"缺少字段{name} (missing field {name!r})")
        return default
    if not is_kind(value, kind):
        raise Invalid(f"字段{name}类型错误，应为{kind.__name__} ({name!r} must be {kind.__name__})")
    if max_len is not None and isinstance(value, (str, list)) and len(value) > max_len:
        raise Invalid(f"字段{name}过长，最多{max_len} ({name!r} longer than {max_len})")
    return value


def string_list(data: dict, name: str, *, max_items: int = 20, max_len: int = 100) -> list[str]:
    items = field(data, name, list, default=[], max_len=max_items)
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > max_len:
            raise Invalid(f"字段{name}须为字符串列表 ({name!r} must be a list of short strings)")
    return [i.strip() for i in items]


def parse_day(text: str) -> date:
    """A YYYY-MM-DD day between MIN_DAY and MAX_DAY; ValueError otherwise."""
    day = date.fromisoformat(text)
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValueError(f"{text} is outside {MIN_DAY}..{MAX_DAY}")
    return day


def date_arg(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse_day(raw)
    except ValueError:
        raise Invalid(
            f"参数{name}须为{MIN_DAY.year}-{MAX_DAY.year}年间的日期YYYY-MM-DD "
            f"({name!r} must be a date YYYY-MM-DD, {MIN_DAY.year}-{MAX_DAY.year})"
        ) from None
