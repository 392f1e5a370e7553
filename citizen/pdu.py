"""SMS-SUBMIT PDUs (3GPP TS 23.040) for Chinese text: UCS-2, split into concatenated
parts (8-bit reference UDH) when longer than one message holds. Used by the modem
channel (AT+CMGF=0, AT+CMGS); decode() reads them back (the fake modem in the tests)."""

from __future__ import annotations

import itertools

SINGLE = 70  # UCS-2 characters in one message
PART = 67  # ... in one part of a concatenated message (6 octets of UDH)
_refs = itertools.count(1)


def _semi_octets(digits: str) -> str:
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def address(phone: str) -> str:
    """TP-DA: a mainland mobile (11 digits) is sent in international form 86..."""
    digits = phone.lstrip("+")
    if len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    if not digits.isdigit():
        raise ValueError("phone number must be digits")
    return f"{len(digits):02X}91{_semi_octets(digits)}"


def _units(text: str) -> list[bytes]:
    """The text as UCS-2 code units, characters outside the BMP as surrogate pairs kept
    together (they are never split across parts)."""
    out = []
    for ch in text:
        out.append(ch.encode("utf-16-be"))
    return out


def encode(phone: str, text: str, ref: int | None = None) -> list[tuple[int, str]]:
    """[(TPDU length for AT+CMGS, hex PDU with a zero-length SMSC)] for one message."""
    units = _units(text)
    n = sum(len(u) // 2 for u in units)
    da = address(phone)
    if n <= SINGLE:
        ud = b"".join(units)
        tpdu = f"1100{da}0008AA{len(ud):02X}{ud.hex().upper()}"
        return [(len(tpdu) // 2, "00" + tpdu)]
    parts: list[bytes] = []
    cur, size = b"", 0
    for u in units:
        if size + len(u) // 2 > PART:
            parts.append(cur)
            cur, size = b"", 0
        cur += u
        size += len(u) // 2
    parts.append(cur)
    if len(parts) > 255:
        raise ValueError("message too long")
    ref = (next(_refs) if ref is None else ref) & 0xFF
    out = []
    for i, body in enumerate(parts, 1):
        udh = bytes([5, 0, 3, ref, len(parts), i])
        ud = udh + body
        tpdu = f"5100{da}0008AA{len(ud):02X}{ud.hex().upper()}"
        out.append((len(tpdu) // 2, "00" + tpdu))
    return out


def decode(pdu_hex: str) -> dict:
    """{phone, text, part, parts, ref} of an SMS-SUBMIT PDU made by encode()."""
    b = bytes.fromhex(pdu_hex)
    i = 1 + b[0]  # skip the SMSC
    first = b[i]
    i += 2  # first octet, TP-MR
    ndigits, i = b[i], i + 1
    i += 1  # type of address
    nbytes = (ndigits + 1) // 2
    semi = b[i : i + nbytes].hex().upper()
    digits = "".join(semi[k + 1] + semi[k] for k in range(0, len(semi), 2))[:ndigits]
    i += nbytes
    pid, dcs = b[i], b[i + 1]
    i += 2
    if first & 0x10:  # relative validity period
        i += 1
    udl, i = b[i], i + 1
    ud = b[i : i + udl]
    part = parts = 1
    ref = None
    if first & 0x40:
        hl = ud[0]
        ref, parts, part = ud[3], ud[4], ud[5]
        ud = ud[1 + hl :]
    if dcs != 0x08 or pid != 0:
        raise ValueError("not a UCS-2 message")
    return {
        "phone": digits,
        "text": ud.decode("utf-16-be"),
        "part": part,
        "parts": parts,
        "ref": ref,
    }
