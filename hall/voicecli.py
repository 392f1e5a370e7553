"""`python -m hall voice check PACK` and `python -m hall voice build-default [DIR]`.

check: what the pack lacks (espeak-ng will say it), files that are broken, silent or
too long, and a sample call rendered to PACK/sample.wav (or --out).
build-default: the default pack, every segment rendered by espeak-ng; the install
(./run) and, when it is missing, the first start of a server run it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import wave

from .pinyin import DIGITS, number_to_chinese
from .voicepack import LETTERS, PROMPT_WORDS, WORDS, Pack, PackError, read_wav

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(ROOT, "instance", "voice", "default")
WINDOWS = 40


def pack_dir(setting: str) -> str | None:
    """The folder of voice.pack: "default", "none" (no pack) or a path (relative to the
    project)."""
    if setting in ("", "none"):
        return None
    if setting == "default":
        return DEFAULT_DIR
    return setting if os.path.isabs(setting) else os.path.join(ROOT, setting)


def _espeak_voice(cfg_voice: dict | None = None, cache: str | None = None):
    from .voice import Voice

    v = cfg_voice or {}
    return Voice(
        cache or tempfile.gettempdir(),
        voice=v.get("voice", "cmn-latn-pinyin"),
        speed=v.get("speed", 150),
        espeak=v.get("espeak", "espeak-ng"),
    )


def build_default(folder: str, cfg_voice: dict | None = None, windows: int = WINDOWS) -> int:
    """Render every segment with espeak-ng into `folder` (built beside it, then moved in
    place: a half-built pack is never seen). The number of segments."""
    from .pinyin import to_pinyin
    from .voice import _chime

    texts: dict[str, str] = {w: w for w in WORDS + PROMPT_WORDS}
    texts.update({d: DIGITS[int(d)] for d in "0123456789"})
    texts.update({letter: letter for letter in LETTERS})
    texts.update({f"window:{n}": number_to_chinese(n) for n in range(1, windows + 1)})
    parent = os.path.dirname(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".pack-", dir=parent)
    try:
        voice = _espeak_voice(cfg_voice, work)
        if not voice._probe_ok():
            raise PackError(
                "espeak-ng with the cmn-latn-pinyin voice is needed to build the default pack"
            )
        lines = ['name = "默认（espeak-ng 合成）"', "rate = 22050", "gap_ms = 30", "", "[segments]"]
        rate = 22050
        for i, (key, text) in enumerate(texts.items()):
            rate, speech = voice._speak(to_pinyin(text), work)
            name = f"s{i:03d}.wav"
            _write(os.path.join(work, name), rate, speech)
            lines.append(f'"{key}" = "{name}"')
        _write(os.path.join(work, "chime.wav"), rate, _chime(rate))
        lines.append('"chime" = "chime.wav"')
        lines[1] = f"rate = {rate}"
        with open(os.path.join(work, "manifest.toml"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.replace(work, folder)
        return len(texts) + 1
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _write(path: str, rate: int, data: bytes) -> None:
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


_building = threading.Lock()


def build_default_soon(cfg_voice: dict) -> None:
    """At a server's first start without the default pack: build it in the background
    (once per machine: a lock file); calls use espeak-ng phrases until it is there."""
    if os.path.isdir(DEFAULT_DIR) or not _building.acquire(blocking=False):
        return
    lock = DEFAULT_DIR + ".building"
    try:
        os.makedirs(os.path.dirname(lock), exist_ok=True)
        if os.path.exists(lock) and time.time() - os.path.getmtime(lock) < 300:
            _building.release()
            return
        with open(lock, "w") as f:
            f.write(str(os.getpid()))
    except OSError:
        _building.release()
        return

    def work():
        try:
            build_default(DEFAULT_DIR, cfg_voice)
        except Exception as e:  # no espeak-ng: calls stay as they were
            import logging

            logging.getLogger(__name__).warning("default voice pack not built: %s", e)
        finally:
            try:
                os.unlink(lock)
            except OSError:
                pass
            _building.release()

    threading.Thread(target=work, name="voice-pack", daemon=True).start()


def check(folder: str, out: str | None = None, windows=range(1, 21)) -> int:
    try:
        pack = Pack.load(folder)
    except PackError as e:
        print(f"not a voice pack: {e}")
        return 2
    print(f"pack: {pack.name} ({pack.folder}), {pack.rate} Hz, {len(pack.files)} segments")
    missing = pack.missing(windows)
    problems = pack.problems()
    if missing:
        print(f"missing ({len(missing)}; espeak-ng says these):")
        for key in missing:
            print(f"  {key}")
    else:
        print("missing: none")
    for p in problems:
        print(f"problem: {p}")
    voice = _espeak_voice(cache=tempfile.mkdtemp(prefix="hall-voice-"))
    voice.pack = pack
    voice.repeat = 1
    plan = voice._call_plan("A001", 3)
    target = out or os.path.join(folder, "sample.wav")
    try:
        voice._splice(plan, target, True)
    except Exception as e:
        print(f"sample not rendered: {e}")
        return 1
    rate, samples = read_wav(target)
    print(f"sample: {target} ({len(samples) / rate:.1f} s): 请A001号到3号窗口办理")
    print("segments: " + " ".join(v if k == "seg" else f"[{v}]" for k, v in plan))
    return 1 if problems else 0


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="voice_command", required=True)
    c = sub.add_parser("check", help="list what a voice pack lacks and render a sample call")
    c.add_argument("pack", help="the pack's folder")
    c.add_argument("--out", help="where to write the sample (default PACK/sample.wav)")
    b = sub.add_parser("build-default", help="render the default pack with espeak-ng")
    b.add_argument("folder", nargs="?", default=DEFAULT_DIR)


def run(args) -> int:
    if args.voice_command == "check":
        return check(args.pack, args.out)
    try:
        n = build_default(args.folder)
    except PackError as e:
        print(f"error: {e}")
        return 1
    print(f"default voice pack: {n} segments in {args.folder}")
    return 0
