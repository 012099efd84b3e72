"""The learned person-name tagger: a linear-chain CRF over the candidate tokens of a text.

Each candidate token (see ``name_features``) is labelled ``PER`` (part of a person's name), ``OTHER``
(part of another entity: a place, an organisation, a work, a product; the explicit negatives) or
``O``. The CRF (CRFsuite through ``python-crfsuite``, L-BFGS with L1 and L2 penalties) reads the
candidates of a sentence in order, so what it learns of one word carries to the next ("Barack" makes
"Obama" a person). A name is a run of adjacent tokens labelled ``PER``. Training and tagging share
``name_features.sequence``, so the tokens and features a model learns on are the ones it meets.

A model is a folder: ``model.crfsuite.gz`` (the CRF, gzipped, opened in memory) and ``model.json``
(training data and licences, settings, the figures on held-apart dev data). A logistic-regression
tagger over the same features was compared and lost (BENCHMARKS.md, "Person names learned from data").
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatsift.privacy.name_features import CJK_CHAR, Knowledge, retokenise, sequence, tokenise
from chatsift.privacy.ner_gold import GoldSentence

LABELS = ("O", "PER", "OTHER")
FORMAT = "chatsift-name-crf-1"
MODEL_FILE = "model.crfsuite.gz"


@dataclass
class TrainingSet:
    sequences: list[tuple[list[list[str]], list[str]]]
    candidate_share: float  # share of gold person tokens that are candidates (the cascade's recall ceiling)
    tokens: int


def training_sequences(sentences: Iterable[GoldSentence], knowledge: Knowledge) -> TrainingSet:
    out = []
    person_tokens = person_candidates = tokens_seen = 0
    for sentence in sentences:
        tokens, tags = retokenise(sentence.tokens, sentence.tags)
        indices, rows = sequence(tokens, sentence.language, knowledge)
        chosen = set(indices)
        for i, (token, tag) in enumerate(zip(tokens, tags)):
            if tag.endswith("PER") and token[:1].isalnum():
                person_tokens += 1
                person_candidates += i in chosen
        if rows:
            labels = ["PER" if tags[i].endswith("PER") else "OTHER" if tags[i] != "O" else "O" for i in indices]
            out.append((rows, labels))
            tokens_seen += len(rows)
    return TrainingSet(out, person_candidates / max(person_tokens, 1), tokens_seen)


class NameModel:
    """``find(text, language)`` -> (start, end) of each person name."""

    def __init__(self, crf_bytes: bytes, meta: dict) -> None:
        import pycrfsuite

        self.meta = meta
        self.crf_bytes = crf_bytes
        self.tagger = pycrfsuite.Tagger()
        self.tagger.open_inmemory(crf_bytes)
        self.knowledge = Knowledge()

    # -- training -----------------------------------------------------------------------------------
    @classmethod
    def train(cls, data: TrainingSet, c1: float = 0.5, c2: float = 0.01, max_iterations: int = 150,
              meta: dict | None = None) -> NameModel:
        import pycrfsuite

        started = time.perf_counter()
        trainer = pycrfsuite.Trainer(verbose=False)
        for rows, labels in data.sequences:
            trainer.append(rows, labels)
        trainer.set_params({"c1": c1, "c2": c2, "max_iterations": max_iterations,
                            "feature.possible_transitions": True})
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.crfsuite"
            trainer.train(str(path))
            crf = path.read_bytes()
        info = dict(meta or {}, format=FORMAT, labels=list(LABELS), c1=c1, c2=c2, max_iterations=max_iterations,
                    tokens=data.tokens, train_seconds=round(time.perf_counter() - started, 1),
                    candidate_share_of_person_tokens=round(data.candidate_share, 4))
        return cls(crf, info)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # mtime=0: the same model gives the same bytes (a retrain that changes nothing changes no file)
        (folder / MODEL_FILE).write_bytes(gzip.compress(self.crf_bytes, compresslevel=9, mtime=0))
        (folder / "model.json").write_text(json.dumps(self.meta, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> NameModel:
        folder = Path(folder)
        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            crf = gzip.decompress((folder / MODEL_FILE).read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{folder}: not a chatsift name tagger ({exc})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: not a chatsift name tagger (format {meta.get('format')!r})")
        return cls(crf, meta)

    # -- tagging ------------------------------------------------------------------------------------
    def find(self, text: str, language: str | None = None) -> list[tuple[int, int]]:
        tokens = tokenise(text)
        indices, rows = sequence([t for t, _, _ in tokens], language or "en", self.knowledge)
        if not rows:
            return []
        labels = self.tagger.tag(rows)
        spans: list[tuple[int, int]] = []
        previous = -2
        for i, label in zip(indices, labels):
            if label != "PER":
                continue
            _, start, end = tokens[i]
            if previous == i - 1 and spans and _joins(text[spans[-1][1] : start], text[start]):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
            previous = i
        return spans


def _joins(gap: str, first_char: str) -> bool:
    """Two person tokens are one name across a space, or with nothing between in a caseless script."""
    return gap in (" ", "") if not CJK_CHAR.match(first_char) else gap == ""


def evaluate(model: NameModel | Callable[[str, str], list[tuple[int, int]]],
             sentences: Iterable[GoldSentence]) -> dict:
    """Entity-level recall (every token of a gold person inside predicted names), span precision (predicted
    names touching a gold person), and predicted names touching other entities (and how many per 1,000
    sentences), on gold token streams. ``model``: a NameModel or any ``find(text, language)``."""
    find = model.find if isinstance(model, NameModel) else model
    found = total = predicted = correct = touch_other = n_sentences = 0
    for sentence in sentences:
        n_sentences += 1
        tokens, tags = retokenise(sentence.tokens, sentence.tags)
        text, offsets = _join_tokens(tokens)
        spans = find(text, sentence.language)
        covered = np.zeros(len(text) + 1, bool)
        for s, e in spans:
            covered[s:e] = True
        for kind, first, last in _entities(tags):
            if kind != "PER":
                continue
            total += 1
            found += all(covered[offsets[k][0] : offsets[k][1]].all() for k in range(first, last)
                         if tokens[k][:1].isalnum())
        for s, e in spans:
            predicted += 1
            hit = [tags[k] for k, (a, b) in enumerate(offsets) if a < e and b > s]
            correct += any(t.endswith("PER") for t in hit)
            touch_other += not any(t.endswith("PER") for t in hit) and any(t.endswith("OTHER") for t in hit)
    return {"persons": total, "recall": found / max(total, 1), "names": predicted,
            "precision": correct / max(predicted, 1), "touch_other": touch_other,
            "other_per_1k_sentences": 1000 * touch_other / max(n_sentences, 1)}


def _join_tokens(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Gold tokens as text: spaces between, none between two Han, kana or Hangul characters."""
    offsets, pos, parts = [], 0, []
    for token in tokens:
        gap = "" if CJK_CHAR.match(token) and parts and CJK_CHAR.match(parts[-1][-1]) else " "
        if parts:
            parts.append(gap)
            pos += len(gap)
        offsets.append((pos, pos + len(token)))
        parts.append(token)
        pos += len(token)
    return "".join(parts), offsets


def _entities(tags: list[str]) -> Iterator[tuple[str, int, int]]:
    start, kind = None, None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and (tag == "O" or tag.startswith("B-") or tag[2:] != kind):
            yield kind, start, i
            start = None
        if tag != "O" and start is None:
            start, kind = i, tag[2:]
