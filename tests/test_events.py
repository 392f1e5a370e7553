"""Events reach Socket.IO clients: in-process test clients and a real client over the network."""

from __future__ import annotations

import threading

import requests
import socketio as sio_client

from hall.realtime import socketio

CALLED_FIELDS = {"number", "window", "window_name", "service", "service_name", "recall", "at"}


def received(client, name):
    return [
        m["args"][0] for m in client.get_received(client.namespace_default) if m["name"] == name
    ]


def test_display_gets_a_snapshot_on_connect(app, client, clerk_at):
    for _ in range(2):
        client.post("/api/tickets", json={"service": "SB"})
    c1 = clerk_at(1)
    c1.post("/api/windows/1/call-next")
    tc = socketio.test_client(app, namespace="/display")
    tc.namespace_default = "/display"
    snap = received(tc, "snapshot")
    assert len(snap) == 1
    s = snap[0]
    assert s["queue"]["SB"] == 1 and s["hall"] == "测试政务服务大厅"
    assert [c["number"] for c in s["calls"]] == ["B001"]
    assert CALLED_FIELDS <= set(s["calls"][0])
    tc.disconnect(namespace="/display")


def test_called_queue_and_window_events(app, client, clerk_at):
    tc = socketio.test_client(app, namespace="/display")
    tc.namespace_default = "/display"
    tc.get_received("/display")
    c1 = clerk_at(1)
    t = client.post("/api/tickets", json={"service": "SB"}).get_json()
    assert received(tc, "queue")[-1]["SB"] == 1
    c1.post("/api/windows/1/call-next")
    c1.post(f"/api/tickets/{t['id']}/recall")
    msgs = tc.get_received("/display")
    called = [m["args"][0] for m in msgs if m["name"] == "called"]
    assert [c["recall"] for c in called] == [False, True]
    first = called[0]
    assert CALLED_FIELDS <= set(first)
    assert first["number"] == "B001" and first["window"] == 1
    assert first["window_name"] == "1号综办窗口" and first["service_name"] == "社会保险"
    assert first["at"].endswith("+08:00")
    assert called[1]["id"] > first["id"]  # a recall is a new announcement
    queue = [m["args"][0] for m in msgs if m["name"] == "queue"]
    assert queue[-1]["SB"] == 0
    # the token never travels in a broadcast
    assert t["token"] not in repr(msgs)
    c1.post("/api/windows/1/pause", json={"reason": "午休"})
    windows = received(tc, "window")
    assert windows[-1]["number"] == 1 and windows[-1]["state"] == "paused"


def test_counter_namespace_is_staff_only(app, staff):
    anon = socketio.test_client(app, namespace="/counter")
    assert not anon.is_connected("/counter")
    clerk = staff("clerk1")
    tc = socketio.test_client(app, namespace="/counter", flask_test_client=clerk.client)
    assert tc.is_connected("/counter")
    assert any(m["name"] == "snapshot" for m in tc.get_received("/counter"))


def test_phone_follows_only_its_own_ticket(app, client, clerk_at):
    mine = client.post("/api/tickets", json={"service": "SB"}).get_json()
    other = client.post("/api/tickets", json={"service": "SB"}).get_json()
    tc = socketio.test_client(app, namespace="/ticket")
    ack = tc.emit("follow", {"token": mine["token"]}, namespace="/ticket", callback=True)
    assert ack["ok"] and ack["ticket"]["number"] == mine["number"]
    assert "token" not in ack["ticket"]
    assert tc.emit("follow", {"token": "guess"}, namespace="/ticket", callback=True) == {
        "ok": False
    }
    tc.get_received("/ticket")
    c1 = clerk_at(1)
    c1.post("/api/windows/1/call-next")  # calls mine
    tickets = [m["args"][0] for m in tc.get_received("/ticket") if m["name"] == "ticket"]
    assert [t["number"] for t in tickets] == [mine["number"]]
    assert tickets[0]["status"] == "called" and tickets[0]["window"] == 1
    assert other["number"] not in repr(tickets)


def test_real_client_against_the_running_server(live_server):
    """python-socketio over WebSocket against `python -m hall serve`."""
    got_snapshot = threading.Event()
    calls: list[dict] = []
    got_call = threading.Event()
    client = sio_client.Client(reconnection=False)

    @client.on("snapshot", namespace="/display")
    def on_snapshot(data):
        got_snapshot.set()

    @client.on("called", namespace="/display")
    def on_called(data):
        calls.append(data)
        got_call.set()

    client.connect(
        live_server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=10
    )
    try:
        assert got_snapshot.wait(10)
        clerk = live_server.session("clerk1")
        assert clerk.post(live_server.url + "/api/windows/1/open").status_code == 200
        t = requests.post(live_server.url + "/api/tickets", json={"service": "YB"}).json()
        assert (
            clerk.post(live_server.url + "/api/windows/1/call-next").json()["ticket"]["number"]
            == t["number"]
        )
        assert got_call.wait(10)
        assert calls[0]["number"] == t["number"] and calls[0]["window"] == 1
        assert calls[0]["audio"] == f"/audio/call/{t['number']}/1.wav"
    finally:
        client.disconnect()
