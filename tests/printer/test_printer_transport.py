"""make_printer and PRINTER_SETTINGS."""

from __future__ import annotations

import time

import pytest
from escpos.printer import Dummy, File, Network, Usb

from printer import PRINTER_SETTINGS, make_printer
from printer.transport import config_width_dots, parse_usb_id


def test_dummy():
    assert isinstance(make_printer({"driver": "dummy"}), Dummy)


def test_network_defaults_and_never_blocks():
    t0 = time.monotonic()
    # 10.255.255.1 is unroutable: a connect would hang; building must not.
    p = make_printer({"driver": "network", "host": "10.255.255.1"})
    assert time.monotonic() - t0 < 0.5
    assert isinstance(p, Network)
    assert (p.host, p.port, p.timeout) == ("10.255.255.1", 9100, 3.0)
    assert p._device is False  # not opened


def test_network_port_and_timeout():
    p = make_printer({"driver": "NETWORK", "host": "pr1", "port": "9101", "timeout": 1.5})
    assert (p.port, p.timeout) == (9101, 1.5)


@pytest.mark.parametrize("value", [0x0416, "0x0416", "0416", " 0X0416 ", "416"])
def test_usb_id_parsing(value):
    assert parse_usb_id(value, "vendor_id") == 0x0416


def test_usb_builds_or_says_pyusb_missing():
    from escpos.printer.usb import is_usable

    cfg = {"driver": "usb", "vendor_id": "0x0416", "product_id": "5011"}
    if is_usable():
        p = make_printer(cfg)
        assert isinstance(p, Usb)
        assert p.usb_args == {"idVendor": 0x0416, "idProduct": 0x5011}
        assert p.timeout == 3000  # pyusb milliseconds, never escpos' 0 = forever
    else:
        with pytest.raises(RuntimeError, match="pyusb"):
            make_printer(cfg)


def test_file(tmp_path):
    p = make_printer({"driver": "file", "path": str(tmp_path / "lp0")})
    assert isinstance(p, File)


def test_serial_builds_or_says_pyserial_missing():
    from escpos.printer.serial import is_usable

    cfg = {"driver": "serial", "device": "/dev/ttyUSB0", "baudrate": 19200}
    if is_usable():
        assert make_printer(cfg).baudrate == 19200
    else:
        with pytest.raises(RuntimeError, match="pyserial"):
            make_printer(cfg)


@pytest.mark.parametrize(
    "cfg,key",
    [
        ({}, "driver"),
        ({"driver": ""}, "driver"),
        ({"driver": "bluetooth"}, "driver"),
        ({"driver": "network"}, "host"),
        ({"driver": "network", "host": "  "}, "host"),
        ({"driver": "network", "host": "h", "port": "abc"}, "port"),
        ({"driver": "network", "host": "h", "port": 70000}, "port"),
        ({"driver": "network", "host": "h", "timeout": 0}, "timeout"),
        ({"driver": "network", "host": "h", "timeout": "soon"}, "timeout"),
        ({"driver": "usb", "product_id": 1}, "vendor_id"),
        ({"driver": "usb", "vendor_id": 1}, "product_id"),
        ({"driver": "usb", "vendor_id": 0, "product_id": 0}, "vendor_id"),  # core default
        ({"driver": "usb", "vendor_id": "xyz", "product_id": 1}, "vendor_id"),
        ({"driver": "usb", "vendor_id": 1, "product_id": 0x10000}, "product_id"),
        ({"driver": "serial"}, "device"),
        ({"driver": "serial", "device": "/dev/ttyS0", "baudrate": "fast"}, "baudrate"),
        ({"driver": "file"}, "path"),
        ({"driver": "dummy", "profile": "NoSuchPrinter"}, "profile"),
    ],
)
def test_bad_config_names_the_key(cfg, key):
    with pytest.raises(ValueError, match=repr(key)):
        make_printer(cfg)


def test_not_a_dict():
    with pytest.raises(ValueError):
        make_printer("network")


def test_profile_is_applied():
    p = make_printer({"driver": "dummy", "profile": "TM-T20II"})
    assert p.profile.profile_data["media"]["width"]["pixels"] == 576


def test_settings_registry_shape():
    keys = [k for k, _, _ in PRINTER_SETTINGS]
    assert len(keys) == len(set(keys))
    for key in (
        "driver",
        "host",
        "port",
        "timeout",
        "vendor_id",
        "product_id",
        "device",
        "baudrate",
        "path",
        "mode",
        "paper_width_mm",
        "font",
        "check_status",
    ):
        assert key in keys
    for key, _default, help_text in PRINTER_SETTINGS:
        assert isinstance(key, str) and isinstance(help_text, str) and help_text
    defaults = {k: d for k, d, _ in PRINTER_SETTINGS}
    assert defaults["driver"] == "dummy"
    assert defaults["port"] == 9100
    assert defaults["timeout"] == 3.0
    assert defaults["paper_width_mm"] == 80


@pytest.mark.parametrize(
    "cfg,dots",
    [
        ({}, 576),
        ({"paper_width_mm": 80}, 576),
        ({"paper_width_mm": "58"}, 384),
        ({"paper_width_mm": 58, "width_dots": 576}, 576),
        ({"width_dots": 384}, 384),
    ],
)
def test_width_from_core_keys(cfg, dots):
    assert config_width_dots(cfg) == dots


@pytest.mark.parametrize(
    "cfg,key",
    [
        ({"paper_width_mm": 70}, "paper_width_mm"),
        ({"width_dots": 500}, "width_dots"),
        ({"width_dots": "wide"}, "width_dots"),
    ],
)
def test_bad_width(cfg, key):
    with pytest.raises(ValueError, match=repr(key)):
        config_width_dots(cfg)
