"""render_ticket: layout, Chinese text, wrapping, QR size."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from printer import render_ticket
from printer.render import qr_matrix, wrap_text


def dark_fraction(img: Image.Image, box=None) -> float:
    region = img.convert("L").crop(box) if box else img.convert("L")
    hist = region.histogram()
    return sum(hist[:128]) / max(1, sum(hist))


@pytest.mark.parametrize("width", [576, 384])
def test_render_and_save_artifact(width, long_slip, artifacts):
    img = render_ticket(long_slip, width_dots=width)
    assert img.mode in ("1", "L")
    assert img.width == width
    assert width < img.height < 4 * width
    img.save(artifacts / f"ticket_{width}.png")
    # Mostly white paper, but clearly printed on.
    assert 0.05 < dark_fraction(img) < 0.4
    # The big number sits under the hall name: lots of ink in the top part.
    assert dark_fraction(img, (0, 0, width, img.height // 4)) > 0.1


@pytest.mark.parametrize("width,min_module", [(576, 4), (384, 3)])
def test_qr_readable_and_big_enough(width, min_module, slip):
    img = render_ticket(slip, width_dots=width)
    results = zxingcpp.read_barcodes(img.convert("L"))
    assert [r.text for r in results] == [slip.qr_url]
    pos = results[0].position
    modules = len(qr_matrix(slip.qr_url))
    module_px = (pos.top_right.x - pos.top_left.x + 1) / modules
    assert module_px >= min_module


def test_chinese_actually_renders(slip_factory):
    """A missing CJK glyph renders as tofu/blank: different strings must differ."""
    a = render_ticket(slip_factory(service_name="不动产登记"), 576)
    b = render_ticket(slip_factory(service_name="社保医保"), 576)
    assert a.size == b.size
    assert a.tobytes() != b.tobytes()


def test_long_service_name_wraps_not_clipped(slip_factory):
    short = render_ticket(slip_factory(service_name="不动产登记"), 384)
    long = render_ticket(slip_factory(service_name="不动产登记" * 8), 384)
    # Three or four extra lines, not a clipped single line.
    assert long.height > short.height + 80
    # Nothing runs into the side margins.
    for img in (short, long):
        w = img.width
        assert dark_fraction(img, (0, 0, 4, img.height)) == 0
        assert dark_fraction(img, (w - 4, 0, w, img.height)) == 0


def test_long_number_shrinks_to_fit(slip_factory):
    img = render_ticket(slip_factory(number="VIP-0001"), 384)
    assert dark_fraction(img, (0, 0, 4, img.height)) == 0
    assert dark_fraction(img, (380, 0, 384, img.height)) == 0


def test_window_hint_adds_a_line(slip_factory):
    without = render_ticket(slip_factory(), 576)
    with_hint = render_ticket(slip_factory(window_hint="请到综办窗口等候"), 576)
    assert with_hint.height > without.height


def test_wrap_text_keeps_every_character_and_punctuation_rules():
    text = "不动产登记（抵押权首次登记、变更登记、注销登记）及相关税费"
    lines = wrap_text(text, lambda s: len(s) <= 7)
    assert "".join(lines) == text
    assert all(len(line) <= 8 for line in lines)
    assert not any(line[0] in "、，。）" for line in lines)
    assert not any(line[-1] in "（" for line in lines)


def test_wrap_text_keeps_latin_words_whole():
    lines = wrap_text("Real Estate Registration", lambda s: len(s) <= 12)
    assert lines == ["Real Estate", "Registration"]


def test_bad_width_rejected(slip):
    with pytest.raises(ValueError):
        render_ticket(slip, width_dots=500)


def test_missing_font_is_a_clear_error(slip):
    with pytest.raises(FileNotFoundError):
        render_ticket(slip, font_path="/nonexistent/font.ttc")
