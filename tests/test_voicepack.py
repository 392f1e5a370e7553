"""Voice packs: a call is the pack's segments in order, loudness-matched, espeak-ng for
what the pack lacks; `python -m hall voice check PACK`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import wave
from array import array

import pytest

from hall.voice import Voice
from hall.voicepack import Pack, plan_call, read_wav, voiced_rms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = ["请", "A", "0", "1", "号", "到", "window:3", "窗口", "办理", "chime"]


def tone(path, freq, amplitude, seconds=0.3, rate=16000, lead=0.1):
    """A tone with silence before and after (the pack trims it)."""
    n = int(rate * seconds)
    pad = array("h", bytes(2 * int(rate * lead)))
    body = array("h", (int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((pad + body + pad).tobytes())


@pytest.fixture
def pack_dir(tmp_path):
    folder = tmp_path / "announcer"
    folder.mkdir()
    lines = ['name = "测试播音员"', "rate = 16000", "gap_ms = 50", "[segments]"]
    for i, key in enumerate(KEYS):
        # loudness differs tenfold between segments, as recordings of different days do
        tone(folder / f"k{i}.wav", 300 + 40 * i, 1500 if i % 2 else 15000)
        lines.append(f'"{key}" = "k{i}.wav"')
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_spliced_call_is_the_packs_segments_in_order(pack_dir, tmp_path):
    pack = Pack.load(str(pack_dir))
    voice = Voice(tmp_path / "cache", chime=True, repeat=1, pack=pack)
    name = voice.wav_for_call("A001", 3)
    assert name and voice.path_for(name)
    rate, got = read_wav(voice.path_for(name))
    assert rate == 16000
    order = ["请", "A", "0", "0", "1", "号", "到", "window:3", "号", "窗口", "办理"]
    assert plan_call(pack, voice.template, "A001", 3) == [("seg", k) for k in order]
    gap = array("h", bytes(2 * 800))  # 50 ms at 16 kHz
    speech = array("h")
    for i, key in enumerate(order):
        if i:
            speech += gap
        speech += pack.segment(key)
    chime = pack.segment("chime")
    after_chime = array("h", bytes(2 * int(rate * 0.25)))
    tail = array("h", bytes(2 * int(rate * 0.1)))
    assert got == chime + after_chime + speech + tail
    # loudness-matched: every spliced segment has the same voiced RMS
    levels = [voiced_rms(pack.segment(k)) for k in set(order)]
    assert max(levels) / min(levels) < 1.05


def test_what_the_pack_lacks_is_spoken_by_espeak(pack_dir, tmp_path):
    os.unlink(pack_dir / "k6.wav")  # window:3
    pack = Pack.load(str(pack_dir))
    assert "window:3" in pack.missing()
    plan = plan_call(pack, "请{number}号到{window}号窗口办理", "A001", 3)
    assert ("say", "三") in plan and ("seg", "请") == plan[0]
    voice = Voice(tmp_path / "cache", repeat=1, pack=pack)
    name = voice.wav_for_call("A001", 3)
    assert name is not None
    rate, got = read_wav(voice.path_for(name))
    with_all = Voice(tmp_path / "c2", repeat=1, pack=Pack.load(str(pack_dir)))
    assert rate == 16000 and len(got) > 0 and with_all is not None


def test_voice_check_lists_missing_and_renders_a_sample(pack_dir, tmp_path):
    out = tmp_path / "sample.wav"
    r = subprocess.run(
        [sys.executable, "-m", "hall", "voice", "check", str(pack_dir), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HALL_CONFIG": os.path.join(ROOT, "tests", "hall_test.toml")},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "missing (" in r.stdout and "  B\n" in r.stdout and "window:4" in r.stdout
    assert out.exists() and read_wav(str(out))[0] == 16000
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.toml").write_text('[segments]\n"请" = "nope.wav"\n', encoding="utf-8")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hall",
            "voice",
            "check",
            str(broken),
            "--out",
            str(tmp_path / "s.wav"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "请: file nope.wav is missing" in r.stdout


def test_default_pack_from_espeak(tmp_path):
    from hall.voicecli import build_default

    folder = tmp_path / "default"
    n = build_default(str(folder), windows=5)
    pack = Pack.load(str(folder))
    assert n == len(pack.files) and pack.missing(range(1, 6)) == []
    voice = Voice(tmp_path / "cache", repeat=1, pack=pack)
    name = voice.wav_for_text("您已取号A005，前面还有3人等候")
    assert name and voice.path_for(name)


def test_call_audio_served_from_the_pack_only_for_calls_made(pack_dir, make_app_voice):
    app = make_app_voice(str(pack_dir))
    hall = app.extensions["hall"]
    assert hall.voice.pack is not None and hall.voice.pack.name == "测试播音员"
    client = app.test_client()
    assert client.get("/audio/call/A001/2.wav").status_code == 404
    t = client.post("/api/tickets", json={"service": "BDC"}).get_json()
    from hall.auth import create_user

    create_user(hall.store, "c2", "pw-long-enough-1", "clerk")
    csrf = client.post(
        "/api/login", json={"username": "c2", "password": "pw-long-enough-1"}
    ).get_json()["csrf_token"]
    client.post("/api/windows/2/open", headers={"X-CSRF-Token": csrf})
    client.post("/api/windows/2/call-next", headers={"X-CSRF-Token": csrf})
    r = client.get(f"/audio/call/{t['number']}/2.wav")
    assert r.status_code == 200 and r.data[:4] == b"RIFF"


@pytest.fixture
def make_app_voice(tmp_path, clock):
    from hall import create_app
    from tests.conftest import TEST_CONFIG

    apps = []

    def make(pack):
        app = create_app(
            {
                "HALL_CONFIG": TEST_CONFIG,
                "HALL": {"voice": {"pack": pack}},
                "DATABASE": str(tmp_path / "v.sqlite3"),
                "CLOCK": clock,
                "TESTING": True,
            }
        )
        apps.append(app)
        return app

    yield make
    for a in apps:
        a.extensions["hall"].store.close()
