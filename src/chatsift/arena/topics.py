"""Leaderboards per topic (what LMArena's Arena Explorer shows): each battle joined to the topic of its
prompt in a release's topic map, and the models ranked within each topic.

A vote names its conversation (FastChat's ``states[0].conv_id``, or ``QUESTION_ID-a`` of an arena dump); a
pairwise judgment names its benchmark question, whose prompt is the conversation that curating the
benchmark's ``question.jsonl`` made (``read.benchmark_questions=prompts``). The release's
``topics/assignments.parquet`` gives that conversation's first prompt a topic. A topic with
fewer than ``min_battles`` battles gets no leaderboard, and within one a model with fewer than
``MIN_BATTLES_FOR_INTERVAL`` battles gets its rating without an interval, as everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chatsift.arena.battles import Battles, RankingError
from chatsift.arena.leaderboard import Leaderboard, rank_battles
from chatsift.arena.sources import ReadReport
from chatsift.io.readers.benchmarks import question_conversation_ids

MIN_TOPIC_BATTLES = 30


def conversation_topics(release: str | Path) -> tuple[dict[str, int], dict[int, str]]:
    """conversation id -> the topic of its first prompt, and topic -> label (private topics left out)."""
    folder = Path(release) / "topics"
    if not (folder / "assignments.parquet").is_file():
        raise RankingError(f"{release} has no topic map: run `chatsift topics {release}` first")
    table = pq.read_table(folder / "assignments.parquet", columns=["conversation_id", "message", "cluster"])
    table = table.sort_by([("conversation_id", "ascending"), ("message", "ascending")])
    clusters = json.loads((folder / "clusters.json").read_text(encoding="utf-8"))["clusters"]
    labels = {c["cluster"]: c["label"] for c in clusters if not c["private"]}
    first: dict[str, int] = {}
    for cid, cluster in zip(table.column("conversation_id").to_pylist(), table.column("cluster").to_pylist()):
        if cid not in first and cluster in labels:
            first[cid] = cluster
    return first, labels


def _topic(topic_of: dict[str, int], question: str | None) -> int:
    """The topic of the conversation a battle names, directly or as a benchmark question; -1 if none."""
    if question is None:
        return -1
    if question in topic_of:
        return topic_of[question]
    return next((topic_of[c] for c in question_conversation_ids(question) if c in topic_of), -1)


def rank_by_topic(battles: Battles, release: str | Path, *, rounds: int = 200, seed: int = 42,
                  min_battles: int = MIN_TOPIC_BATTLES) -> dict:
    """``{"topics": [{topic, label, battles, leaderboard | None, reason}], "unmatched": n}``."""
    if battles.question is None:
        raise RankingError("per-topic leaderboards need battles that name their conversation")
    topic_of, labels = conversation_topics(release)
    topics = np.array([_topic(topic_of, q) for q in battles.question])
    out = []
    for topic, label in sorted(labels.items()):
        mask = topics == topic
        n = int(mask.sum())
        entry: dict = {"topic": topic + 1, "label": label, "battles": n, "leaderboard": None, "reason": None}
        if n < min_battles:
            entry["reason"] = f"fewer than {min_battles} battles"
        else:
            try:
                board: Leaderboard = rank_battles(battles.select(mask), ReadReport(records=n, games=n),
                                                  rounds=rounds, seed=seed)
                entry["leaderboard"] = board.as_dict()
            except RankingError as exc:
                entry["reason"] = str(exc)
        out.append(entry)
    out.sort(key=lambda e: -e["battles"])
    return {"min_battles": min_battles, "topics": out, "unmatched": int((topics == -1).sum()),
            "battles": len(battles)}
