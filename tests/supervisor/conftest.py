"""Fixtures for the supervisor face tests: one scripted hall day on the test clock.

Monday 2026-11-30 (Asia/Shanghai). Windows: 1 (li, 综办: SB/YB + GJJ), 2 (wang, BDC),
3 (zhao, SB/YB/GJJ + BDC). Every time below is exact, so every figure is known:

  ticket  service  issued    first call        wait  finish     service  end
  T1 B001 SB       09:00:00  09:04:10 w1 li     250  09:12:40   480 (recall 09:04:40)  rated 5
  T2 B002 SB       09:01:00  09:07:30 w3 zhao   390  -> 09:09:00 transferred to YB,
                                                     called 09:13:00 w1, finished 09:20:00 (420) rated 4
  T3 A001 BDC      09:02:30  09:06:00 w2 wang   210  no-show 09:07, requeued 09:08,
                                                     called 09:10:00, finished 09:25:00 (900) rated 2 -> rectified
  T4 C001 YB       09:03:00  09:21:00 w1 li    1080  no-show 09:22:00
  T5 D001 GJJ      09:05:00  09:26:00 w3 zhao  1260  09:30:00   240  unrated (pad timeout)
  T6 B003 SB       09:06:00  cancelled while waiting 09:10:00
  T7 B004 SB       10:05:00  10:05:45 w3 zhao    45  10:15:45   600  rated 1 -> appealed
  T8 C002 YB       10:20:00  10:30:00 w1 li     600  10:36:00   360  rated 2 (open)
"""

from __future__ import annotations

import pytest

from hall.engine import Actor
from tests.conftest import local

DAY = "2026-11-30"
LI, WANG, ZHAO = Actor("li", "clerk"), Actor("wang", "clerk"), Actor("zhao", "clerk")
BOSS = Actor("boss", "supervisor")
NAMES = {"li": "李丽", "wang": "王伟", "zhao": "赵敏"}


def at(clock, h, m, s=0, date=(2026, 11, 30)):
    """Set the test clock to a hall-local time (on the scripted Monday by default)."""
    clock.set(local(*date, h, m, s))


def run_day(hall, clock) -> dict:
    """The scripted Monday through the real engine; returns ticket ids and rating ids."""
    e = hall.engine
    t = {}
    at(clock, 9, 0)
    for n, actor in ((1, LI), (2, WANG), (3, ZHAO)):
        e.open_window(n, actor)
    t[1] = e.issue("SB")["id"]
    at(clock, 9, 1)
    t[2] = e.issue("SB")["id"]
    at(clock, 9, 2, 30)
    t[3] = e.issue("BDC")["id"]
    at(clock, 9, 3)
    t[4] = e.issue("YB")["id"]
    at(clock, 9, 4, 10)
    assert e.call_next(1, LI)["id"] == t[1]
    at(clock, 9, 4, 40)
    e.recall(t[1], LI)
    at(clock, 9, 5)
    t[5] = e.issue("GJJ")["id"]
    e.start(t[1], LI)
    at(clock, 9, 6)
    t[6] = e.issue("SB")["id"]
    assert e.call_next(2, WANG)["id"] == t[3]
    at(clock, 9, 7)
    e.no_show(t[3], WANG)
    at(clock, 9, 7, 30)
    assert e.call_next(3, ZHAO)["id"] == t[2]
    at(clock, 9, 8)
    e.requeue(t[3], WANG)
    at(clock, 9, 9)
    e.transfer(t[2], ZHAO, service="YB", note="应办医保")
    at(clock, 9, 10)
    assert e.call_next(2, WANG)["id"] == t[3]
    e.cancel(t[6], BOSS, "市民离开")
    at(clock, 9, 12, 40)
    e.finish(t[1], LI)
    at(clock, 9, 13)
    e.rate(t[1], 5, channel="pad")
    assert e.call_next(1, LI)["id"] == t[2]
    at(clock, 9, 20)
    e.finish(t[2], LI)
    at(clock, 9, 20, 30)
    e.rate(t[2], 4, channel="pad")
    at(clock, 9, 21)
    assert e.call_next(1, LI)["id"] == t[4]
    at(clock, 9, 22)
    e.no_show(t[4], LI)
    at(clock, 9, 25)
    e.finish(t[3], WANG)
    at(clock, 9, 25, 30)
    r3 = e.rate(t[3], 2, ["效率低"], channel="pad")["id"]
    at(clock, 9, 26)
    assert e.call_next(3, ZHAO)["id"] == t[5]
    at(clock, 9, 30)
    e.finish(t[5], ZHAO)
    at(clock, 9, 31)
    e.rate(t[5], None, channel="pad")
    at(clock, 10, 5)
    t[7] = e.issue("SB")["id"]
    at(clock, 10, 5, 45)
    assert e.call_next(3, ZHAO)["id"] == t[7]
    at(clock, 10, 15, 45)
    e.finish(t[7], ZHAO)
    at(clock, 10, 16)
    r7 = e.rate(t[7], 1, ["态度不好"], "窗口人员玩手机", channel="pad")["id"]
    at(clock, 10, 20)
    t[8] = e.issue("YB")["id"]
    at(clock, 10, 30)
    assert e.call_next(1, LI)["id"] == t[8]
    at(clock, 10, 36)
    e.finish(t[8], LI)
    at(clock, 10, 36, 30)
    r8 = e.rate(t[8], 2, ["材料要求不清"], channel="pad")["id"]
    return {"tickets": t, "ratings": {3: r3, 7: r7, 8: r8}}


@pytest.fixture
def boss(staff):
    return staff("boss", "supervisor")


@pytest.fixture
def admin(staff):
    return staff("root", "admin")


@pytest.fixture
def day(hall, clock, make_user, boss):
    """The scripted day plus its follow-ups (through the API): T3's 差评 called back at
    14:00 and rectified at 15:00, T7's 差评 appealed at 15:30."""
    for username, name in NAMES.items():
        make_user(username, "clerk", display_name=name)
    ids = run_day(hall, clock)
    r = ids["ratings"]
    at(clock, 14, 0)
    res = boss.post(
        f"/api/ratings/{r[3]}/follow-up", json={"action": "callback", "note": "已电话回访"}
    )
    assert res.status_code == 200, res.get_json()
    at(clock, 15, 0)
    res = boss.post(
        f"/api/ratings/{r[3]}/follow-up", json={"action": "rectified", "note": "已整改"}
    )
    assert res.status_code == 200, res.get_json()
    at(clock, 15, 30)
    res = boss.post(
        f"/api/ratings/{r[7]}/follow-up", json={"action": "appeal", "note": "误评：市民确认误触"}
    )
    assert res.status_code == 200, res.get_json()
    at(clock, 17, 0)
    return ids
