"""The test double itself: status replies, stream parsing, raster decoding."""

from __future__ import annotations

import socket
import struct

import pytest
from escpos.printer import Dummy, Network
from PIL import Image, ImageDraw

from tests.fakeprinter import FakePrinter, decode_raster


def talk(fp: FakePrinter, data: bytes, expect: int) -> bytes:
    with socket.create_connection(fp.address, timeout=1) as s:
        s.sendall(data)
        out = b""
        while len(out) < expect:
            out += s.recv(16)
        return out


@pytest.mark.parametrize(
    "mode,online,paper",
    [("ok", True, 2), ("near_end", True, 1), ("paper_out", False, 0), ("offline", False, 2)],
)
def test_escpos_reads_the_fake_status(mode, online, paper):
    """python-escpos' own is_online()/paper_status() parse the fake's replies."""
    with FakePrinter(mode) as fp:
        p = Network(fp.host, fp.port, timeout=1)
        try:
            assert p.is_online() is online
            assert p.paper_status() == paper
        finally:
            p.close()


def test_status_query_inside_raster_data_is_not_answered(fake_printer):
    # A GS v 0 block whose pixel data contains DLE EOT 1 (as real images may).
    payload = b"\x10\x04\x01" + b"\x00" * 5
    block = b"\x1dv0\x00" + struct.pack("<HH", 1, len(payload)) + payload
    reply = talk(fake_printer, block + b"\x10\x04\x04", 1)
    assert reply == b"\x12"
    assert fake_printer.queries == [("dle_eot", 4)]


def test_query_split_across_packets_and_gs_r(fake_printer):
    fake_printer.mode = "paper_out"
    with socket.create_connection(fake_printer.address, timeout=1) as s:
        s.sendall(b"\x10")
        s.sendall(b"\x04")
        s.sendall(b"\x04")
        assert s.recv(1) == b"\x7e"
        s.sendall(b"\x1dr\x01")
        assert s.recv(1) == b"\x0f"


def test_hang_never_answers(fake_printer):
    fake_printer.mode = "hang"
    with socket.create_connection(fake_printer.address, timeout=0.3) as s:
        s.sendall(b"\x10\x04\x01")
        with pytest.raises(TimeoutError):
            s.recv(1)
    assert fake_printer.wait_idle()
    assert fake_printer.jobs == [b"\x10\x04\x01"]


def test_drop_after_n_bytes(fake_printer):
    fake_printer.mode = "drop"
    fake_printer.drop_after = 100
    with socket.create_connection(fake_printer.address, timeout=1) as s:
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            for _ in range(200):
                s.sendall(b"x" * 1000)
            s.recv(1)
    assert fake_printer.wait_idle()
    assert fake_printer.jobs == [b"x" * 100]


def test_jobs_one_per_connection(fake_printer):
    for text in (b"one", b"two"):
        with socket.create_connection(fake_printer.address) as s:
            s.sendall(text)
    assert fake_printer.wait_idle()
    assert fake_printer.jobs == [b"one", b"two"]


def test_decode_raster_joins_fragments_and_keeps_images_apart():
    img = Image.new("1", (64, 2000), 1)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 7, 1999), fill=0)  # a black stripe down the left
    draw.rectangle((56, 1990, 63, 1999), fill=0)  # a square bottom right
    small = Image.new("1", (16, 8), 0)
    p = Dummy()
    p.image(img)  # 3 fragments: 960 + 960 + 80
    p.text("\n")
    p.image(small)
    assert p.output.count(b"\x1dv0") == 4
    big, tiny = decode_raster(p.output)
    assert big.size == (64, 2000)
    assert big.getpixel((3, 1500)) == 0 and big.getpixel((30, 1500)) == 255
    assert big.getpixel((60, 1995)) == 0
    assert tiny.size == (16, 8) and tiny.getpixel((5, 5)) == 0
