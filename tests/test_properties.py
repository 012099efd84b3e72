"""Properties: lossless round trips, idempotent normalisation, counts that always reconcile."""

from __future__ import annotations

import json
import tempfile
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import assert_reconciles, read_release, run_curate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsift.schema import LMSYS_SCHEMA, MODERATION_CATEGORIES, Conversation, Message
from chatsift.stages.normalize import normalize_messages

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)
roles = st.sampled_from(["user", "assistant", "system"])
messages = st.lists(st.fixed_dictionaries({"role": roles, "content": st.one_of(st.none(), text)}), max_size=8)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(messages, st.one_of(st.none(), text))
@settings(max_examples=300, deadline=None)
def test_normalisation_is_idempotent(msgs, system):
    once, sys1 = normalize_messages(msgs, system, "NFC", True, [])
    twice, sys2 = normalize_messages(once, sys1, "NFC", True, [])
    assert (once, sys1) == (twice, sys2)
    assert all(m["role"] in {"user", "assistant"} for m in once)


moderation = st.fixed_dictionaries({
    "categories": st.fixed_dictionaries({c: st.booleans() for c in MODERATION_CATEGORIES}),
    "category_scores": st.fixed_dictionaries({c: st.floats(0, 1) for c in MODERATION_CATEGORIES}),
    "flagged": st.booleans(),
})


@given(st.lists(st.tuples(st.lists(text, min_size=1, max_size=4), st.booleans()), max_size=10))
@settings(max_examples=60, deadline=None)
def test_lmsys_rows_round_trip_through_parquet(convs):
    rows = []
    for i, (texts, redacted) in enumerate(convs):
        msgs = [Message("user" if j % 2 == 0 else "assistant", t) for j, t in enumerate(texts)]
        mod = [{"categories": {c: False for c in MODERATION_CATEGORIES},
                "category_scores": {c: 0.0 for c in MODERATION_CATEGORIES}, "flagged": False} for _ in msgs]
        rows.append(Conversation(f"{i:032x}", msgs, model="m", language="English", redacted=redacted,
                                 openai_moderation=mod).to_row())
    table = pa.Table.from_pylist(rows, schema=LMSYS_SCHEMA)
    with tempfile.TemporaryDirectory() as d:
        pq.write_table(table, f"{d}/t.parquet")
        assert pq.read_table(f"{d}/t.parquet").to_pylist() == rows


@given(st.lists(st.lists(text.filter(lambda t: t.strip()), min_size=1, max_size=5), min_size=1, max_size=12))
@SETTINGS
def test_curation_keeps_text_exactly(convs):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.jsonl"
        records = [{"id": f"c{i}", "messages": [{"role": "user" if j % 2 == 0 else "assistant", "content": t}
                                                 for j, t in enumerate(texts)]} for i, texts in enumerate(convs)]
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        manifest = run_curate([path], Path(d) / "r", **{"filters.network_error": False})
        assert_reconciles(manifest)
        out = {r["conversation_id"]: r["conversation"] for r in read_release(Path(d) / "r").to_pylist()}
        assert len(out) == len(records)
        for r in records:
            expected = [{"content": unicodedata.normalize("NFC", m["content"]), "role": m["role"]}
                        for m in r["messages"]]
            assert out[r["id"]] == expected


record = st.one_of(
    st.builds(lambda p: json.dumps({"messages": [{"role": "user", "content": p}]}),
              st.sampled_from(["alpha", "beta", "gamma", "delta beta"])),
    st.just('{"messages": [{"role": "user", "content": "cut'),
    st.just('{"messages": [{"role": "dragon", "content": "x"}]}'),
    st.just('{"messages": []}'),
    st.just('{"messages": [{"role": "user", "content": "<redacted> hi"}]}'),
    st.just("[]"),
)


@given(st.lists(record, min_size=1, max_size=40), st.sampled_from(["keep_all", "one_per_group"]),
       st.one_of(st.none(), st.integers(0, 10)))
@SETTINGS
def test_counts_always_reconcile_and_one_per_exact_group(lines, policy, sample):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.jsonl"
        lines = ['{"messages": [{"role": "user", "content": "anchor"}]}', *lines]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        # The format is forced: this is about counting, whatever share of the file is broken.
        manifest = run_curate([path], Path(d) / "r", **{"select.exact": policy, "sample.n": sample,
                                                        "release.schema": "full", "read.format": "openai_messages"})
        assert_reconciles(manifest)
        assert manifest["counts"]["input"] == len(lines)
        table = read_release(Path(d) / "r")
        groups = table.column("dedup.exact_group").to_pylist()
        if policy == "one_per_group":
            assert len(groups) == len(set(groups))
            if sample is None:
                prefix = '{"messages": [{"role": "user", "content": "'
                good = {json.loads(x)["messages"][0]["content"] for x in lines
                        if x.startswith(prefix) and not x.endswith('"cut') and "<redacted>" not in x}
                assert len(groups) == len(good)
        if sample is not None:
            assert table.num_rows <= sample


_NAME_PIECES = st.sampled_from(["Ana", "Lima", "Mark", "ov", "ić", "s", "'s", "ом", "a", " ", ",", "e"])


@settings(max_examples=400, deadline=None)
@given(names=st.lists(st.text(alphabet="AnaLimMrkoć", min_size=2, max_size=6), min_size=1, max_size=5, unique=True),
       pieces=st.lists(_NAME_PIECES, max_size=40))
def test_name_recurrences_match_one_alternation_scan(names, pieces):
    """The per-name ``str.find`` scan finds what one left-to-right alternation over the names finds."""
    import re

    from chatsift.privacy.redactor import INFLECTIONS, _recurrences

    ordered = sorted(names, key=len, reverse=True)
    text = "".join(p if i % 3 else ordered[i % len(ordered)] + p for i, p in enumerate(pieces))
    pattern = re.compile("(?P<base>" + "|".join(map(re.escape, ordered)) + ")(?P<ending>"
                         + "|".join(map(re.escape, INFLECTIONS)) + ")?")
    expected = [(m.start(), m.end() if len(m.group("base")) >= 4 else m.start() + len(m.group("base")),
                 m.group("base")) for m in pattern.finditer(text)]
    assert list(_recurrences(text, ordered)) == expected
