"""Stages on their own and through small runs: normalisation, filters, language, duplicates, selection."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest
from conftest import assert_reconciles, read_release, run_curate

from chatsift.common.language import LanguageDetector, language_names
from chatsift.common.text_keys import template_key, tokens
from chatsift.config import FilterConfig
from chatsift.pipeline.stage import BatchStage
from chatsift.stages.filters import ContentFilter
from chatsift.stages.normalize import normalize_messages
from chatsift.stages.user_id import keyed_user_id


def _write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def chat(prompt, answer="ok", **extra):
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], **extra}


def test_normalize_merges_moves_and_notes():
    issues: list[str] = []
    msgs, system = normalize_messages(
        [{"role": "system", "content": "sys"}, {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
         {"role": "assistant", "content": "cafe\u0301"}],
        None, "NFC", True, issues)
    assert system == "sys"
    assert msgs == [{"content": "a\n\nb", "role": "user"}, {"content": "café", "role": "assistant"}]
    assert set(issues) == {"system_moved", "merged_consecutive_user", "unicode_normalized"}


def test_language_names_cover_lid176():
    names = language_names()
    assert len(names) == 176
    assert names["pt"] == "Portuguese" and names["zh"] == "Chinese" and names["en"] == "English"


@pytest.mark.parametrize(("text", "name"), [
    ("Could you please explain how photosynthesis works in simple words?", "English"),
    ("Você pode me explicar como funciona a fotossíntese?", "Portuguese"),
    ("Объясни, пожалуйста, как работает фотосинтез.", "Russian"),
    ("请解释一下光合作用是如何进行的。", "Chinese"),
    ("¿Puedes explicarme cómo funciona la fotosíntesis?", "Spanish"),
    ("光合成の仕組みを説明してください。", "Japanese"),
    ("광합성이 어떻게 작동하는지 설명해 주세요.", "Korean"),
    ("12345 67890 !!!", "unknown"),
    ("", "unknown"),
])
def test_language_detector(text, name):
    assert LanguageDetector().detect(text)[0] == name


def test_repeated_texts_get_the_first_answer_from_a_bounded_cache(shared_data):
    from chatsift.common.repeats import RepeatCache

    cache = RepeatCache(max_chars=10, max_entries=2)
    assert cache.key("x" * 11) is None and cache.get(None) is None
    cache.put(cache.key("hi", "en"), 1)
    assert cache.get(cache.key("hi", "en")) == 1 and cache.get(cache.key("hi", "de")) is None
    cache.put(cache.key("a"), 2)
    cache.put(cache.key("b"), 3)  # full: emptied, then kept
    assert len(cache) == 1 and cache.get(cache.key("b")) == 3
    # Language ID answers a repeat as it answered the text the first time (real ToxicChat prompts).
    from chatsift.moderation.data import load_labelled

    texts = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json").texts[:300]
    fresh = [LanguageDetector().detect(t) for t in texts]
    detector = LanguageDetector()
    assert [detector.detect(t) for t in texts + texts] == fresh + fresh
    assert len(detector._seen) == len(set(t[:2000] for t in texts if t))


def test_language_is_from_the_first_user_message_and_source_languages_are_kept(tmp_path):
    records = [
        {"messages": [{"role": "assistant", "content": "Hello! How can I help you today?"},
                      {"role": "user", "content": "Quero aprender a cozinhar arroz e feijão."}]},
        {"conversation_id": "x", "conversation": [{"role": "user", "content": "What is love?"}], "turn": 0,
         "language": "Klingon"},
    ]
    _write(tmp_path / "a.jsonl", records[:1])
    _write(tmp_path / "b.jsonl", records[1:])
    run_curate([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "r", **{"release.schema": "full"})
    rows = read_release(tmp_path / "r").to_pylist()
    assert (rows[0]["language"], rows[0]["language_code"]) == ("Portuguese", "pt")
    assert (rows[1]["language"], rows[1]["language_code"]) == ("Klingon", "en")  # kept; our code beside it


def test_filters_network_error_markers_and_traditional_chinese_blocked_words(tmp_path):
    words = tmp_path / "blocked.txt"
    words.write_text("# list\n禁止词\nbadword\n", encoding="utf-8")
    stage = ContentFilter(FilterConfig(blocked_words_file=str(words)))
    stage.setup()
    convs = [
        [{"role": "user", "content": "這是禁止詞嗎"}],  # traditional spelling of the listed simplified word
        [{"role": "user", "content": "A BadWord here"}],
        [{"role": "user", "content": "my name is <ANONYMIZED>"}],
        [{"role": "user", "content": "fine"}],
    ]
    table = pa.table({"conversation": convs, "turn": [0] * 4, "quality.reasons": [[]] * 4})
    out = stage.process_batch(table).column("quality.reasons").to_pylist()
    assert out == [["blocked_word"], ["blocked_word"], ["anonymized"], []]


def test_length_bounds_when_configured(tmp_path):
    _write(tmp_path / "c.jsonl", [chat("hi"), chat("a reasonable question " * 5), chat("x" * 5000)])
    manifest = run_curate([tmp_path / "c.jsonl"], tmp_path / "r",
                          **{"filters.min_user_chars": 5, "filters.max_user_chars": 1000})
    assert manifest["counts"]["excluded"] == {"too_long": 1, "too_short": 1}


def test_user_id_is_a_keyed_hash(tmp_path):
    a = keyed_user_id(b"k1", "203.0.113.5")
    assert a == keyed_user_id(b"k1", "203.0.113.5 ") and a != keyed_user_id(b"k2", "203.0.113.5")
    _write(tmp_path / "c.jsonl", [chat("q1", user="203.0.113.5"), chat("q2", user="203.0.113.5"),
                                  chat("q3", user="198.51.100.1")])
    manifest = run_curate([tmp_path / "c.jsonl"], tmp_path / "r",
                          **{"release.schema": "full", "release.keep_private": True, "user_id.secret": "k1"})
    ids = read_release(tmp_path / "r").column("user_id").to_pylist()
    assert ids[0] == ids[1] == keyed_user_id(b"k1", "203.0.113.5") and ids[2] != ids[0]
    assert manifest["statistics"]["users"] == 2


def test_a_generated_user_key_is_reused_on_resume_and_never_released(tmp_path, caplog):
    _write(tmp_path / "c.jsonl", [chat("q", user="203.0.113.5")])
    from chatsift.config import load_config
    from chatsift.curate import curate

    config = load_config(None, {"engine.progress": False, "engine.workers": 1, "release.schema": "full",
                                "release.keep_private": True})
    curate([str(tmp_path / "c.jsonl")], tmp_path / "r", config)
    assert "one-off key" in caplog.text  # the release holds user_id: say it will not match other releases
    assert not any(p.name == "user_id.secret" for p in (tmp_path / "r").rglob("*"))


def test_exact_near_and_template_groups(tmp_path):
    rng = random.Random(0)
    base = ("Please write a detailed explanation of how a hash map handles collisions in practice, with examples "
            "in Python and Java, a comparison of chaining and open addressing, and notes on resizing costs")
    records = [chat(base) for _ in range(3)]
    records += [chat(base.replace("detailed", "short")), chat(base + " please")]  # near duplicates
    companies = [f"Company{i} Industrial Holdings" for i in range(12)]
    records += [chat(f"Give me an introduction over 200 words for {c}, a chemical company in Shanghai China")
                for c in companies]
    records += [chat(f"Unrelated question number {rng.random()} about gardening tomatoes and basil")]
    _write(tmp_path / "c.jsonl", records)
    run_curate([tmp_path / "c.jsonl"], tmp_path / "r", **{"release.schema": "full"})
    rows = read_release(tmp_path / "r").to_pylist()
    assert [r["dedup.exact_size"] for r in rows[:3]] == [3, 3, 3]
    assert len({r["dedup.exact_group"] for r in rows[:3]}) == 1
    near = {r["dedup.near_cluster"] for r in rows[:5]}
    assert len(near) == 1 and rows[0]["dedup.near_size"] == 5
    assert rows[0]["dedup.near_cluster"] == rows[0]["conversation_id"]  # named after its first member
    templated = rows[5:17]
    assert {r["dedup.template_size"] for r in templated} == {12}
    assert len({r["dedup.template_group"] for r in templated}) == 1
    assert rows[0]["dedup.template_group"] is None and rows[-1]["dedup.template_group"] is None


def test_repeated_conversations_reuse_their_signatures(shared_data):
    from chatsift.config import DuplicatesConfig
    from chatsift.moderation.data import load_labelled
    from chatsift.schema import LMSYS_SCHEMA
    from chatsift.stages.dedup.signatures import DuplicateSignatures

    texts = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json").texts[:120]
    convs = [[{"role": "user", "content": t}, {"role": "assistant", "content": "ok"}] for t in texts]
    convs += [*convs[:40], [], None, [{"role": "assistant", "content": "only an answer"}]]
    column = LMSYS_SCHEMA.field("conversation").type

    def table(rows):
        return pa.table({"conversation": pa.array(rows, column)})

    stage = DuplicateSignatures(DuplicatesConfig())
    first = stage.process_batch(table(convs))
    again = stage.process_batch(table(convs[::-1]))  # every one a repeat now, in another order
    alone = [DuplicateSignatures(DuplicatesConfig()).process_batch(table([c])) for c in convs]
    for name in stage.outputs:
        expected = [t.column(name)[0].as_py() for t in alone]
        assert first.column(name).to_pylist() == expected
        assert again.column(name).to_pylist() == expected[::-1]


def test_select_one_per_exact_group_and_near_cap(tmp_path):
    prompts = ["alpha question about rivers"] * 4 + ["beta question about mountains"] * 2 + ["gamma unique"]
    _write(tmp_path / "c.jsonl", [chat(p) for p in prompts])
    one = run_curate([tmp_path / "c.jsonl"], tmp_path / "a", **{"select.exact": "one_per_group"})
    assert one["counts"]["released"] == 3
    assert one["counts"]["excluded"] == {"exact_duplicate": 4}
    capped = run_curate([tmp_path / "c.jsonl"], tmp_path / "b", **{"select.near_max_per_cluster": 2})
    assert capped["counts"]["released"] == 5


def test_sample_takes_exactly_what_python_shuffle_takes(tmp_path):
    _write(tmp_path / "c.jsonl", [chat(f"question {i}", id=f"id{i:03d}") for i in range(200)])
    manifest = run_curate([tmp_path / "c.jsonl"], tmp_path / "r", **{"sample.n": 50, "sample.seed": 42})
    assert manifest["counts"]["released"] == 50 and manifest["counts"]["excluded"] == {"not_sampled": 150}
    ids = [f"id{i:03d}" for i in range(200)]
    random.seed(42)
    random.shuffle(ids)  # the paper's sample.py
    assert sorted(read_release(tmp_path / "r").column("conversation_id").to_pylist()) == sorted(ids[:50])


def test_template_key_masks_digits_and_needs_a_slot():
    a = tokens("Write an article about the Production Process of X 2000 words in chemical industry")
    b = tokens("Write an article about the Production Process of Y Z 1500 words in chemical industry")
    assert template_key(a, 5, 5) == template_key(b, 5, 5) != 0
    assert template_key(tokens("too short to frame"), 5, 5) == 0


def test_counts_reconcile_with_two_workers(shared_data, tmp_path):
    manifest = run_curate([shared_data / "anthropic-hh-rlhf", shared_data / "fastchat-llm-judge"], tmp_path / "r",
                          **{"engine.workers": 2, "engine.chunk_bytes": 300_000, "select.exact": "one_per_group"})
    assert_reconciles(manifest)
    assert manifest["counts"]["excluded"]["exact_duplicate"] > 0


def test_short_prompts_get_their_language_from_the_text_and_the_conversation():
    from chatsift.common.language import LanguageDetector, detection_text

    detector = LanguageDetector()
    # lid.176 alone called these Italian, Esperanto and Bosnian
    for text in ("Good Afternoon!", "Tell me who you are.", "Are you GPT-2?"):
        assert detector.detect(text) == ("English", "en"), text
    assert detector.detect("Merci beaucoup !")[1] == "fr" and detector.detect("Привет!")[1] == "ru"
    # too short to tell alone: unknown, never a wrong guess; the answer in the conversation settles it
    assert detector.detect("Hi!")[1] in {None, "en"} and detector.detect("Hello.")[1] in {None, "en"}
    messages = [{"role": "user", "content": "Hi!"},
                {"role": "assistant", "content": "Hello! How can I help you today?"}]
    assert detector.detect_conversation(messages) == ("English", "en")
    # a prompt that is clear on its own keeps its language whatever the answer's
    assert detector.detect_conversation([{"role": "user", "content": "你好"},
                                         {"role": "assistant", "content": "Hello! How can I help you?"}])[1] == "zh"
    long = "Explain the difference between a list and a tuple in Python, with examples."
    assert detection_text([{"role": "user", "content": long}, {"role": "assistant", "content": "Sure"}]) == long


def test_every_built_in_stage_keeps_the_stage_contract(shared_data):
    """``check_stage`` over the default pipeline (the optional sample stage too), in order, on real records."""
    from chatsift.config import load_config
    from chatsift.io.inputs import plan_units, resolve_inputs
    from chatsift.pipeline.stage import StageContractError, check_stage
    from chatsift.pipeline.unit_reader import UnitReader
    from chatsift.stages.defaults import build_pipeline

    config = load_config(None, {"sample.n": 10})
    files, _ = resolve_inputs([str(shared_data / "openassistant-oasst-eval-samples/en_100_tree.jsonl")])
    units, _ = plan_units(files, 48 << 20)
    batch = next(iter(UnitReader(units[0], config, {0: "oasst"}, {})))
    pipeline = build_pipeline(config, b"secret")
    for stage in pipeline.stages:
        batch = check_stage(stage, batch)  # a global stage is checked alone; the batch goes on
    assert {type(s).__name__ for s in pipeline.stages} >= {"NormalizeStage", "PiiStage", "Sample", "Select"}
    with pytest.raises(StageContractError, match="keeps every row"):  # a stage that breaks the contract
        check_stage(_RowDropper(), batch)


class _RowDropper(BatchStage):
    name, outputs = "dropper", ("language",)

    def describe(self) -> str:
        return "drops a row"

    def process_batch(self, table: pa.Table) -> pa.Table:
        return table.slice(1)
