"""The supervisor face's settings ([supervisor])."""

from __future__ import annotations

from hall.settings import Setting

_s = Setting

SETTINGS = (
    # [supervisor] (live board, figures, 督查考评 ranking)
    _s(
        "supervisor",
        "service_level_goal",
        0.85,
        "Goal for the share of tickets called within target; below it is flagged red.",
    ),
    _s(
        "supervisor",
        "good_rate_goal",
        0.95,
        "Goal for 好评率 in the ranking; below it is flagged red.",
    ),
    _s(
        "supervisor",
        "default_days",
        7,
        "Days shown by the figures pages when no range is given (ending today).",
    ),
)
