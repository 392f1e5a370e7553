"""The supervisor face's tables (applied by the core after its own; never rename)."""

from __future__ import annotations


def m020_supervisor_rating_followups(db):
    # 好差评 follow-up steps (回访, 整改, 申诉), one row per step; ratings.status holds the state.
    db["rating_followups"].create(
        {
            "id": int,
            "rating_id": int,
            "action": str,  # callback | rectified | appeal
            "from_status": str,
            "to_status": str,
            "note": str,
            "actor": str,
            "at": str,
        },
        pk="id",
        not_null={"rating_id", "action", "at"},
        foreign_keys=[("rating_id", "ratings", "id")],
    )
    db["rating_followups"].create_index(["rating_id"])
    db["audit_log"].create_index(["actor"], if_not_exists=True)
