"""Tests for hall.voice — real espeak-ng, no mocks."""

import logging
import math
import os
import re
import shutil
import subprocess
import threading
import wave
from array import array

import pytest

from hall import pinyin as pinyin_mod
from hall import voice as voice_mod
from hall.voice import LETTER_PINYIN, Voice, call_text, number_to_chinese, to_pinyin

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed"
)

NAME_RE = re.compile(r"call-[0-9a-f]{40}\.wav")
SYLLABLE_RE = re.compile(r"[a-z]+[1-5]")
HAN_RE = re.compile(r"[\u3400-\u9fff]")


def _tokens(pinyin):
    return [t.rstrip(",.") for t in pinyin.split()]


def _read(path):
    with wave.open(path, "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        frames = w.readframes(w.getnframes())
        duration = w.getnframes() / w.getframerate()
    return params, array("h", frames), duration


def _rms(samples):
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def _duration(v, number="A001", window=3):
    name = v.wav_for_call(number, window)
    assert name is not None
    return _read(v.path_for(name))[2]


# -- text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "window", "expected"),
    [
        ("A001", 3, "请A零零一号到三号窗口办理"),
        ("A001", 12, "请A零零一号到十二号窗口办理"),
        ("A001", 20, "请A零零一号到二十号窗口办理"),
        ("A001", 21, "请A零零一号到二十一号窗口办理"),
        ("b120", "7", "请B一二零号到七号窗口办理"),
        ("C010", "B2", "请C零一零号到B二号窗口办理"),
    ],
)
def test_call_text_spells_numbers(number, window, expected):
    assert call_text(number, window) == expected


def test_call_text_custom_template():
    text = call_text("K015", 10, "请{number}号前往{window}号综合受理窗口")
    assert text == "请K零一五号前往十号综合受理窗口"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "零"),
        (10, "十"),
        (15, "十五"),
        (100, "一百"),
        (101, "一百零一"),
        (110, "一百一十"),
        (1005, "一千零五"),
    ],
)
def test_number_to_chinese(n, expected):
    assert number_to_chinese(n) == expected


def test_pinyin_of_call_phrase():
    pinyin = to_pinyin(call_text("A001", 3))
    assert pinyin == "qing3 ei1 ling2 ling2 yi1 hao4 dao4 san1 hao4 chuang1 kou3 ban4 li3"
    assert not HAN_RE.search(pinyin)
    assert all(SYLLABLE_RE.fullmatch(t) for t in _tokens(pinyin))


@pytest.mark.parametrize("window", [3, 12, 20, 21, 108])
def test_pinyin_has_no_han_and_no_stray_digits(window):
    for template in (
        voice_mod.DEFAULT_TEMPLATE,
        "请{number}号前往{window}号综合受理窗口，重复一遍",
    ):
        pinyin = to_pinyin(call_text("Z907", window, template))
        assert not HAN_RE.search(pinyin)
        # every digit is a tone number closing a syllable
        assert all(SYLLABLE_RE.fullmatch(t) for t in _tokens(pinyin)), pinyin


def test_pinyin_tables_are_well_formed():
    for ch, py in pinyin_mod._PINYIN.items():
        assert len(ch) == 1 and SYLLABLE_RE.fullmatch(py), (ch, py)
    for word, py in pinyin_mod._PHRASES.items():
        syllables = py.split()
        assert len(syllables) == len(word) and all(SYLLABLE_RE.fullmatch(s) for s in syllables), (
            word
        )
    assert sorted(LETTER_PINYIN) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    for letter in LETTER_PINYIN:
        assert all(SYLLABLE_RE.fullmatch(t) for t in _tokens(to_pinyin(letter))), letter
        assert to_pinyin(letter.lower()) == to_pinyin(letter)


@needs_espeak
def test_espeak_reads_our_pinyin_as_mandarin():
    """cmn-latn-pinyin must parse every syllable we emit (the plain cmn voice
    would switch to English for "qing3": its phonemes show "(en)")."""
    letters = " ".join(to_pinyin(c) for c in LETTER_PINYIN)
    text = to_pinyin(call_text("A001", 3)) + ", " + letters
    out = subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-q", "-x", text],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(en)" not in out and out.strip()
    plain = subprocess.run(
        ["espeak-ng", "-v", "cmn", "-q", "-x", "qing3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(en)" in plain


def test_unknown_characters_skipped_and_logged_once(caplog):
    pinyin_mod._warned_chars.discard("龘")
    with caplog.at_level(logging.WARNING, logger="hall.voice"):
        assert to_pinyin("请龘号") == "qing3 hao4"
        assert to_pinyin("龘") == ""
    assert len([r for r in caplog.records if "龘" in r.getMessage()]) == 1


# -- audio -----------------------------------------------------------------


@needs_espeak
def test_call_wav_is_valid_and_audible(tmp_path):
    for chime in (True, False):  # the speech alone must be audible too
        v = Voice(tmp_path, chime=chime)
        assert v.available()
        name = v.wav_for_call("A001", 3)
        assert name and NAME_RE.fullmatch(name)
        path = v.path_for(name)
        assert path == os.path.join(str(tmp_path), name)
        params, samples, duration = _read(path)
        assert params == (1, 2, 22050)
        assert duration > 1.0
        assert _rms(samples) > 500


@needs_espeak
def test_cache_reuses_file(tmp_path):
    v = Voice(tmp_path)
    name = v.wav_for_call("A001", 3)
    st = os.stat(v.path_for(name))
    assert v.wav_for_call("A001", 3) == name
    assert Voice(tmp_path).wav_for_call("A001", 3) == name  # survives a new instance
    st2 = os.stat(v.path_for(name))
    assert (st2.st_mtime_ns, st2.st_ino) == (st.st_mtime_ns, st.st_ino)

    faster = Voice(tmp_path, speed=220).wav_for_call("A001", 3)
    assert faster != name
    assert v.wav_for_call("A002", 3) != name
    assert v.wav_for_call("A001", 4) != name
    assert sorted(os.listdir(tmp_path)) == sorted(
        {name, faster, v.wav_for_call("A002", 3), v.wav_for_call("A001", 4)}
    )


@needs_espeak
def test_repeat_and_chime_add_length(tmp_path):
    plain = _duration(Voice(tmp_path, chime=False))
    chimed = _duration(Voice(tmp_path, chime=True))
    twice = _duration(Voice(tmp_path, chime=True, repeat=2))
    assert chimed > plain + 0.5
    assert twice > chimed + 1.0


@needs_espeak
def test_concurrent_requests_render_once(tmp_path):
    v = Voice(tmp_path, repeat=2)
    results = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        results.append(v.wav_for_call("B123", 21))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0]
    assert os.listdir(tmp_path) == [results[0]]  # no temp files left behind
    assert _read(v.path_for(results[0]))[2] > 2.0


@needs_espeak
def test_path_for_rejects_unsafe_names(tmp_path):
    v = Voice(tmp_path)
    name = v.wav_for_call("A001", 3)
    assert v.path_for(name) == os.path.join(str(tmp_path), name)
    for bad in (
        "../x",
        "/etc/passwd",
        "call-abc.wav/../../",
        "call-abc.wav",
        "../" + name,
        name + "/",
        name + "\n",
        name.upper(),
        os.path.join(str(tmp_path), name),
        "",
        None,
    ):
        assert v.path_for(bad) is None, bad
    # well-formed but never generated
    assert v.path_for("call-" + "0" * 40 + ".wav") is None


def test_missing_espeak_warns_once(tmp_path, caplog):
    v = Voice(tmp_path, espeak="/nonexistent/espeak-ng")
    with caplog.at_level(logging.WARNING, logger="hall.voice"):
        assert v.available() is False
        assert v.available() is False
        assert v.wav_for_call("A001", 3) is None
        assert v.wav_for_call("A002", 4) is None
    warnings = [
        r for r in caplog.records if r.name == "hall.voice" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "/nonexistent/espeak-ng" in warnings[0].getMessage()
    assert os.listdir(tmp_path) == []


@needs_espeak
def test_missing_voice_is_unavailable(tmp_path, caplog):
    v = Voice(tmp_path, voice="no-such-voice-xx")
    with caplog.at_level(logging.WARNING, logger="hall.voice"):
        assert v.available() is False
        assert v.wav_for_call("A001", 3) is None
    warnings = [
        r for r in caplog.records if r.name == "hall.voice" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "no-such-voice-xx" in warnings[0].getMessage()
