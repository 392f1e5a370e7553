"""Fixtures for the printer tests (local to tests/printer)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # so `printer` and `tests.fakeprinter` import
    sys.path.insert(0, str(ROOT))

from printer import TicketSlip  # noqa: E402
from tests.fakeprinter import FakePrinter  # noqa: E402

ARTIFACTS = ROOT / "tests" / "artifacts"
SHANGHAI = ZoneInfo("Asia/Shanghai")
QR_URL = "https://hall.example.gov.cn/t/20250304-A001?k=8f3a9c2e"
LONG_SERVICE = "不动产登记（抵押权首次登记、变更登记、注销登记）及相关税费缴纳一窗受理"


def make_slip(**overrides) -> TicketSlip:
    values = dict(
        hall_name="某某市政务服务中心",
        number="A001",
        service_name="不动产登记",
        waiting_ahead=12,
        eta_minutes=36,
        issued_at=datetime(2025, 3, 4, 9, 15, 2, tzinfo=SHANGHAI),
        qr_url=QR_URL,
        footer="请留意叫号屏幕与广播，过号请重新取号。监督电话 12345",
        window_hint="",
    )
    values.update(overrides)
    return TicketSlip(**values)


@pytest.fixture
def slip() -> TicketSlip:
    return make_slip()


@pytest.fixture
def long_slip() -> TicketSlip:
    """Tall enough (> 960 dots at 576) for escpos to split the raster."""
    return make_slip(service_name=LONG_SERVICE, window_hint="请到综办窗口等候")


@pytest.fixture
def fake_printer():
    with FakePrinter() as fp:
        yield fp


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def slip_factory():
    """make_slip(**overrides) -> TicketSlip."""
    return make_slip


@pytest.fixture
def qr_url() -> str:
    return QR_URL
