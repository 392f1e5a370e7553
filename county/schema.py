"""The county face's tables (applied by the core after its own; never rename).

A site uses the county_outbox side (its journal of records for the centre), the centre
the county_sites side; a centre's copy of each site (county/replica.py) is a hall
database of its own with the replica tables. Each hall has them all: one migration set.
"""

from __future__ import annotations


def m030_county(db):
    # --- a site ------------------------------------------------------------------------
    # The journal shipped to the centre: one row per record, seq gap-free and in the
    # order the records were gathered (county/capture.py). Rows acknowledged by the
    # centre are pruned after a while.
    db["county_outbox"].create(
        {"seq": int, "tbl": str, "op": str, "pk": str, "at": str, "row": str},
        pk="seq",
        not_null={"tbl", "op", "pk", "at", "row"},
    )
    # Where the gathering stands (last ticket_events id, ...) and what the centre acked.
    db["county_cursors"].create({"name": str, "value": str}, pk="name")
    # Digest of the last shipped snapshot of a row of a table that changes in place.
    db["county_seen"].create({"tbl": str, "pk": str, "digest": str}, pk=("tbl", "pk"))
    # The catalogue matter a citizen chose at the kiosk for a ticket (id: the order the
    # rows were committed in, which the gathering follows).
    db["county_ticket_matters"].create(
        {"id": int, "ticket_id": int, "matter": str, "at": str},
        pk="id",
        not_null={"ticket_id", "matter"},
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db["county_ticket_matters"].create_index(["ticket_id"], unique=True)
    # The site's copy of the centre's catalogue (county/catalogue.py).
    db["county_catalogue"].create(
        {"code": str, "data": str, "version": int}, pk="code", not_null={"data"}
    )
    # --- the centre ------------------------------------------------------------------------
    db["county_sites"].create(
        {
            "id": str,
            "name": str,
            "level": str,  # county | township | village
            "key": str,
            "prev_key": str,
            "prev_key_until": str,
            "active": int,
            "created_at": str,
            "changed_at": str,
            "acked_seq": int,  # a cache of the replica's own (county/replica.py)
            "last_seen_at": str,
            "last_batch_at": str,
            "last_error": str,
            "timezone": str,
            "hall_name": str,
        },
        pk="id",
        not_null={"name", "level", "key"},
        defaults={"active": 1, "acked_seq": 0},
    )
    db["county_matters"].create(
        {
            "code": str,  # 事项编码
            "name": str,
            "department": str,
            "levels": str,  # JSON list of county | township | village
            "materials": str,  # JSON list of 申请材料
            "legal_days": int,  # 法定时限 (working days)
            "promised_days": int,  # 承诺时限
            "fees": str,
            "version": int,
            "active": int,
            "updated_at": str,
        },
        pk="code",
        not_null={"name", "department"},
        defaults={"active": 1, "version": 1, "levels": "[]", "materials": "[]"},
    )
    # --- ratings to the province (centre, or a site without a centre) -------------------
    db["county_province"].create(
        {
            "key": str,  # idempotency key: site:day:number
            "site_id": str,
            "ticket_id": int,
            "rated_at": str,
            "payload": str,  # JSON
            "state": str,  # pending | delivered | failed
            "attempts": int,
            "next_at": str,
            "last_error": str,
            "created_at": str,
            "delivered_at": str,
        },
        pk="key",
        not_null={"site_id", "payload", "state"},
        defaults={"attempts": 0, "state": "pending"},
    )
    db["county_province"].create_index(["state", "next_at"])
    # --- in a centre's copy of a site --------------------------------------------------------
    # Which shipped record changed which rating (the province feed reads it in order).
    db["county_replica_log"].create({"seq": int, "tbl": str, "pk": str}, pk="seq")
    db["county_replica_log"].create_index(["tbl", "seq"])
    # The county ranking's per-day summaries of a site (county/figures.py DayCache).
    db["county_day_cache"].create({"day": str, "data": str}, pk="day", not_null={"data"})
    # Figures a site's faces add to /api/stats (e.g. appointments), per day as shipped.
    db["county_face_figures"].create(
        {"day": str, "key": str, "value": str}, pk=("day", "key"), not_null={"value"}
    )
