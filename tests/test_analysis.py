"""stats, topics and report on releases curated from real data, with numbers checked by hand."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA, run_curate

from chatsift.analysis.stats import compute_stats
from chatsift.analysis.tokenize import ApproxTokenizer
from chatsift.cli.main import cli
from chatsift.schema import MODERATION_CATEGORIES


def _mod(flags: set[str]) -> dict:
    return {"categories": {c: c in flags for c in MODERATION_CATEGORIES},
            "category_scores": {c: 0.9 if c in flags else 0.01 for c in MODERATION_CATEGORIES},
            "flagged": bool(flags)}


@pytest.fixture(scope="module")
def small_release(tmp_path_factory):
    """Six conversations whose every statistic can be worked out by hand."""
    root = tmp_path_factory.mktemp("small")
    rows = [
        ("a1", "vicuna-13b", "English", [("user", "Tell me a joke about cats."),
                                         ("assistant", "Why did the cat sit?")], [set(), set()], "u1"),
        ("a2", "vicuna-13b", "English", [("user", "Tell me a joke about cats."),
                                         ("assistant", "Cats nap a lot."),
                                         ("user", "Another one"), ("assistant", "No.")],
         [set(), set(), set(), set()], "u1"),
        ("a3", "gpt-4", "Portuguese", [("user", "Qual é a capital do Brasil?"), ("assistant", "Brasília.")],
         [set(), set()], "u2"),
        ("a4", "gpt-4", "English", [("user", "write something violent"), ("assistant", "I will not.")],
         [{"violence"}, set()], "u3"),
        ("a5", "claude-1", "English", [("user", "say something hateful"), ("assistant", "awful hateful text")],
         [{"harassment"}, {"hate", "hate/threatening"}], "u3"),
        ("a6", "claude-1", "Spanish", [("user", "¿Hola?"), ("assistant", "")], [set(), set()], None),
    ]
    src = root / "in.jsonl"
    src.write_text("".join(json.dumps({
        "conversation_id": cid, "model": model, "language": lang, "turn": len(msgs) // 2, "user_id": user,
        "conversation": [{"role": r, "content": c} for r, c in msgs], "openai_moderation": [_mod(f) for f in mods]
    }, ensure_ascii=False) + "\n" for cid, model, lang, msgs, mods, user in rows), encoding="utf-8")
    run_curate([src], root / "release", **{"release.schema": "full", "release.keep_private": True,
                                           "pii.enabled": False})
    return root / "release", rows


def test_table1_by_hand(small_release):
    release, rows = small_release
    s = compute_stats(release)
    t1 = s["table1"]
    assert t1["conversations"] == 6
    assert t1["models"] == 3
    assert t1["languages"] == 3
    assert t1["users"] == 3  # u1, u2, u3; a6 has none
    assert t1["mean_turns"] == round((1 + 2 + 1 + 1 + 1 + 1) / 6, 3)
    approx = ApproxTokenizer()
    user = [c for r in rows for role, c in r[3] if role == "user"]
    assistant = [c for r in rows for role, c in r[3] if role == "assistant"]
    assert t1["prompt_tokens"] == round(sum(approx.count(user)) / len(user), 1)
    assert t1["response_tokens"] == round(sum(approx.count(assistant)) / len(assistant), 1)
    assert s["models"] == {"claude-1": 2, "gpt-4": 2, "vicuna-13b": 2}
    assert s["turns"] == {1: 5, 2: 1}


def test_table2_and_table4_by_hand(small_release):
    release, _ = small_release
    mod = compute_stats(release)["moderation"]
    # a4: violence (user); a5: harassment (user) and hate + hate/threatening (assistant).
    assert mod["table2"] == {"flagged": 2, "sexual": 0, "harassment": 1, "violence": 1, "hate": 1, "self-harm": 0}
    table4 = {r["model"]: r for r in mod["table4"]}
    assert (table4["gpt-4"]["jailbreak_attempts"], table4["gpt-4"]["jailbreak_successes"]) == (1, 0)
    assert (table4["claude-1"]["jailbreak_attempts"], table4["claude-1"]["jailbreak_successes"]) == (1, 1)
    assert table4["vicuna-13b"]["jailbreak_attempts"] == 0


def test_duplicate_shares(small_release):
    dup = compute_stats(release := small_release[0])["duplicates"]
    # a1 and a2 open with the same prompt, but exact groups compare all user turns: six distinct.
    assert (dup["in_exact_duplicates"], dup["exact_groups"], dup["conversations"]) == (0, 6, 6)
    assert compute_stats(release, tokenizer="approx")["tokenizer"] == "approx"


def test_stats_cli_text_and_json(small_release):
    release, _ = small_release
    text = CliRunner().invoke(cli, ["stats", str(release)])
    assert text.exit_code == 0, text.output
    assert "LMSYS-Chat-1M" in text.output and "Table 2" in text.output and "jailbreak" in text.output
    js = CliRunner().invoke(cli, ["stats", str(release), "--json"])
    assert json.loads(js.output)["table1"]["conversations"] == 6


def test_offline_subword_tokenizer(small_release):
    pytest.importorskip("tokenizers")
    s = compute_stats(small_release[0], tokenizer="minilm")
    assert s["tokenizer"] == "minilm" and s["table1"]["prompt_tokens"] > 2
    from chatsift.analysis.tokenize import MiniLMTokenizer

    # Counts, not the embedder's padded length: [CLS] hi [SEP] is 3, a long text is not cut at 128.
    assert MiniLMTokenizer().count(["hi", "word " * 300]) == [3, 302]


def test_unknown_or_unreachable_tokenizer_is_a_clear_error(small_release):
    result = CliRunner().invoke(cli, ["stats", str(small_release[0]), "--tokenizer", "nope"])
    assert result.exit_code == 2 and "unknown tokenizer" in result.output


@pytest.fixture(scope="module")
def real_release(tmp_path_factory):
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    root = tmp_path_factory.mktemp("real")
    inputs = [SHARED_DATA / "arena-hard-auto", SHARED_DATA / "fastchat-llm-judge/mt_bench",
              SHARED_DATA / "openassistant-oasst-eval-samples/en_100_tree.jsonl",
              SHARED_DATA / "anthropic-hh-rlhf"]
    run_curate(inputs, root / "release", **{"release.schema": "full", "engine.workers": 2})
    return root / "release"


def test_topics_on_real_data(real_release):
    pytest.importorskip("model2vec")
    from chatsift.analysis.topics.model import TopicSettings, build_topics

    result = build_topics(real_release, TopicSettings(k=8, min_users=3))
    sizes = [c["size"] for c in result.clusters]
    assert sizes == sorted(sizes, reverse=True)  # numbered by size
    assert sum(sizes) == result.meta["prompts"] == result.assignments.num_rows
    assert result.meta["prompts"] < result.meta["prompts_before_dedup"]  # bag-of-words dedup removed some
    assert result.meta["embedder"] == "st:all-MiniLM-L6-v2"  # the default (auto) gives a map this small MiniLM
    assert all(c["label"] and c["keywords"] for c in result.clusters)
    assert all(32 <= len(p) <= 1536 for c in result.clusters for p in c["central"])
    labels = {c["label"] for c in result.clusters}
    assert any(re.search(r"code|python|function|number", label) for label in labels)  # coding forms a topic
    # Joinable to the release, and written to disk.
    ids = set(pq.read_table(real_release / "data").column("conversation_id").to_pylist())
    assert set(result.assignments.column("conversation_id").to_pylist()) <= ids
    assert (real_release / "topics" / "clusters.json").exists()
    # Deterministic with the seed.
    again = build_topics(real_release, TopicSettings(k=8, min_users=3), write=False)
    assert [c["label"] for c in again.clusters] == [c["label"] for c in result.clusters]
    # The report's examples: each is a prompt of its topic, shown as that prompt, each conversation once.
    from chatsift.analysis.report.render import _examples

    examples = _examples(real_release, {"clusters": result.clusters}, per_topic=3)
    assigned = {(cid, m): c for cid, m, c in zip(result.assignments.column("conversation_id").to_pylist(),
                                                 result.assignments.column("message").to_pylist(),
                                                 result.assignments.column("cluster").to_pylist())}
    conversations = dict(zip(*pq.read_table(real_release / "data", columns=["conversation_id", "conversation"])
                             .to_pydict().values()))
    shown = [ex["id"] for exs in examples.values() for ex in exs]
    assert len(shown) == len(set(shown)) >= 2 * len(examples)
    for cluster, exs in examples.items():
        for ex in exs:
            assert assigned[(ex["id"], ex["message"])] == cluster
            prompt = conversations[ex["id"]][ex["message"]]
            assert prompt["role"] == "user" and ex["messages"][0]["content"].rstrip(" …") in prompt["content"]


def test_topic_privacy_threshold(real_release):
    pytest.importorskip("model2vec")
    from chatsift.analysis.topics.model import OTHER, TopicSettings, build_topics

    result = build_topics(real_release, TopicSettings(k=6, min_users=10_000), write=False)
    assert all(c["private"] and c["label"] == OTHER and not c["central"] and not c["keywords"]
               for c in result.clusters)


def test_templated_clusters_are_flagged(tmp_path):
    pytest.importorskip("model2vec")
    from chatsift.analysis.topics.model import TopicSettings, build_topics
    from chatsift.demo.sample import write_sample

    sample = write_sample(tmp_path / "in", n=1500)
    run_curate([sample.folder], tmp_path / "r", **{"release.schema": "full"})
    result = build_topics(tmp_path / "r", TopicSettings(k=6, min_users=2), write=False)
    assert any(c["templated"] for c in result.clusters)


def test_topics_cli(real_release):
    pytest.importorskip("model2vec")
    result = CliRunner().invoke(cli, ["topics", str(real_release), "-k", "5", "--parents", "2", "--min-users", "2"])
    assert result.exit_code == 0, result.output
    assert "written:" in result.output
    meta = json.loads((real_release / "topics" / "clusters.json").read_text())["meta"]
    assert len(meta["parents"]) == 2
    # what topics wrote into the finished release is listed in its manifest, with checksums
    import hashlib

    derived = json.loads((real_release / "manifest.json").read_text())["derived"]["topics"]
    assert set(derived["files"]) == {"topics/assignments.parquet", "topics/map.parquet", "topics/clusters.json",
                                     "topics/shares.json"}
    digest = hashlib.sha256((real_release / "topics" / "clusters.json").read_bytes()).hexdigest()
    assert derived["files"]["topics/clusters.json"] == digest and derived["settings"]["k"] == 5
    shown = CliRunner().invoke(cli, ["inspect", str(real_release)])
    assert "written later: topics/ (4 files" in shown.output


def test_topics_endpoint_errors_are_clear(real_release):
    from chatsift.analysis.topics.embed import get_embedder

    embedder = get_embedder("openai:http://127.0.0.1:9#none")
    from chatsift.errors import ConfigError

    with pytest.raises(ConfigError, match="embeddings endpoint"):
        embedder.embed(["hello"])


def test_embedding_cache_reuses_vectors(tmp_path):
    import numpy as np

    from chatsift.analysis.topics.embed import EmbeddingCache

    class Counting:
        name = "counting"
        calls = 0

        def embed(self, texts):
            Counting.calls += len(texts)
            return np.ones((len(texts), 4), dtype=np.float32)

    cache = EmbeddingCache(Counting(), tmp_path)
    cache.embed(["a", "b"])
    out = cache.embed(["b", "c", "a"])
    assert Counting.calls == 3 and out.shape == (3, 4)


def test_private_columns_absent_stats_still_work(tmp_path):
    table = pa.table({"conversation_id": ["x"], "model": ["m"], "language": ["English"], "turn": [1],
                      "conversation": [[{"content": "hi there", "role": "user"},
                                        {"content": "hello", "role": "assistant"}]],
                      "openai_moderation": pa.nulls(1, pa.list_(pa.struct([("flagged", pa.bool_())]))),
                      "redacted": [False]})
    (tmp_path / "data").mkdir()
    pq.write_table(table, tmp_path / "data" / "train-00000-of-00001.parquet")
    s = compute_stats(tmp_path)
    assert s["table1"]["users"] is None and s["table1"]["conversations"] == 1
    assert "table2" not in s["moderation"]


def test_a_release_folder_named_with_sql_cannot_inject(tmp_path, shared_data):
    # Paths reach DuckDB as values: quotes, globs and SQL in a folder name are only a name.
    from chatsift.analysis.stats import compute_stats
    from chatsift.analysis.topics.prompts import select_prompts

    evil = tmp_path / f"rel'); COPY (SELECT 42) TO '{tmp_path}/pwned.csv'; -- [1] {{a,b}}"
    run_curate([shared_data / "fastchat-llm-judge" / "mt_bench" / "model_answer" / "gpt-4.jsonl"], evil)
    stats = compute_stats(evil)
    assert stats["table1"]["conversations"] == 80
    assert len(select_prompts(evil, sample=None, language=None).texts) > 0
    assert not (tmp_path / "pwned.csv").exists()


def test_explorer_topic_filter_finds_every_topic_of_a_conversation(tmp_path):
    import pyarrow as pa

    from chatsift.explore.index import build_index
    from chatsift.explore.search import Query, Searcher

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": cid, "messages": [
        {"role": "user", "content": f"first {cid}"}, {"role": "assistant", "content": "a"},
        {"role": "user", "content": f"second {cid}"}, {"role": "assistant", "content": "b"}]}) + "\n"
        for cid in ("c1", "c2")))
    run_curate([src], tmp_path / "rel", **{"release.schema": "full"})
    (tmp_path / "rel" / "topics").mkdir()
    # c1's prompts fall in clusters 0 and 1; c2's both in 0 (pages number topics from 1)
    pq.write_table(pa.table({"conversation_id": ["c1", "c1", "c2", "c2"], "cluster": [0, 1, 0, 0]}),
                   tmp_path / "rel" / "topics" / "assignments.parquet")
    searcher = Searcher(build_index(tmp_path / "rel"))
    assert searcher.search(Query(topic=1)).total == 2
    assert [h.conversation_id for h in searcher.search(Query(topic=2)).hits] == ["c1"]


def test_explore_on_a_taken_port_says_so_before_serving(small_release):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["explore", str(small_release[0]), "--port", str(port)])
    assert result.exit_code == 2 and "choose another --port" in result.output and "serving" not in result.output


def test_stats_and_inspect_agree_on_users_of_a_public_release(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                    {"role": "assistant", "content": "a"}],
                                       "user": f"u{i % 3}"}) + "\n" for i in range(6)))
    run_curate([src], tmp_path / "rel")  # lmsys schema: no user_id column
    assert "user_id" not in pq.read_schema(next((tmp_path / "rel" / "data").glob("*.parquet"))).names
    assert compute_stats(tmp_path / "rel")["table1"]["users"] == 3
    inspect = CliRunner().invoke(cli, ["inspect", str(tmp_path / "rel")])
    assert "users 3 " in inspect.output


def test_label_tokens_drop_filler_code_and_other_languages_stop_words():
    from chatsift.analysis.topics.label import ctfidf_keywords, label_tokens

    text = ("I really don't know, please tell me: ```int main() { const currIndex = 0; }``` why does my "
            "Minecraft server crash? Je ne sais pas pourquoi le serveur plante. Bismarck's reforms")
    tokens = label_tokens(text)
    assert {"minecraft", "server", "crash", "serveur", "plante", "bismarck", "reforms"} <= set(tokens)
    for noise in ("really", "don't", "don", "know", "please", "tell", "int", "main", "const", "currindex", "pas",
                  "pourquoi"):
        assert noise not in tokens, noise
    docs = [["python code crashes with a KeyError in my dict lookup"] * 3 + ["python scripts and python scripting"],
            ["recipes for vegan lasagna", "vegan dessert recipes please"]]
    first, second = ctfidf_keywords(docs, top=4)
    assert any("python" in term for term in first)
    assert not any("scripts" in a and "scripting" in b for a in first for b in first)  # variants merged
    assert "vegan" in second and "recipes" in second


def test_labels_are_key_phrases_held_by_many_of_the_clusters_prompts():
    from chatsift.analysis.topics.label import ctfidf_keywords, label_phrases

    # a phrase is words that stand together: no stop word, no punctuation between them
    assert label_phrases("Is the United States bigger than the U.K.? United, states.") >= {
        "united states", "united", "states"}
    assert "states united" not in label_phrases("United, states.")
    geography = [f"What is the population of the United States in {year}?" for year in range(1990, 2000)]
    geography += ["Which states of the United States border Canada?", "Name the largest lake in Canada"]
    # one prompt repeating a rare word many times must not name the cluster
    geography += ["plesiosaurus " * 40 + "what is the capital of Canada"]
    cooking = ["How long do I bake sourdough bread?", "Sourdough bread starter tips",
               "Why does my sourdough bread not rise?", "Gluten free bread recipe"]
    places, food = ctfidf_keywords([geography, cooking], top=4)
    assert places[0] == "united states" and "united" not in places and "states" not in places
    assert "plesiosaurus" not in places
    assert food[0] in {"sourdough bread", "bread"} and not {"sourdough", "sourdough bread"} <= set(food)


def test_llm_topic_labels_with_descriptions_parents_and_dry_run(tmp_path):
    pytest.importorskip("model2vec")
    from tests.fake_llm import FakeLLM

    run_curate([SHARED_DATA / "arena-hard-auto" / "v0.1" / "question.jsonl"], tmp_path / "rel",
               **{"read.benchmark_questions": "prompts", "release.schema": "full"})

    def scripted(messages: list[dict], model: str) -> str:
        content = messages[-1]["content"]
        if "form one group" in content:
            return "Label: A group of topics\nDescription: Several related topics."
        if "python" in content.lower():
            return "**Label:** Python programming\nDescription: Questions about writing Python code."
        return "I cannot summarise this."  # no Label: line -> the first line is the label, no description

    with FakeLLM(chat_by_model=scripted) as server:
        base = ["topics", str(tmp_path / "rel"), "-k", "4", "--parents", "2", "--min-users", "1", "--labeler",
                f"{server.url}:labeller", "--cache-dir", str(tmp_path / "cache")]
        dry = CliRunner().invoke(cli, [*base, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "dry run: 6 requests" in dry.output and server.count("/chat/completions") == 0
        assert not (tmp_path / "rel" / "topics").exists()
        result = CliRunner().invoke(cli, [*base, "--label-language", "en"])
        assert result.exit_code == 0, result.output
        sent = [body["messages"][0]["content"] for path, body in server.requests if path == "/chat/completions"]
    assert len(sent) == 6 and all("Write in English." in s for s in sent)
    topics = json.loads((tmp_path / "rel" / "topics" / "clusters.json").read_text())
    python = [c for c in topics["clusters"] if c["label"] == "Python programming"]
    assert python and all(c["description"] == "Questions about writing Python code." for c in python)
    others = [c for c in topics["clusters"] if c["label"] != "Python programming"]
    assert all(c["label"] == "I cannot summarise this." and c["description"] == "" for c in others)
    assert [p["label"] for p in topics["meta"]["parents"]] == ["A group of topics"] * 2
    assert (tmp_path / "rel" / "topics" / "llm-ledger.json").exists()


def test_parse_llm_topic_labels():
    from chatsift.analysis.topics.label import parse_label

    assert parse_label("Label: Cooking and baking\nDescription: Recipes and kitchen tips.") == (
        "Cooking and baking", "Recipes and kitchen tips.")
    assert parse_label('**Label:** "Travel plans"\n**Description:** Trips.') == ("Travel plans", "Trips.")
    assert parse_label("Sports trivia") == ("Sports trivia", "")
    assert parse_label("   ") is None and parse_label("Description: only a description") is None


def test_the_map_layout_keeps_topics_apart(real_release):
    """t-SNE keeps each prompt's neighbours: a point's nearest neighbours on the map share its topic far more
    often than on the linear (PCA) map."""
    pytest.importorskip("openTSNE")
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    from chatsift.analysis.topics.model import TopicSettings, build_topics

    def agreement(layout: str) -> tuple[float, dict]:
        result = build_topics(real_release, TopicSettings(k=8, min_users=3, layout=layout))
        table = pq.read_table(real_release / "topics" / "assignments.parquet")
        xy = np.column_stack([table.column("x").to_numpy(), table.column("y").to_numpy()])
        labels = table.column("cluster").to_numpy()
        near = NearestNeighbors(n_neighbors=11).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
        return float((labels[near] == labels[:, None]).mean()), result.meta["layout"]

    linear, linear_meta = agreement("pca")
    tsne, tsne_meta = agreement("tsne")
    assert linear_meta["method"] == "pca" and tsne_meta["method"] == "tsne"
    assert tsne > linear + 0.08, (linear, tsne)  # measured: 0.47 (PCA) and 0.59 (t-SNE) on this release


def test_topic_shares_by_model_and_language_in_json_and_report(real_release, tmp_path):
    pytest.importorskip("model2vec")
    from chatsift.analysis.report.render import build_report
    from chatsift.analysis.topics.model import TopicSettings, build_topics

    result = build_topics(real_release, TopicSettings(k=6, min_users=2, layout="pca"))
    shares = json.loads((real_release / "topics" / "shares.json").read_text())
    models = pq.read_table(real_release / "data", columns=["model"]).column("model").to_pylist()
    top_model = max(set(models) - {None}, key=models.count)
    assert top_model in shares["by_model"]
    for row in [*shares["by_model"].values(), *shares["by_language"].values()]:
        assert abs(sum(row.values()) - 1) < 1e-9  # every conversation of a model counted once
    labels = {f"{c['cluster'] + 1}. {c['label']}" for c in result.clusters if not c["private"]} | {"other"}
    assert set().union(*shares["by_model"].values()) <= labels
    html = build_report(real_release, tmp_path / "report.html").read_text()
    assert 'id="shares-model"' in html and 'id="shares-language"' in html


def test_the_auto_embedder_is_minilm_for_small_maps_and_static_for_large_ones():
    from chatsift.analysis.topics.embed import AUTO_MINILM_MAX, resolve_embedder

    assert resolve_embedder("auto", AUTO_MINILM_MAX) == "st:all-MiniLM-L6-v2"
    assert resolve_embedder("auto", AUTO_MINILM_MAX + 1) == "static"
    assert resolve_embedder("static", 10) == "static"  # a named embedder is kept whatever the size
