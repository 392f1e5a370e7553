"""The ID-card security module protocol (GA 467, 居民身份证验证安全控制模块接口).

A serial or USB-serial reader (115200 8N1) answers frames of the form

    AA AA AA 96 69 | LEN (2 bytes, big-endian) | payload | CHK

where LEN counts the payload and the check byte, and CHK is the XOR of the LEN bytes
and the payload. A command's payload is CMD PARA [data]; an answer's is SW1 SW2 SW3
[data], SW3 0x90 (or 0x9F for "card found") meaning success.

    find card         20 01   -> 00 00 9F found, 00 00 80 none
    select card       20 02   -> 00 00 90 selected, 00 00 81 failed
    read basic info   30 01   -> 00 00 90, text length (2), photo length (2), text, photo

The text (256 bytes) is UCS-2 little-endian in fixed fields: name 15 characters, sex 1,
ethnicity 2, birth date 8 (YYYYMMDD), address 35, ID number 18, issuing authority 15,
validity start 8, validity end 8, reserved 18. The photo (WLT) is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
FIND = (0x20, 0x01)
SELECT = (0x20, 0x02)
READ_BASIC = (0x30, 0x01)
SW_OK = 0x90
SW_FOUND = 0x9F
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81
TEXT_LENGTH = 256
PHOTO_LENGTH = 1024

#: (field, characters) in the order of the text block.
FIELDS = (
    ("name", 15),
    ("sex", 1),
    ("ethnicity", 2),
    ("birth", 8),
    ("address", 35),
    ("number", 18),
    ("authority", 15),
    ("valid_from", 8),
    ("valid_to", 8),
    ("reserved", 18),
)


class ProtocolError(ValueError):
    pass


def checksum(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def frame(payload: bytes) -> bytes:
    """A frame around a payload (a command's CMD PARA data, or an answer's SW... data)."""
    body = len(payload) + 1
    head = bytes([body >> 8, body & 0xFF])
    return PREAMBLE + head + payload + bytes([checksum(head + payload)])


def command(cmd: tuple[int, int], data: bytes = b"") -> bytes:
    return frame(bytes(cmd) + data)


def answer(sw3: int, data: bytes = b"") -> bytes:
    return frame(bytes([0x00, 0x00, sw3]) + data)


def read_frame(read) -> bytes:
    """The payload of the next frame from read(n) -> bytes (a serial port's read).
    Bytes before the preamble are skipped; a short read (timeout) raises TimeoutError."""

    def exactly(n: int) -> bytes:
        data = read(n)
        if len(data) != n:
            raise TimeoutError("the reader did not answer in time")
        return data

    window = b""
    skipped = 0
    while window != PREAMBLE:
        window = (window + exactly(1))[-len(PREAMBLE) :]
        skipped += 1
        if skipped > 4096:
            raise ProtocolError("no frame start in 4 KB")
    head = exactly(2)
    length = (head[0] << 8) | head[1]
    if length < 1:
        raise ProtocolError("empty frame")
    rest = exactly(length)
    payload, chk = rest[:-1], rest[-1]
    if checksum(head + payload) != chk:
        raise ProtocolError("checksum mismatch")
    return payload


@dataclass(frozen=True)
class CardText:
    """The text of a card. `number` is the full ID number: hand it to
    hall.idnumber.key_of / mask at once and drop it; never log or store this object."""

    name: str
    sex: str
    ethnicity: str
    birth: str
    address: str
    number: str
    authority: str
    valid_from: str
    valid_to: str

    def __repr__(self) -> str:  # a stray log line must not carry the number
        return "CardText(<personal data>)"


def parse_text(text: bytes) -> CardText:
    if len(text) < TEXT_LENGTH:
        raise ProtocolError(f"card text is {len(text)} bytes, expected {TEXT_LENGTH}")
    values = {}
    pos = 0
    for name, chars in FIELDS:
        raw = text[pos : pos + 2 * chars]
        pos += 2 * chars
        values[name] = raw.decode("utf-16-le", errors="replace").rstrip(" \x00")
    values.pop("reserved")
    return CardText(**values)


def build_text(**values: str) -> bytes:
    """The 256-byte text block of a card (the fake module in the tests makes cards)."""
    out = b""
    for name, chars in FIELDS:
        value = values.get(name, "")[:chars].ljust(chars)
        out += value.encode("utf-16-le")
    return out


def parse_basic(payload: bytes) -> CardText:
    """The answer payload of `read basic info` (status checked by the caller)."""
    data = payload[3:]
    if len(data) < 4:
        raise ProtocolError("short basic-info answer")
    text_len = (data[0] << 8) | data[1]
    return parse_text(data[4 : 4 + text_len])
