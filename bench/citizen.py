"""Citizen-face timings: rendering a call from the voice pack against espeak-ng phrases,
and a card read at the kiosk through to its ticket (in-process, the app's test client).

    .venv/bin/python bench/citizen.py [--calls 20] [--cards 200]

Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def ms(values):
    values = sorted(values)
    return {
        "median_ms": round(1000 * statistics.median(values), 1),
        "p90_ms": round(1000 * values[int(0.9 * (len(values) - 1))], 1),
    }


def bench_voice(calls: int) -> dict:
    from hall.voice import Voice
    from hall.voicecli import build_default
    from hall.voicepack import Pack

    tmp = tempfile.mkdtemp(prefix="bench-voice-")
    t0 = time.perf_counter()
    build_default(os.path.join(tmp, "pack"), windows=20)
    build_s = time.perf_counter() - t0
    pack = Pack.load(os.path.join(tmp, "pack"))
    out = {"build_default_s": round(build_s, 2)}
    for name, voice in (
        ("pack", Voice(os.path.join(tmp, "c1"), repeat=2, pack=pack)),
        ("espeak_phrase", Voice(os.path.join(tmp, "c2"), repeat=2)),
    ):
        times = []
        for i in range(calls):
            t = time.perf_counter()
            assert voice.wav_for_call(f"A{i + 1:03d}", 1 + i % 16)
            times.append(time.perf_counter() - t)
        out[name] = ms(times)
    return out


def bench_cards(cards: int) -> dict:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from hall import create_app, idnumber
    from hall.clock import FrozenClock

    tmp = tempfile.mkdtemp(prefix="bench-cards-")
    app = create_app(
        {
            "HALL_CONFIG": os.path.join(ROOT, "tests", "hall_test.toml"),
            "HALL": {"hours": {"always_open": True}},
            "DATABASE": os.path.join(tmp, "b.sqlite3"),
            "CLOCK": FrozenClock(datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Shanghai"))),
            "TESTING": True,
            "NO_VOICE": True,
        }
    )
    client = app.test_client()
    reads, takes = [], []
    for i in range(cards):
        number = idnumber.make(f"3408231960{i % 12 + 1:02d}01{i:03d}"[:17])
        t = time.perf_counter()
        r = client.post(
            "/api/idcard/scan",
            environ_base={"REMOTE_ADDR": f"10.0.{i // 25}.{i % 25}"},
            json={"kiosk": "K1", "number": number},
        )
        reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        r2 = client.post(
            "/api/idcard/tickets",
            json={"card": r.get_json()["card"], "service": "SB", "kiosk": "K1"},
        )
        takes.append(time.perf_counter() - t)
        assert r2.status_code in (201, 409), r2.get_json()
    app.extensions["hall"].store.close()
    return {"scan": ms(reads), "card_ticket": ms(takes)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--cards", type=int, default=200)
    args = p.parse_args()
    result = {"voice": bench_voice(args.calls), "cards": bench_cards(args.cards)}
    v, c = result["voice"], result["cards"]
    print(f"default pack built in {v['build_default_s']} s")
    for k in ("pack", "espeak_phrase"):
        print(f"call render ({k:13}): median {v[k]['median_ms']} ms, p90 {v[k]['p90_ms']} ms")
    for k in ("scan", "card_ticket"):
        print(f"{k:12}: median {c[k]['median_ms']} ms, p90 {c[k]['p90_ms']} ms")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    result["load_average"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
