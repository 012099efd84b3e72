"""What the name judge knows about one word: a given name, a surname, a word of the text's language.

``NameWords`` holds the gazetteers (``wordlists.py``) and the lists of the language a text is read
in (``use_language``); ``names.NameFinder`` builds on it to judge runs of words in context, and the
NER cascade (``ner.py``) asks it whether a model's span looks like a name.
"""

from __future__ import annotations

from functools import lru_cache

from chatsift.privacy.contexts import ARTICLES, CASE_ENDINGS, LOCATIVES, TITLES, name_contexts
from chatsift.privacy.contexts import NONE as NONE_CONTEXTS
from chatsift.privacy.name_text import (
    CELTIC_SURNAME,
    CONTRACTIONS,
    LOWERCASE_GIVEN_WEIGHT,
    MAJOR_LANGUAGES,
    SURNAME_ENDINGS,
)
from chatsift.privacy.wordlists import (
    EMPTY_LISTS,
    NOUN_ENDINGS,
    english_in_foreign_text,
    gazetteers,
    language_lists,
    latin_key,
)


@lru_cache(maxsize=1)
def lowercase_given_names() -> frozenset[str]:
    """The given names that may stand in lower case in prose: prominent, and no word of English or of a
    major language ("una", "les" and "con" never are), nor an ambiguous one ("max", "will")."""
    g = gazetteers()
    majors = [language_lists(code).words for code in MAJOR_LANGUAGES]
    return frozenset(name for name, weight in g.given.items()
                     if weight >= LOWERCASE_GIVEN_WEIGHT and name.isascii() and name.isalpha() and len(name) >= 3
                     and name not in g.dictionary and name not in g.not_names and name not in g.ambiguous
                     and not any(name in words for words in majors))


class NameWords:
    COMMON_NAME_WEIGHT = 30  # a given name that is also a dictionary word needs this prominence
    PROMINENT_GIVEN_WEIGHT = 50  # a given name this prominent is a person even where places stand ("in Sarah")

    def __init__(self) -> None:
        self.g = gazetteers()
        self._words: frozenset[str] = frozenset()
        self._nouns: tuple[str, ...] = ()
        self._function: frozenset[str] = frozenset()
        self._frequent: frozenset[str] = frozenset()
        self._contexts = NONE_CONTEXTS
        self._english: frozenset[str] = self.g.dictionary
        self._case_endings: tuple[str, ...] = ()
        self._articles: frozenset[str] = frozenset()
        self._locatives: frozenset[str] = LOCATIVES["en"]

    def _is_word(self, w: str) -> bool:
        """A common English word (inflected forms included), or a common word of the text's language
        (in German, also any noun by its ending: every noun is capitalised there)."""
        return w in self._english or w in self._words or (self._nouns and len(w) > 6 and (
            w.endswith(self._nouns) or (len(w) >= 9 and self._compound(w))))

    def _plain_word(self, piece: str) -> bool:
        """One English word that is no given name ("The", "Elaborate", "Here's"): a word is never a
        surname on its own (``_surname_like``), so only a title before it makes it a name."""
        w = piece.lower()
        if not w.isalpha():
            base, _, rest = w.replace("’", "'").partition("'")
            if rest not in CONTRACTIONS or not base.isalpha():
                return False
            w = base
        return w in self._english and not self._given(w)

    def _compound(self, w: str) -> bool:
        """A German compound: a common noun of five letters or more at its end ("Steinkohlengrube",
        "Marktgemeinde", "Forstmeister"), unless the whole is a known surname ("Zimmermann")."""
        if w in self.g.surnames:
            return False
        return any(w[i:] in self._words for i in range(3, len(w) - 4))

    def _surname_shaped(self, word: str) -> bool:
        """A census surname or a word ending like one (Kadyrov, Szczepańska, Kristensen, Valbergsdóttir;
        Петров, Шевченко read as Petrov, Shevchenko)."""
        w, key = word.lower(), latin_key(word)
        shaped = key in self.g.surnames or key.endswith(SURNAME_ENDINGS) or CELTIC_SURNAME.match(word) is not None
        return shaped and not self._is_word(w)

    def _given(self, word: str) -> int:
        weight = self.g.given.get(latin_key(word), 0)
        if weight or not self._case_endings:
            return weight
        # An inflected given name: "Alexanderovi", "Iliru", "Susannes" (the stem must be a name itself).
        lower = word.lower()
        # A word common in the language as it stands ("Kini": in China) is an inflected name only when the
        # stem is a prominent one of four letters or more ("Jamesovi", "Johnom": news makes them common).
        frequent = lower in self._frequent
        for ending in self._case_endings:
            stem = len(lower) - len(ending)
            if lower.endswith(ending) and stem >= (4 if frequent else 3):
                weight = self.g.given.get(latin_key(word[: -len(ending)]), 0)
                if weight >= (self.COMMON_NAME_WEIGHT if frequent else 1):
                    return weight
        return 0

    def _strong_given(self, word: str) -> bool:
        """A given name good enough on its own (not a word, a place, or a rare dictionary entry)."""
        w = word.lower()
        weight = self._given(word)
        if weight < 2 or w in self.g.ambiguous or w in self.g.not_names:
            return False
        if len(w) <= 3 and weight < 10:
            return False
        return not self._is_word(w) or weight >= self.COMMON_NAME_WEIGHT

    def _surname_like(self, word: str) -> bool:
        w = word.lower().rstrip(".")
        if w in self.g.not_surnames or w in self.g.ambiguous or w in self.g.not_names or len(w) < 2:
            return False
        if w.replace("’", "'").rsplit("'", 1)[-1] in CONTRACTIONS:
            return False
        return not self._is_word(w) and word[:1].isupper()

    def _skippable(self, word: str) -> bool:
        """Leading words of a capitalised run that are not part of a name ("Producer", "I'm", "The")."""
        w = word.lower().rstrip(".")
        if w in TITLES:
            return False
        if "'" in w or "’" in w:
            return w not in self.g.given
        return w in self.g.not_names or (self._is_word(w) and not self._strong_given(word))

    def _local_surname(self, word: str) -> bool:
        """After a given name, in a language other than English: a capitalised word that is common in
        that language only because news and books print it ("Magalhães", "Ivanović", "Guerra"), as long
        as it is no function word and no English word: "Miguel Guerra", "Oliver Ivanović" stay whole."""
        w = word.lower()
        return bool(self._words) and word[:1].isupper() and word[1:2].islower() and w in self._words and (
            w not in self._function and w not in self.g.dictionary and w not in self.g.not_surnames)

    def _surname_word(self, word: str) -> bool:
        """A capitalised census surname that is also a word (Smith, Fisher), as the second word of a name."""
        return word[:1].isupper() and word[1:].islower() and word.lower() in self.g.surname_words

    def name_part_ok(self, word: str) -> bool:
        """Whether one word of a found name may be replaced wherever it recurs in the conversation
        (capitalised, as the propagation matches case): "Smith" again after "John Smith"."""
        w = word.lower()
        if w in self.g.not_names or w in self.g.ambiguous or w in self._function:
            return False
        # The full name already showed this is a person: a word of the text's language ("Петров", news
        # makes it common) still recurs as the surname; an English word only when it is a surname too.
        return w not in self.g.dictionary or self._surname_word(word)

    def use_language(self, language: str | None) -> None:
        """Read the next texts as ``language``'s (None or "en": English only)."""
        # The words of the text's language count as words too (English ones always do).
        lists = language_lists(language) if language and language != "en" else EMPTY_LISTS
        self._words, self._function, self._frequent = lists.words, lists.function, lists.frequent
        self._nouns = NOUN_ENDINGS.get(language or "", ())
        self._contexts = name_contexts(language)
        # English words are words everywhere; in another language's text only the common ones are
        # (German keeps them all: it capitalises every noun, and shares many with English: "Trainer", "Stein")
        self._english = english_in_foreign_text() if lists is not EMPTY_LISTS and not self._nouns else (
            self.g.dictionary)
        self._case_endings = CASE_ENDINGS.get(language or "", ())
        self._articles = ARTICLES.get(language or "", frozenset())
        self._locatives = LOCATIVES.get(language or "en", frozenset())
