"""Voice packs: calls and kiosk prompts spliced from recorded segments.

A pack is a folder with `manifest.toml` and one WAV file per segment:

    name = "大厅播音员"          # shown by `python -m hall voice check`
    rate = 22050                 # the pack's sample rate (segments are converted to it)
    gap_ms = 40                  # silence between segments
    [segments]
    "请" = "qing.wav"            # words of the call text and of the kiosk prompts
    "A" = "letter-a.wav"         # ticket letters, read one by one
    "0" = "digit-0.wav"          # ticket digits, read one by one (零 一 二 ...)
    "window:3" = "window-3.wav"  # window numbers, read as numbers (三, 十二)
    "chime" = "chime.wav"        # played before a call

Each segment is trimmed of its leading and trailing silence and scaled to one loudness
(the RMS of its voiced part, peaks limited), so segments recorded on different days
sound alike. What a pack lacks is spoken by espeak-ng (hall/voice.py) at the pack's rate
and loudness. `python -m hall voice check PACK` lists what is missing and renders a
sample; `python -m hall voice build-default DIR` renders the default pack from espeak-ng
(the install does it). docs/voice.md tells a hall how to record its own announcer.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import string
import sys
import tomllib
import wave
from array import array
from dataclasses import dataclass, field

from .pinyin import DIGITS, number_to_chinese

WORDS = ("请", "号", "到", "窗口", "办理")
PROMPT_WORDS = (
    "您已取号",
    "前面还有",
    "人等候",
    "请选择您要办理的业务",
    "请在下方选择业务",
    "请刷身份证或点击业务",
    "已通知工作人员，请稍候",
    "请取走号票",
)
LETTERS = tuple(string.ascii_uppercase)
TARGET_RMS = 0.1 * 32767  # -20 dBFS for the voiced part
PEAK = 0.9 * 32767
KEY_RE = re.compile(r"window:\d{1,4}|chime|[0-9A-Z]|[\u3400-\u9fff，。、]{1,20}")


class PackError(ValueError):
    pass


def read_wav(path: str) -> tuple[int, array]:
    """(rate, mono 16-bit samples) of a PCM WAV file (stereo is mixed down)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise PackError(
                f"{os.path.basename(path)}: {8 * w.getsampwidth()}-bit, need 16-bit PCM"
            )
        rate, channels = w.getframerate(), w.getnchannels()
        data = array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        data.byteswap()
    if channels > 1:
        data = array(
            "h", (sum(data[i : i + channels]) // channels for i in range(0, len(data), channels))
        )
    return rate, data


def resample(samples: array, src: int, dst: int) -> array:
    """Linear interpolation: enough for speech between the usual rates."""
    if src == dst or not samples:
        return array("h", samples)
    n = max(1, int(len(samples) * dst / src))
    step = src / dst
    last = len(samples) - 1
    out = array("h", bytes(2 * n))
    for i in range(n):
        x = i * step
        k = int(x)
        frac = x - k
        a = samples[min(k, last)]
        b = samples[min(k + 1, last)]
        out[i] = int(a + (b - a) * frac)
    return out


def trim(samples: array, rate: int) -> array:
    """Without leading and trailing silence (below 2 % of the peak), 10 ms kept."""
    if not samples:
        return samples
    gate = max(64, 0.02 * max(abs(min(samples)), max(samples)))
    first = next((i for i, s in enumerate(samples) if abs(s) > gate), 0)
    last = next(
        (i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > gate), len(samples) - 1
    )
    pad = rate // 100
    return samples[max(0, first - pad) : min(len(samples), last + pad + 1)]


def voiced_rms(samples: array) -> float:
    if not samples:
        return 0.0
    gate = 0.05 * max(abs(min(samples)), max(samples))
    voiced = [s for s in samples if abs(s) > gate] or list(samples)
    return math.sqrt(sum(s * s for s in voiced) / len(voiced))


def normalize(samples: array) -> array:
    """Scaled so the voiced part's RMS is TARGET_RMS, peaks kept under PEAK."""
    rms = voiced_rms(samples)
    if rms <= 0:
        return array("h", samples)
    peak = max(abs(min(samples)), max(samples)) or 1
    gain = min(TARGET_RMS / rms, PEAK / peak)
    return array("h", (max(-32768, min(32767, int(s * gain))) for s in samples))


def pcm(samples: array) -> bytes:
    if sys.byteorder != "little":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


@dataclass
class Pack:
    folder: str
    name: str
    rate: int
    gap_ms: int
    files: dict[str, str]
    fingerprint: str
    _cache: dict[str, array] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, folder: str) -> Pack:
        path = os.path.join(folder, "manifest.toml")
        try:
            with open(path, "rb") as f:
                manifest = tomllib.load(f)
        except FileNotFoundError:
            raise PackError(f"{folder}: no manifest.toml") from None
        except tomllib.TOMLDecodeError as e:
            raise PackError(f"{path}: not valid TOML: {e}") from None
        segments = manifest.get("segments", {})
        if not isinstance(segments, dict):
            raise PackError(f"{path}: [segments] must be a table")
        files = {}
        for key, name in segments.items():
            if (
                not KEY_RE.fullmatch(key)
                or not isinstance(name, str)
                or "/" in name
                or name.startswith(".")
            ):
                raise PackError(f"{path}: segments.{key!r} = {name!r} is not a segment")
            files[key] = name
        digest = hashlib.sha1()
        for key in sorted(files):
            full = os.path.join(folder, files[key])
            stat = os.stat(full) if os.path.exists(full) else None
            digest.update(
                f"{key}={files[key]}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else 0};".encode()
            )
        rate = int(manifest.get("rate", 22050))
        gap = int(manifest.get("gap_ms", 40))
        digest.update(f"{rate}:{gap}".encode())
        return cls(
            folder=os.path.abspath(folder),
            name=str(manifest.get("name", os.path.basename(folder))),
            rate=rate,
            gap_ms=gap,
            files=files,
            fingerprint=digest.hexdigest(),
        )

    def has(self, key: str) -> bool:
        return key in self.files and os.path.isfile(os.path.join(self.folder, self.files[key]))

    def segment(self, key: str) -> array:
        """The segment as it is spliced: the pack's rate, trimmed, loudness-matched."""
        if key not in self._cache:
            rate, samples = read_wav(os.path.join(self.folder, self.files[key]))
            samples = resample(samples, rate, self.rate)
            self._cache[key] = normalize(samples if key == "chime" else trim(samples, self.rate))
        return self._cache[key]

    def gap(self, ms: int | None = None) -> array:
        return array("h", bytes(2 * int(self.rate * (self.gap_ms if ms is None else ms) / 1000)))

    def words(self) -> list[str]:
        return sorted(
            (k for k in self.files if len(k) > 1 and not k.startswith("window:") and k != "chime"),
            key=len,
            reverse=True,
        )

    def missing(self, windows=range(1, 21)) -> list[str]:
        wanted = [
            "chime",
            *WORDS,
            *DIGITS_KEYS,
            *LETTERS,
            *(f"window:{n}" for n in windows),
            *PROMPT_WORDS,
        ]
        return [k for k in wanted if not self.has(k)]

    def problems(self) -> list[str]:
        out = []
        for key, name in sorted(self.files.items()):
            full = os.path.join(self.folder, name)
            if not os.path.isfile(full):
                out.append(f"{key}: file {name} is missing")
                continue
            try:
                rate, samples = read_wav(full)
            except (PackError, wave.Error, EOFError) as e:
                out.append(f"{key}: {e}")
                continue
            if not samples or voiced_rms(samples) < 30:
                out.append(f"{key}: {name} is silent")
            elif len(samples) > rate * 10:
                out.append(f"{key}: {name} is longer than 10 s")
        return out


DIGITS_KEYS = tuple("0123456789")

# --- what to say --------------------------------------------------------------------
Plan = list[tuple[str, str]]  # ("seg", key) | ("say", chinese text)


def _literal(pack: Pack | None, text: str, plan: Plan) -> None:
    """Words of the pack, longest first; what it lacks goes to espeak-ng in runs."""
    words = pack.words() if pack else []
    rest = ""
    i = 0
    while i < len(text):
        hit = next((w for w in words if text.startswith(w, i) and pack.has(w)), None)
        if hit is None and text[i] in WORDS and pack and pack.has(text[i]):
            hit = text[i]
        if hit:
            if rest.strip():
                plan.append(("say", rest))
            rest = ""
            plan.append(("seg", hit))
            i += len(hit)
        else:
            rest += text[i]
            i += 1
    if rest.strip():
        plan.append(("say", rest))


def plan_call(pack: Pack | None, template: str, number: str, window) -> Plan:
    """The segments of a call: its template's words, the ticket read letter by letter
    and digit by digit, the window as a number."""
    plan: Plan = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            _literal(pack, literal, plan)
        if name == "number":
            for ch in str(number).upper():
                if pack and pack.has(ch):
                    plan.append(("seg", ch))
                else:
                    plan.append(("say", DIGITS[int(ch)] if ch.isdigit() else ch))
        elif name == "window":
            key = f"window:{int(window)}"
            if pack and pack.has(key):
                plan.append(("seg", key))
            else:
                plan.append(("say", number_to_chinese(int(window))))
    return plan


def plan_text(pack: Pack | None, text: str) -> Plan:
    """A kiosk prompt: the pack's words, ticket numbers (A005) letter by letter, other
    numbers as numbers."""
    plan: Plan = []
    for part in re.split(r"([A-Z][0-9]{3,4}|[0-9]+)", text):
        if not part:
            continue
        if re.fullmatch(r"[A-Z][0-9]{3,4}", part):
            for ch in part:
                plan.append(
                    ("seg", ch)
                    if pack and pack.has(ch)
                    else ("say", DIGITS[int(ch)] if ch.isdigit() else ch)
                )
        elif part.isdigit():
            plan.append(("say", number_to_chinese(int(part))))
        else:
            _literal(pack, part, plan)
    return plan
