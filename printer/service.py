"""PrintService: one configured ticket printer (e.g. one per kiosk).

``print(slip)`` never raises and never takes much more than ``2 * timeout``:

1. the ticket is rendered into an in-memory ``escpos.printer.Dummy`` (so the
   bytes exist before any I/O happens, and are kept in ``last_output``);
2. a fresh connection is opened (``printer.open()``; network connect uses the
   timeout);
3. where the transport can answer (network/usb/serial, ``check_status``), the
   printer is asked for its real-time status the way escpos' ``query_status()``
   does (``_raw(DLE EOT n)`` then ``_read()``), but with a deadline-bounded
   timeout and a checked reply: n=1 online/offline, n=4 roll paper sensor, and
   n=2 (offline cause) when it says offline. The byte is decoded with escpos'
   own masks (RT_MASK_ONLINE / RT_MASK_NOPAPER / RT_MASK_LOWPAPER). escpos'
   ``is_online()``/``paper_status()`` are not used because they cannot tell
   "no answer" from a status: an empty reply makes ``paper_status()`` return 2
   ("paper adequate") and ``is_online()`` return False;
4. the job is sent in one ``printer._raw(job)`` call;
5. the status is queried again: a reply proves the printer read every byte
   before it (TCP is ordered) and catches a connection dropped mid-job or paper
   running out during the job;
6. the connection is closed.

All I/O runs in a worker thread joined with the deadline, so even a driver call
that ignores its timeout (a blocked USB or /dev/usb/lp0 write) cannot hang the
caller.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from escpos.constants import (
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_STATUS,
)
from escpos.exceptions import DeviceNotFoundError

from .layout import MODES, print_slip
from .render import resolve_font_path
from .slip import TicketSlip
from .transport import (
    DEFAULT_TIMEOUT,
    config_driver,
    config_font,
    config_timeout,
    config_width_dots,
    make_printer,
)

log = logging.getLogger(__name__)

STATUSES = ("ok", "offline", "paper_out", "error", "unknown")
#: The statuses as people read them (kiosk list, supervisor board).
STATUS_CN = {
    "ok": "正常",
    "offline": "离线",
    "paper_out": "缺纸",
    "error": "故障",
    "unknown": "未检测",
}
QUERYABLE_DRIVERS = ("network", "usb", "serial")
_GRACE = 0.5  # seconds the watchdog waits beyond the deadline


def _msg(cn: str, en: str, detail: str | None = None) -> str:
    text = f"{cn} / {en}"
    return f"{text}: {detail}" if detail else text


MSG_CONNECT = ("无法连接打印机", "cannot connect to printer")
MSG_NO_REPLY = ("打印机无响应", "printer not responding")
MSG_PAPER_OUT = ("打印机缺纸，请更换纸卷", "printer is out of paper")
MSG_OFFLINE = ("打印机离线", "printer is offline")
MSG_DROPPED = ("打印中连接中断", "connection lost during the print job")
MSG_TIMEOUT = ("打印超时", "print job timed out")
MSG_STUCK = ("上一个打印任务仍未结束", "previous print job is still blocked")
MSG_BUSY = ("打印机忙", "printer busy")
MSG_CONFIG = ("打印机配置错误", "printer configuration error")
MSG_RENDER = ("凭条生成失败", "could not build the ticket")
MSG_DRIVER = ("打印机驱动错误", "printer driver error")
MSG_BAD_REPLY = (
    "打印机应答异常（不是ESC/POS打印机？）",
    "unexpected reply, not an ESC/POS printer?",
)
MSG_NO_DEVICE = ("打印设备不存在或不可写", "printer device file missing or not writable")

# DLE EOT 2 (offline cause) bits -> (中文, English)
_OFFLINE_CAUSES = (
    (0x04, "上盖打开", "cover open"),
    (0x08, "正在走纸", "paper being fed"),
    (0x20, "缺纸停止", "stopped by paper end"),
    (0x40, "打印机故障", "printer error"),
)


@dataclass(frozen=True)
class PrintResult:
    printed: bool
    error: str | None = None
    status: str = "ok"  # the printer status after this attempt


class PrinterFault(Exception):
    """A classified failure: ``status`` is one of STATUSES, ``message`` is CN / EN."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Outcome:
    status: str
    error: str | None = None
    paper_low: bool = False


def _describe(exc: BaseException) -> str:
    """Short English detail for an exception (escpos wraps the OSError)."""
    inner = exc.__cause__ or exc.__context__
    if isinstance(exc, DeviceNotFoundError) and inner is not None:
        exc = inner
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by printer"
    if isinstance(exc, BrokenPipeError):
        return "connection closed by printer"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _as_bool(value, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def _as_tz(value) -> tzinfo | None:
    if value is None or isinstance(value, tzinfo):
        return value
    from zoneinfo import ZoneInfo

    return ZoneInfo(str(value))


class PrintService:
    """One configured printer. Thread-safe; ``print()`` and ``check()`` never raise.

    ``cfg`` is a printer config section (see ``PRINTER_SETTINGS``). A bad config
    does not raise here: the service reports status "error" with the reason.
    ``on_status(dict)`` is called (outside the printer lock, in order) whenever
    status, last_error or paper_low changes.
    """

    def __init__(
        self,
        name: str,
        cfg: dict,
        hall_tz: tzinfo | str | None = None,
        on_status: Callable[[dict], None] | None = None,
    ):
        self.name = name
        self.cfg = dict(cfg or {})
        self.hall_tz = _as_tz(hall_tz)
        self.on_status = on_status
        self.driver = str(self.cfg.get("driver") or "").strip().lower() or "?"
        self.mode = str(self.cfg.get("mode") or "image").strip().lower()
        self.check_status = _as_bool(self.cfg.get("check_status"), True)
        self.font_path = config_font(self.cfg)
        self.last_output: bytes | None = None  # bytes of the last job (any driver)
        self._lock = threading.Lock()
        # Re-entrant: an on_status callback may call status().
        self._notify_lock = threading.RLock()
        self._stuck: threading.Thread | None = None
        self._state = {
            "status": "unknown",
            "last_error": None,
            "checked_at": None,
            "paper_low": False,
        }
        self._notified: tuple | None = ("unknown", None, False)
        self.timeout = DEFAULT_TIMEOUT
        self.width_dots = 576
        self._config_error: str | None = None
        try:
            self.driver = config_driver(self.cfg)
            self.timeout = config_timeout(self.cfg)
            self.width_dots = config_width_dots(self.cfg)
            if self.mode not in MODES:
                raise ValueError(f"printer config: 'mode' must be one of {MODES}")
            make_printer(self.cfg)  # validates the driver keys; does not open
        except (ValueError, TypeError, RuntimeError) as exc:
            kind = MSG_DRIVER if isinstance(exc, RuntimeError) else MSG_CONFIG
            self._config_error = _msg(*kind, str(exc))
            self._state.update(status="error", last_error=self._config_error)
            self._notified = None  # the first change is reported
            log.warning("printer %s: %s", name, self._config_error)

    # ------------------------------------------------------------------ API

    @property
    def budget(self) -> float:
        """Upper bound (seconds) for the printer I/O of one print() or check().
        print() adds the time to render the ticket (tens of ms) and, if another
        job holds the printer, up to one budget of waiting for it."""
        return 2 * self.timeout

    def status(self) -> dict:
        with self._notify_lock:
            return self._snapshot()

    def print(self, slip: TicketSlip) -> PrintResult:
        if not self._lock.acquire(timeout=max(0.0, self.budget - _GRACE)):
            return PrintResult(False, _msg(*MSG_BUSY), self._state["status"])
        try:
            outcome = self._print_locked(slip)
            self._apply(outcome)
        finally:
            self._lock.release()
        self._notify()
        if outcome.status == "ok":
            return PrintResult(True, None, "ok")
        return PrintResult(False, outcome.error, outcome.status)

    def check(self) -> dict:
        """Poll the printer's status (connect, DLE EOT queries, close); return status()."""
        deadline = time.monotonic() + self.budget
        if not self._lock.acquire(timeout=max(0.0, self.budget - _GRACE)):
            return self.status()  # a job is running; it will update the status
        try:
            self._apply(self._check_locked(deadline))
        finally:
            self._lock.release()
        self._notify()
        return self.status()

    # ------------------------------------------------------------- internals

    def _snapshot(self) -> dict:
        s = self._state
        return {
            "kiosk": self.name,
            "driver": self.driver,
            "status": s["status"],
            "last_error": s["last_error"],
            "checked_at": s["checked_at"],
            "paper_low": s["paper_low"],
        }

    def _apply(self, outcome: _Outcome) -> None:
        with self._notify_lock:
            self._state.update(
                status=outcome.status,
                last_error=outcome.error,
                paper_low=bool(outcome.paper_low),
                checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        if outcome.error:
            log.warning("printer %s: %s", self.name, outcome.error)

    def _notify(self) -> None:
        if self.on_status is None:
            return
        with self._notify_lock:
            snap = self._snapshot()
            key = (snap["status"], snap["last_error"], snap["paper_low"])
            if key == self._notified:
                return
            self._notified = key
            try:
                self.on_status(dict(snap))
            except Exception:  # the callback must never break printing
                log.exception("printer %s: on_status callback failed", self.name)

    def _build_job(self, slip: TicketSlip) -> bytes:
        if self.hall_tz is not None and slip.issued_at.tzinfo is not None:
            slip = dataclasses.replace(slip, issued_at=slip.issued_at.astimezone(self.hall_tz))
        buf = make_printer({"driver": "dummy", "profile": self.cfg.get("profile")})
        font = resolve_font_path(self.font_path) if self.mode == "image" else None
        print_slip(buf, slip, mode=self.mode, width_dots=self.width_dots, font_path=font)
        return buf.output

    def _print_locked(self, slip: TicketSlip) -> _Outcome:
        if self._config_error:
            return _Outcome("error", self._config_error)
        try:
            job = self._build_job(slip)  # CPU only (~40 ms), not in the I/O budget
        except Exception as exc:
            log.exception("printer %s: cannot build ticket", self.name)
            return _Outcome("error", _msg(*MSG_RENDER, _describe(exc)))
        self.last_output = job
        if self.driver == "dummy":
            return _Outcome("ok")
        deadline = time.monotonic() + self.budget
        return self._run(lambda: self._send(job, deadline), deadline)

    def _check_locked(self, deadline: float) -> _Outcome:
        if self._config_error:
            return _Outcome("error", self._config_error)
        if self.driver == "dummy":
            return _Outcome("ok")
        if self.driver == "file":
            path = str(self.cfg.get("path"))
            if os.path.exists(path) and os.access(path, os.W_OK):
                return _Outcome("ok")
            return _Outcome("offline", _msg(*MSG_NO_DEVICE, path))
        return self._run(lambda: self._send(None, deadline), deadline)

    def _run(self, fn: Callable[[], _Outcome], deadline: float) -> _Outcome:
        """Run transport I/O in a watchdog thread bounded by ``deadline``."""
        if self._stuck is not None:
            if self._stuck.is_alive():
                return _Outcome("error", _msg(*MSG_STUCK))
            self._stuck = None
        box: dict = {}

        def target():
            try:
                box["outcome"] = fn()
            except PrinterFault as fault:
                box["outcome"] = _Outcome(fault.status, fault.message)
            except Exception as exc:  # anything a driver may raise
                log.exception("printer %s: unexpected driver error", self.name)
                box["outcome"] = _Outcome("error", _msg(*MSG_DRIVER, _describe(exc)))

        worker = threading.Thread(target=target, name=f"printer-{self.name}", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()) + _GRACE)
        if worker.is_alive():
            self._stuck = worker
            return _Outcome("error", _msg(*MSG_TIMEOUT, f"no answer within {self.budget:g}s"))
        return box["outcome"]

    def _where(self) -> str:
        """Where the printer is, for error messages (staff fix it from this)."""
        c = self.cfg
        if self.driver == "network":
            return f"{c.get('host')}:{c.get('port') or 9100}"
        if self.driver == "usb":
            return f"usb {c.get('vendor_id')}:{c.get('product_id')}"
        if self.driver == "serial":
            return str(c.get("device"))
        return str(c.get("path") or self.driver)

    def _remaining(self, deadline: float) -> float:
        return deadline - time.monotonic()

    def _set_io_timeout(self, printer, seconds: float) -> None:
        seconds = max(0.05, seconds)
        dev = printer._device  # not .device: that property would (re)open
        if isinstance(dev, socket.socket):
            dev.settimeout(seconds)
        elif self.driver == "serial" and dev:
            dev.timeout = seconds
            dev.write_timeout = seconds
        elif self.driver == "usb":
            printer.timeout = int(seconds * 1000)  # pyusb: milliseconds

    def _send(self, job: bytes | None, deadline: float) -> _Outcome:
        """Open, check, send ``job`` (None = status check only), confirm, close."""
        printer = make_printer(self.cfg)
        query = self.check_status and self.driver in QUERYABLE_DRIVERS
        try:
            step = min(self.timeout, self._remaining(deadline))
            if self.driver == "network":
                printer.timeout = max(0.05, step)
            try:
                printer.open()
            except RuntimeError as exc:  # missing pyusb / pyserial
                raise PrinterFault("error", _msg(*MSG_DRIVER, str(exc))) from exc
            except (DeviceNotFoundError, OSError) as exc:
                raise PrinterFault(
                    "offline", _msg(*MSG_CONNECT, f"{self._where()}: {_describe(exc)}")
                ) from exc
            paper_low = False
            if query:
                paper_low = self._check_ready(printer, deadline, "offline")
            if job is None:
                return _Outcome("ok", None, paper_low)
            try:
                self._set_io_timeout(printer, self._remaining(deadline))
                printer._raw(job)
                if query:
                    paper_low = self._check_ready(printer, deadline, "error", after=True)
                printer.close()  # File flushes here
            except PrinterFault:
                raise
            except Exception as exc:
                raise PrinterFault("error", _msg(*MSG_DROPPED, _describe(exc))) from exc
            return _Outcome("ok", None, paper_low)
        finally:
            try:
                printer.close()
            except Exception:
                pass

    def _query(self, printer, n: int, deadline: float, fail: str, after: bool) -> int:
        """One DLE EOT n round trip: what escpos' query_status() does, with a
        deadline-bounded timeout and a checked reply. Returns the status byte.

        No reply, EOF or a timeout -> PrinterFault(fail); a reply that is not a
        status byte (e.g. "HTTP/1.1 400" from a wrong port) -> "error".
        """
        lost = MSG_DROPPED if after else MSG_NO_REPLY
        step = min(self.timeout, self._remaining(deadline))
        if step <= 0.05:
            raise PrinterFault(fail, _msg(*lost, "timed out"))
        self._set_io_timeout(printer, step)
        try:
            printer._raw(RT_STATUS + bytes((n,)))
            reply = bytes(printer._read())
            if not reply:
                raise PrinterFault(fail, _msg(*lost, "connection closed or no status reply"))
            # One query, one reply byte: bits 1 and 4 set, bits 0 and 7 clear.
            # Tolerate a few stray bytes before it; a long reply is not a printer.
            if len(reply) <= 4 and reply[-1] & 0x93 == 0x12:
                return reply[-1]
            raise PrinterFault("error", _msg(*MSG_BAD_REPLY, repr(reply[:24])))
        except TimeoutError as exc:
            raise PrinterFault(fail, _msg(*lost, f"no status reply within {step:g}s")) from exc
        except OSError as exc:
            raise PrinterFault(fail, _msg(*lost, _describe(exc))) from exc

    def _check_ready(self, printer, deadline: float, fail: str, after: bool = False) -> bool:
        """Raise PrinterFault unless the printer is online with paper.
        Returns True when the paper near-end sensor is on."""
        online = self._query(printer, 1, deadline, fail, after)
        paper = self._query(printer, 4, deadline, fail, after)
        when = ("打印中", "during the job: ") if after else ("", "")
        if paper & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
            raise PrinterFault(
                "paper_out", _msg(when[0] + MSG_PAPER_OUT[0], when[1] + MSG_PAPER_OUT[1])
            )
        if online & RT_MASK_ONLINE:
            cause = self._query(printer, 2, deadline, fail, after)
            if cause & 0x20:
                raise PrinterFault("paper_out", _msg(*MSG_PAPER_OUT))
            cn = "、".join(c for bit, c, _ in _OFFLINE_CAUSES if cause & bit)
            en = ", ".join(e for bit, _, e in _OFFLINE_CAUSES if cause & bit)
            raise PrinterFault(
                "offline",
                _msg(MSG_OFFLINE[0] + (f"（{cn}）" if cn else ""), MSG_OFFLINE[1], en or None),
            )
        return paper & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER
