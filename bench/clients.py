"""Shared by the benchmarks' python-socketio display clients."""

from __future__ import annotations


def dispatch_on_read_thread() -> None:
    """Make python-engineio's client run message handlers on its read thread.

    By default it starts a new thread for every message it receives; with 25-50 clients in
    one process that thread churn, not the server, would dominate the measured latency. A
    browser display handles messages on its event loop, which this is closer to."""
    import engineio.client

    trigger = engineio.client.Client._trigger_event
    if getattr(trigger, "_hall_serial", False):
        return

    def _trigger_event(self, event, *args, **kwargs):
        if event == "message":
            kwargs["run_async"] = False
        return trigger(self, event, *args, **kwargs)

    _trigger_event._hall_serial = True
    engineio.client.Client._trigger_event = _trigger_event
