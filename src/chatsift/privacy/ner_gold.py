"""Gold named-entity files, read into sentences of (tokens, tags) for training and scoring a name tagger.

Every reader yields ``GoldSentence``: the tokens, one BIO tag per token over the types ``PER`` and
``OTHER`` (every other entity type: places, organisations, works, products, dates...), and the
language. Formats, detected per file (``read_gold``):

- ``iob2``: UNER / CoNLL-U style, ``index<TAB>token<TAB>tag...`` with ``#`` comment lines;
- ``columns``: one ``token<SEP>tag`` line per token (CoNLL, BTC, WNUT, wikigold, Europeana, LER, the
  Swedish corpus), blank lines between sentences; the separator is a tab or the last run of spaces; tags
  are IOB2, inside-only (``I-PER`` runs) or bare (``PER``; ``0`` means outside);
- ``germeval``: GermEval 2014 TSV (``#`` source lines, outer tag in the third column);
- ``klue``: KLUE-NER character TSV (``## id<TAB>text`` then one character per line);
- ``stockmark``: a JSON list of ``{text, entities: [{span, type}]}`` with character spans;
- ``factrueval``: a factRuEval-2016 folder (``.tokens`` / ``.spans`` / ``.objects`` standoff files).

A line that fits none of this is an error naming the file and line (``GoldFormatError``): training on a
misread file would teach the model silently wrong things.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PERSON_TYPES = frozenset({"PER", "PERSON", "PS", "人名", "RR", "AN"})  # LER's judges (RR) and lawyers (AN) too
# Language of a gold file, from the names its sets give their files and folders.
_LANGUAGE_HINTS = (
    ("portuguese", "pt"), ("chinese", "zh"), ("croatian", "hr"), ("serbian", "sr"), ("danish", "da"),
    ("slovak", "sk"), ("swedish", "sv"), ("english", "en"), ("german", "de"), ("russian", "ru"),
    ("btc", "en"), ("wikigold", "en"), ("wnut", "en"), ("enp_de", "de"), ("enp_fr", "fr"), ("enp_nl", "nl"),
    ("stockmark", "ja"), ("klue", "ko"), ("ler", "de"), ("swedish-ner", "sv"), ("factrueval", "ru"),
    ("germeval", "de"),
)
SENTENCE_END = frozenset({".", "!", "?"})
# Sentences held out upstream as well: UNER hr_set's web.hr-s38 is also in its test split.
DROPPED_SENTENCE_IDS = frozenset({"web.hr-s38"})
MAX_PSEUDO_SENTENCE = 60  # tokens: files without sentence breaks are cut after . ! ? or at this length


class GoldFormatError(ValueError):
    """A gold file that cannot be read, with the file and line."""


@dataclass
class GoldSentence:
    tokens: list[str]
    tags: list[str]  # "O", "B-PER", "I-PER", "B-OTHER", "I-OTHER"
    language: str
    source: str


def language_of(path: Path) -> str | None:
    lowered = str(path).lower()
    for hint, code in _LANGUAGE_HINTS:
        if hint in lowered:
            return code
    return None


def entity_type(label: str) -> str:
    return "PER" if label in PERSON_TYPES or label.upper() in PERSON_TYPES else "OTHER"


def normalise_tag(raw: str, where: str) -> str:
    """A tag of any of the schemes above, as BIO over PER / OTHER (``I-`` kept: ``bio()`` repairs it)."""
    tag = raw.strip()
    if tag in {"O", "0", "-", "_", ""}:
        return "O"
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIEScbies":
        prefix, label = tag[0].upper(), tag[2:]
        prefix = "B" if prefix in "BS" else "I"
    elif re.fullmatch(r"[A-Za-z]{2,6}", tag) or tag in PERSON_TYPES:
        prefix, label = "I", tag  # a bare label: inside-only
    else:
        raise GoldFormatError(f"{where}: {raw!r} is not a tag (BIO, IO or a bare label)")
    return f"{prefix}-{entity_type(label.upper() if label.isascii() else label)}"


def bio(tags: list[str]) -> list[str]:
    """Inside-only and broken IOB (an ``I-`` that does not continue its type) as proper BIO."""
    out, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


def read_gold(path: str | Path, language: str | None = None) -> Iterator[GoldSentence]:
    """Every sentence of one gold file or factRuEval folder (see the module doc)."""
    path = Path(path)
    if not path.exists():
        raise GoldFormatError(f"{path}: no such file or folder")
    language = language or language_of(path)
    if language is None:
        raise GoldFormatError(f"{path}: cannot tell the language from the name; pass it as LANG:PATH (e.g. de:{path})")
    if path.is_dir():
        if not any(path.glob("*.objects")):
            raise GoldFormatError(f"{path}: a folder is read as factRuEval standoff files, and it has no .objects")
        yield from _factrueval(path, language)
        return
    if path.suffix == ".json":
        yield from _stockmark(path, language)
        return
    with path.open(encoding="utf-8", newline="") as fh:
        head = fh.read(4096)
    if head.startswith("## "):
        yield from _klue(path, language)
    elif head.startswith("#\t") or path.suffix == ".tsv":
        yield from _germeval(path, language)
    elif path.suffix in {".iob2", ".conllu"} or re.match(r"(#[^\n]*\n)*1\t", head):
        yield from _indexed(path, language)
    else:
        yield from _columns(path, language)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh, 1):
            yield number, line.rstrip("\r\n")


def _sentence(tokens: list[str], tags: list[str], language: str, path: Path) -> GoldSentence:
    return GoldSentence(tokens, bio(tags), language, path.name)


def _indexed(path: Path, language: str) -> Iterator[GoldSentence]:
    tokens, tags, sent_id = [], [], None
    for number, line in [*_lines(path), (0, "")]:
        if line.startswith("#"):
            if line.startswith("# sent_id"):
                sent_id = line.split("=", 1)[-1].strip()
            continue
        if not line.strip():
            if tokens and sent_id not in DROPPED_SENTENCE_IDS:
                yield _sentence(tokens, tags, language, path)
            tokens, tags, sent_id = [], [], None
            continue
        cols = line.split("\t")
        if len(cols) < 3:
            raise GoldFormatError(f"{path}:{number}: expected index, token and tag separated by tabs")
        if "-" in cols[0] or "." in cols[0]:
            continue  # multiword tokens and empty nodes
        tokens.append(cols[1])
        tags.append(normalise_tag(cols[2], f"{path}:{number}"))


def _columns(path: Path, language: str) -> Iterator[GoldSentence]:
    """token<SEP>tag lines. A file without any blank line (Europeana) is cut into pseudo-sentences."""
    tokens: list[str] = []
    tags: list[str] = []
    bad = 0
    with path.open(encoding="utf-8") as fh:
        unbroken = not any(not line.strip() for line in fh)
    for number, line in _lines(path):
        if not line.strip() or line.startswith("-DOCSTART-"):
            if tokens:
                yield _sentence(tokens, tags, language, path)
            tokens, tags = [], []
            continue
        if line.startswith("# ") and " " not in line[2:].split(":")[0]:
            continue  # "# file: ...", "# sbb url: ..." comments
        token, tag = line.rsplit("\t", 1) if "\t" in line else [*line.rsplit(None, 1), ""][:2]
        try:
            tag = normalise_tag(tag, f"{path}:{number}")
        except GoldFormatError:
            # OCR'd newspapers carry stray lines and tag typos; a few per file are skipped, more is a misread file
            bad += 1
            if bad > max(50, number // 500):
                raise
            continue
        tokens.append(token.strip() or token)
        tags.append(tag)
        if unbroken and (len(tokens) >= MAX_PSEUDO_SENTENCE or (token in SENTENCE_END and len(tokens) > 3
                                                                 and tag == "O")):
            yield _sentence(tokens, tags, language, path)
            tokens, tags = [], []
    if tokens:
        yield _sentence(tokens, tags, language, path)


def _germeval(path: Path, language: str) -> Iterator[GoldSentence]:
    tokens, tags = [], []
    for number, line in [*_lines(path), (0, "")]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if tokens:
                yield _sentence(tokens, tags, language, path)
            tokens, tags = [], []
            continue
        cols = line.split("\t")
        if len(cols) < 3:
            raise GoldFormatError(f"{path}:{number}: expected index, token, outer tag and inner tag")
        label = cols[2]
        # PERpart / PERderiv ("Merkel-Regierung", "Schröders") are words made from a name, not the name
        if label[2:] in {"PERpart", "PERderiv"}:
            label = label[:2] + "OTH"
        tokens.append(cols[1])
        tags.append(normalise_tag(label, f"{path}:{number}"))


def _char_sentence(text: str, spans: list[tuple[int, int, str]], language: str, path: Path) -> GoldSentence:
    """Character-annotated text as one token per character (whitespace dropped)."""
    labels = ["O"] * len(text)
    for start, end, kind in spans:
        for i in range(start, min(end, len(text))):
            labels[i] = ("B-" if i == start else "I-") + kind
    keep = [i for i, c in enumerate(text) if not c.isspace()]
    return GoldSentence([text[i] for i in keep], [labels[i] for i in keep], language, path.name)


def _stockmark(path: Path, language: str) -> Iterator[GoldSentence]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GoldFormatError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    for n, item in enumerate(items):
        try:
            spans = [(e["span"][0], e["span"][1], entity_type(e["type"])) for e in item["entities"]]
            yield _char_sentence(item["text"], spans, language, path)
        except (KeyError, TypeError, IndexError):
            raise GoldFormatError(f"{path}: item {n} lacks text or entities with span and type") from None


def _klue(path: Path, language: str) -> Iterator[GoldSentence]:
    chars, tags = [], []
    for number, line in [*_lines(path), (0, "")]:
        if line.startswith("##") or not line.strip("\n"):
            if chars:
                keep = [i for i, c in enumerate(chars) if not c.isspace()]
                yield GoldSentence([chars[i] for i in keep], bio([tags[i] for i in keep]), language, path.name)
            chars, tags = [], []
            continue
        char, sep, tag = line.rpartition("\t")
        if not sep or len(char) != 1:
            raise GoldFormatError(f"{path}:{number}: expected one character, a tab and its tag")
        chars.append(char)
        tags.append(normalise_tag(tag, f"{path}:{number}"))


def _factrueval(folder: Path, language: str) -> Iterator[GoldSentence]:
    """Standoff to token tags: a Person object's tokens are PER, other objects' tokens OTHER."""
    for objects in sorted(folder.glob("*.objects")):
        stem = objects.with_suffix("")
        span_tokens: dict[str, list[str]] = {}
        for number, line in _lines(stem.with_suffix(".spans")):
            if not line.strip():
                continue
            cols = line.split("#", 1)[0].split()
            if len(cols) < 6:
                raise GoldFormatError(f"{stem}.spans:{number}: expected id, type, start, length, token, count")
            first, count = cols[4], int(cols[5])
            ids = line.split("#", 1)[1].split()[:count] if "#" in line else [first]
            span_tokens[cols[0]] = ids
        kind_of: dict[str, str] = {}
        for number, line in _lines(objects):
            cols = line.split("#", 1)[0].split()
            if not cols:
                continue
            if len(cols) < 3:
                raise GoldFormatError(f"{objects}:{number}: expected id, type and span ids")
            kind = "PER" if cols[1] == "Person" else "OTHER"
            ids = sorted({t for s in cols[2:] for t in span_tokens.get(s, [])}, key=int)
            for k, token_id in enumerate(ids):
                begins = k == 0 or int(token_id) != int(ids[k - 1]) + 1
                tag = ("B-" if begins else "I-") + kind
                if kind == "PER" or token_id not in kind_of:  # a person inside an organisation's name stays a person
                    kind_of[token_id] = tag
        tokens, tags = [], []
        for number, line in [*_lines(stem.with_suffix(".tokens")), (0, "")]:
            if not line.strip():
                if tokens:
                    yield GoldSentence(tokens, bio(tags), language, stem.name)
                tokens, tags = [], []
                continue
            cols = line.split(" ", 3)
            if len(cols) < 4:
                raise GoldFormatError(f"{stem}.tokens:{number}: expected id, start, length and token")
            tokens.append(cols[3])
            tags.append(kind_of.get(cols[0], "O"))
