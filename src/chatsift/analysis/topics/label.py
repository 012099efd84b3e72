"""Cluster labels: distinctive terms offline, or an LLM summary through an OpenAI-compatible endpoint.

Offline: class-based TF-IDF (each cluster's prompts as one document; term frequency in the cluster
times log(1 + average words per cluster / the term's frequency over all clusters), as BERTopic's
c-TF-IDF), the top words becoming the label. LLM: the paper's recipe (reference/paper.md 7.3),
80 central and 20 random prompts, each cut to its first and last 100 characters, asking for a topic
in under 8 words at temperature 0; answers are cached on disk.
"""

from __future__ import annotations

import re

import numpy as np

from chatsift.errors import ConfigError

_TOKEN = re.compile(r"(?u)\b[^\W\d_]{3,}\b")


def ctfidf_keywords(docs_per_cluster: list[list[str]], top: int = 8) -> list[list[str]]:
    from sklearn.feature_extraction.text import CountVectorizer

    joined = [" ".join(d) for d in docs_per_cluster]
    vectorizer = CountVectorizer(stop_words="english", token_pattern=_TOKEN.pattern, max_features=50_000,
                                 lowercase=True)
    counts = vectorizer.fit_transform(joined).astype(np.float64)
    if counts.shape[1] == 0:
        return [[] for _ in joined]
    tf = counts.multiply(1 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    avg_words = counts.sum() / max(len(joined), 1)
    idf = np.log1p(avg_words / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    scores = tf.multiply(idf).tocsr()
    vocab = np.array(vectorizer.get_feature_names_out())
    out = []
    for i in range(scores.shape[0]):
        row = scores.getrow(i).toarray().ravel()
        best = np.argsort(-row)[:top]
        out.append([vocab[j] for j in best if row[j] > 0])
    return out


SUMMARY_PROMPT = (
    "We want to understand a large and complicated dataset. The following is a random sample of prompts from this "
    "dataset, all from the same cluster:\n{prompts}\n\nSummarize the main topic of this cluster in under 8 words. "
    "Answer with the topic only."
)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:100] + " ... " + text[-100:]


class LLMLabeler:
    """Labels from a chat endpoint (``openai:BASE_URL#MODEL`` or any ``chatsift.llm`` spec), all
    clusters in one concurrent, cached batch through the LLM client."""

    def __init__(self, spec: str) -> None:
        from chatsift.llm import make_client

        self.client = make_client(spec, None)

    def label_many(self, clusters: list[tuple[list[str], list[str]]]) -> list[str]:
        """One label per (central prompts, random prompts) pair."""
        from chatsift.llm import LLMError, chat_text

        requests = []
        for central, random in clusters:
            prompts = "\n".join(f"- {_clip(p)}" for p in (central[:80] + random[:20]))
            requests.append([{"role": "user", "content": SUMMARY_PROMPT.format(prompts=prompts)}])
        try:
            results = self.client.chat_many(requests, temperature=0.0, max_tokens=256, desc="topic labels")
        except LLMError as exc:
            raise ConfigError(f"the labelling endpoint failed: {exc}; check --labeler, or use the offline "
                              "labels (--labeler ctfidf)") from None
        labels = []
        for result in results:
            text = chat_text(result.response).strip().strip('"') if result.response is not None else ""
            labels.append((text.splitlines() or ["(no label)"])[0][:80] or "(no label)")
        return labels
