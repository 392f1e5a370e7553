"""The planner against a simulated hall (bench/simlib.py, the real engine on a frozen
clock): a week of history, then a Monday. The day run with the windows the planner
recommends meets the service-level goal; the configured plan (4 windows) misses it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import simlib
from hall import config, create_app
from hall.clock import FrozenClock
from supervisor import planner
from tests.conftest import ROOT

CONFIG = str(ROOT / "tests" / "planner_hall.toml")


def test_recommended_windows_meet_the_goal_where_the_configured_plan_misses(tmp_path):
    cfg = config.load(CONFIG)
    day = simlib.build_day(cfg, 1, 0.85)
    history = [simlib.build_day(cfg, 1, 0.85, arrivals_seed=1000 + d) for d in range(1, 6)]
    configured = simlib.run_day(CONFIG, day, history=history, keep=tmp_path)
    opening, _ = simlib.open_minutes(cfg)
    app = create_app(
        {
            "HALL_CONFIG": CONFIG,
            "DATABASE": str(tmp_path / "sim.sqlite3"),
            "CLOCK": FrozenClock(opening),  # the Monday morning: history is the week before
            "TESTING": True,
        }
    )
    hall = app.extensions["hall"]
    try:
        result = planner.plan(hall, opening.date())
    finally:
        hall.store.close()
    goal = result["goal"]
    assert result["history_days"] == 5
    windows, schedule = simlib.staffed_windows(planner.schedule(result))
    assert len(windows) > len(cfg.windows)  # the peak needs more than the 4 configured
    with tempfile.TemporaryDirectory() as keep:
        staffed = simlib.run_day(CONFIG, day, windows=windows, schedule=schedule, keep=Path(keep))
    before = simlib.figures(configured.outcomes)
    after = simlib.figures(staffed.outcomes)
    assert after["called"] == before["called"] == len(day)
    assert before["service_level"] < goal <= after["service_level"]
    assert after["mean_wait_min"] < before["mean_wait_min"]
