"""The counter face's tables (applied by the core after its own; never rename)."""

from __future__ import annotations


def m030_counter_pad_devices(db):
    """Trusted rating pads: a device is paired once with a one-time code a supervisor
    shows; it keeps a long random token (cookie hall_pad) of which only the hash is here."""
    db["pad_devices"].create(
        {
            "id": int,
            "window": int,
            "token_hash": str,  # sha256 hex of the device's token
            "paired_at": str,
            "paired_by": str,  # the supervisor who made the code
            "last_seen": str,
            "address": str,  # client address last seen
            "revoked_at": str,
            "revoked_by": str,
        },
        pk="id",
        not_null={"window", "token_hash", "paired_at"},
    )
    db["pad_devices"].create_index(["token_hash"], unique=True)
    db["pad_pairing_codes"].create(
        {
            "id": int,
            "window": int,
            "code_hash": str,  # sha256 hex of the code (shown once, never stored)
            "created_at": str,
            "created_by": str,
            "expires_at": str,
            "used_at": str,
            "device_id": int,
        },
        pk="id",
        not_null={"window", "code_hash", "created_at", "expires_at"},
    )
    db["pad_pairing_codes"].create_index(["code_hash"])
