"""Cluster labels: distinctive terms offline, or an LLM summary through an OpenAI-compatible endpoint.

Offline: class-based TF-IDF (each cluster's prompts as one document; term frequency in the cluster
times log(1 + average words per cluster / the term's frequency over all clusters), as BERTopic's
c-TF-IDF), over words that can name a topic (``label_tokens``: no code, no filler, stop words of 16
languages), the label being its top four terms without morphological variants (maximal marginal
relevance over embeddings is available but off: it matched prompts less well), shown beside the
cluster's most central prompt. LLM: the paper's recipe (reference/paper.md 7.3),
80 central and 20 random prompts, each cut to its first and last 100 characters, asking for a topic
in under 8 words at temperature 0; answers are cached on disk.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from chatsift.errors import ConfigError

_TOKEN = re.compile(r"(?u)\b[^\W\d_]{3,}\b")  # the plain tokenisation (``clean=False``), kept for comparison
_WORD = re.compile(r"(?u)[^\W\d_]+(?:['’][^\W\d_]+)*")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
_CAMEL = re.compile(r"[a-z][A-Z]")
# Words every chat prompt uses (asking, thanking, framing): they say how people ask, not what about.
CHAT_FILLER = frozenset({
    "know", "tell", "like", "thank", "thanks", "please", "just", "really", "think", "want", "need", "help",
    "make", "give", "write", "use", "provide", "context", "following", "question", "questions", "answer",
    "answers", "good", "explain", "example", "examples", "hello", "hey", "okay", "sure", "yes", "way", "thing",
    "things", "something", "let", "lets", "get", "got", "going", "able", "try", "trying", "work", "works",
    "working", "using", "used", "new", "best", "create", "generate", "list", "based", "different", "also", "well",
    "much", "many", "one", "two", "three", "first", "second", "next", "last", "time", "times", "day", "days",
    "year", "years", "people", "person", "ways", "including", "include", "includes", "without", "within",
    "would", "could", "should", "might", "must", "may", "can", "will", "shall", "don't", "doesn't", "can't",
    "won't", "isn't", "aren't", "i'm", "i've", "i'd", "you're", "it's", "that's", "there's", "what's", "let's",
    "didn't", "wasn't",
    "you've", "i'll", "we're", "they're", "you'll", "maybe", "yeah", "mean", "agree", "sorry", "right", "actually",
    "probably", "pretty", "kind", "sort", "lot", "lots", "stuff", "guess", "ok", "wanted", "realize", "sounds",
    "great", "nice", "cool", "fine", "said", "says", "saying", "talk", "talking", "asking", "ask", "asked",
})
# Identifiers and keywords of code, which fill clusters of programming prompts without naming their topic.
CODE_WORDS = frozenset({
    "int", "const", "main", "return", "def", "import", "print", "self", "var", "let", "function", "public",
    "private", "static", "void", "string", "str", "bool", "true", "false", "null", "none", "class", "std",
    "include", "namespace", "printf", "cout", "endl", "elif", "else", "then", "end", "begin", "new", "delete",
    "try", "catch", "except", "finally", "lambda", "async", "await", "yield", "args", "kwargs", "len", "range",
    "dict", "list", "tuple", "set", "map", "filter", "println", "system", "out", "err", "input", "output",
})
LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "ru", "pl", "tr", "sv", "id", "vi", "uk", "cs", "ca")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English list, chat filler, code words, and the 250 commonest words of 16 languages."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    from wordfreq import top_n_list

    common = {w for lang in LANGUAGES for w in top_n_list(lang, 250)}
    return frozenset(ENGLISH_STOP_WORDS) | CHAT_FILLER | CODE_WORDS | common


def label_tokens(text: str) -> list[str]:
    """Words that may name a topic: code blocks and inline code dropped, contractions kept whole,
    camelCase identifiers dropped, stop words of many languages dropped, at least three letters."""
    stop = stop_words()
    out = []
    for word in _WORD.findall(_CODE.sub(" ", text)):
        if len(word) < 3 or _CAMEL.search(word):
            continue
        lowered = word.lower().replace("’", "'").removesuffix("'s")  # Bismarck's -> bismarck
        if len(lowered) >= 3 and lowered not in stop:
            out.append(lowered)
    return out


def _distinct(candidates: list[tuple[str, float]], top: int, embed=None, diversity: float = 0.4) -> list[str]:
    """Up to ``top`` terms by maximal marginal relevance: each next term is the most relevant one minus
    ``diversity`` times its similarity to the terms already chosen (static embeddings when ``embed`` is
    given); morphological variants (one word a prefix of the other, or 5 shared leading letters) never
    both appear."""
    if not candidates:
        return []
    terms = [t for t, _ in candidates]
    rel = np.array([v for _, v in candidates], dtype=np.float64)
    rel = rel / (rel.max() or 1)
    sims = None
    if embed is not None and len(terms) > 1:
        vectors = np.asarray(embed(terms), dtype=np.float64)
        sims = vectors @ vectors.T
    chosen: list[int] = []
    for _ in range(min(top, len(terms))):
        best, best_score = None, -np.inf
        for i, term in enumerate(terms):
            if i in chosen or any(term.startswith(terms[j]) or terms[j].startswith(term) or
                                  (len(term) >= 5 and term[:5] == terms[j][:5]) for j in chosen):
                continue
            penalty = max((sims[i, j] for j in chosen), default=0.0) if sims is not None else 0.0
            score = rel[i] - diversity * penalty
            if score > best_score:
                best, best_score = i, score
        if best is None:
            break
        chosen.append(best)
    return [terms[i] for i in chosen]


def ctfidf_keywords(docs_per_cluster: list[list[str]], top: int = 8, clean: bool = True,
                    embed=None) -> list[list[str]]:
    """c-TF-IDF terms per cluster. ``clean`` (default): ``label_tokens`` and diverse terms (``_distinct``);
    ``clean=False``: the plain English-stop-word tokenisation, top terms as they come."""
    from sklearn.feature_extraction.text import CountVectorizer

    joined = [" ".join(d) for d in docs_per_cluster]
    if clean:
        vectorizer = CountVectorizer(analyzer=label_tokens, max_features=50_000)
    else:
        vectorizer = CountVectorizer(stop_words="english", token_pattern=_TOKEN.pattern, max_features=50_000,
                                     lowercase=True)
    try:
        counts = vectorizer.fit_transform(joined).astype(np.float64)
    except ValueError:  # no token at all
        return [[] for _ in joined]
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
        best = [j for j in np.argsort(-row)[:top * 3] if row[j] > 0]
        if clean:
            out.append(_distinct([(vocab[j], row[j]) for j in best], top, embed))
        else:
            out.append([vocab[j] for j in best[:top]])
    return out


SUMMARY_PROMPT = (
    "We want to understand a large and complicated dataset. The following is a random sample of prompts from this "
    "dataset, all from the same cluster:\n{prompts}\n\nSummarize the main topic of this cluster in under 8 words, "
    "then describe it in one sentence. {language}Answer in exactly this form:\nLabel: <the topic>\n"
    "Description: <one sentence>"
)
PARENT_PROMPT = (
    "These topics of a chat dataset form one group:\n{topics}\n\nName the group in under 6 words, then describe "
    "it in one sentence. {language}Answer in exactly this form:\nLabel: <the group>\nDescription: <one sentence>"
)
LANGUAGES_NOTE = {"auto": "Write in the language most of the prompts are in. ", "en": "Write in English. "}
_LABEL = re.compile(r"^\W*label\W*:\s*(.+)$", re.I | re.M)
_DESCRIPTION = re.compile(r"^\W*description\W*:\s*(.+)$", re.I | re.M)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:100] + " ... " + text[-100:]


def parse_label(answer: str) -> tuple[str, str] | None:
    """(label, description) from a ``Label: ...`` / ``Description: ...`` answer; a bare first line is a
    label without description; nothing usable is None (the offline label stays, and it is counted)."""
    text = (answer or "").strip()
    if not text:
        return None
    label = _LABEL.search(text)
    description = _DESCRIPTION.search(text)
    if label:
        name = label.group(1)
    else:
        name = next((line for line in text.splitlines() if line.strip() and not _DESCRIPTION.match(line)), "")
    name = name.strip(' "*')[:80]
    if not name:
        return None
    return name, (description.group(1).strip(' "*')[:300] if description else "")


class LLMLabeler:
    """Labels and one-sentence descriptions from a chat endpoint (``openai:BASE_URL#MODEL`` or any
    ``chatsift.llm`` spec), all clusters in one concurrent, cached batch through the LLM client."""

    def __init__(self, spec: str, llm=None, ledger=None, language: str = "auto") -> None:
        from chatsift.llm import make_client

        if language not in LANGUAGES_NOTE:
            raise ConfigError(f"label language {language!r}: use {' or '.join(LANGUAGES_NOTE)}")
        self.client = make_client(spec, llm, ledger=ledger)
        self.language = language

    def requests(self, clusters: list[tuple[list[str], list[str]]]) -> list[list[dict]]:
        out = []
        for central, random in clusters:
            prompts = "\n".join(f"- {_clip(p)}" for p in (central[:80] + random[:20]))
            out.append([{"role": "user", "content": SUMMARY_PROMPT.format(
                prompts=prompts, language=LANGUAGES_NOTE[self.language])}])
        return out

    def parent_requests(self, groups: list[list[tuple[str, str]]]) -> list[list[dict]]:
        out = []
        for children in groups:
            topics = "\n".join(f"- {label}: {description}".rstrip(": ") for label, description in children)
            out.append([{"role": "user", "content": PARENT_PROMPT.format(
                topics=topics, language=LANGUAGES_NOTE[self.language])}])
        return out

    def estimate(self, requests: list[list[dict]]):
        from chatsift.llm import CHAT

        return self.client.estimate(CHAT, [{"messages": r, "temperature": 0.0, "max_tokens": 256} for r in requests])

    def answer(self, requests: list[list[dict]], desc: str = "topic labels") -> list[tuple[str, str] | None]:
        from chatsift.llm import LLMError, chat_text

        try:
            results = self.client.chat_many(requests, temperature=0.0, max_tokens=256, desc=desc)
        except LLMError as exc:
            raise ConfigError(f"the labelling endpoint failed: {exc}; check --labeler, or use the offline "
                              "labels (--labeler ctfidf)") from None
        return [parse_label(chat_text(r.response)) if r.response is not None else None for r in results]

    def label_many(self, clusters: list[tuple[list[str], list[str]]]) -> list[str]:
        """One label per (central prompts, random prompts) pair ("(no label)" where none could be read)."""
        return [a[0] if a else "(no label)" for a in self.answer(self.requests(clusters))]
