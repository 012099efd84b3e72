"""The default person-name finder: chatsift's trained name tagger, plus the general rules of ``name_rules``.

The model ships in ``chatsift/data/names`` (trained by ``chatsift pii train-names``; see its
``ATTRIBUTION.md``); ``pii.name_model`` names another. A long text is read in pieces of about 4,000
characters with the message's deadline checked between them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

from chatsift.privacy.name_model import NameModel
from chatsift.privacy.name_rules import (
    addressed_names,
    addressed_or_related_names,
    code_regions,
    introduced_names,
    names_a_term,
    related_names,
)
from chatsift.privacy.spans import ScanTimeout, Span
from chatsift.privacy.wordlists import gazetteers, language_lists

PIECE_CHARS = 4_000  # a long text is scored in pieces of about this many characters, deadline between them
RULES = frozenset({"introductions", "addresses", "relations", "eponyms", "code"})  # see name_rules


def bundled_model_path() -> Path:
    return Path(str(resources.files("chatsift").joinpath("data/names")))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> NameModel:
    """One model per process and path."""
    return NameModel.load(path or bundled_model_path())


class LearnedNameFinder:
    """``find(text, deadline, language)`` yields ``name`` spans; the redactor's name-finder interface."""

    def __init__(self, model_path: str | None = None, rules: frozenset[str] = RULES) -> None:
        self.model = load_model(model_path)
        self.rules = rules  # the general rules that run (bench_name_tagger.py's ablation turns them off)
        self._language: str | None = None

    def prepare(self, language: str | None) -> None:
        """Load the language's word lists before any message's time budget starts."""
        self._language = language
        if language:
            language_lists(language)
        gazetteers()

    def _model_spans(self, text: str, language: str | None, deadline: float | None) -> list[tuple[int, int]]:
        if len(text) <= PIECE_CHARS:
            return self.model.find(text, language)
        out = []
        for start, piece in _pieces(text):
            if deadline is not None and time.perf_counter() > deadline:
                raise ScanTimeout
            out.extend((s + start, e + start) for s, e in self.model.find(piece, language))
        return out

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> Iterator[Span]:
        spans = self._model_spans(text, language, deadline)
        if "eponyms" in self.rules:
            spans = [(s, e) for s, e in spans if not names_a_term(text, e)]
        introduced = list(introduced_names(text)) if "introductions" in self.rules else []
        if "addresses" in self.rules and "relations" in self.rules:
            introduced += addressed_or_related_names(text, language)
        elif "addresses" in self.rules:
            introduced += addressed_names(text, language)
        elif "relations" in self.rules:
            introduced += related_names(text, language)
        if introduced:
            # an introduction says exactly where the name starts: it wins over a model span it overlaps
            spans = [(s, e) for s, e in spans if not any(s < b and a < e for a, b in introduced)] + introduced
        if not spans:
            return
        code = code_regions(text) if "`" in text and "code" in self.rules else []
        for start, end in spans:
            if len(text[start:end].rstrip(".")) == 1:
                continue  # one letter alone names no one ("F." in a reference, "O(y, x)", a lone Han character)
            if not any(s <= start < e for s, e in code):
                yield Span(start, end, "name", text[start:end])

    def name_part_ok(self, word: str) -> bool:
        """Whether one word of a found full name may be replaced wherever it recurs in the conversation
        ("Smith" again after "John Smith"): not a common word of the text's language, and an English
        dictionary word only when it is also a surname."""
        w = word.lower()
        lists = language_lists(self._language) if self._language else None
        if lists is not None and (w in lists.function or w in lists.words):
            return False
        g = gazetteers()
        return w not in g.dictionary or w in g.surnames


def _pieces(text: str) -> Iterator[tuple[int, str]]:
    """Pieces of about ``PIECE_CHARS`` characters, cut after a line break (or a space) where there is one."""
    start = 0
    while start < len(text):
        end = min(len(text), start + PIECE_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start + PIECE_CHARS // 2, end)
            if cut < 0:
                cut = text.rfind(" ", start + PIECE_CHARS // 2, end)
            end = cut + 1 if cut >= 0 else end
        yield start, text[start:end]
        start = end
