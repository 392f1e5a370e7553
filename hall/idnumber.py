"""Resident ID numbers (居民身份证号码, GB 11643-1999): check, mask, key.

The full number is never kept, shown, printed, logged or broadcast. What the hall keeps
is a keyed hash (HMAC-SHA256 with a key derived from the server's secret key: the same
person gives the same key on every kiosk, and a stolen database cannot be turned back
into numbers by trying the 10^9 plausible ones without the secret) and the masked form
3408**********1234. Faces that read a card (the citizen face) or take a number at
booking (appointments) use these functions so the rules are the same everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")  # ASCII only (\d matches ０-９)
INVALID = "身份证号码无效，请核对后重试 (not a valid resident ID number)"


def normalize(raw) -> str:
    """What a keyboard-mode reader or a person types: spaces, a lower-case x."""
    if not isinstance(raw, str):
        return ""
    return raw.strip().replace(" ", "").upper()[:32]


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def valid(number: str) -> bool:
    """18 characters, the GB 11643 check digit right, a real birth date."""
    if not SHAPE.fullmatch(number or ""):
        return False
    if check_digit(number[:17]) != number[17]:
        return False
    born = birth_date(number)
    return born is not None and date(1890, 1, 1) <= born <= date(2200, 1, 1)


def mask(number: str) -> str:
    """3408**********1234: the first four (province and city) and the last four."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def age_on(number: str, day: date) -> int | None:
    born = birth_date(number)
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def key_of(secret: str | bytes, number: str) -> str:
    """The keyed hash the hall keeps for a number (hex, 64 characters)."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    # A key of its own, derived from the server secret: a hash of the number is never
    # the same thing as any other keyed value the hall makes with that secret.
    derived = hmac.new(secret, b"hall resident id v1", hashlib.sha256).digest()
    return hmac.new(derived, number.encode("ascii"), hashlib.sha256).hexdigest()


def make(seventeen: str) -> str:
    """The full number for 17 digits (tests and demo data make valid numbers with it)."""
    return seventeen + check_digit(seventeen)
