"""The displays in headless Chromium against a real server: live calls, voice, self-healing."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import save_screenshot

pytestmark = pytest.mark.browser

LATEST = "#d-latest .d-big-num"


class Hall:
    """Drives the live server through the API like the clerks and the kiosk would."""

    def __init__(self, server):
        self.server = server
        self.public = server.session()
        self.clerks = {}

    def open(self, window, username=None):
        s = self.server.session(username or f"clerk{window}")
        r = s.post(f"{self.server.url}/api/windows/{window}/open")
        assert r.status_code == 200, r.text
        self.clerks[window] = s
        return s

    def issue(self, service):
        r = self.public.post(f"{self.server.url}/api/tickets", json={"service": service})
        assert r.status_code == 201, r.text
        return r.json()

    def post(self, window, path, **body):
        r = self.clerks[window].post(f"{self.server.url}/api/{path}", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def call(self, window):
        return self.post(window, f"windows/{window}/call-next")["ticket"]

    def finish(self, window, ticket):
        return self.post(window, f"tickets/{ticket['id']}/finish")

    def recall(self, window, ticket):
        return self.post(window, f"tickets/{ticket['id']}/recall")


def open_display(page, server, path="/display"):
    wavs = []
    page.on("request", lambda r: "/audio/call/" in r.url and wavs.append(r.url))
    page.goto(server.url + path)
    wait_online(page)
    return wavs


def wait_online(page, online=True):
    page.wait_for_function(
        "(v) => document.body.dataset.online === v", arg="1" if online else "0", timeout=15000
    )


def latest(page):
    return page.locator(LATEST).inner_text()


def wait_latest(page, number, timeout=5000):
    page.wait_for_function(
        "(n) => { const e = document.querySelector('#d-latest .d-big-num');"
        " return e && e.textContent === n; }",
        arg=number,
        timeout=timeout,
    )


def announced(page):
    return page.evaluate("() => window.hallAnnounced.map(a => a.id)")


def wait_announced(page, count, timeout=10000):
    page.wait_for_function("(n) => window.hallAnnounced.length >= n", arg=count, timeout=timeout)


def call_ids(server, numbers):
    """ticket_events ids of the calls of some numbers, oldest first (from the public snapshot)."""
    import socketio

    sio = socketio.Client()
    sio.connect(server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
    try:
        snap = sio.call("snapshot", {}, namespace="/display", timeout=10)
    finally:
        sio.disconnect()
    return sorted(c["id"] for c in snap["calls"] if c["number"] in numbers)


def test_hall_display_shows_a_call_within_a_second_and_speaks_it(live_server, page):
    hall = Hall(live_server)
    for s in ("SB", "SB", "BDC", "BDC", "YB", "GJJ", "SB"):
        hall.issue(s)
    hall.open(1)
    hall.open(2)
    wavs = open_display(page, live_server)
    assert page.locator("#d-latest").inner_text().count("请留意叫号") == 1

    t = hall.call(1)
    wait_latest(page, t["number"], timeout=1000)  # the issue: within a second
    assert "1号综办窗口" in page.locator("#d-latest").inner_text()
    # the voice queue fetched the call's WAV and played it to the end
    page.wait_for_function(
        "() => window.hallPlayed.length === 1 && window.hallPlayed[0].end !== null",
        timeout=15000,
    )
    played = page.evaluate("() => window.hallPlayed[0]")
    assert played["url"] == f"/audio/call/{t['number']}/1.wav"
    assert played["result"] == "ended"
    assert any(u.endswith(f"/audio/call/{t['number']}/1.wav") for u in wavs)
    assert page.evaluate("() => document.getElementById('d-audio').src").endswith(
        f"/audio/call/{t['number']}/1.wav"
    )

    # more calls: the list, the queue counts and the latest follow without a reload
    hall.finish(1, t)
    t2 = hall.call(1)
    t3 = hall.call(2)
    wait_latest(page, t3["number"])
    recent = page.locator("#d-recent").inner_text()
    assert t["number"] in recent and t2["number"] in recent
    page.wait_for_function(
        "() => [...document.querySelectorAll('#d-queue li')].some("
        "li => li.textContent.startsWith('不动产登记1'))"
    )
    assert page.locator("#d-offline").is_hidden()
    save_screenshot(page, "display_hall")


def test_socket_cut_then_back_shows_and_announces_missed_calls_once(quick_voice_server, page):
    live_server = quick_voice_server
    hall = Hall(live_server)
    for s in ("SB", "SB", "SB", "BDC"):
        hall.issue(s)
    hall.open(1)
    hall.open(2)
    first = hall.call(1)
    open_display(page, live_server)
    assert latest(page) == first["number"]
    assert announced(page) == []  # calls from before the page opened are not spoken
    page.evaluate("() => { window.marker = 'same page'; }")

    page.evaluate("() => window.hallSocket.disconnect()")
    wait_online(page, False)
    assert page.locator("#d-offline").is_visible()
    hall.finish(1, first)
    second = hall.call(1)
    third = hall.call(2)
    hall.recall(1, second)  # a recall while away is a call of its own
    page.wait_for_timeout(300)
    assert latest(page) == first["number"]  # really cut off

    page.evaluate("() => window.hallSocket.connect()")
    wait_online(page)
    wait_latest(page, second["number"])  # the recall is the newest call
    ids = call_ids(live_server, {second["number"], third["number"]})
    assert len(ids) == 3
    wait_announced(page, 3)
    assert announced(page) == ids  # oldest first, each once
    recalls = page.evaluate("() => window.hallAnnounced.map(a => a.recall)")
    assert recalls == [False, False, True]
    assert third["number"] in page.locator("#d-recent").inner_text()
    assert page.locator("#d-latest").inner_text().count("重呼") == 1

    # another blip with nothing new: nothing is announced twice
    page.evaluate("() => { window.hallSocket.disconnect(); window.hallSocket.connect(); }")
    wait_online(page)
    page.evaluate("() => new Promise(r => window.hallSocket.emit('snapshot', {}, () => r()))")
    assert announced(page) == ids
    assert page.evaluate("() => window.marker") == "same page"

    # the queued announcements played one after another, none cut off
    page.wait_for_function(
        "() => window.hallPlayed.length === 3 && window.hallPlayed.every(p => p.end !== null)",
        timeout=30000,
    )
    played = page.evaluate("() => window.hallPlayed")
    assert [p["id"] for p in played] == ids
    assert all(p["result"] == "ended" for p in played)
    for before, after in zip(played, played[1:], strict=False):
        assert after["start"] >= before["end"]


def test_server_restart_display_recovers_without_reload(live_server, page):
    hall = Hall(live_server)
    for s in ("BDC", "BDC", "BDC"):
        hall.issue(s)
    hall.open(2)
    open_display(page, live_server, "/display?voice=0")
    first = hall.call(2)
    wait_latest(page, first["number"])
    page.evaluate("() => { window.marker = 'same page'; }")

    live_server.stop()
    wait_online(page, False)
    assert page.locator("#d-offline").is_visible()
    live_server.start()
    # calls made as soon as the server is back: before or after the page reconnects
    hall.finish(2, first)
    second = hall.call(2)
    hall.finish(2, second)
    third = hall.call(2)
    wait_online(page)
    wait_latest(page, third["number"], timeout=15000)
    assert second["number"] in page.locator("#d-recent").inner_text()
    assert page.evaluate("() => window.marker") == "same page"
    wait_announced(page, 3)
    numbers = page.evaluate("() => window.hallAnnounced.map(a => a.number)")
    assert numbers == [first["number"], second["number"], third["number"]]
    # ?voice=0: announced on screen, nothing played
    assert page.evaluate("() => window.hallPlayed.length") == 0


def test_zone_display_only_its_services(live_server, page):
    hall = Hall(live_server)
    hall.issue("SB")
    hall.issue("BDC")
    hall.open(1)
    hall.open(2)
    open_display(page, live_server, "/display?services=BDC&voice=0")
    sb = hall.call(1)
    bdc = hall.call(2)
    wait_latest(page, bdc["number"])
    page.wait_for_timeout(200)
    assert sb["number"] not in page.content()
    assert page.evaluate("() => window.hallAnnounced.map(a => a.number)") == [bdc["number"]]
    assert page.locator("#d-queue li").count() == 1


def test_window_display_follows_calls_and_pause(live_server, page):
    hall = Hall(live_server)
    hall.issue("BDC")
    page.set_viewport_size({"width": 1280, "height": 480})
    page.goto(live_server.url + "/display/window/2")
    wait_online(page)
    assert "窗口已关闭" in page.locator("#w-main").inner_text()
    hall.open(2)
    page.wait_for_function(
        "() => document.getElementById('w-main').textContent.includes('欢迎光临')"
    )
    t = hall.call(2)
    page.wait_for_function(
        "(n) => document.getElementById('w-main').textContent.includes(n)", arg=t["number"]
    )
    assert "到本窗口办理" in page.locator("#w-main").inner_text()
    save_screenshot(page, "display_window")

    hall.finish(2, t)
    hall.post(2, "windows/2/pause", reason="午休")
    page.wait_for_function(
        "() => document.getElementById('w-main').textContent.includes('暂停服务')"
    )
    text = page.locator("#w-main").inner_text()
    assert "午休" in text and t["number"] not in text
    save_screenshot(page, "display_window_paused")

    # a reconnect redraws from the snapshot: still paused
    page.evaluate("() => { window.hallSocket.disconnect(); window.hallSocket.connect(); }")
    wait_online(page)
    assert "暂停服务" in page.locator("#w-main").inner_text()
    assert page.evaluate("() => window.hallPlayed.length") == 0  # window screens are silent


def test_nothing_on_a_display_names_a_person_or_a_token(live_server, page):
    """Everything the browser receives on the display pages: HTML, polling and WebSocket
    frames. Clerks with names call and pause; tickets have tokens."""
    import subprocess
    import sys

    from tests.conftest import PASSWORD, ROOT

    for user, name, no in (("wangfang", "王芳", "C0301"), ("zhaolei", "赵磊", "C0302")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hall",
                "user",
                "add",
                user,
                "--role",
                "clerk",
                "--display-name",
                name,
                "--staff-no",
                no,
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            cwd=str(ROOT),
            env=live_server.env(),
            capture_output=True,
        )
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(str(f))))

    def on_response(r):
        if "/socket.io/" in r.url or "/display" in r.url:
            try:
                received.append(r.text())
            except Exception:
                pass

    page.on("response", on_response)
    hall = Hall(live_server)
    tokens = [hall.issue(s)["token"] for s in ("SB", "BDC", "SB", "BDC")]
    hall.open(1, "wangfang")
    open_display(page, live_server, "/display?voice=0")
    hall.open(2, "zhaolei")  # opened while the page watches: a live window event
    a = hall.call(1)
    b = hall.call(2)
    hall.recall(2, b)
    hall.post(1, f"tickets/{a['id']}/start")
    hall.finish(1, a)
    hall.post(1, "windows/1/pause", reason="临时离开")
    page.wait_for_function("() => window.hallAnnounced.length === 3", timeout=10000)
    html = page.content()
    page.goto(live_server.url + "/display/window/1")
    wait_online(page)
    html += page.content()
    page.goto(live_server.url + "/display?layout=windows&voice=0")
    wait_online(page)
    html += page.content()
    everything = html + "\n".join(received)
    assert "暂停服务" in everything and b["number"] in everything  # we did look at real data
    assert any('"called"' in r for r in received)
    for secret in ["wangfang", "zhaolei", "王芳", "赵磊", "C0301", "C0302", *tokens]:
        assert secret not in everything, secret
    assert not re.search(r'"(clerk|actor|token)"', everything)
    assert json.dumps(tokens)  # the tokens were real strings


def test_rebooted_screen_announces_only_what_it_missed(live_server, page):
    hall = Hall(live_server)
    for s in ("BDC", "BDC", "BDC"):
        hall.issue(s)
    hall.open(2)
    open_display(page, live_server, "/display?voice=0")
    first = hall.call(2)
    wait_latest(page, first["number"])
    assert page.evaluate("() => window.hallAnnounced.map(a => a.number)") == [first["number"]]

    page.goto("about:blank")  # the screen is switched off
    hall.finish(2, first)
    second = hall.call(2)
    page.goto(live_server.url + "/display?voice=0")  # ... and on again
    wait_online(page)
    wait_announced(page, 1)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.hallAnnounced.map(a => a.number)") == [second["number"]]
    assert latest(page) == second["number"]

    page.reload()  # a plain reload: nothing new, nothing said
    wait_online(page)
    page.evaluate("() => new Promise(r => window.hallSocket.emit('snapshot', {}, () => r()))")
    assert page.evaluate("() => window.hallAnnounced.length") == 0


def test_windows_layout_follows_windows(live_server, page):
    hall = Hall(live_server)
    hall.issue("BDC")
    hall.open(1)
    hall.open(2)
    open_display(page, live_server, "/display?layout=windows&voice=0")
    card = "#d-windows .d-wcard[data-window='{}']"
    assert "等待叫号" in page.locator(card.format(2)).inner_text()
    t = hall.call(2)
    page.wait_for_function(
        "(n) => document.querySelector(\"#d-windows [data-window='2']\").textContent.includes(n)",
        arg=t["number"],
    )
    hall.post(1, "windows/1/pause", reason="午休")
    page.wait_for_function(
        "() => document.querySelector(\"#d-windows [data-window='1']\")"
        ".textContent.includes('暂停服务')"
    )
    assert "窗口已关闭" in page.locator(card.format(4)).inner_text()
    save_screenshot(page, "display_hall_windows")
