"""Cluster labels: distinctive terms offline, or an LLM summary through an OpenAI-compatible endpoint.

Offline: class-based TF-IDF (each cluster's prompts as one document; term frequency in the cluster
times log(1 + average words per cluster / the term's frequency over all clusters), as BERTopic's
c-TF-IDF), the top words becoming the label. LLM: the paper's recipe (reference/paper.md 7.3),
80 central and 20 random prompts, each cut to its first and last 100 characters, asking for a topic
in under 8 words at temperature 0; answers are cached on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

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
    """Labels from any OpenAI-compatible ``/v1/chat/completions`` endpoint, with an on-disk cache."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, cache_dir: Path | None = None,
                 timeout: float = 60.0, retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
        root = Path(os.environ.get("CHATSIFT_CACHE", Path.home() / ".cache" / "chatsift"))
        self.cache_dir = cache_dir or root / "llm"
        self.timeout = timeout
        self.retries = retries

    def label(self, central: list[str], random: list[str]) -> str:
        prompts = "\n".join(f"- {_clip(p)}" for p in (central[:80] + random[:20]))
        return self.complete(SUMMARY_PROMPT.format(prompts=prompts)).strip().strip('"').splitlines()[0][:80]

    def complete(self, prompt: str) -> str:
        import httpx

        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}], "temperature": 0,
                "max_tokens": 256}
        key = hashlib.sha256(json.dumps([self.base_url, body], sort_keys=True).encode()).hexdigest()
        cached = self.cache_dir / f"{key}.json"
        if cached.exists():
            return json.loads(cached.read_text())["content"]
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        last: Exception | None = None
        for _ in range(self.retries):
            try:
                response = httpx.post(f"{self.base_url}/chat/completions", json=body, headers=headers,
                                      timeout=self.timeout)
                response.raise_for_status()
                content = response.json()["choices"][0]["message"]["content"]
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps({"content": content}))
                return content
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                last = exc
        raise ConfigError(f"the labelling endpoint {self.base_url} did not answer ({type(last).__name__}: "
                          f"{str(last)[:200]}); check --labeler, or use the offline labels (--labeler ctfidf)")
