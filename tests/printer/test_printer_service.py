"""PrintService against FakePrinter (real sockets) and the dummy/file drivers."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

import pytest
import zxingcpp

from printer import PrintResult, PrintService
from tests.conftest import free_port_run
from tests.fakeprinter import FakePrinter, decode_raster

TIMEOUT = 1.0  # seconds; every fault must resolve within ~2x this
SLACK = 0.8  # rendering the ticket and a loaded CI machine


def read_qr(img) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img.convert("L"))]


class Events(list):
    def __call__(self, status: dict) -> None:
        self.append(status)


def timed_print(service: PrintService, slip) -> tuple[PrintResult, float]:
    t0 = time.monotonic()
    result = service.print(slip)
    return result, time.monotonic() - t0


@pytest.mark.parametrize("width", [576, 384])
def test_network_print_roundtrip(width, fake_printer, slip):
    events = Events()
    svc = PrintService("kiosk-1", fake_printer.config(width_dots=width), on_status=events)
    assert svc.status()["status"] == "unknown"
    result = svc.print(slip)
    assert result == PrintResult(True, None, "ok")
    assert fake_printer.wait_idle()
    (job,) = fake_printer.jobs
    # Status asked before (online, paper) and after the job (confirmation).
    query = b"\x10\x04\x01\x10\x04\x04"
    assert job == query + svc.last_output + query
    assert svc.last_output.startswith(b"\x1b@") and svc.last_output.endswith(b"\x1dV\x00")
    assert fake_printer.queries == [("dle_eot", 1), ("dle_eot", 4)] * 2
    (img,) = decode_raster(job)
    assert img.width == width
    assert read_qr(img) == [slip.qr_url]
    hist = img.histogram()
    assert sum(hist[:128]) / sum(hist) < 0.4  # black on white
    top = img.crop((0, 0, width, img.height // 2)).histogram()
    assert sum(top[:128]) > 0.1 * sum(top)  # the number is there
    status = svc.status()
    assert status["status"] == "ok" and status["last_error"] is None
    assert status["kiosk"] == "kiosk-1" and status["driver"] == "network"
    checked = datetime.fromisoformat(status["checked_at"])
    assert checked.tzinfo is not None and checked.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - checked).total_seconds()) < 5
    assert [e["status"] for e in events] == ["ok"]


def test_network_text_mode(fake_printer, slip):
    svc = PrintService("k", fake_printer.config(mode="text"))
    assert svc.print(slip).printed
    fake_printer.wait_idle()
    job = fake_printer.jobs[0]
    assert "不动产登记".encode("gb18030") in job
    assert slip.qr_url.encode() in job
    # The fake parsed the QR payload instead of misreading it as a query.
    assert fake_printer.queries == [("dle_eot", 1), ("dle_eot", 4)] * 2


FAULTS = [
    # mode, expected status, words in the error
    ("paper_out", "paper_out", ("缺纸", "out of paper")),
    ("offline", "offline", ("离线", "offline", "cover open")),
    ("hang", "offline", ("无响应", "not responding")),
    ("drop", "error", ("中断", "connection lost")),
]


@pytest.mark.parametrize("mode,expected,words", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_then_recovery(mode, expected, words, fake_printer, long_slip):
    events = Events()
    fake_printer.drop_after = 5000
    svc = PrintService("kiosk-2", fake_printer.config(timeout=TIMEOUT), on_status=events)
    assert svc.print(long_slip).printed
    fake_printer.mode = mode

    result, elapsed = timed_print(svc, long_slip)
    assert result.printed is False
    assert result.status == expected
    assert elapsed < 2 * TIMEOUT + SLACK
    for word in words:
        assert word in result.error
    status = svc.status()
    assert status["status"] == expected
    assert status["last_error"] == result.error
    assert events[-1] == status

    fake_printer.mode = "ok"
    result, _ = timed_print(svc, long_slip)
    assert result == PrintResult(True, None, "ok")
    assert svc.status()["status"] == "ok" and svc.status()["last_error"] is None
    assert [e["status"] for e in events] == ["ok", expected, "ok"]

    assert fake_printer.wait_idle()
    jobs = fake_printer.jobs
    assert len(jobs) == 3
    assert read_qr(decode_raster(jobs[2])[0]) == [long_slip.qr_url]
    if mode in ("paper_out", "offline", "hang"):
        assert b"\x1dv0" not in jobs[1]  # nothing sent to a printer that is not ready
    if mode == "drop":
        assert len(jobs[1]) == 5000


def test_connection_refused(long_slip):
    with FakePrinter() as fp:
        cfg = fp.config(timeout=TIMEOUT)
    # The fake is stopped: nothing listens on that port any more.
    events = Events()
    svc = PrintService("kiosk-3", cfg, on_status=events)
    result, elapsed = timed_print(svc, long_slip)
    assert not result.printed
    assert result.status == "offline"
    assert "无法连接打印机" in result.error and "connection refused" in result.error
    assert f"127.0.0.1:{cfg['port']}" in result.error
    assert elapsed < 2 * TIMEOUT + SLACK
    assert svc.status()["last_error"] == result.error
    assert [e["status"] for e in events] == ["offline"]
    # Same failure again: no duplicate event.
    svc.print(long_slip)
    assert len(events) == 1


def test_recovery_after_refused(long_slip):
    """A printer that comes back on the same port prints again."""
    # below the ephemeral range: no client's own port can take it while it is free
    port = free_port_run(1)
    svc = PrintService(
        "k", {"driver": "network", "host": "127.0.0.1", "port": port, "timeout": TIMEOUT}
    )
    assert svc.print(long_slip).status == "offline"
    again = FakePrinter(port=port).start()
    try:
        assert svc.print(long_slip).printed
        assert svc.status()["status"] == "ok"
        assert again.wait_idle()
        assert len(again.jobs) == 1
    finally:
        again.stop()


def test_not_a_printer_is_refused(long_slip):
    """Something that answers, but not like a printer (wrong port, a proxy)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = []

    def answer_http():
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(100))
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            time.sleep(1)

    t = threading.Thread(target=answer_http, daemon=True)
    t.start()
    cfg = {
        "driver": "network",
        "host": "127.0.0.1",
        "port": server.getsockname()[1],
        "timeout": TIMEOUT,
    }
    result, elapsed = timed_print(PrintService("k", cfg), long_slip)
    server.close()
    assert not result.printed and result.status == "error"
    assert "应答异常" in result.error and "HTTP/1.1 400" in result.error
    assert elapsed < 2 * TIMEOUT + SLACK
    assert received == [b"\x10\x04\x01"]  # no ticket was sent


def test_near_end_paper_prints_and_flags(fake_printer, slip):
    events = Events()
    fake_printer.mode = "near_end"
    svc = PrintService("k", fake_printer.config(), on_status=events)
    assert svc.print(slip).printed
    assert svc.status()["paper_low"] is True
    assert events[-1]["paper_low"] is True


def test_check_polls_status(fake_printer):
    events = Events()
    svc = PrintService("k", fake_printer.config(timeout=TIMEOUT), on_status=events)
    assert svc.check()["status"] == "ok"
    fake_printer.mode = "paper_out"
    assert svc.check()["status"] == "paper_out"
    fake_printer.mode = "hang"
    t0 = time.monotonic()
    assert svc.check()["status"] == "offline"
    assert time.monotonic() - t0 < 2 * TIMEOUT + SLACK
    fake_printer.mode = "ok"
    assert svc.check()["status"] == "ok"
    assert [e["status"] for e in events] == ["ok", "paper_out", "offline", "ok"]
    fake_printer.wait_idle()
    assert all(b"\x1dv0" not in job for job in fake_printer.jobs)


def test_check_status_off_skips_queries(fake_printer, slip):
    fake_printer.mode = "hang"  # never answers; with checks off we just send
    svc = PrintService("k", fake_printer.config(check_status="false"))
    assert svc.print(slip).printed
    fake_printer.wait_idle()
    assert fake_printer.queries == []
    assert fake_printer.jobs[0].startswith(b"\x1b@")


def test_concurrent_prints_are_serialised(fake_printer, slip):
    svc = PrintService("k", fake_printer.config())
    results = []
    threads = [threading.Thread(target=lambda: results.append(svc.print(slip))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.printed for r in results] == [True] * 3
    fake_printer.wait_idle()
    assert len(fake_printer.jobs) == 3
    for job in fake_printer.jobs:
        assert read_qr(decode_raster(job)[0]) == [slip.qr_url]


def test_on_status_may_call_back_into_the_service(fake_printer, slip):
    seen = []
    svc = PrintService("k", fake_printer.config(), on_status=lambda st: seen.append(svc.status()))
    assert svc.print(slip).printed
    assert seen and seen[0]["status"] == "ok"


def test_on_status_exception_does_not_break_printing(fake_printer, slip):
    def boom(_status):
        raise RuntimeError("event bus down")

    svc = PrintService("k", fake_printer.config(), on_status=boom)
    assert svc.print(slip).printed


def test_dummy_driver_keeps_last_output(slip_factory):
    events = Events()
    svc = PrintService("k", {"driver": "dummy", "width_dots": 384}, on_status=events)
    assert svc.last_output is None
    assert svc.print(slip_factory(number="B007")).printed
    (img,) = decode_raster(svc.last_output)
    assert img.width == 384
    assert read_qr(img) == [slip_factory().qr_url]
    assert svc.check()["status"] == "ok"
    assert [e["status"] for e in events] == ["ok"]


def test_hall_tz_converts_issued_at(slip_factory):
    svc = PrintService("k", {"driver": "dummy", "mode": "text"}, hall_tz="Asia/Shanghai")
    utc = datetime(2025, 3, 4, 1, 15, 2, tzinfo=UTC)
    svc.print(slip_factory(issued_at=utc))
    assert "取号时间 2025-03-04 09:15:02".encode("gb18030") in svc.last_output


def test_file_driver(tmp_path, slip):
    path = tmp_path / "lp0"
    path.touch()
    svc = PrintService("k", {"driver": "file", "path": str(path)})
    assert svc.check()["status"] == "ok"
    assert svc.print(slip).printed
    assert path.read_bytes() == svc.last_output
    assert read_qr(decode_raster(path.read_bytes())[0]) == [slip.qr_url]

    missing = PrintService("k", {"driver": "file", "path": str(tmp_path / "nodir" / "lp0")})
    assert missing.check()["status"] == "offline"
    result = missing.print(slip)
    assert not result.printed and result.status == "offline"
    assert "无法连接打印机" in result.error


def test_blocked_device_is_cut_off_by_the_watchdog(tmp_path, slip):
    """A write that ignores every timeout (FIFO with no reader, like a stuck
    /dev/usb/lp0) still returns within the budget."""
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    svc = PrintService("k", {"driver": "file", "path": str(fifo), "timeout": 0.3, "mode": "text"})
    result, elapsed = timed_print(svc, slip)
    assert not result.printed and result.status == "error"
    assert "打印超时" in result.error
    assert elapsed < 2 * 0.3 + SLACK
    # While the old job is still stuck, new jobs fail fast.
    result, elapsed = timed_print(svc, slip)
    assert not result.printed and "仍未结束" in result.error
    assert elapsed < SLACK
    # Unblock the stuck writer (it writes the small text job into the pipe).
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + 3
        while svc._stuck is not None and svc._stuck.is_alive() and time.monotonic() < deadline:
            try:
                os.read(fd, 65536)
            except BlockingIOError:
                pass
            time.sleep(0.01)
    finally:
        os.close(fd)
    assert not svc._stuck.is_alive()


@pytest.mark.parametrize(
    "cfg",
    [
        {},
        {"driver": "network"},
        {"driver": "laser"},
        {"driver": "dummy", "mode": "pdf"},
        {"driver": "dummy", "width_dots": 500},
        {"driver": "dummy", "paper_width_mm": 70},
        {"driver": "usb", "vendor_id": 0, "product_id": 0},
        {"driver": "network", "host": "h", "timeout": -1},
    ],
)
def test_bad_config_never_raises(cfg, slip):
    events = Events()
    svc = PrintService("k", cfg, on_status=events)
    assert svc.status()["status"] == "error"
    result = svc.print(slip)
    assert not result.printed and result.status == "error"
    assert "配置错误" in result.error
    assert svc.check()["status"] == "error"
    assert len(events) == 1


def test_core_config_section(slip, fake_printer):
    """The core's [printer] keys: paper_width_mm, font, footer (ignored here)."""
    cfg = {
        "driver": "network",
        "host": fake_printer.host,
        "port": fake_printer.port,
        "timeout": 3.0,
        "vendor_id": 0,
        "product_id": 0,
        "device": "",
        "baudrate": 9600,
        "path": "",
        "paper_width_mm": 58,
        "mode": "image",
        "font": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "footer": "请留意叫号，过号请重新取号",
    }
    svc = PrintService("K1", cfg, hall_tz="Asia/Shanghai")
    assert svc.print(slip).printed
    assert decode_raster(svc.last_output)[0].width == 384


def test_render_failure_is_reported(slip):
    svc = PrintService("k", {"driver": "dummy", "font_path": "/nonexistent.ttc"})
    result = svc.print(slip)
    assert not result.printed and result.status == "error"
    assert "凭条生成失败" in result.error
