"""Spoken call announcements for the hall display.

A call such as ``请A001号到3号窗口办理`` is turned into a Chinese phrase with
the ticket digits read one by one and the window read as a number
(``请A零零一号到三号窗口办理``), converted to tone-numbered pinyin with a small
built-in table, and rendered offline by espeak-ng with the
``cmn-latn-pinyin`` voice (the plain ``cmn`` voice reads Latin text as
English, so ``qing3`` would come out as "qing three").

The resulting WAV files (16-bit mono, espeak-ng's native 22050 Hz, with an
optional generated ding-dong chime in front) are cached on disk under a
content-addressed name ``call-<sha1>.wav`` that the HTTP layer serves through
:meth:`Voice.path_for`.

The text and its pinyin come from hall/pinyin.py.

With a voice pack (hall/voicepack.py) a call is spliced from the pack's recorded
segments instead, and espeak-ng speaks only what the pack lacks; kiosk prompts
(wav_for_text) go the same way. The cache and its names stay the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from array import array
from functools import lru_cache

from .pinyin import DEFAULT_TEMPLATE, LETTER_PINYIN, call_text, number_to_chinese, to_pinyin

__all__ = [
    "DEFAULT_TEMPLATE",
    "LETTER_PINYIN",
    "Voice",
    "call_text",
    "number_to_chinese",
    "to_pinyin",
]

log = logging.getLogger(__name__)


# Bump when the rendering pipeline changes so old cache entries are not reused.
_FORMAT_VERSION = 1

_NAME_RE = re.compile(r"call-[0-9a-f]{40}\.wav")
_SYLLABLE = re.compile(r"[a-z]+[1-5]")

# ---------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------

_SAMPWIDTH = 2  # 16-bit
_CHANNELS = 1
_GAP_AFTER_CHIME = 0.25  # seconds
_GAP_BETWEEN_REPEATS = 0.5  # espeak-ng adds ~0.4 s of its own
_TAIL = 0.1


def _pcm(samples: array) -> bytes:
    if sys.byteorder != "little":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _silence(rate: int, seconds: float) -> bytes:
    return b"\x00\x00" * int(rate * seconds)


@lru_cache(maxsize=8)
def _chime(rate: int) -> bytes:
    """A soft two-tone ding-dong (E5 then C5) with bell-like decay."""
    total = int(rate * 1.1)
    buf = [0.0] * total
    for freq, start, length in ((659.25, 0.0, 0.75), (523.25, 0.38, 0.72)):
        s0 = int(start * rate)
        count = min(int(length * rate), total - s0)
        attack = max(1, int(0.006 * rate))
        for k in range(count):
            t = k / rate
            env = (k / attack if k < attack else 1.0) * math.exp(-t / 0.22)
            w = 2 * math.pi * freq * t
            buf[s0 + k] += env * (math.sin(w) + 0.35 * math.sin(2 * w) + 0.12 * math.sin(3 * w))
    peak = max(abs(v) for v in buf) or 1.0
    scale = 0.45 * 32767 / peak
    return _pcm(array("h", (int(v * scale) for v in buf)))


# Striped locks: one per phrase hash bucket, shared by all Voice instances.
_LOCKS = [threading.Lock() for _ in range(64)]


def _lock_for(name: str) -> threading.Lock:
    return _LOCKS[int(name[5:13], 16) % len(_LOCKS)]


def _voice_listed(voice: str, listing: str) -> bool:
    """Whether ``voice`` (optionally ``+variant``) names a voice in the output
    of ``espeak-ng --voices``: by language, voice name, file or file name.
    Checked exactly, because ``espeak-ng -v no-such-voice`` silently falls
    back to Norwegian."""
    base = voice.split("+", 1)[0].strip().lower()
    if not base:
        return False
    for line in listing.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5:
            continue
        names = {parts[1], parts[3], parts[4], parts[4].rsplit("/", 1)[-1]}
        names.update(re.findall(r"\(([^ )]+) \d+\)", " ".join(parts[5:])))
        if base in {n.lower() for n in names}:
            return True
    return False


class VoiceError(RuntimeError):
    pass


class Voice:
    """Renders and caches call announcements as WAV files.

    >>> v = Voice("/var/cache/hall/audio")
    >>> name = v.wav_for_call("A001", 3)   # "call-<sha1>.wav" or None
    >>> v.path_for(name)                    # absolute path for /audio/<name>
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike,
        voice: str = "cmn-latn-pinyin",
        speed: int = 150,
        repeat: int = 1,
        chime: bool = True,
        template: str = DEFAULT_TEMPLATE,
        espeak: str = "espeak-ng",
        max_files: int = 400,
        pack=None,
    ) -> None:
        self.cache_dir = os.path.abspath(os.fspath(cache_dir))
        self.max_files = max(1, int(max_files))
        self.voice = voice
        self.speed = int(speed)
        self.repeat = max(1, int(repeat))
        self.chime = bool(chime)
        self.template = template
        self.espeak = espeak
        self.pack = pack  # hall.voicepack.Pack or None
        self._available: bool | None = None
        self._exe: str | None = None
        self._check_lock = threading.Lock()

    # -- availability -----------------------------------------------------

    def available(self) -> bool:
        """True if espeak-ng is on PATH and has the voice (or a voice pack is
        loaded).  Checked once; if not, one warning explains why and later
        calls stay quiet."""
        if self.pack is not None:
            return True
        if self._available is not None:
            return self._available
        with self._check_lock:
            if self._available is None:
                reason = self._probe()
                if reason:
                    log.warning("voice announcements disabled: %s", reason)
                self._available = reason is None
        return self._available

    def _probe(self) -> str | None:
        """None if usable, else the reason why not."""
        exe = shutil.which(self.espeak)
        if exe is None:
            return f"{self.espeak!r} not found on PATH"
        try:
            listing = subprocess.run(
                [exe, "--voices"],
                capture_output=True,
                text=True,
                timeout=15,
                check=False,
            )
            if listing.returncode != 0:
                return f"{exe} --voices failed: {listing.stderr.strip()}"
            if not _voice_listed(self.voice, listing.stdout):
                return f"espeak-ng has no voice {self.voice!r} (see `{exe} --voices`)"
            # A trial run catches voices that are listed but broken.
            proc = subprocess.run(
                [exe, "-v", self.voice, "-q", "a1"],
                capture_output=True,
                text=True,
                timeout=15,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"cannot run {exe}: {exc}"
        if proc.returncode != 0 or "does not exist" in proc.stderr:
            msg = proc.stderr.strip() or f"exit status {proc.returncode}"
            return f"espeak-ng voice {self.voice!r} unusable ({msg})"
        self._exe = exe
        return None

    # -- cache ------------------------------------------------------------

    def name_for_call(self, number: str, window: int | str) -> str:
        """The cache file name the call would get (no rendering)."""
        if self.pack is not None:
            return self._name(self._plan_key(self._call_plan(number, window)))
        return self._name(to_pinyin(call_text(number, window, self.template)))

    def _call_plan(self, number, window):
        from .voicepack import plan_call

        return plan_call(self.pack, self.template, number, window)

    def _plan_key(self, plan) -> str:
        return json.dumps({"pack": self.pack.fingerprint, "plan": plan}, ensure_ascii=False)

    def _name(self, pinyin: str) -> str:
        key = json.dumps(
            {
                "format": _FORMAT_VERSION,
                "pinyin": pinyin,
                "voice": self.voice,
                "speed": self.speed,
                "repeat": self.repeat,
                "chime": self.chime,
            },
            sort_keys=True,
        )
        return "call-" + hashlib.sha1(key.encode("utf-8")).hexdigest() + ".wav"

    def path_for(self, name: str) -> str | None:
        """Absolute path of a cached file, or None.  Only names of the exact
        generated form ``call-<40 hex>.wav`` are accepted (no traversal)."""
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            return None
        path = os.path.join(self.cache_dir, name)
        return path if os.path.isfile(path) else None

    def wav_for_call(self, number: str, window: int | str) -> str | None:
        """Render (or reuse) the announcement; return its cache file name,
        or None when speech is unavailable or rendering failed."""
        if not self.available():
            return None
        if self.pack is not None:
            plan = self._call_plan(number, window)
            return self._cached(
                self._name(self._plan_key(plan)), lambda p: self._splice(plan, p, True)
            )
        pinyin = to_pinyin(call_text(number, window, self.template))
        if not pinyin:
            log.warning("voice: nothing to say for call %r at %r", number, window)
            return None
        return self._cached(self._name(pinyin), lambda p: self._render(pinyin, p))

    def wav_for_text(self, text: str) -> str | None:
        """A kiosk prompt (您已取号A005，前面还有3人等候) in the hall's voice: the
        pack's segments, espeak-ng for the rest; no chime, said once."""
        if not self.available() or not text:
            return None
        from .voicepack import plan_text

        if self.pack is not None:
            plan = plan_text(self.pack, text)
            return self._cached(
                self._name("prompt:" + self._plan_key(plan)), lambda p: self._splice(plan, p, False)
            )
        pinyin = to_pinyin(text)
        if not pinyin:
            return None
        return self._cached(
            self._name("prompt:" + pinyin), lambda p: self._render(pinyin, p, False)
        )

    def _cached(self, name: str, render) -> str | None:
        path = os.path.join(self.cache_dir, name)
        if os.path.isfile(path):
            return name
        with _lock_for(name):
            if os.path.isfile(path):
                return name
            try:
                os.makedirs(self.cache_dir, exist_ok=True)
                render(path)
            except (OSError, VoiceError, wave.Error, subprocess.SubprocessError, ValueError) as exc:
                log.error("voice: rendering %s failed: %s", name, exc)
                return None
        self._evict()
        return name

    def _evict(self) -> None:
        """Keep at most max_files announcements: the oldest go (a call's audio is needed
        for seconds; a screen that asks again later gets it rendered anew)."""
        try:
            entries = [e for e in os.scandir(self.cache_dir) if _NAME_RE.fullmatch(e.name)]
        except OSError:
            return
        if len(entries) <= self.max_files:
            return
        entries.sort(key=lambda e: e.stat().st_mtime)
        for entry in entries[: len(entries) - self.max_files]:
            try:
                os.unlink(entry.path)
            except OSError:
                pass

    # -- rendering --------------------------------------------------------

    def _speak(self, pinyin: str, tmpdir: str) -> tuple[int, bytes]:
        fd, speech = tempfile.mkstemp(prefix=".speech-", suffix=".wav", dir=tmpdir)
        os.close(fd)
        try:
            proc = subprocess.run(
                [
                    self._exe or self.espeak,
                    "-v",
                    self.voice,
                    "-s",
                    str(self.speed),
                    "-w",
                    speech,
                    "--stdin",
                ],
                input=pinyin,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if proc.returncode != 0:
                raise VoiceError(f"espeak-ng exit {proc.returncode}: {proc.stderr.strip()}")
            with wave.open(speech, "rb") as w:
                if w.getsampwidth() != _SAMPWIDTH or w.getnchannels() != _CHANNELS:
                    raise VoiceError(f"unexpected espeak-ng output format {w.getparams()}")
                return w.getframerate(), w.readframes(w.getnframes())
        finally:
            try:
                os.unlink(speech)
            except OSError:
                pass

    def _render(self, pinyin: str, path: str, call: bool = True) -> None:
        rate, speech = self._speak(pinyin, self.cache_dir)
        if not speech:
            raise VoiceError("espeak-ng produced no audio")
        self._write(path, rate, self._frame(rate, speech, call))

    def _frame(
        self, rate: int, speech: bytes, call: bool, chime: bytes | None = None
    ) -> list[bytes]:
        """A call: the chime, then the speech `repeat` times; a prompt: the speech once."""
        parts: list[bytes] = []
        if call and self.chime:
            parts += [
                chime if chime is not None else _chime(rate),
                _silence(rate, _GAP_AFTER_CHIME),
            ]
        for k in range(self.repeat if call else 1):
            if k:
                parts.append(_silence(rate, _GAP_BETWEEN_REPEATS))
            parts.append(speech)
        parts.append(_silence(rate, _TAIL))
        return parts

    def spliced(self, plan) -> tuple[int, bytes]:
        """(rate, PCM) of a plan: the pack's segments in order with its gap between
        them; espeak-ng for ("say", text) pieces, at the pack's rate and loudness."""
        from .voicepack import normalize, pcm, resample, trim

        pack = self.pack
        pieces: list[bytes] = []
        for kind, value in plan:
            if pieces:
                pieces.append(pcm(pack.gap()))
            if kind == "seg":
                pieces.append(pcm(pack.segment(value)))
                continue
            pinyin = to_pinyin(value)
            if not _SYLLABLE.search(pinyin):  # punctuation: a pause
                pieces.append(pcm(pack.gap(200)))
                continue
            if self._exe is None and not self._probe_ok():
                log.warning("voice: the pack lacks %r and espeak-ng is unavailable", value)
                continue
            rate, speech = self._speak(pinyin, self.cache_dir)
            samples = array("h", speech)
            if sys.byteorder != "little":
                samples.byteswap()
            pieces.append(pcm(normalize(trim(resample(samples, rate, pack.rate), pack.rate))))
        return pack.rate, b"".join(pieces)

    def _probe_ok(self) -> bool:
        if self._available is None:
            with self._check_lock:
                reason = self._probe()
                self._available = reason is None
        return bool(self._available)

    def _splice(self, plan, path: str, call: bool) -> None:
        from .voicepack import pcm

        rate, speech = self.spliced(plan)
        if not speech:
            raise VoiceError("nothing to say")
        chime = pcm(self.pack.segment("chime")) if self.pack.has("chime") else None
        self._write(path, rate, self._frame(rate, speech, call, chime))

    def _write(self, path: str, rate: int, parts: list[bytes]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".call-", suffix=".tmp", dir=self.cache_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                with wave.open(fh, "wb") as w:
                    w.setnchannels(_CHANNELS)
                    w.setsampwidth(_SAMPWIDTH)
                    w.setframerate(rate)
                    w.writeframes(b"".join(parts))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
