"""Issuing a number for a client, the one way every face does it: the rate limit for
anonymous clients, the engine's transaction, then the answer with the faces' issue
hooks run after the commit (the kiosk face prints there).

The API (POST /api/tickets), the kiosk's own form and the appointment check-in all go
through here, so a limit or a hook cannot differ between them.
"""

from __future__ import annotations

from .errors import Invalid, TooMany
from .face import IssueContext
from .validate import field

TICKET_RATE_MESSAGE = "取号过于频繁，请稍后再试 (too many tickets from this address)"


def check_rate(hall, actor, address: str, message: str = TICKET_RATE_MESSAGE) -> None:
    """Anonymous clients (kiosks, phones) may take security.ticket_rate_limit_per_minute
    numbers a minute per address; staff are not limited."""
    if actor is None and not hall.ticket_limiter.allow(address or "unknown"):
        raise TooMany(message)


def options_from(hall, data: dict) -> dict:
    """The faces' IssueOption fields of a request body, validated; absent ones left out."""
    out = {}
    for option in hall.faces.issue_options():
        value = field(data, option.name, option.kind, max_len=option.max_len)
        if value is not None:
            out[option.name] = value
    return out


def check_kiosk(hall, kiosk: str | None) -> None:
    if kiosk is not None and hall.cfg.kiosk(kiosk) is None:
        raise Invalid(f"未知的取号机{kiosk} (unknown kiosk)")


def issue(
    hall,
    service: str,
    *,
    actor=None,
    address: str = "",
    kiosk: str | None = None,
    options: dict | None = None,
    priority: bool = False,
    priority_reason: str = "",
    source: str | None = None,
) -> tuple[dict, dict]:
    """Issue a number: (the ticket row, the answer with its token and the hooks' fields)."""
    check_kiosk(hall, kiosk)
    check_rate(hall, actor, address)
    source = source or ("staff" if actor else "kiosk")
    ticket = hall.engine.issue(
        service,
        priority=priority,
        priority_reason=priority_reason,
        actor=actor,
        source=source,
        kiosk=kiosk,
    )
    return ticket, answer(hall, ticket, kiosk=kiosk, options=options, source=source)


def answer(hall, ticket: dict, *, kiosk=None, options=None, source="kiosk") -> dict:
    """The answer for a committed ticket: ticket_json with its token, then every face's
    issue hook (hall.face.FaceRegistry.run_issue_hooks)."""
    body = hall.engine.read.ticket_json(hall.store.db(), ticket, with_token=True)
    ctx = IssueContext(
        ticket=ticket, body=body, kiosk=kiosk, options=dict(options or {}), source=source
    )
    return hall.faces.run_issue_hooks(ctx)
