"""The counter face's settings ([counter])."""

from __future__ import annotations

from hall.settings import Setting

_s = Setting

SETTINGS = (
    # [counter] (window clients: clerk console, guide desk, rating pad)
    _s(
        "counter",
        "pause_reasons",
        ["午休", "临时离开", "其他"],
        "Reasons offered when a clerk pauses a window.",
    ),
    _s(
        "counter",
        "priority_reasons",
        ["老年人", "残疾人", "军人", "孕妇", "其他"],
        "绿色通道 reasons at the guide desk.",
    ),
    _s("counter", "next_numbers", 6, "Next waiting numbers shown on the clerk's console."),
    _s(
        "counter",
        "call_reasons",
        ["预约到场", "材料补齐后续办", "老弱病残照顾", "领导交办", "其他"],
        "Reasons offered when a clerk calls a chosen ticket out of order (选号叫号).",
    ),
    _s(
        "counter",
        "park_reasons",
        ["补充材料", "复印证件", "等待审核", "其他"],
        "Reasons offered when a clerk parks (挂起) the ticket in hand.",
    ),
    _s(
        "counter",
        "pad_addresses",
        [],
        "Client addresses allowed to be rating pads (on top of pairing); [] = any.",
    ),
    _s(
        "counter",
        "pad_pairing_minutes",
        10,
        "Minutes a one-time pad pairing code stays valid (/counter/pads).",
    ),
)
