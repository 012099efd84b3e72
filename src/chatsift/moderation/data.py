"""Labelled messages for training and evaluating moderators, from the formats people have.

- the OpenAI moderation release (``samples-1680.jsonl.gz``): ``prompt`` plus keys S, H, V, HR, SH,
  S3, H2, V2 with 0/1, where a missing key means unknown;
- ToxicChat (the JSON with ``instances``, or JSON lines with ``user_input``/``toxicity``): the
  binary toxicity label, which trains and scores the ``flagged`` head;
- a chatsift release folder (or its Parquet shards): every message with its ``openai_moderation``
  entry, which is the paper's use case (learn from the tagged traffic);
- chatsift's own JSON lines, as ``moderator build-set`` writes them: ``text``, ``flagged`` and
  optional ``categories`` (a mapping of category to 0/1);
- the ``moderation-train`` folder of 14 openly licensed safety sets (``sources.py`` maps each onto the
  heads; ``FOLDER@test`` is their held-apart test splits).

Labels are a (messages, heads) float array with NaN where a label is unknown.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq

from chatsift.errors import InputError
from chatsift.moderation.categories import CATEGORIES, HEADS, RELEASE_KEYS

FLAG = HEADS.index("flagged")


@dataclass
class LabelledSet:
    texts: list[str]
    labels: np.ndarray  # (n, len(HEADS)), NaN = unknown
    source: str
    format: str
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def known(self, head: str) -> np.ndarray:
        return ~np.isnan(self.labels[:, HEADS.index(head)])

    def subset(self, rows: np.ndarray) -> LabelledSet:
        return LabelledSet([self.texts[i] for i in rows], self.labels[rows], self.source, self.format, self.sha256)

    def describe(self) -> dict:
        out = {"source": self.source, "format": self.format, "messages": len(self), "sha256": self.sha256}
        out["positives"] = {h: int(np.nansum(self.labels[:, i])) for i, h in enumerate(HEADS)
                            if (~np.isnan(self.labels[:, i])).any()}
        return out


def _sha256(path: Path) -> str:
    if path.is_dir():
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _label(value) -> float:
    if value is None:
        return np.nan
    if isinstance(value, str):
        value = value.strip()
        if value not in {"0", "1", "true", "false", "True", "False"}:
            return np.nan
        return 1.0 if value in {"1", "true", "True"} else 0.0
    return 1.0 if value else 0.0


def _rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    text = raw.lstrip()
    if (text.startswith(b"{") and b"\n{" not in text[:200_000]) or text.startswith(b"["):
        try:
            data = orjson.loads(raw)
            if isinstance(data, dict) and isinstance(data.get("instances"), list):
                return data["instances"]
            if isinstance(data, list):
                return data
            return [data]
        except orjson.JSONDecodeError:
            pass
    rows = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n} is not JSON ({exc})") from None
    return rows


def _from_rows(rows: list[dict], path: Path) -> tuple[list[str], np.ndarray, str]:
    first = next((r for r in rows if isinstance(r, dict)), {})
    texts, labels = [], []
    if "prompt" in first and any(k in first for k in RELEASE_KEYS):
        fmt = "openai-moderation-release"
        for r in rows:
            y = np.full(len(HEADS), np.nan)
            for key, category in RELEASE_KEYS.items():
                y[HEADS.index(category)] = _label(r.get(key))
            known = [y[HEADS.index(c)] for c in RELEASE_KEYS.values() if not np.isnan(y[HEADS.index(c)])]
            y[FLAG] = 1.0 if any(v == 1 for v in known) else (0.0 if len(known) == len(RELEASE_KEYS) else np.nan)
            texts.append(str(r.get("prompt") or ""))
            labels.append(y)
    elif ("instance" in first and isinstance(first.get("annotations"), dict)) or "toxicity" in first:
        fmt = "toxicchat"
        for r in rows:
            y = np.full(len(HEADS), np.nan)
            ann = r.get("annotations")
            tox = ann.get("toxicity", {}).get("majority_human") if isinstance(ann, dict) else r.get("toxicity")
            y[FLAG] = _label(tox)
            texts.append(str(r.get("instance") or r.get("user_input") or ""))
            labels.append(y)
    elif "text" in first and ("flagged" in first or "categories" in first):
        fmt = "chatsift-labels"
        for r in rows:
            y = np.full(len(HEADS), np.nan)
            cats = r.get("categories") or {}
            for c in CATEGORIES:
                if c in cats:
                    y[HEADS.index(c)] = _label(cats[c])
            y[FLAG] = _label(r.get("flagged"))
            texts.append(str(r.get("text") or ""))
            labels.append(y)
    else:
        raise InputError(f"{path}: not a labelled moderation file (expected the OpenAI moderation release, ToxicChat, "
                         f"a release folder, or JSON lines with text and flagged); first record has keys "
                         f"{sorted(first)[:8]}")
    return texts, np.array(labels).reshape(len(texts), len(HEADS)), fmt


def release_messages(paths: list[Path]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every tagged message of the shards: texts, (n, heads) labels and (n, 11) category scores."""
    texts, labels, scores = [], [], []
    for shard in paths:
        table = pq.read_table(shard, columns=["conversation", "openai_moderation"])
        for conv, mod in zip(table.column("conversation").to_pylist(), table.column("openai_moderation").to_pylist()):
            if not conv or not mod or len(conv) != len(mod):
                continue
            for message, result in zip(conv, mod):
                if result is None:
                    continue
                y = np.full(len(HEADS), np.nan)
                for c in CATEGORIES:
                    y[HEADS.index(c)] = _label((result.get("categories") or {}).get(c))
                y[FLAG] = _label(result.get("flagged"))
                texts.append(message.get("content") or "")
                labels.append(y)
                scores.append([(result.get("category_scores") or {}).get(c) or 0.0 for c in CATEGORIES])
    return (texts, np.array(labels).reshape(len(texts), len(HEADS)),
            np.array(scores, dtype=np.float64).reshape(len(texts), len(CATEGORIES)))


def load_labelled(path: str | os.PathLike) -> LabelledSet:
    """Labelled messages from any of the formats above; ``moderation-train`` folders (``sources.py``) give
    their training splits, and ``FOLDER@test`` their held-apart test splits."""
    from chatsift.moderation.sources import is_moderation_train, load_moderation_train

    text = str(path)
    if text.endswith("@test") and is_moderation_train(Path(text[:-5])):
        return load_moderation_train(text[:-5], "test")
    path = Path(path)
    if not path.exists():
        raise InputError(f"labelled data not found: {path}")
    if is_moderation_train(path):
        return load_moderation_train(path, "train")
    if path.is_dir() or path.suffix == ".parquet":
        shards = sorted((path / "data").glob("*.parquet")) if path.is_dir() else [path]
        if path.is_dir() and not shards:
            shards = sorted(path.glob("*.parquet"))
        if not shards:
            raise InputError(f"{path}: no release shards (data/*.parquet) found")
        texts, labels, _ = release_messages(shards)
        if not texts:
            raise InputError(f"{path}: the release has no openai_moderation tags to learn from; tag it first "
                             "(`chatsift moderate`) or give labelled data")
        return LabelledSet(texts, labels, str(path), "release")
    texts, labels, fmt = _from_rows(_rows(path), path)
    return LabelledSet(texts, labels, str(path), fmt, _sha256(path))


def concat(sets: list[LabelledSet]) -> LabelledSet:
    if len(sets) == 1:
        return sets[0]
    return LabelledSet([t for s in sets for t in s.texts], np.vstack([s.labels for s in sets]),
                       " + ".join(s.source for s in sets), "+".join(s.format for s in sets))


_TEXT_KEYS = ("prompt", "text", "instance", "question", "content", "user_input", "answer", "value")
_LIST_KEYS = ("messages", "conversation", "turns", "conversations", "replies")
_BENIGN_WORDS = {"benign", "safe", "0", "false", "no", "harmless"}


def _texts_of(record, out: list[str]) -> None:
    """Every text in a record: the usual text fields, and messages, turns and reply trees inside it."""
    if isinstance(record, str):
        if record.strip():
            out.append(record)
        return
    if not isinstance(record, dict):
        return
    for key in _TEXT_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            out.append(value)
            break
        if isinstance(value, dict):  # OASST's prompt node, arena-hard's {"answer": ...}
            _texts_of(value, out)
            break
    for key in _LIST_KEYS:
        for item in record.get(key) or []:
            _texts_of(item, out)


def load_benign(path: str | os.PathLike) -> LabelledSet:
    """Texts known to be harmless, labelled 0 on every head (negatives from the traffic a model will see).

    JSON, JSON lines (optionally gzipped) with the usual text fields, messages or OASST reply trees;
    CSV with a ``prompt`` or ``text`` column, where a ``type`` or ``label`` column, if present, must
    say benign/safe/0 for a row to be used.
    """
    import csv

    path = Path(path)
    if not path.is_file():
        raise InputError(f"benign data not found: {path}")
    texts: list[str] = []
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                verdict = row.get("type", row.get("label"))
                if verdict is not None and verdict.strip().lower() not in _BENIGN_WORDS:
                    continue
                text = row.get("prompt") or row.get("text")
                if text and text.strip():
                    texts.append(text)
    else:
        for record in _rows(path):
            _texts_of(record, texts)
    if not texts:
        raise InputError(f"{path}: no texts found for benign examples")
    return LabelledSet(texts, np.zeros((len(texts), len(HEADS))), str(path), "benign", _sha256(path))
