"""The citizen face's issue hook: a `phone` left with POST /api/tickets (or the kiosk's
form) subscribes the new ticket to 即将到号 messages."""

from __future__ import annotations

import logging

from .notify import normalize_phone
from .state import of

log = logging.getLogger(__name__)


def issue_hook(hall):
    def hook(ctx) -> dict | None:
        raw = ctx.options.get("phone")
        if not raw:
            return None
        phone = normalize_phone(raw)
        state = of(hall)
        if phone is None or state is None or not state.notifier.enabled:
            return {"sms": False}
        state.notifier.subscribe_ticket(ctx.ticket["id"], phone, ctx.source)
        return {"sms": True}

    return hook
