"""好差评: one rating per finished ticket (the pad, the QR page, or unrated on timeout)."""

from __future__ import annotations

import json

from .. import events as ev
from ..clock import to_iso
from ..errors import Conflict, Invalid
from ..vocabulary import BAD_SCORES


class Ratings:
    # --- ratings --------------------------------------------------------------------
    def rate(
        self,
        ticket_id: int,
        score: int | None,
        reasons: list[str] | None = None,
        comment: str = "",
        channel: str = "qr",
    ) -> dict:
        """好差评: one rating per finished ticket; 差评 (1-2) need a reason.

        score None records the ticket as unrated (the pad timed out); a later real
        rating (e.g. from the QR code) may still replace an unrated record.
        """
        reasons = list(reasons or [])
        if score is not None and score not in (1, 2, 3, 4, 5):
            raise Invalid("评分须为1-5 (score must be 1-5)")
        # One rule for every channel (pad, QR page): reasons come from ratings.reasons,
        # and belong to a 差评 only (a free-text reason goes in the comment).
        unknown = [r for r in reasons if r not in self.cfg.ratings["reasons"]]
        if unknown:
            raise Invalid(
                f"未知的原因：{'、'.join(unknown)} (reasons must be from ratings.reasons)"
            )
        if score not in BAD_SCORES:
            reasons = []
        if score in BAD_SCORES and not reasons and not comment.strip():
            raise Invalid("差评请选择或填写原因 (a bad rating needs a reason)")

        def run(db, out):
            now = self.clock.now()
            t = self._load(db, ticket_id)
            if t["status"] != "done":
                raise Conflict("办结后才能评价 (only a finished ticket can be rated)")
            existing = list(db.query("SELECT * FROM ratings WHERE ticket_id = ?", [t["id"]]))
            if existing and (existing[0]["score"] is not None or score is None):
                raise Conflict("该号已评价 (this ticket has been rated)")
            bad = score in BAD_SCORES
            deadline = None
            if bad:
                local_day = self.hours.local(now).date()
                deadline = self.hours.add_working_days(
                    local_day, self.cfg.ratings["rectify_days"]
                ).isoformat()
            row = {
                "ticket_id": t["id"],
                "score": score,
                "reasons": json.dumps(reasons, ensure_ascii=False),
                "comment": comment,
                "channel": channel if score is not None else "timeout",
                "window": t["window"],
                "clerk": t["clerk"],
                "service": t["service"],
                "rated_at": to_iso(now),
                "status": "open" if bad else "none",
                "deadline": deadline,
            }
            if existing:
                db["ratings"].update(existing[0]["id"], row)
                rating_id = existing[0]["id"]
            else:
                rating_id = db["ratings"].insert(row).last_pk
            eid = self._log(
                db,
                t,
                "rated" if score is not None else "unrated",
                now,
                window=t["window"],
                score=score,
                channel=row["channel"],
            )
            out.append(
                self._ticket_event(
                    ev.TicketRated,
                    db,
                    t,
                    now,
                    eid,
                    t["window"],
                    None,
                    score=score,
                    bad=bad,
                    reasons=reasons,
                    channel=row["channel"],
                )
            )
            return {**row, "id": rating_id, "reasons": reasons}

        return self.write(run)
