"""Cluster labels: distinctive terms offline, or an LLM summary through an OpenAI-compatible endpoint.

Offline: key phrases by class-based TF-IDF (as BERTopic's c-TF-IDF, but counting prompts, not words: a
term's weight in a cluster is the share of its prompts holding it, times log(1 + prompts per cluster /
prompts holding it anywhere), so one prompt repeating a word cannot name a cluster), over phrases of one
to three words that can name a topic (``label_phrases``: no code, no filler, no stop words of 16
languages between them), held by at least 1% of the cluster's prompts; the label is its top four,
none a variant of another, a phrase taking the place of its words ("united states"), shown beside
the cluster's most central prompt. LLM: the paper's recipe (reference/paper.md 7.3),
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
_GAP = re.compile(r"[ \t]*-?[ \t]*")  # what may stand between two words of one phrase
MIN_SUPPORT = 0.01  # a label term is held by at least this share of its cluster's prompts
PHRASE_KEEPS = 0.6  # a phrase replaces its chosen word when it is in this share of the word's prompts
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


def label_phrases(text: str, longest: int = 3) -> set[str]:
    """The phrases of ``text`` that may name a topic: each run of up to ``longest`` words that
    ``label_tokens`` keeps and that stand next to each other (only spaces or a hyphen between: no stop word,
    no punctuation), as a set, so that a prompt counts once however often it repeats a word."""
    stop = stop_words()
    clean = _CODE.sub(" ", text)
    out: set[str] = set()
    run: list[str] = []
    last_end = None
    for m in _WORD.finditer(clean):
        word = m.group()
        lowered = word.lower().replace("’", "'").removesuffix("'s")
        keep = len(word) >= 3 and not _CAMEL.search(word) and len(lowered) >= 3 and lowered not in stop
        if not keep or (last_end is not None and not _GAP.fullmatch(clean[last_end:m.start()])):
            run = []
        if keep:
            run.append(lowered)
            out.update(" ".join(run[-n:]) for n in range(1, min(longest, len(run)) + 1))
        last_end = m.end()
    return out


def _variants(a: str, b: str) -> bool:
    """Two terms that say the same: one word a prefix of the other, or 5 shared leading letters."""
    return a.startswith(b) or b.startswith(a) or (len(a) >= 5 and a[:5] == b[:5])


def _overlap(a: str, b: str) -> bool:
    return any(_variants(x, y) for x in a.split() for y in b.split())


def _choose(candidates: list[tuple[str, float, int]], top: int) -> list[str]:
    """Up to ``top`` terms in order of score, none saying what a chosen one says. A phrase longer than the
    chosen terms it overlaps, and found in at least ``PHRASE_KEEPS`` of their prompts, takes their place
    ("united states" for "united" and "states"); any other overlap is skipped."""
    chosen: list[tuple[str, int]] = []
    for term, _, df in candidates:
        clash = [k for k, (t, _) in enumerate(chosen) if _overlap(term, t)]
        if not clash:
            if len(chosen) < top:
                chosen.append((term, df))
        elif all(len(term.split()) > len(chosen[k][0].split()) and df >= PHRASE_KEEPS * chosen[k][1]
                 for k in clash):
            chosen[clash[0]] = (term, df)
            chosen = [c for k, c in enumerate(chosen) if k not in clash[1:]]
    return [t for t, _ in chosen]


def ctfidf_keywords(docs_per_cluster: list[list[str]], top: int = 8, clean: bool = True,
                    longest: int = 3) -> list[list[str]]:
    """Key phrases per cluster by class-based TF-IDF over prompts. ``clean`` (default): ``label_phrases``
    of up to ``longest`` words, counted once per prompt (a term's weight in a cluster is the share of its
    prompts that hold it, times log(1 + prompts per cluster / prompts holding it anywhere)), found in at
    least ``MIN_SUPPORT`` of the cluster's prompts (at least 2), chosen by ``_choose``. ``clean=False``: the
    plain English-stop-word tokenisation over each cluster joined into one document, top terms as they
    come (the baseline of ``bench_labels.py``)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    if not clean:
        return _plain_keywords([" ".join(d) for d in docs_per_cluster], top)
    docs = [d for cluster in docs_per_cluster for d in cluster]
    vectorizer = CountVectorizer(analyzer=lambda text: label_phrases(text, longest), binary=True,
                                 max_features=100_000)
    try:
        counts = vectorizer.fit_transform(docs)
    except ValueError:  # no term at all
        return [[] for _ in docs_per_cluster]
    sizes = np.array([len(c) for c in docs_per_cluster])
    member = sparse.csr_matrix((np.ones(len(docs)), (np.repeat(np.arange(len(sizes)), sizes), np.arange(len(docs)))),
                               shape=(len(sizes), len(docs)))
    df = np.asarray((member @ counts).todense(), dtype=np.float64)  # (clusters, terms): prompts holding it
    idf = np.log1p(sizes.mean() / np.maximum(df.sum(axis=0), 1))
    scores = df / np.maximum(sizes, 1)[:, None] * idf
    supported = np.where(df >= np.maximum(2, np.ceil(MIN_SUPPORT * sizes))[:, None], scores, 0)
    # a cluster of unrelated prompts may share no term at all: then its best terms, however rare
    scores = np.where((supported > 0).any(axis=1)[:, None], supported, scores)
    vocab = vectorizer.get_feature_names_out()
    out = []
    for c in range(len(sizes)):
        best = [j for j in np.argsort(-scores[c])[:top * 6] if scores[c, j] > 0]
        out.append(_choose([(vocab[j], scores[c, j], int(df[c, j])) for j in best], top))
    return out


def _plain_keywords(joined: list[str], top: int) -> list[list[str]]:
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(stop_words="english", token_pattern=_TOKEN.pattern, max_features=50_000)
    try:
        counts = vectorizer.fit_transform(joined).astype(np.float64)
    except ValueError:
        return [[] for _ in joined]
    tf = counts.multiply(1 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    idf = np.log1p(counts.sum() / max(len(joined), 1) / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    scores = tf.multiply(idf).tocsr()
    vocab = np.array(vectorizer.get_feature_names_out())
    return [[vocab[j] for j in np.argsort(-scores.getrow(i).toarray().ravel())[:top]
             if scores[i, j] > 0] for i in range(scores.shape[0])]


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
