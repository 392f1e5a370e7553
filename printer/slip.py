"""The data printed on a queue ticket (取号凭条).

A slip carries only queue data: never a name, ID-card number or phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MATERIALS_SHOWN = 6  # items of the materials list printed; the rest on the phone page


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
    # optional: 申请材料 of the matter chosen, printed as a short list under the QR code
    # (最多跑一次: come with the right papers)
    materials: tuple[str, ...] = ()

    @property
    def materials_lines(self) -> list[str]:
        """The short list: at most MATERIALS_SHOWN items, then a pointer to the phone."""
        items = [m for m in self.materials if m and m.strip()]
        if not items:
            return []
        lines = ["请备齐以下材料："]
        lines += [f"{i}. {m.strip()}" for i, m in enumerate(items[:MATERIALS_SHOWN], 1)]
        if len(items) > MATERIALS_SHOWN:
            lines.append(f"等{len(items)}项，扫码查看全部")
        return lines

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
