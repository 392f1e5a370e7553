"""Request validation: every field checked for presence, type and size before use.

One set of validators for every endpoint of every face. Body fields: field (a JSON value
of a kind), text (a stripped string), number (within bounds), string_list,
unknown_fields. Query parameters: date_arg, int_arg, flag_arg, choice_arg, text_arg.

Every string a body gives is refused when it holds a control character (C0 but tab and
newline, DEL, C1): nothing stored carries one. An explicit null is refused unless the
field says nullable. `label` names the field in Chinese in the messages (the admin
pages show them); without it the messages say 字段<name>.
"""

from __future__ import annotations

import re
from datetime import date

from flask import request

from .errors import Invalid

MISSING = object()  # default=MISSING: an absent field comes back as MISSING
_MISSING = MISSING
# C0 control characters but \t and \n, DEL, C1 (hall.apispec NO_CONTROL says the same).
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
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


def _name(name: str, label: str | None) -> str:
    return label or f"字段{name}"


def check_text(value: str, name: str, label: str | None = None) -> str:
    """value, or 400 when it holds a control character."""
    if CONTROL_RE.search(value):
        raise Invalid(f"{_name(name, label)}含有控制字符 ({name!r} contains control characters)")
    return value


def field(
    data: dict,
    name: str,
    kind,
    *,
    required: bool = False,
    default=None,
    max_len=None,
    label: str | None = None,
    nullable: bool = False,
):
    """data[name] if it is a `kind` (a string: without control characters, at most
    max_len long; a list: at most max_len items); default when absent (or null, for a
    nullable field); 400 otherwise."""
    value = data.get(name, _MISSING)
    if value is None and not nullable:
        raise Invalid(f"{_name(name, label)}不能为空值null ({name!r} must not be null)")
    if value is _MISSING or value is None:
        if required:
            if label:
                raise Invalid(f"请填写{label} (missing field {name!r})")
            raise Invalid(f"缺少字段{name} (missing field {name!r})")
        return default
    if not is_kind(value, kind):
        if label:
            raise Invalid(f"{label}类型错误 ({name!r} must be {kind.__name__})")
        raise Invalid(f"字段{name}类型错误，应为{kind.__name__} ({name!r} must be {kind.__name__})")
    if isinstance(value, str):
        check_text(value, name, label)
    if max_len is not None and isinstance(value, (str, list)) and len(value) > max_len:
        if label:
            raise Invalid(f"{label}最多{max_len}字 ({name!r} longer than {max_len})")
        raise Invalid(f"字段{name}过长，最多{max_len} ({name!r} longer than {max_len})")
    return value


def text(
    data: dict,
    name: str,
    label: str | None = None,
    *,
    required: bool = False,
    max_len: int = 50,
    blank_ok: bool = False,
    default=MISSING,
):
    """A string field, stripped: not blank (unless blank_ok), at most max_len long."""
    value = field(data, name, str, required=required, default=_MISSING, label=label)
    if value is _MISSING:
        return default
    value = value.strip()
    if not value and not blank_ok:
        raise Invalid(f"{_name(name, label)}不能为空 ({name!r} is empty)")
    if len(value) > max_len:
        raise Invalid(f"{_name(name, label)}最多{max_len}字 ({name!r} longer than {max_len})")
    return value


def number(
    data: dict, name: str, label: str | None, kind, lo, hi, *, required=False, default=MISSING
):
    """An int (or float) field between lo and hi."""
    value = field(data, name, kind, required=required, default=_MISSING, label=label)
    if value is _MISSING:
        return default
    if not lo <= value <= hi:
        raise Invalid(f"{_name(name, label)}须在{lo}到{hi}之间 ({name!r} must be {lo}..{hi})")
    return value


def string_list(
    data: dict,
    name: str,
    *,
    max_items: int = 20,
    max_len: int = 100,
    label: str | None = None,
    unique: bool = False,
    default=(),
) -> list[str]:
    """A list of short, not blank strings (stripped; unique: without repeats)."""
    items = field(data, name, list, default=_MISSING, label=label)
    if items is _MISSING:
        return list(default) if default is not MISSING else MISSING
    if len(items) > max_items:
        if label:
            raise Invalid(f"{label}最多{max_items}项 ({name!r}: at most {max_items} items)")
        raise Invalid(f"字段{name}过长，最多{max_items} ({name!r} longer than {max_items})")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > max_len:
            if label:
                raise Invalid(f"{label}须为文字列表 ({name!r} must be a list of short strings)")
            raise Invalid(f"字段{name}须为字符串列表 ({name!r} must be a list of short strings)")
        check_text(item, name, label)
        if not unique or item.strip() not in out:
            out.append(item.strip())
    return out


def unknown_fields(data: dict, allowed) -> None:
    """400 when data has a field not in allowed."""
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise Invalid(f"未知字段{', '.join(extra)} (unknown fields {extra})")


# --- query parameters -----------------------------------------------------------------
def parse_day(text: str) -> date:
    """A YYYY-MM-DD day between MIN_DAY and MAX_DAY; ValueError otherwise."""
    day = date.fromisoformat(text)
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValueError(f"{text} is outside {MIN_DAY}..{MAX_DAY}")
    return day


def date_arg(name: str, default: date | None) -> date | None:
    """?name=YYYY-MM-DD; default when absent; 400 when empty or not such a day."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return parse_day(raw)
    except ValueError:
        raise Invalid(
            f"参数{name}须为{MIN_DAY.year}-{MAX_DAY.year}年间的日期YYYY-MM-DD "
            f"({name!r} must be a date YYYY-MM-DD, {MIN_DAY.year}-{MAX_DAY.year})"
        ) from None


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """?name=<integer lo..hi>; default when absent; 400 otherwise (also when empty)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise Invalid(f"参数{name}须为整数 ({name!r} must be an integer)")
    value = int(raw)
    if not lo <= value <= hi:
        raise Invalid(f"参数{name}须在{lo}到{hi}之间 ({name!r} must be {lo}..{hi})")
    return value


FLAGS = {"0": False, "false": False, "1": True, "true": True}


def flag_arg(name: str) -> bool:
    """?name=0|1|true|false; False when absent; 400 otherwise (also when empty)."""
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw not in FLAGS:
        raise Invalid(f"参数{name}须为0或1 ({name!r} must be 0 or 1)")
    return FLAGS[raw]


def choice_arg(name: str, choices) -> str | None:
    """?name=<one of choices>; None when absent; 400 otherwise (also when empty)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise Invalid(
            f"参数{name}须为{'/'.join(choices)}之一 ({name!r} must be one of {', '.join(choices)})"
        )
    return raw


def text_arg(name: str, max_len: int) -> str | None:
    """?name=<text>, stripped; None when absent or blank; 400 when over max_len."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if len(raw) > max_len:
        raise Invalid(f"参数{name}过长，最多{max_len} ({name!r} longer than {max_len})")
    return raw.strip() or None
