"""Helpers for the display face's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def display_client(app):
    """A Socket.IO test client on the public /display namespace."""
    from hall.realtime import socketio

    clients = []

    def connect(auth=None):
        c = socketio.test_client(app, namespace="/display", auth=auth)
        assert c.is_connected("/display")
        clients.append(c)
        return c

    yield connect
    for c in clients:
        if c.is_connected("/display"):
            c.disconnect("/display")


@pytest.fixture
def quick_voice_server(tmp_path):
    """A live server whose announcements are short (no chime, fast speech): for tests that
    wait for several announcements to play out."""
    from tests.conftest import LiveServer

    server = LiveServer(tmp_path, settings={"voice": {"chime": False, "speed": 350}}).start()
    yield server
    server.stop()
