"""Build a python-escpos printer object from a config section.

One escpos class per transport; nothing here prints. ``make_printer`` never
opens the device (python-escpos 3.x opens lazily on first use, or on
``printer.open()``), so building never blocks. The network connect, when it
happens, uses ``timeout`` (default 3 s).
"""

from __future__ import annotations

from escpos.printer import Dummy, File, Network, Serial, Usb

from .render import DEFAULT_FONT_PATH

DRIVERS = ("dummy", "network", "usb", "serial", "file")
DEFAULT_TIMEOUT = 3.0

#: (key, default, help) for the core's settings registry (one printer section,
#: e.g. per kiosk). Keys not used by the chosen driver are ignored.
PRINTER_SETTINGS: list[tuple[str, object, str]] = [
    (
        "driver",
        "dummy",
        "打印机连接方式 Transport: dummy (no printer, keeps the bytes) | network "
        "(TCP port 9100) | usb | serial | file (e.g. /dev/usb/lp0)",
    ),
    ("host", "", "网络打印机地址 Network printer IP/host name (driver=network)"),
    ("port", 9100, "网络打印机端口 TCP port (driver=network)"),
    (
        "timeout",
        DEFAULT_TIMEOUT,
        "超时秒数 Connect/IO timeout in seconds; a print job or status check never "
        "takes longer than about 2x this",
    ),
    (
        "vendor_id",
        0,
        "USB 厂商ID Vendor id (driver=usb): int or hex string, e.g. 0x0416 or 0416 (0 = unset)",
    ),
    ("product_id", 0, "USB 产品ID Product id (driver=usb): int or hex string (0 = unset)"),
    ("in_ep", 0x82, "USB IN endpoint (driver=usb, status replies)"),
    ("out_ep", 0x01, "USB OUT endpoint (driver=usb)"),
    ("device", "", "串口设备 Serial device, e.g. /dev/ttyUSB0 (driver=serial)"),
    ("baudrate", 9600, "串口波特率 Serial baud rate (driver=serial)"),
    ("path", "", "设备文件 Device file to write to, e.g. /dev/usb/lp0 (driver=file)"),
    (
        "mode",
        "image",
        "打印方式 image = ticket rendered as a bitmap (works on every printer, "
        "recommended); text = GB18030 text + native QR for printers with Chinese "
        "firmware (FS &)",
    ),
    (
        "paper_width_mm",
        80,
        "纸宽 Paper width in mm: 80 (576 dots) or 58 (384 dots). A 'width_dots' key, "
        "if present, wins",
    ),
    ("font", DEFAULT_FONT_PATH, "中文字体 CJK font file for image mode (alias: font_path)"),
    (
        "check_status",
        True,
        "查询打印机状态 Ask the printer for its status (DLE EOT) before and after "
        "each job (network/usb/serial). Turn off for printers or print servers "
        "that never answer, otherwise every job times out",
    ),
    (
        "profile",
        "",
        "python-escpos capability profile name, e.g. TM-T20II (empty = generic)",
    ),
]

#: Keys each driver requires (no default).
REQUIRED_KEYS = {
    "dummy": (),
    "network": ("host",),
    "usb": ("vendor_id", "product_id"),
    "serial": ("device",),
    "file": ("path",),
}


def _missing(cfg: dict, key: str) -> bool:
    value = cfg.get(key)
    if key in ("vendor_id", "product_id") and value in (0, "0"):
        return True  # the core's default: unset
    return value is None or (isinstance(value, str) and not value.strip())


#: paper_width_mm -> printable dots (203 dpi heads)
PAPER_WIDTHS = {80: 576, 58: 384}


def config_width_dots(cfg: dict) -> int:
    """Printable width: ``width_dots`` if given, else from ``paper_width_mm`` (80)."""
    if cfg.get("width_dots") not in (None, ""):
        dots = _int(cfg, "width_dots", 576, 256, 2048)
        if dots % 8:
            raise ValueError(f"printer config: 'width_dots' must be a multiple of 8, got {dots}")
        return dots
    mm = _int(cfg, "paper_width_mm", 80, 1, 1000)
    if mm not in PAPER_WIDTHS:
        raise ValueError(f"printer config: 'paper_width_mm' must be 80 or 58, got {mm}")
    return PAPER_WIDTHS[mm]


def config_font(cfg: dict) -> str | None:
    """The CJK font path (``font_path`` or the core's ``font`` key), or None."""
    return cfg.get("font_path") or cfg.get("font") or None


def parse_usb_id(value, key: str) -> int:
    """USB ids are hex by convention: 0x0416, "0x0416" and "0416" are the same id."""
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, int):
            result = value
        else:
            text = str(value).strip().lower()
            result = int(text[2:] if text.startswith("0x") else text, 16)
    except (TypeError, ValueError):
        raise ValueError(
            f"printer config: {key!r} must be a USB id like 0x0416, got {value!r}"
        ) from None
    if not 0 < result <= 0xFFFF:
        raise ValueError(f"printer config: {key!r} out of range: {value!r}")
    return result


def _int(cfg: dict, key: str, default: int, lo: int, hi: int) -> int:
    value = cfg.get(key, default)
    if value is None or value == "":
        value = default
    try:
        if isinstance(value, bool):
            raise TypeError
        result = int(str(value).strip(), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"printer config: {key!r} must be an integer, got {value!r}") from None
    if not lo <= result <= hi:
        raise ValueError(f"printer config: {key!r} must be in {lo}..{hi}, got {result}")
    return result


def config_timeout(cfg: dict) -> float:
    """The ``timeout`` key as seconds (> 0, default 3)."""
    value = cfg.get("timeout", DEFAULT_TIMEOUT)
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        if isinstance(value, bool):
            raise TypeError
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"printer config: 'timeout' must be a number of seconds, got {value!r}"
        ) from None
    if not 0 < result <= 120:
        raise ValueError(f"printer config: 'timeout' must be in (0, 120], got {value!r}")
    return result


def config_driver(cfg) -> str:
    if not isinstance(cfg, dict):
        raise ValueError(f"printer config must be a dict, got {type(cfg).__name__}")
    if _missing(cfg, "driver"):
        raise ValueError("printer config: missing key 'driver'")
    driver = str(cfg["driver"]).strip().lower()
    if driver not in DRIVERS:
        raise ValueError(
            f"printer config: unknown 'driver' {cfg['driver']!r} "
            f"(expected one of {', '.join(DRIVERS)})"
        )
    return driver


def make_printer(cfg: dict):
    """Build (but do not open) an escpos printer from a config section.

    Raises ValueError naming the offending key for an unknown driver, a missing
    required key or a malformed value. Raises RuntimeError when the transport's
    Python dependency is missing (pyusb for usb, pyserial for serial).
    """
    driver = config_driver(cfg)
    for key in REQUIRED_KEYS[driver]:
        if _missing(cfg, key):
            raise ValueError(f"printer config: missing key {key!r} (driver={driver})")
    timeout = config_timeout(cfg)
    kwargs = {}
    profile = cfg.get("profile")
    if profile:
        from escpos.capabilities import CAPABILITIES

        if profile not in CAPABILITIES["profiles"]:
            raise ValueError(f"printer config: unknown escpos 'profile' {profile!r}")
        kwargs["profile"] = profile

    if driver == "dummy":
        return Dummy(**kwargs)
    if driver == "network":
        port = _int(cfg, "port", 9100, 1, 65535)
        return Network(host=str(cfg["host"]).strip(), port=port, timeout=timeout, **kwargs)
    if driver == "usb":
        usb_kwargs = dict(
            idVendor=parse_usb_id(cfg["vendor_id"], "vendor_id"),
            idProduct=parse_usb_id(cfg["product_id"], "product_id"),
            # pyusb's timeout is in milliseconds; escpos' default 0 = forever.
            timeout=int(timeout * 1000),
            in_ep=_int(cfg, "in_ep", 0x82, 0, 0xFF),
            out_ep=_int(cfg, "out_ep", 0x01, 0, 0xFF),
        )
        from escpos.printer.usb import is_usable as usb_usable

        if not usb_usable():
            # Without pyusb escpos' Usb builds, but open() and even __del__
            # (close()) raise RuntimeError, so refuse to build it.
            raise RuntimeError("driver=usb needs the pyusb package, which is not installed")
        return Usb(**usb_kwargs, **kwargs)
    if driver == "serial":
        baudrate = _int(cfg, "baudrate", 9600, 300, 4_000_000)
        from escpos.printer.serial import is_usable

        if not is_usable():
            raise RuntimeError("driver=serial needs the pyserial package, which is not installed")
        return Serial(
            devfile=str(cfg["device"]).strip(),
            baudrate=baudrate,
            timeout=timeout,
            **kwargs,
        )
    # file
    return File(devfile=str(cfg["path"]).strip(), **kwargs)
