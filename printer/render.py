"""Render a ticket slip to a 1-bit bitmap for raster printing (GS v 0).

All layout is done here with Pillow and WenQuanYi Micro Hei, so any ESC/POS
printer that can print a raster image prints Chinese correctly, whatever its
firmware code pages are.
"""

from __future__ import annotations

import functools
import os
import threading
import unicodedata

import qrcode
from PIL import Image, ImageDraw, ImageFont

from .slip import QR_CAPTION, TicketSlip

#: Default CJK font (Debian package fonts-wqy-microhei).
DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
_FALLBACK_FONTS = (
    DEFAULT_FONT_PATH,
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)

#: Supported paper widths in dots (203 dpi heads): 80 mm and 58 mm rolls.
SUPPORTED_WIDTHS = (576, 384)

# FreeType faces are not safe to use from several threads at once, and the
# fonts are cached, so all rendering is serialised (a render takes ~20 ms).
_RENDER_LOCK = threading.Lock()


def resolve_font_path(font_path: str | None = None) -> str:
    """Return a usable CJK font file, or raise FileNotFoundError."""
    if font_path:
        if not os.path.isfile(font_path):
            raise FileNotFoundError(f"font not found: {font_path}")
        return font_path
    for candidate in _FALLBACK_FONTS:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("no CJK font found; install fonts-wqy-microhei or set font_path")


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=0)


def clean_text(text: str) -> str:
    """Drop control characters (they would be ESC/POS commands in text mode)."""
    return "".join(
        " " if ch in "\t\r\n" else ch
        for ch in str(text)
        if ch in "\t\r\n" or unicodedata.category(ch)[0] != "C"
    ).strip()


_NO_LINE_START = set("，。、；：？！）》」』】〉”’…·,.;:!?)]}%")
_NO_LINE_END = set("（《「『【〈“‘([{")


def wrap_text(text: str, fits) -> list[str]:
    """Greedy wrap for mixed Chinese/Latin text.

    ``fits(s) -> bool`` says whether a candidate line fits. Chinese breaks
    anywhere; a Latin word is kept whole when the line has an earlier space.
    A single character that does not fit still gets its own line, so text is
    never dropped.
    """
    lines: list[str] = []
    line = ""
    for ch in text:
        candidate = line + ch
        if not line or fits(candidate):
            line = candidate
            continue
        # Break. Prefer the last space if we are inside a Latin word.
        cut = line.rfind(" ")
        if ch != " " and ch.isascii() and line[-1:].isascii() and cut > 0:
            lines.append(line[:cut].rstrip())
            line = line[cut + 1 :] + ch
        elif len(line) > 1 and (ch in _NO_LINE_START or line[-1] in _NO_LINE_END):
            # 避头尾: no "、" or "）" at a line start, no "（" at a line end;
            # carry the previous character down with it.
            lines.append(line[:-1].rstrip())
            line = line[-1] + ch
        else:
            lines.append(line.rstrip())
            line = "" if ch == " " else ch
    if line.strip():
        lines.append(line.strip())
    return lines or [""]


def qr_matrix(url: str) -> list[list[bool]]:
    """QR modules (no quiet zone), error correction M."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_module_size(modules: int, width_dots: int) -> int:
    """Dots per QR module: big enough to scan from a phone, fits the paper.

    At least 4 dots at 576 (80 mm) and 3 dots at 384 (58 mm); aims for a code
    (with quiet zone) about half the paper width.
    """
    minimum = 4 if width_dots >= 576 else 3
    with_quiet = modules + 8
    size = max(minimum, min(10, int(width_dots * 0.5) // with_quiet))
    if modules * size > width_dots - 16:
        raise ValueError(f"qr_url too long for a {width_dots}-dot ticket ({modules} modules)")
    return size


def qr_image(url: str, width_dots: int) -> Image.Image:
    matrix = qr_matrix(url)
    n = len(matrix)
    box = qr_module_size(n, width_dots)
    small = Image.new("L", (n, n), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    return small.resize((n * box, n * box), Image.Resampling.NEAREST)


class _Canvas:
    """A tall white page we draw on top-down, cropped at the end."""

    def __init__(self, width: int, font_path: str, scale: float):
        self.width = width
        self.font_path = font_path
        self.scale = scale
        self.margin = max(8, round(16 * scale))
        self.img = Image.new("L", (width, 6000), 255)
        self.draw = ImageDraw.Draw(self.img)
        self.y = max(8, round(14 * scale))

    def px(self, v: float) -> int:
        return max(1, round(v * self.scale))

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        return _font(self.font_path, self.px(size))

    def text_width(self, text: str, font, stroke: int = 0) -> int:
        if not text:
            return 0
        left, _, right, _ = self.draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
        return right - left

    def lines(self, text: str, size: float, gap: float = 6, stroke: int = 0):
        """Centered, wrapped paragraph. Returns the number of lines drawn."""
        text = clean_text(text)
        if not text:
            return 0
        font = self.font(size)
        avail = self.width - 2 * self.margin
        wrapped = wrap_text(text, lambda s: self.text_width(s, font, stroke) <= avail)
        ascent, descent = font.getmetrics()
        for line in wrapped:
            w = self.text_width(line, font, stroke)
            x = (self.width - w) // 2
            self.draw.text(
                (x, self.y),
                line,
                font=font,
                fill=0,
                stroke_width=stroke,
                stroke_fill=0,
            )
            self.y += ascent + descent + self.px(gap)
        return len(wrapped)

    def big_number(self, number: str, size: float) -> None:
        """The ticket number: as large as fits the width, ink-box centered."""
        number = clean_text(number) or "?"
        avail = self.width - 2 * self.margin
        px = self.px(size)
        while True:
            font = _font(self.font_path, px)
            stroke = max(1, px // 40)
            left, top, right, bottom = self.draw.textbbox(
                (0, 0), number, font=font, stroke_width=stroke
            )
            if right - left <= avail or px <= 24:
                break
            px = int(px * 0.92)
        x = (self.width - (right - left)) // 2 - left
        self.draw.text(
            (x, self.y - top),
            number,
            font=font,
            fill=0,
            stroke_width=stroke,
            stroke_fill=0,
        )
        self.y += bottom - top

    def rule(self, thickness: float = 2, dashed: bool = False) -> None:
        t = self.px(thickness)
        x0, x1 = self.margin, self.width - self.margin
        if dashed:
            dash = self.px(10)
            for x in range(x0, x1, dash * 2):
                self.draw.rectangle((x, self.y, min(x + dash, x1) - 1, self.y + t - 1), fill=0)
        else:
            self.draw.rectangle((x0, self.y, x1 - 1, self.y + t - 1), fill=0)
        self.y += t

    def space(self, v: float) -> None:
        self.y += self.px(v)

    def paste_center(self, im: Image.Image) -> None:
        self.img.paste(im, ((self.width - im.width) // 2, self.y))
        self.y += im.height

    def finish(self, bottom: float = 20) -> Image.Image:
        self.space(bottom)
        page = self.img.crop((0, 0, self.width, self.y))
        # Hard threshold (no dithering): crisp text on a thermal head.
        return page.point(lambda v: 255 if v >= 140 else 0).convert("1")


def render_ticket(
    slip: TicketSlip, width_dots: int = 576, font_path: str | None = None
) -> Image.Image:
    """Draw ``slip`` as a 1-bit (mode "1") image ``width_dots`` wide.

    Layout, top to bottom: hall name, rule, number (very large), service name
    (wrapped, never clipped), optional window hint, 前面还有N人等候,
    预计等候约N分钟, 取号时间, QR code of ``qr_url``, 扫码查看进度/评价, the
    materials list (if any), footer.
    """
    width_dots = int(width_dots)
    if width_dots < 256 or width_dots % 8:
        raise ValueError(
            f"width_dots must be a multiple of 8, >= 256 (576 or 384), got {width_dots}"
        )
    path = resolve_font_path(font_path)
    scale = width_dots / 576
    qr = qr_image(slip.qr_url, width_dots)
    module = qr.width // len(qr_matrix(slip.qr_url))

    with _RENDER_LOCK:
        c = _Canvas(width_dots, path, scale)
        c.lines(slip.hall_name, 34, gap=4, stroke=1 if width_dots >= 576 else 0)
        c.space(8)
        c.rule(3)
        c.space(18)
        c.big_number(slip.number, 190)
        c.space(20)
        c.lines(slip.service_name, 40, gap=6, stroke=1 if width_dots >= 576 else 0)
        if clean_text(slip.window_hint):
            c.space(2)
            c.lines(slip.window_hint, 28)
        c.space(10)
        c.rule(2, dashed=True)
        c.space(14)
        c.lines(slip.waiting_text, 32)
        c.lines(slip.eta_text, 32)
        c.lines(slip.issued_text, 24)
        # Quiet zone: at least 4 modules of white above and below the code.
        c.y += max(c.px(6), 4 * module)
        c.paste_center(qr)
        c.y += 4 * module
        c.lines(QR_CAPTION, 26)
        if slip.materials_lines:
            c.space(8)
            c.rule(2, dashed=True)
            c.space(8)
            for line in slip.materials_lines:
                c.lines(line, 24, gap=4)
        c.space(4)
        c.lines(slip.footer, 22, gap=4)
        return c.finish()
