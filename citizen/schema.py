"""The citizen face's tables (applied after the core's; never rename a migration).

Personal data here: the keyed hash and masked form of ID numbers (citizen_ids,
citizen_cards), phone numbers (sms_subscriptions, sms_outbox, sms_codes,
remote_tickets). A full ID number is never stored. Every row carries its day or time,
so the retention purge can reduce it (docs/citizen.md).
"""

from __future__ import annotations


def m100_citizen(db):
    # A card read at a kiosk: valid card_seconds for one number, then deleted.
    db["citizen_cards"].create(
        {
            "token": str,
            "kiosk": str,
            "id_key": str,
            "id_masked": str,
            "elder": int,
            "priority": int,
            "created_at": str,
            "expires_at": str,
        },
        pk="token",
    )
    # The person behind a ticket taken with an ID card (per-person limit, clerk's view).
    db["citizen_ids"].create(
        {
            "ticket_id": int,
            "day": str,
            "service": str,
            "id_key": str,
            "id_masked": str,
            "created_at": str,
        },
        pk="ticket_id",
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db["citizen_ids"].create_index(["day", "id_key", "service"])
    # 即将到号: a phone number left for a ticket, and the messages sent for it.
    db["sms_subscriptions"].create(
        {
            "ticket_id": int,
            "day": str,
            "phone": str,
            "origin": str,  # kiosk | mobile | appointment (a booking's phone) | staff
            "state": str,  # active | stopped
            "stopped_reason": str,
            "created_at": str,
        },
        pk="ticket_id",
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db["sms_subscriptions"].create_index(["state", "day"])
    db["sms_outbox"].create(
        {
            "id": int,
            "dedupe": str,  # t<ticket>:ahead, t<ticket>:called, code:<n>: one row each
            "ticket_id": int,
            "kind": str,  # ahead | called | code
            "day": str,
            "phone": str,
            "text": str,
            "status": str,  # pending | sending | sent | failed | dropped | unknown (m101)
            "attempts": int,
            "next_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"dedupe", "kind", "phone", "text", "status"},
        defaults={"attempts": 0, "status": "pending"},
    )
    db["sms_outbox"].create_index(["dedupe"], unique=True)
    db["sms_outbox"].create_index(["status", "next_at"])
    # Where the sender is in ticket_events (it reads the log, so nothing is missed).
    db["sms_cursor"].create({"name": str, "last_event": int}, pk="name")
    db["sms_codes"].create(
        {
            "id": int,
            "phone": str,
            "code_hash": str,
            "expires_at": str,
            "attempts": int,
            "sent_at": str,
            "day": str,
        },
        pk="id",
    )
    # One code per phone; rows whose phone the purge erased ("") do not collide.
    db.execute("CREATE UNIQUE INDEX sms_codes_phone ON sms_codes (phone) WHERE phone != ''")
    # 线上取号: a ticket taken from a phone at /m.
    db["remote_tickets"].create(
        {"ticket_id": int, "day": str, "service": str, "phone": str, "created_at": str},
        pk="ticket_id",
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db["remote_tickets"].create_index(["day", "phone"])
    db["remote_tickets"].create_index(["day", "service"])
    # 呼叫帮办 from a kiosk: open until a guide acknowledges it.
    db["help_requests"].create(
        {
            "id": int,
            "kiosk": str,
            "kiosk_name": str,
            "day": str,
            "at": str,
            "acked_at": str,
            "acked_by": str,
        },
        pk="id",
    )
    db["help_requests"].create_index(["acked_at"])


def m101_sms_msgid(db):
    """Each message's own id (msgid), the same on every attempt: given to a gateway that
    drops an id it has seen ({msgid} in the http template), a message whose send was
    interrupted can be asked for again without being sent twice. Status `unknown`: an
    interrupted send that cannot be asked for again (shown to supervisors)."""
    db["sms_outbox"].add_column("msgid", str)
    db.execute("UPDATE sms_outbox SET msgid = lower(hex(randomblob(8))) WHERE msgid IS NULL")
