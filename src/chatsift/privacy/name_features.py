"""What the name tagger sees of a token: tokenisation, which tokens are candidates, and their features.

Tokens are words (letters with inner apostrophes or hyphens), digit runs, single other characters, and
one token per character of Han, kana and Hangul text (those scripts write names without spaces). Gold
training data is retokenised the same way (``retokenise``), so the model learns on the tokens it meets.

Only *candidates* are classified, the rest are never a name: a capitalised word, a word of a caseless
script that the tagger reads per character, a lower-case word that is a known given name (social text
writes "conor"), and the particles inside full names ("van", "de", "bin"). Everything the knowledge of
names and words in chatsift offers is a feature, never a verdict: given-name prominence, census
surnames, how common the word is in the text's language and in English, shape, script and the words
around it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from chatsift.privacy.wordlists import english_in_foreign_text, gazetteers, language_lists, latin_key

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
CJK_CHAR = re.compile(f"[{_CJK}]")
_LETTER = rf"[^\W\d_{_CJK}]"
# An initial with its period ("J. R. R. Tolkien" stays one run of tokens); a word, with inner apostrophes
# and hyphens ("O'Neil", "Jean-Pierre"); a trailing "'s" is its own token.
TOKEN = re.compile(rf"([{_CJK}])|({_LETTER}\.(?=\s|$))|({_LETTER}+(?:['’\-](?![sS]\b){_LETTER}+)*)|(\d+)|(\S)")
# Lower-case words that are part of many full names (general knowledge of how names are built).
PARTICLES = frozenset({"van", "von", "de", "der", "den", "del", "della", "di", "da", "das", "do", "dos", "du", "la",
                       "le", "ter", "ten", "bin", "ibn", "al", "el", "ben", "mac", "zu", "af", "av"})
SENTENCE_BREAK = frozenset({".", "!", "?", ":", ";", "…", "。", "！", "？", "•", "*", "-", "–", "—", "#", ">", "|"})
OPENING = frozenset({'"', "'", "“", "«", "„", "(", "[", "‘", "「", "『"})
GIVEN_LOWERCASE_MIN = 5  # a lower-case word is a candidate when it is a given name at least this prominent


def retokenise(tokens: list[str], tags: list[str]) -> tuple[list[str], list[str]]:
    """Gold tokens split as ``TOKEN`` splits text; a split token's pieces continue its tag."""
    out_tokens, out_tags = [], []
    for token, tag in zip(tokens, tags):
        pieces = [m.group() for m in TOKEN.finditer(token)]
        for k, piece in enumerate(pieces):
            out_tokens.append(piece)
            out_tags.append(tag if k == 0 or tag == "O" else "I-" + tag[2:])
    return out_tokens, out_tags


def tokenise(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


@lru_cache(maxsize=200_000)
def shape(token: str) -> str:
    """Xx, X, x, d, X.x..., runs of a kind shortened to two."""
    out = []
    for c in token[:12]:
        k = "X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else "c" if CJK_CHAR.match(c) else c
        if len(out) < 2 or not (out[-1] == k and out[-2] == k):
            out.append(k)
    return "".join(out)


def script(token: str) -> str:
    c = token[0]
    if c.isascii():
        return "latin" if c.isalpha() else "other"
    name = unicodedata.name(c, "")
    for s in ("LATIN", "CYRILLIC", "GREEK", "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "ARABIC", "HEBREW"):
        if name.startswith(s):
            return s.lower()
    return "other"


class Knowledge:
    """The word knowledge features are made from, per language, loaded once per process."""

    def __init__(self) -> None:
        g = gazetteers()
        self.given = g.given
        self.surnames = g.surnames
        self.dictionary = g.dictionary
        self.english_common = english_in_foreign_text()
        self.lowercase_given = frozenset(w for w, weight in g.given.items()
                                         if weight >= GIVEN_LOWERCASE_MIN and w.isalpha())

    @lru_cache(maxsize=500_000)  # noqa: B019 - one Knowledge per process, kept for its life
    def word_features(self, low: str, language: str) -> tuple[str, ...]:
        key = latin_key(low)
        weight = self.given.get(key, 0)
        out = ["g0" if weight == 0 else "g1" if weight < 5 else "g2" if weight < 20 else "g3" if weight < 40 else "g4"]
        out += [flag for flag, words, word in (("sn", self.surnames, key), ("dict", self.dictionary, low),
                                               ("encommon", self.english_common, low)) if word in words]
        lists = language_lists(language) if language else None
        if lists is not None:  # the most common band the word is in: function word, word, frequent
            band = next((b for b, words in (("fn", lists.function), ("word", lists.words), ("freq", lists.frequent))
                         if low in words), None)
            out += [band] if band else []
        return tuple(out)


def is_candidate(token: str, knowledge: Knowledge) -> bool:
    c = token[0]
    if c.isupper():
        return True
    if CJK_CHAR.match(c):
        return True
    if c.isalpha():
        low = token.lower()
        return low in PARTICLES or low in knowledge.lowercase_given
    return False


def han_words(tokens: list[str]) -> dict[int, tuple[str, str]]:
    """For Chinese text: each Han token's word as jieba cuts the run it stands in (``rjieba``: jieba's
    dictionary and HMM), as (part-of-speech tag, position in the word: B, M, E or S)."""
    import rjieba

    out: dict[int, tuple[str, str]] = {}
    i = 0
    while i < len(tokens):
        if not CJK_CHAR.match(tokens[i]):
            i += 1
            continue
        j = i
        while j < len(tokens) and CJK_CHAR.match(tokens[j]):
            j += 1
        k = i
        for word, tag in rjieba.tag("".join(tokens[i:j])):
            n = len(word)
            for m in range(n):
                out[k + m] = (tag, "S" if n == 1 else "B" if m == 0 else "E" if m == n - 1 else "M")
            k += n
        i = j
    return out


def sequence(tokens: list[str], language: str, knowledge: Knowledge) -> tuple[list[int], list[list[str]]]:
    """The candidates of one text or sentence (their token indices) and the feature strings of each, with
    whether it follows the previous candidate directly and, in Chinese, jieba's word around it."""
    indices = [i for i, token in enumerate(tokens) if is_candidate(token, knowledge)]
    if not indices:
        return indices, []
    han = han_words(tokens) if language == "zh" and any(CJK_CHAR.match(tokens[i]) for i in indices) else {}
    rows = []
    previous = -2
    for i in indices:
        row = features(tokens, i, language, knowledge)
        row.append("adj" if previous == i - 1 else "gap")
        if i in han:
            tag, position = han[i]
            row.extend((f"jt={tag}", f"jt|p={tag}|{position}", f"jp={position}"))
        rows.append(row)
        previous = i
    return indices, rows


def sentence_start(tokens: list[str], i: int) -> bool:
    j = i - 1
    while j >= 0 and tokens[j] in OPENING:
        j -= 1
    return j < 0 or tokens[j] in SENTENCE_BREAK


def features(tokens: list[str], i: int, language: str, knowledge: Knowledge) -> list[str]:
    """The feature strings of candidate ``tokens[i]`` (the hashing classifier reads them)."""
    token = tokens[i]
    before = tokens[i - 1] if i > 0 else "<s>"
    after = tokens[i + 1] if i + 1 < len(tokens) else "</s>"
    if CJK_CHAR.match(token):
        before2 = tokens[i - 2] if i > 1 else "<s>"
        after2 = tokens[i + 2] if i + 2 < len(tokens) else "</s>"
        return ["bias", f"L={language}", f"c={token}", f"c-1={before}", f"c+1={after}", f"c-2={before2}",
                f"c+2={after2}", f"b-={before}{token}", f"b+={token}{after}", f"t={before}{token}{after}",
                f"t-={before2}{before}{token}", f"t+={token}{after}{after2}", f"S={script(token)}",
                f"S-1={script(before) if before not in ('<s>',) else 's'}",
                f"S+1={script(after) if after != '</s>' else 's'}"]
    low = token.lower()
    sh = shape(token)
    first = sentence_start(tokens, i)
    out = ["bias", f"L={language}", f"w={low}", f"sh={sh}", f"L|sh={language}|{sh}", f"p3={low[:3]}",
           f"s2={low[-2:]}", f"s3={low[-3:]}", f"s4={low[-4:]}", f"S={script(token)}", f"n={min(len(token), 10)}",
           f"w-1={before.lower()}", f"w+1={after.lower()}", f"sh-1={shape(before)}", f"sh+1={shape(after)}",
           f"shapes={shape(before)}|{sh}|{shape(after)}", f"s3-1={before.lower()[-3:]}",
           f"s3+1={after.lower()[-3:]}", f"first={first}", f"first|sh={first}|{sh}"]
    if i > 1:
        out.append(f"w-2={tokens[i - 2].lower()}")
    if i + 2 < len(tokens):
        out.append(f"w+2={tokens[i + 2].lower()}")
    if token.isupper() and len(token) > 1:
        out.append("caps")
    known = knowledge.word_features(low, language)
    out.extend(known)
    out.extend(f"{k}|first={first}" for k in known)
    for side, neighbour in (("-1", before), ("+1", after)):
        if neighbour[:1].isupper():
            out.extend(f"{k}{side}" for k in knowledge.word_features(neighbour.lower(), language))
    return out
