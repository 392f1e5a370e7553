"""Issuing a number for a client, the one way every face does it: the rate limit for
anonymous clients, the engine's transaction, then the answer with the faces' issue
hooks run after the commit (the kiosk face prints there).

The API (POST /api/tickets), the kiosk's own form and the appointment check-in all go
through here, so a limit or a hook cannot differ between them.
"""

from __future__ import annotations

from .errors import Invalid, TooMany
from .events import UnusualClient
from .face import IssueContext
from .validate import field

TICKET_RATE_MESSAGE = "取号过于频繁，请稍后再试 (too many tickets from this address)"
DAILY_CAP_MESSAGE = (
    "本机今日取号已达上限，请到导办台咨询 (this address has taken its tickets for today)"
)
UNUSUAL_MIN = 5  # tickets of one service before one client's share is judged


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
    within=None,
    arrived: bool = True,
    journey: str | None = None,
) -> tuple[dict, dict]:
    """Issue a number: (the ticket row, the answer with its token and the hooks' fields).

    within(db, ticket), if given, runs inside the issue's transaction after the client's
    count: a face's own check (the citizen face's per-person limit by ID card, one open
    remote ticket per phone) that refuses by raising, so nothing is kept. arrived=False
    issues a ticket that waits in place but is not called until it checks in
    (engine.arrive)."""
    check_kiosk(hall, kiosk)
    check_rate(hall, actor, address)
    source = source or ("staff" if actor else "kiosk")
    counted = _counted_client(hall, actor, address)
    seen: dict = {}

    def checks(db, t):
        if counted:
            seen.update(_count_client(hall, db, t, address))
        if within is not None:
            within(db, t)

    ticket = hall.engine.issue(
        service,
        priority=priority,
        priority_reason=priority_reason,
        actor=actor,
        source=source,
        kiosk=kiosk,
        within=checks if counted or within is not None else None,
        arrived=arrived,
        journey=journey,
    )
    if seen.get("unusual"):
        hall.bus.publish(seen["unusual"])
    return ticket, answer(hall, ticket, kiosk=kiosk, options=options, source=source)


def _counted_client(hall, actor, address: str) -> bool:
    """Anonymous clients count against the daily cap; staff and the hall's own kiosks
    (security.rate_limit_exempt) do not."""
    return actor is None and bool(address) and address not in hall.cfg.security["rate_limit_exempt"]


def _count_client(hall, db, ticket: dict, address: str) -> dict:
    """Inside the issue's transaction: count the ticket for its client address, refuse
    it over security.ticket_daily_cap_per_client (the whole issue rolls back), and say
    whether the client now holds an unusual share of the service's tickets."""
    day, service = ticket["day"], ticket["service"]
    db.execute(
        "INSERT INTO client_tickets (day, address, service, issued) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (day, address, service) DO UPDATE SET issued = issued + 1",
        [day, address, service],
    )
    cap = hall.cfg.security["ticket_daily_cap_per_client"]
    total, mine = db.execute(
        "SELECT SUM(issued), SUM(CASE WHEN service = ? THEN issued ELSE 0 END) "
        "FROM client_tickets WHERE day = ? AND address = ?",
        [service, day, address],
    ).fetchone()
    if cap and total > cap:
        raise TooMany(DAILY_CAP_MESSAGE)
    if mine < UNUSUAL_MIN or mine % UNUSUAL_MIN:  # judged at 5, 10, 15... (no flood)
        return {}
    service_issued = hall.engine.read.issued_today(db, service, day)
    if mine < hall.cfg.security["unusual_share"] * service_issued:
        return {}
    return {
        "unusual": UnusualClient(
            at=hall.engine.read.local_iso(hall.now_iso()),
            address=address,
            service=service,
            issued=mine,
            service_issued=service_issued,
        )
    }


def answer(hall, ticket: dict, *, kiosk=None, options=None, source="kiosk") -> dict:
    """The answer for a committed ticket: ticket_json with its token, then every face's
    issue hook (hall.face.FaceRegistry.run_issue_hooks)."""
    body = hall.engine.read.ticket_json(hall.store.db(), ticket, with_token=True)
    ctx = IssueContext(
        ticket=ticket, body=body, kiosk=kiosk, options=dict(options or {}), source=source
    )
    return hall.faces.run_issue_hooks(ctx)
