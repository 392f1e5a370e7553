"""Send a ticket to an (already built) python-escpos printer.

Layout code takes a printer and never builds one: pass
``escpos.printer.Dummy()`` to capture the bytes.
"""

from __future__ import annotations

import copy
import unicodedata

from escpos.constants import QR_ECLEVEL_M

from .render import clean_text, render_ticket, wrap_text
from .slip import QR_CAPTION, TicketSlip

ESC_INIT = b"\x1b\x40"  # ESC @  initialise printer
FS_CHINESE_ON = b"\x1c\x26"  # FS &   select Chinese (double-byte) character mode
FS_CHINESE_OFF = b"\x1c\x2e"  # FS .   cancel Chinese character mode
ESC_ALIGN_CENTER = b"\x1ba\x01"
ESC_ALIGN_LEFT = b"\x1ba\x00"
ESC_BOLD_ON = b"\x1bE\x01"
ESC_BOLD_OFF = b"\x1bE\x00"
GS_SIZE_NORMAL = b"\x1d!\x00"
GS_SIZE_DOUBLE = b"\x1d!\x11"  # double width + double height (ASCII and Hanzi)
LF = b"\n"

MODES = ("image", "text")


def _ensure_media_width(printer, width_dots: int) -> None:
    """Make the printer's profile know its paper width.

    python-escpos 3.1 ``image()`` prints a warning to *stdout* on every call
    when the profile's ``media.width.pixels`` is "Unknown" (the default
    profile), and raises ImageWidthError when the image is wider than a known
    width. Fill the width in on this printer's own profile instance only
    (``profile_data`` is otherwise a class attribute shared by every printer).
    """
    profile = getattr(printer, "profile", None)
    data = getattr(profile, "profile_data", None)
    if not isinstance(data, dict):
        return
    try:
        known = data["media"]["width"]["pixels"]
    except (KeyError, TypeError):
        known = "Unknown"
    if isinstance(known, int):
        if width_dots > known:
            raise ValueError(
                f"ticket is {width_dots} dots wide but the printer profile allows {known}"
            )
        return
    patched = copy.deepcopy(data)
    patched.setdefault("media", {}).setdefault("width", {})["pixels"] = width_dots
    profile.profile_data = patched


def columns_for(width_dots: int) -> int:
    """Characters per line in the printer's 12x24 font A (Hanzi count 2)."""
    return max(16, int(width_dots) // 12)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _gb(text: str) -> bytes:
    return text.encode("gb18030", errors="replace")


def _text_lines(printer, text: str, cols: int) -> None:
    text = clean_text(text)
    if not text:
        return
    for line in wrap_text(text, lambda s: _display_width(s) <= cols):
        printer._raw(_gb(line) + LF)


def print_slip(
    printer,
    slip: TicketSlip,
    mode: str = "image",
    width_dots: int = 576,
    font_path: str | None = None,
) -> None:
    """Write one ticket to ``printer`` (any python-escpos printer) and cut.

    ``mode="image"``: the whole ticket rendered by :func:`render_ticket` and sent
    with ``printer.image(img)`` (GS v 0 raster, python-escpos default), works on
    any printer. ``mode="text"``: for printers with Chinese firmware: FS & then
    GB18030 text, a double-size number and a native QR code (GS ( k), FS ., cut.
    Exceptions from the transport propagate (PrintService catches them).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    width_dots = int(width_dots)
    if mode == "image":
        img = render_ticket(slip, width_dots=width_dots, font_path=font_path)
        _ensure_media_width(printer, width_dots)
        printer._raw(ESC_INIT)
        printer.image(img)
        printer.cut()
        return
    _print_text(printer, slip, width_dots)


def _print_text(printer, slip: TicketSlip, width_dots: int) -> None:
    cols = columns_for(width_dots)
    raw = printer._raw
    raw(ESC_INIT)
    raw(FS_CHINESE_ON)
    raw(ESC_ALIGN_CENTER)
    raw(ESC_BOLD_ON)
    _text_lines(printer, slip.hall_name, cols)
    raw(ESC_BOLD_OFF)
    raw(_gb("-" * cols) + LF)
    raw(GS_SIZE_DOUBLE + ESC_BOLD_ON)
    _text_lines(printer, slip.number, cols // 2)
    raw(GS_SIZE_NORMAL + ESC_BOLD_OFF)
    raw(ESC_BOLD_ON)
    _text_lines(printer, slip.service_name, cols)
    raw(ESC_BOLD_OFF)
    _text_lines(printer, slip.window_hint, cols)
    raw(_gb("-" * cols) + LF)
    _text_lines(printer, slip.waiting_text, cols)
    _text_lines(printer, slip.eta_text, cols)
    _text_lines(printer, slip.issued_text, cols)
    raw(LF)
    # Centered by ESC a 1 (escpos refuses center=True for native codes).
    printer.qr(slip.qr_url, ec=QR_ECLEVEL_M, size=6 if width_dots >= 576 else 4, native=True)
    raw(LF)
    _text_lines(printer, QR_CAPTION, cols)
    for line in slip.materials_lines:
        _text_lines(printer, line, cols)
    _text_lines(printer, slip.footer, cols)
    raw(ESC_ALIGN_LEFT)
    raw(FS_CHINESE_OFF)
    printer.cut()
