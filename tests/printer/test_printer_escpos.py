"""print_slip into escpos.printer.Dummy: raster and text (GB18030) modes."""

from __future__ import annotations

import pytest
import zxingcpp
from escpos.printer import Dummy

from printer import print_slip, render_ticket
from tests.fakeprinter import decode_raster


def read_qr(img) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img.convert("L"))]


@pytest.mark.parametrize("width", [576, 384])
def test_image_mode_raster_roundtrip(width, slip):
    printer = Dummy()
    print_slip(printer, slip, mode="image", width_dots=width)
    out = printer.output
    assert out.startswith(b"\x1b@")  # ESC @
    assert out.endswith(b"\x1dV\x00")  # GS V 0: full cut, after feed
    images = decode_raster(out)
    assert len(images) == 1
    img = images[0]
    assert img.width == width
    assert read_qr(img) == [slip.qr_url]
    # The decoded raster is exactly the rendered ticket.
    assert img.tobytes() == render_ticket(slip, width).convert("L").tobytes()


def test_tall_ticket_is_sent_in_fragments_and_rejoined(long_slip):
    printer = Dummy()
    print_slip(printer, long_slip, width_dots=576)
    assert printer.output.count(b"\x1dv0") >= 2  # escpos splits at 960 lines
    (img,) = decode_raster(printer.output)
    assert img.height == render_ticket(long_slip, 576).height
    assert read_qr(img) == [long_slip.qr_url]


def test_no_stdout_noise_from_escpos(slip, capsys):
    """escpos 3.1 prints a warning to stdout on image() with the default profile."""
    print_slip(Dummy(), slip)
    assert capsys.readouterr().out == ""


def test_profile_narrower_than_ticket_is_refused(slip):
    with pytest.raises(ValueError, match="512"):
        print_slip(Dummy(profile="TM-T88V"), slip, width_dots=576)


def test_profile_default_is_not_modified_globally(slip):
    print_slip(Dummy(), slip, width_dots=384)
    assert Dummy().profile.profile_data["media"]["width"]["pixels"] == "Unknown"


@pytest.mark.parametrize("width", [576, 384])
def test_text_mode_gb18030_and_native_qr(width, slip_factory):
    slip = slip_factory(window_hint="请到综办窗口等候")
    printer = Dummy()
    print_slip(printer, slip, mode="text", width_dots=width)
    out = printer.output
    on, off = out.index(b"\x1c\x26"), out.rindex(b"\x1c\x2e")
    name = out.index("不动产登记".encode("gb18030"))
    assert on < name < off
    for text in (
        slip.hall_name,
        "前面还有12人等候",
        "预计等候约36分钟",
        "取号时间 2025-03-04 09:15:02",
        "请到综办窗口等候",
        "扫码查看进度/评价",
    ):
        assert on < out.index(text.encode("gb18030")) < off, text
    # Double-size number.
    assert b"\x1d!\x11" + b"\x1bE\x01" + b"A001\n" in out
    # Native QR: GS ( k ... fn 80 (store) carries the URL, fn 81 prints it.
    store = b"\x1d(k" + (len(slip.qr_url) + 3).to_bytes(2, "little") + b"1P0"
    qr_at = out.index(store + slip.qr_url.encode())
    assert on < qr_at < out.index(b"\x1d(k\x03\x001Q0") < off
    module = out[out.index(b"\x1d(k\x03\x001C") + 7]
    assert module == (6 if width == 576 else 4)
    assert out.endswith(b"\x1dV\x00")
    assert b"\x1dv0" not in out  # no raster in text mode
    assert "不动产登记".encode() not in out


def test_text_mode_strips_control_characters(slip_factory):
    printer = Dummy()
    print_slip(printer, slip_factory(service_name="不动产\x1b@\x1dV登记"), mode="text")
    assert "不动产@V登记".encode("gb18030") in printer.output


def test_bad_mode(slip):
    with pytest.raises(ValueError):
        print_slip(Dummy(), slip, mode="pdf")
