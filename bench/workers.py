"""The clients of bench/load.py that do the hall's work: kiosks issuing, clerks calling."""

from __future__ import annotations

import threading
import time

from bench.hallserver import PASSWORD


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.issue_ms: list[float] = []
        self.call_ms: list[float] = []
        self.finish_ms: list[float] = []
        self.calls: dict[int, float] = {}  # ticket id -> monotonic time the call was sent
        self.errors = 0
        self.error_samples: list[str] = []
        self.empty_calls = 0

    def error(self, text: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(text[:300])


class Session:
    """requests.Session that, like a browser, retries once when a kept-alive connection
    turns out to have been closed by the server meanwhile (gunicorn keepalive: 5 s); the
    server closes an idle connection before reading a request, so nothing was done."""

    def __init__(self):
        import requests

        self._requests = requests
        self.s = requests.Session()
        self.headers = self.s.headers

    def post(self, url, **kw):
        try:
            return self.s.post(url, **kw)
        except self._requests.ConnectionError:
            return self.s.post(url, **kw)


def kiosk_loop(url, kiosk_id, services, stop, res: Results, interval: float, printing: bool, rng):

    s = Session()
    i = 0
    if interval and rng:
        stop.wait(rng.uniform(0, interval))  # kiosks do not start in step
    while not stop.is_set():
        service = services[i % len(services)]
        i += 1
        t0 = time.monotonic()
        try:
            body = {"service": service, "kiosk": kiosk_id, "print": printing}
            r = s.post(url + "/api/tickets", json=body, timeout=30)
            dt = (time.monotonic() - t0) * 1000
            if r.status_code != 201:
                res.error(f"issue {r.status_code} {r.text}")
            else:
                with res.lock:
                    res.issue_ms.append(dt)
        except Exception as e:  # noqa: BLE001 - a benchmark counts every failure
            res.error(f"issue {e!r}")
        if interval:
            stop.wait(rng.expovariate(1 / interval) if rng else interval)


def clerk_loop(url, username, window, stop, res: Results, pause: float, idle: float, ready, rng):

    s = Session()
    try:
        r = s.post(
            url + "/api/login", json={"username": username, "password": PASSWORD}, timeout=30
        )
        r.raise_for_status()
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = s.post(url + f"/api/windows/{window}/open", json={}, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"open window {window}: {r.status_code} {r.text}")
    except Exception as e:  # noqa: BLE001
        res.error(f"clerk setup {e!r}")
        ready.wait()
        return
    ready.wait()
    if pause and rng:
        stop.wait(rng.uniform(0, pause))  # clerks do not call in step
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            r = s.post(url + f"/api/windows/{window}/call-next", json={}, timeout=30)
            dt = (time.monotonic() - t0) * 1000
            if r.status_code != 200:
                res.error(f"call {r.status_code} {r.text}")
                stop.wait(0.1)
                continue
            ticket = r.json()["ticket"]
            with res.lock:
                res.call_ms.append(dt)
                if ticket is None:
                    res.empty_calls += 1
                else:
                    res.calls[ticket["id"]] = t0
            if ticket is None:
                stop.wait(idle)  # nobody waiting: the clerk tries again in a moment
                continue
            if pause:  # hold the ticket; at the end of the run, finish it at once
                stop.wait(rng.expovariate(1 / pause) if rng else pause)
            t1 = time.monotonic()
            r = s.post(url + f"/api/tickets/{ticket['id']}/finish", json={}, timeout=30)
            if r.status_code != 200:
                res.error(f"finish {r.status_code} {r.text}")
            else:
                with res.lock:
                    res.finish_ms.append((time.monotonic() - t1) * 1000)
        except Exception as e:  # noqa: BLE001
            res.error(f"clerk {e!r}")
            stop.wait(0.1)
