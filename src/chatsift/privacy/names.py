"""Person names without a neural model: gazetteers, capitalisation and context.

Evidence, strongest first:
- a title before the name (Mr., Dr., Frau, Sra., ...): any capitalised words after it;
- an introduction ("my name is", "je m'appelle", "меня зовут", "我叫", ...): the words after it, in
  any script;
- a known given name followed by a surname-like word (a census surname, or a capitalised word that
  is not a dictionary word);
- a known given name on its own, unless it is also a common word or a tech term (then it needs one
  of the above), or a list of given names ("Anna, James and Emily").

The gazetteers and word lists are in ``wordlists.py``. With the conversation's language, the common
words of that language count as words too (``language_lists``), German nouns by their endings, and
a Cyrillic word is looked up by its Latin spelling.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

from chatsift.privacy import chinese
from chatsift.privacy.chinese import HAN_LANGUAGES, find_chinese_names
from chatsift.privacy.contexts import (
    ATTRIBUTION,
    EPONYM_NOUNS,
    HONORIFICS,
    NAMED_BEFORE,
    NAMED_THINGS,
    ORDINALS,
    PARTICLES,
    PERSON_VERBS_AFTER,
    PLACE_PREFIXES,
    PLURAL_VERBS,
    ROLES,
    STRONG_INTRO,
    THING_NOUNS,
    TITLES,
    WEAK_INTRO,
    WORK_AFTER,
    ends_with_phrase,
    starts_with_phrase,
)
from chatsift.privacy.contexts import NONE as NONE_CONTEXTS
from chatsift.privacy.name_text import (
    ARABIC_PARTICLE,
    CJK_HONORIFIC,
    CLAUSE,
    CODE_CHARACTERS,
    DISPLAY_NAME,
    EMOTICONS,
    END_VOCATIVE,
    HIS_AFTER,
    INTRO,
    INTRO_CJK,
    INTRO_KEYS,
    LIST_SEP,
    LOWER_SURNAME,
    LOWER_WORD,
    SENTENCE_END,
    SLAVIC_NORDIC,
    SMILEY_TEXT_CHARS,
    VOCATIVE_AFTER,
    WORD,
    capitalised_runs,
    code_regions,
    context_names_a_thing,
    is_cjk,
    next_word,
    sentences,
    tokens,
    with_notes_domain,
)
from chatsift.privacy.name_words import NameWords, lowercase_given_names
from chatsift.privacy.spans import ScanTimeout, Span
from chatsift.privacy.structured import gend, gstart
from chatsift.privacy.wordlists import (
    GIVEN_WEIGHT_KEEP,
)

ROMAN_NUMERALS = frozenset({"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"})


def pos_of(words: list[str], i: int) -> int:
    """Offset of ``words[i]`` in ``" ".join(words)``."""
    return sum(len(w) + 1 for w in words[:i])


class NameFinder(NameWords):
    """Finds person names in one text; ``find(text)`` yields spans of kind ``name``."""

    def _at_articles(self, pieces: Iterator[tuple[str, int]]) -> Iterator[tuple[str, int]]:
        """In German, a run split where an article stands between its words ("Renate Schmidt den Nerv"),
        unless a name particle comes before it ("Ursula von der Leyen")."""
        for piece, start in pieces:
            if not self._articles or " " not in piece:
                yield piece, start
                continue
            words = piece.split(" ")
            last = 0
            for i, word in enumerate(words):
                if 0 < i < len(words) - 1 and word in self._articles and words[i - 1].lower() not in PARTICLES:
                    yield " ".join(words[last:i]), start + pos_of(words, last)
                    last = i + 1
            yield " ".join(words[last:]), start + pos_of(words, last)

    def prepare(self, language: str | None) -> None:
        """Load what reading ``language`` needs once per process (its word lists, built from wordfreq on a
        first run; the lower-case given names; Chinese frequencies), so that no message's time budget pays
        for it: a first Portuguese message was otherwise withheld on a busy machine."""
        self.use_language(language)
        lowercase_given_names()
        if language in HAN_LANGUAGES:
            chinese.warm_up()

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> Iterator[Span]:
        self.use_language(language)
        code = code_regions(text) if "`" in text else []
        found = self._find(text, deadline)
        if language in HAN_LANGUAGES:
            found = itertools.chain(found, find_chinese_names(text, deadline))
        for span in found:
            if not any(s <= span.start < e for s, e in code) and not self._function_word_alone(text, span) and (
                    not self._place_alone(text, span)):
                yield span

    def _lowercase_nouns(self) -> bool:
        """A language other than English whose nouns are written in lower case (not German)."""
        return bool(self._words) and not self._nouns

    def _known_pair(self, first: str, second: str) -> bool:
        """A known given name, then a known surname or given name, neither of them a function word,
        a non-name or a title ("João Silva", "Ana Costa"); places start with their own words ("São")."""
        if any(w.lower() in self._function or w.lower() in self.g.not_names or w.lower() in TITLES
               or w.lower() in PLACE_PREFIXES for w in (first, second)):
            return False
        return self._given(first) >= 5 and (second.lower() in self.g.surnames or self._given(second) >= 5)

    def _place_alone(self, text: str, span: Span) -> bool:
        """One word right after the language's "in": a place ("em Roma", "in Orlando", "u Zagrebu"), unless it
        is a prominent given name ("the change in Sarah") or a surname's genitive ("i Hendersons timbre")."""
        word = text[span.start : span.end]
        before = text[max(0, span.start - 4) : span.start]  # the longest "in" is two letters and a space
        previous = before[:-1].rsplit(None, 1) if before.endswith(" ") else []
        if " " in word or not previous or previous[-1].lower() not in self._locatives:
            return False
        genitive = word.endswith("s") and word[:-1].lower() in self.g.surnames
        return self._given(word) < self.PROMINENT_GIVEN_WEIGHT and not genitive

    def _function_word_alone(self, text: str, span: Span) -> bool:
        """One word that is among the most frequent of the text's language (Danish "Hans tanker" is "his
        thoughts", Portuguese "Nada mal", "Ora,"): a pronoun or an adverb there, unless a title stands before."""
        word = text[span.start : span.end]
        return bool(self._function) and word.isalpha() and word.lower() in self._function and (
            self._title_before(text, span.start) is None)

    def _find(self, text: str, deadline: float | None) -> Iterator[Span]:
        lowered = text.lower()
        if any(key in lowered for key in INTRO_KEYS):  # each introduction holds one: most texts skip the scan
            for m in INTRO.finditer(text):
                yield from self._intro_name(text, gstart(m, "n"), m.group("n"))
        # '"McGilloway, Vangie" <vangie@...>', '"Les Spahnn" <...>'
        for m in DISPLAY_NAME.finditer(text) if '"' in text else ():
            words = m.group("n").replace(",", " ").split()
            if words[0].lower() not in {"the", "a", "an"} and any(
                    self._given(w) >= 2 or not self._is_word(w.lower()) for w in words):  # not "The Cat Album"
                yield Span(m.start("n"), m.end("n"), "name", m.group("n"))
        for pattern in (INTRO_CJK, CJK_HONORIFIC) if not text.isascii() else ():
            for m in pattern.finditer(text):
                yield Span(gstart(m, "n"), gend(m, "n"), "name", m.group("n"))
        for n, (run, run_start) in enumerate(capitalised_runs(text)):
            if deadline is not None and n % 256 == 255 and time.perf_counter() > deadline:
                raise ScanTimeout
            for piece, start in self._at_articles(sentences(run, run_start)):
                if self._plain_word(piece) and self._title_before(text, start) is None:
                    continue  # "This", "Elaborate": 40% of the candidates in chat text, never a name alone
                span = self._judge(text, piece, start)
                if span is not None:
                    yield span
        yield from self._lists(text)
        # prose, not code; a short text's smileys ("did:)") are no code
        prose = not any(c in text for c in CODE_CHARACTERS) or (len(text) <= SMILEY_TEXT_CHARS and not any(
            c in EMOTICONS.sub("", text) for c in CODE_CHARACTERS))
        if prose:
            if text == text.lower():
                yield from self._lowercase_names(text)
            else:
                yield from self._lowercase_given(text)

    def _lowercase_given(self, text: str) -> Iterator[Span]:
        """A prominent given name typed in lower case inside ordinary prose ("tell brad she is pregnant",
        "yeah but conor makes more"): only one that is no word in any list, between plain word breaks."""
        names = lowercase_given_names()
        for m in LOWER_WORD.finditer(text):
            word = m.group()
            if word in names and not self._is_word(word) and word not in self._frequent:
                if self._after_place_prefix(text, m.start()):
                    continue
                # and the surname after it, past an initial: "follow up with benjamin a seiler"
                after = LOWER_SURNAME.match(text, m.end())
                end = after.end() if after and not self._is_word(after.group("s")) and (
                    after.group("s") not in self.g.not_names) else m.end()
                yield Span(m.start(), end, "name", text[m.start():end])

    @staticmethod
    def _after_place_prefix(text: str, start: int) -> bool:
        """A word typed in lower case after "san", "st." ...: a place ("traveling to san francisco")."""
        before = text[max(0, start - 7) : start].split()[-1:]
        return bool(before) and before[0].rstrip(".") in PLACE_PREFIXES

    def _lowercase_names(self, text: str) -> Iterator[Span]:
        """Names in text written all in lower case ("follow up with patricia desrosiers")."""
        toks = [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
        i = 0
        while i < len(toks):
            word = toks[i][0]
            if self._after_place_prefix(text, toks[i][1]):
                i += 1
                continue
            if (self._given(word) >= 5 and not self._is_word(word) and word not in self.g.not_names
                    and word not in self.g.ambiguous and len(word) > 2):
                j = i + 1
                if j < len(toks) and len(toks[j][0]) == 1 and j + 1 < len(toks):
                    j += 1  # a middle initial
                nxt = toks[j][0] if j < len(toks) else ""
                if nxt and len(nxt) > 2 and not self._is_word(nxt) and nxt not in self.g.not_names:
                    yield Span(toks[i][1], toks[j][2], "name", text[toks[i][1] : toks[j][2]])
                    i = j + 1
                    continue
                if self._given(word) >= 20:
                    yield Span(toks[i][1], toks[i][2], "name", word)
            i += 1

    def _judge(self, text: str, seq: str, start: int) -> Span | None:
        end = start + len(seq)
        if end < len(text) and ((text[end].isalnum() and not is_cjk(text[end])) or text[end] in "_<>("):
            return None  # part of an identifier or generic type: LoanLogoDropdown, Mutex<Primes>, Foo(
        possessive = False
        for pos in (seq.find("'s"), seq.find("’s")):
            if pos > 0 and (pos + 2 == len(seq) or seq[pos + 2] == " "):
                # A possessive ends the name; "Rubik's Cube", "Kepler's third law" are named after someone.
                after = text[start + pos + 2 : start + pos + 34].lower().split()
                if after and (after[0].rstrip(".,;:") in EPONYM_NOUNS or (
                        after[0] in ORDINALS and len(after) > 1 and after[1].rstrip(".,;:") in EPONYM_NOUNS)):
                    return None
                shop = seq[pos + 2 :].split()[:1]
                if shop and self._plain_word(shop[0]):
                    return None  # a shop or a brand: "Ray's Pizza", "Britt's Location", "Capt. Spastic's Joke List"
                seq, possessive = seq[: pos + 2], True
                break
        span = self._judge_tokens(text, seq, start)
        # The context is checked last: it is only needed for what looks like a name on its own.
        if span is not None and context_names_a_thing(text, seq, start, end, possessive):
            return None
        return span

    def _judge_tokens(self, text: str, seq: str, start: int) -> Span | None:
        every = tokens(seq, start)
        if self._words:
            # "Leiter der Kurgärtnerei", "Kunde von Spezstroi": a common word before a particle is a noun
            # of the sentence, not the start of "van der Vaart"; only what follows the particle is judged.
            for i in range(len(every) - 2, 0, -1):
                before = every[i - 1][0].lower()
                if every[i][0].lower() in PARTICLES and before not in PARTICLES and (self._is_word(before) or (
                        before in self._frequent and self._given(before) < GIVEN_WEIGHT_KEEP)):
                    every = every[i + 1 :]
                    break
        toks = [t for t in every if t[0].lower() not in PARTICLES]
        if toks and toks[0][0].rstrip(".").lower() in PLACE_PREFIXES:
            return None  # "San Juan", "Puerto Rico", "St. Johann Baptist": places and churches
        title = self._title_before(text, start)
        while toks and toks[0][0].rstrip(".").lower() in TITLES:
            title = "honorific" if toks[0][0].rstrip(".").lower() in HONORIFICS else title or "role"
            toks = toks[1:]
        for tok in toks[1:]:
            if tok[0].lower().rstrip("'’.") in NAMED_THINGS or tok[0].lower() in THING_NOUNS:
                return None  # "Sherman Act", "Nobel Prize", "Francis Crick Institute": a thing named after someone
        toks = self._trim_suffixes(toks, text)
        if not toks:
            return None
        if title:  # after an honorific the next capitalised word is a name, whatever it also means
            first = toks[0][0].rstrip(".")
            if title == "role" and (self._is_word(first.lower()) or first.lower() in self.g.not_names) and not (
                self._strong_given(first)
            ):
                return None
            keep = toks[:1] + [t for t in toks[1:3] if self._surname_like(t[0].rstrip("."))]
            return self._span(text, keep)
        for i in range(len(toks)):  # "Producer James Sparks", "Hi Freddy": the name may start later
            if toks[i][0].rstrip(".").lower() in HONORIFICS:  # "Dear Dr. Vincent Kaminski"
                rest = toks[i + 1 :]
                if not rest:
                    return None
                return self._span(text, rest[:1] + [t for t in rest[1:3] if self._surname_like(t[0].rstrip("."))])
            span = self._judge_from(text, toks[i:])
            if span is not None:
                return span
        return None

    def _judge_from(self, text: str, toks: list[tuple[str, int, int]]) -> Span | None:
        words = [t[0].rstrip(".") for t in toks]
        w0 = words[0]
        before = text[max(0, toks[0][1] - 20) : toks[0][1]].lower().rstrip(" \t,")
        line_start = before == "" or before.endswith(SENTENCE_END)
        introduced = ends_with_phrase(before, STRONG_INTRO) and (
            not self._is_word(w0.lower()) or self._strong_given(w0) or (self._given(w0) >= 2 and not line_start)
        ) and w0.lower() not in self.g.not_names
        bare = before.rstrip(":")
        introduced = introduced or (ends_with_phrase(bare, WEAK_INTRO) and self._surname_like(w0) and (
            self._given(w0) >= 2 or self._surname_shaped(w0) or not w0.isascii()
            or before.endswith(ATTRIBUTION)))
        if self._contexts is not NONE_CONTEXTS:
            span = self._reported(text, toks, before)
            if span is not None:
                return span
        if before.split()[-1:] and before.split()[-1].rstrip(".") in NAMED_BEFORE:
            return None  # "Hurricane Katrina", "St. Thomas", "san francisco": a storm or a place
        if len(toks) == 1 and self._articles and before.split()[-1:] and before.split()[-1] in self._articles:
            return None  # German nouns after an article: "Der Wald", "die Pille", "im Mai"
        census_surname = len(words) > 1 and self._surname_shaped(words[1])
        # Only from the run's own start: not "King Cole" of "Nat King Cole".
        previous = text[max(0, toks[0][1] - 40) : toks[0][1]].split()[-1:]
        run_start = not previous or not previous[0][:1].isupper()
        if len(toks) >= 2 and not line_start and run_start and self._lowercase_nouns() and self._known_pair(
                words[0], words[1]):
            end = 2  # mid-sentence where nouns are lower case: "Falei com João Silva", "João Batista Silva"
            while end < len(toks) and (self._surname_like(words[end]) or self._local_surname(words[end])
                                       or words[end].lower() in self.g.surnames or self._given(words[end]) >= 5
                                       or words[end] in ROMAN_NUMERALS):
                end += 1
            return self._span(text, toks[:end])
        plain_given = self._given(w0) >= 2 and (self._strong_given(w0) or not self._is_word(w0.lower())
                                                or (census_surname and self._given(w0) >= 10 and len(w0) > 2))
        if len(toks) >= 3 and plain_given and self._given(words[1]) >= 2 and self._surname_like(words[2]) and (
                self._strong_given(w0) or self._strong_given(words[1])) and not self._strong_given(words[2]):
            end = 3  # a middle name: "Hans Christian Andersen", "Gerhard Johann David von Scharnhorst"
            while end < len(toks) and (self._surname_like(words[end]) or self._local_surname(words[end])):
                end += 1
            return self._span(text, toks[:end])
        if len(toks) >= 2 and plain_given and (self._surname_like(words[1]) or (
                self._strong_given(w0) and self._local_surname(words[1]))) and (
            self._strong_given(w0) or census_surname
        ):
            end = 2
            while end < len(toks) and (self._surname_like(words[end]) or self._local_surname(words[end])):
                end += 1
            return self._span(text, toks[:end])
        if len(toks) >= 3 and len(words[1]) == 1 and self._surname_like(words[2]) and (
                self._surname_like(w0) or self._given(w0) >= 2) and (
            len(w0) > 2 and len(words[2]) > 2 and w0.isalpha()
        ):
            return self._span(text, toks[:3])  # "Alvir D. Pušaver", "Kate M Begum"
        if len(toks) >= 2 and all(self._surname_like(w) for w in words[:2]) and any(
            self._given(w) >= 2 or self._surname_shaped(w) or not w.isascii() for w in words[:2]
        ):
            return self._span(text, toks[:3] if len(toks) > 2 and self._surname_like(words[2]) else toks[:2])
        if introduced and (self._given(w0) or self._surname_like(w0)):
            second = len(toks) > 1 and (self._surname_like(words[1]) or (self._given(w0) >= 2
                                                                          and self._surname_word(words[1])))
            return self._span(text, toks[:2] if second else toks[:1])
        if len(toks) == 1 and self._surname_shaped(w0) and ends_with_phrase(before, ("the", "a")) and (
                w0.lower() not in self.g.not_names and next_word(text, toks[0][2]) in WORK_AFTER):
            return self._span(text, toks)  # a maker named by a work: "the Jensen novel", "a Lundberg song"
        numbered = before[-3:].strip().rstrip(".)").isdigit()
        if len(toks) == 1 and line_start and not numbered and text[toks[0][2] : toks[0][2] + 1] == ":" and \
                self._surname_like(w0) and len(w0) > 2 and (
            self._given(w0) >= 2 or self._surname_shaped(w0) or not w0.isascii()
        ):
            return self._span(text, toks)  # a speaker label in a script ("Ubul: What a wife.")
        if len(toks) == 1 and line_start and len(w0) > 2 and (self._surname_like(w0) or self._strong_given(w0)) and (
                VOCATIVE_AFTER.match(text, toks[0][2])):
            return self._span(text, toks)  # addressed by name: "Jaiden, you are so", "Cora, can I please"
        if len(toks) == 1 and len(w0) > 2 and self._addressed_at_end(text, toks[0][1], toks[0][2]) and (
                w0.lower() not in self.g.not_names and (self._surname_like(w0) or self._given(w0) >= 2)):
            return self._span(text, toks)  # "Nice shooting, Tex!!!", "Where are my testicles, Summer?"
        if self._strong_given(w0) and (len(toks) == 1 or not self._surname_like(words[1])):
            if line_start and self._is_word(w0.lower()) and self._given(w0) < 40:
                return None
            # A full name is redacted whole: "John Smith", not "NAME_1 Smith".
            full = len(toks) >= 2 and self._surname_word(words[1])
            return self._span(text, toks[:2] if full else toks[:1])
        if len(toks) == 1 and not line_start and self._surname_like(w0) and w0.lower().endswith(SLAVIC_NORDIC):
            return self._span(text, toks)  # "than early Yefremova", "by Ushurma Dratchev"
        if len(toks) == 1 and not line_start and self._english is not self.g.dictionary and len(w0) > 3 and (
                self._surname_like(w0) and w0.lower() in self.g.surnames and w0.lower() not in self._frequent):
            return self._span(text, toks)  # in another language's text: "V škole bol Einstein skôr zlý žiak"
        if len(toks) <= 2 and all(self._surname_like(w) or (self._given(w) >= 2 and w.lower() not in self.g.not_names)
                                  for w in words):
            after = text[toks[-1][2] : toks[-1][2] + 24].lstrip(" \t,").lower()
            his = (len(toks) > 1 or len(w0) > 2) and HIS_AFTER.match(text, toks[-1][2])  # not "Oh ... his"
            if after.startswith(PERSON_VERBS_AFTER) or his:
                return self._span(text, toks)
        return None

    @staticmethod
    def _addressed_at_end(text: str, start: int, end: int) -> bool:
        """A word after a comma that ends its sentence with "!" or "?" (or the text), unless the comma
        closes a list item ("Burger King, Taco Bell, Wendys?")."""
        head = text[max(0, start - 40) : start].rstrip(" \t")
        if not head.endswith(",") or not END_VOCATIVE.match(text, end):
            return False
        previous = head[:-1].split()[-1:]
        return bool(previous) and not previous[0][:1].isupper()

    def _reported(self, text: str, toks: list[tuple[str, int, int]], before: str) -> Span | None:
        """Up to three name-like words right after a reporting verb or a role of the text's language, or
        right before a reporting verb ("rekao je Sejdiu", "ministro Cutolo", "Merkel sagte")."""
        run = []
        for tok in toks[:3]:
            word = tok[0].rstrip(".")
            if len(word) < 3 or not (self._surname_like(word) or (
                    self._given(word) >= 2 and not self._is_word(word.lower()))):
                break
            run.append(tok)
        if not run:
            return None
        after = text[run[-1][2]:run[-1][2] + 24].lstrip(" \t,").lower()
        if ends_with_phrase(before, self._contexts.before) or starts_with_phrase(after, self._contexts.after):
            return self._span(text, run)
        return None

    def _intro_name(self, text: str, start: int, found: str) -> Iterator[Span]:
        toks = tokens(found, start)
        keep = []
        for word, s, e in toks:
            w = word.lower()
            common = w in self.g.dictionary and self._given(w) < self.COMMON_NAME_WEIGHT
            if keep and (common or w in TITLES or w in self.g.not_names):
                break
            if not keep and (common or w in self.g.not_names):
                return
            keep.append((word, s, e))
            if not word[:1].isupper() and len(keep) >= 1 and not any(c.isupper() for c in found):
                break  # lower-case text: take one word
        if keep:
            yield self._span(text, keep)

    def _title_before(self, text: str, start: int) -> str | None:
        before = text[max(0, start - 14) : start].rstrip(" \t").rstrip(".").rstrip(" \t")
        word = before.split()[-1].lower() if before.split() else ""
        return "honorific" if word in HONORIFICS else "role" if word in ROLES else None

    def _trim_suffixes(self, toks: list[tuple[str, int, int]], text: str) -> list[tuple[str, int, int]]:
        # Keep professional suffixes inside the name span ("Giovanna Rodrigues MD"), drop trailing initials.
        while toks and len(toks[-1][0].rstrip(".")) == 1:
            toks = toks[:-1]
        return toks

    def _span(self, text: str, toks: list[tuple[str, int, int]]) -> Span:
        start, end = toks[0][1], toks[-1][2]
        start = self._with_arabic_particle(text, start)
        while end > start and text[end - 1] in ".’'":
            end -= 1
        tail = text[end : end + 6]
        for suffix in (" MD", " PhD", " Jr", " Sr", " DDS", " DVM", " Esq", " III", " II", " IV", ", Jr"):
            if tail.startswith(suffix) and (len(tail) == len(suffix) or not tail[len(suffix)].isalpha()):
                end += len(suffix)
                break
        end = with_notes_domain(text, end)
        return Span(start, end, "name", text[start:end])

    def _with_arabic_particle(self, text: str, start: int) -> int:
        """The start of a name, back over a glued Arabic article and the name before it: "al-Sadr" is
        "Muqtada al-Sadr"."""
        base = max(0, start - 40)
        m = ARABIC_PARTICLE.search(text, base, start)
        if not m:
            return start
        if m.group("w") and not self._is_word(m.group("w").lower()) and m.group("w")[:1].isupper():
            return m.start()
        return m.start("p")  # "Shiite al-Sadr": the word before is no name

    def shop_after(self, text: str, end: int) -> bool:
        """A possessive followed by a plain capitalised word: a shop or a brand ("Ray's Pizza")."""
        if text[end : end + 2] not in ("'s", "’s") or text[end + 2 : end + 3] != " ":
            return False
        word = text[end + 3 : end + 40].split()[:1]
        return bool(word) and word[0][:1].isupper() and self._plain_word(word[0].rstrip(".,;:!?"))

    def _lists(self, text: str) -> Iterator[Span]:
        """Given names in an enumeration ("Kateřina, James, Christopher and Emily")."""
        if "," not in text and " and " not in text:
            return
        for part in CLAUSE.split(text):
            if "," not in part and " and " not in part:
                continue
            items = [i.strip() for i in LIST_SEP.split(part)]
            after_last = items[-1].split()[1:2]
            if len(items) >= 2:  # "founders Kónya, Becker and Vasquez were": the ends carry other words
                items[0] = items[0].split()[-1] if items[0].split() else ""
                items[-1] = items[-1].split()[0] if items[-1].split() else ""
            singles = [i for i in items if i and " " not in i and i[:1].isupper() and i[1:].islower()
                       and i.lower() not in self.g.not_names
                       and (not self._is_word(i.lower()) or self._strong_given(i) or self._surname_word(i))]
            strong = [i for i in singles if self._given(i) >= 2 or self._surname_shaped(i)]
            # surnames that are also words count beside a real name only: "Morrison, Rogers and Reed",
            # never "Salt, Pepper and Sugar"
            known = strong + [i for i in singles if i not in strong and self._surname_word(i)] if strong else []
            pair = len(singles) == 2 == len(items) and not any(self._is_word(i.lower()) for i in singles)
            # Two unknown words that do something together are two people when one is a known name:
            # "Usamov and Bowers were precision engineers", "Lamovec and Morales met".
            acting = len(singles) == 2 == len(items) and bool(after_last) and after_last[0] in PLURAL_VERBS and (
                bool(strong) or (any(self._surname_word(i) for i in singles)  # never "Salt and Pepper were"
                                 and not all(self._is_word(i.lower()) for i in singles)))
            if acting or (len(known) >= 2 and (len(singles) >= 3 or pair) and len(known) * 2 >= len(singles)):
                offset = text.find(part)
                for item in singles:
                    pos = text.find(item, offset)
                    if pos >= 0:
                        yield Span(pos, pos + len(item), "name", item)
