"""The data printed on a queue ticket (取号凭条).

A slip carries only queue data: never a name, ID-card number or phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TicketSlip:
    """Everything printed on one ticket.

    ``issued_at`` must be timezone-aware and already in the hall's timezone; it is
    printed as-is (``YYYY-MM-DD HH:MM:SS``).
    """

    hall_name: str
    number: str  # "A001"
    service_name: str
    waiting_ahead: int
    eta_minutes: int
    issued_at: datetime
    qr_url: str
    footer: str
    window_hint: str = ""  # optional, e.g. "请到综办窗口等候"

    @property
    def issued_at_text(self) -> str:
        return self.issued_at.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def waiting_text(self) -> str:
        return f"前面还有{max(0, int(self.waiting_ahead))}人等候"

    @property
    def eta_text(self) -> str:
        return f"预计等候约{max(0, int(self.eta_minutes))}分钟"

    @property
    def issued_text(self) -> str:
        return f"取号时间 {self.issued_at_text}"


#: The short line printed under the QR code.
QR_CAPTION = "扫码查看进度/评价"
