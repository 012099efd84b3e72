"""The word knowledge the name detector reads: gazetteers and word lists, from dependencies at run time.

- ``gazetteers()``: ~61k given names from 55 countries (``gender-guesser``, Jörg Michael's name
  dictionary), the US census given names and 88,799 surnames (``names``), and the lower-case words of
  Webster's 2nd (``english-words``) in use (``wordfreq``) to tell English words from names.
- ``language_lists(code)``: the common words of another language (``wordfreq``), so that a
  capitalised German noun, a sentence start or a function word is no name there.
- ``latin_key(word)``: a Cyrillic word in the Latin spelling the gazetteers use.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from chatsift.common.cache import cache_root
from chatsift.errors import ConfigError


@dataclass(frozen=True)
class Gazetteers:
    given: dict[str, int]  # lower-cased given name -> prominence (summed country frequencies)
    surnames: frozenset[str]
    dictionary: frozenset[str]  # common English words (see _common_words)


_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("er", ""),
                ("ers", ""), ("ly", ""), ("ness", ""), ("ment", ""), ("ation", "ate"))


_WORD_SUFFIXES = ("ness", "tion", "sion", "ive", "ity", "ism", "ment", "ous", "ful", "less", "able", "ible", "ance",
                  "ence", "ize", "ise", "ical", "ally")


def _common_words(web2: set[str], name_like: Callable[[str], bool]) -> frozenset[str]:
    """Common English words: those Webster's 2nd lists in lower case that are in use (wordfreq).

    Webster's keeps proper nouns capitalised, so "james" is not a word there while "harry" is. A word
    needs a use of at least once per million words, which drops archaic entries ("hilding", "maslin",
    "winehouse") that would otherwise hide real names, unless it is no known name and ends like a
    derived noun or adjective ("politeness", "recursive"), which surnames do not.
    """
    import wordfreq

    lower = {w for w in web2 if w.islower()}
    out = set()
    for word, freq in wordfreq.get_frequency_dict("en", wordlist="best").items():
        if freq < 1e-8 or not word.isalpha():
            continue
        if freq < 1e-6 and (name_like(word) or not word.endswith(_WORD_SUFFIXES)):
            continue
        if word in lower or any(word.endswith(a) and len(word) > len(a) + 1 and word[: -len(a)] + b in lower
                                for a, b in _INFLECTIONS):
            out.add(word)
    return frozenset(out)


@lru_cache(maxsize=1)
def gazetteers() -> Gazetteers:
    try:
        import gender_guesser.detector
        import names
        import wordfreq  # noqa: F401 - checked here so a missing package fails with this message
        from english_words import get_english_words_set
    except ImportError as exc:  # pragma: no cover - declared dependencies
        raise ConfigError(f"the name detector needs {exc.name}: pip install chatsift") from None
    given: dict[str, int] = {}
    for name, genders in gender_guesser.detector.Detector(case_sensitive=True).names.items():
        # Each country column holds a hex frequency class (1 rare .. D very common); sum them up.
        weight = sum(int(c, 16) for v in genders.values() for c in v if c.strip() and c in "0123456789ABCDEFabcdef")
        key = name.lower()
        given[key] = max(given.get(key, 0), weight)
    folder = os.path.dirname(names.__file__)
    for fname in ("dist.male.first", "dist.female.first"):
        with open(os.path.join(folder, fname), encoding="utf-8") as fh:
            for rank, line in enumerate(fh):
                if line.strip():
                    key = line.split()[0].lower()
                    given[key] = max(given.get(key, 0), 40 if rank < 300 else 20 if rank < 1500 else 5)
    with open(os.path.join(folder, "dist.all.last"), encoding="utf-8") as fh:
        surnames = frozenset(line.split()[0].lower() for line in fh if line.strip())
    dictionary = _common_words(get_english_words_set(["web2"], lower=False, alpha=True),
                               lambda w: w in surnames or given.get(w, 0) > 0)
    return Gazetteers({k: v for k, v in given.items() if len(k) > 1}, surnames, dictionary)


# In text of another language, an English word counts as a word only when it is this common in English
# (Zipf 4.5: "the", "online", "team"): a capitalised "Bush" or "Rice" in Slovak news is a person.
_ENGLISH_IN_FOREIGN_MIN_FREQ = 10 ** (4.5 - 9)


@lru_cache(maxsize=1)
def english_in_foreign_text() -> frozenset[str]:
    import wordfreq

    freq = wordfreq.get_frequency_dict("en", wordlist="best")
    return frozenset(w for w in gazetteers().dictionary if freq.get(w, 0.0) >= _ENGLISH_IN_FOREIGN_MIN_FREQ)


# A word this common in its language (Zipf 3.3: a few times per million words) is read as a word, not a
# name, unless it is a well-known given name or a census surname (news text makes "merkel" or "pérez"
# common), compared without accents. Words this frequent (Zipf 5.0: "les", "su", German "Juli", "Sommer") are
# words whatever names they also are.
_LANGUAGE_WORD_MIN_FREQ = 10 ** (3.3 - 9)
_FUNCTION_WORD_MIN_FREQ = 10 ** (5.0 - 9)
GIVEN_WEIGHT_KEEP = 5


def _plain(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_WORDFREQ_CODES = {"hr": "sh", "sr": "sh", "bs": "sh", "no": "nb", "nn": "nb"}  # wordfreq's own codes


@dataclass(frozen=True)
class LanguageLists:
    frequent: frozenset[str]  # every word at Zipf 3.3 or more, names included
    words: frozenset[str]  # those that are no names (see _LANGUAGE_WORD_MIN_FREQ)
    function: frozenset[str]  # Zipf 5.8 and up: "de", "que", "und", never a surname


EMPTY_LISTS = LanguageLists(frozenset(), frozenset(), frozenset())


@lru_cache(maxsize=64)
def language_lists(code: str) -> LanguageLists:
    """A language's word lists from ``wordfreq``; empty for a language it does not have.

    wordfreq's frequency table of a language is large (hundreds of MB for all of them, kept by its own
    cache) and slow to read, so the three lists are made once, written to the chatsift cache as text,
    and wordfreq's tables are let go: a worker then reads a language in milliseconds."""
    import wordfreq

    code = _WORDFREQ_CODES.get(code, code)
    if code not in wordfreq.available_languages(wordlist="best"):
        return EMPTY_LISTS
    from importlib.metadata import version

    key = f"{code}-wordfreq{version('wordfreq')}-{_LANGUAGE_WORD_MIN_FREQ:.3g}-{_FUNCTION_WORD_MIN_FREQ:.3g}-" \
          f"{GIVEN_WEIGHT_KEEP}-v1"
    path = cache_root() / "wordlists" / f"{key}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return LanguageLists(*(frozenset(stored[k]) for k in ("frequent", "words", "function")))
    except (OSError, ValueError, KeyError):
        pass
    freq = wordfreq.get_frequency_dict(code, wordlist="best")
    g = gazetteers()

    def name_too(w: str) -> bool:
        plain = _plain(w)
        given = max(g.given.get(w, 0), g.given.get(plain, 0))
        return given >= GIVEN_WEIGHT_KEEP or w in g.surnames or plain in g.surnames

    frequent = [w for w, f in freq.items() if f >= _LANGUAGE_WORD_MIN_FREQ and w.isalpha() and len(w) > 1]
    lists = {"frequent": frequent,
             "words": [w for w in frequent if freq[w] >= _FUNCTION_WORD_MIN_FREQ or not name_too(w)],
             "function": [w for w, f in freq.items() if f >= 10 ** (5.8 - 9)]}
    for cached in (wordfreq.get_frequency_dict, wordfreq.get_frequency_list):
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(lists, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache: the lists are made again next time
    return LanguageLists(*(frozenset(lists[k]) for k in ("frequent", "words", "function")))


# Cyrillic to the Latin spelling the gazetteers use (Иван -> ivan, Петров -> petrov, Шевченко -> shevchenko).
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ђ": "dj", "ј": "j", "љ": "lj",
    "њ": "nj", "ћ": "c", "џ": "dz", "ў": "u",
})


_HAS_CYRILLIC = re.compile("[\u0400-\u04ff]")


def latin_key(word: str) -> str:
    """The lower-cased word as the gazetteers spell it: Cyrillic transliterated, everything else as is."""
    w = word.lower()
    return w if w.isascii() or not _HAS_CYRILLIC.search(w) else w.translate(_CYRILLIC)
