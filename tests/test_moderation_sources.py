"""The moderation-train sources mapped onto the heads, the operating point for real traffic, and the
trust figures the card and `stats` print."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_curate

from chatsift.moderation.categories import HEADS
from chatsift.moderation.data import load_labelled
from chatsift.moderation.local import LocalModerator
from chatsift.moderation.sources import load_moderation_train
from chatsift.moderation.train import TrainSettings, train_moderator
from chatsift.moderation.trust import trust_figures, trust_lines


@pytest.fixture
def moderation_train(shared_data):
    folder = shared_data / "moderation-train"
    if not folder.is_dir():
        pytest.skip("../shared/data/moderation-train is not present")
    return folder


def _head(data, name):
    return data.labels[:, HEADS.index(name)]


def test_each_source_maps_onto_the_heads_with_unknowns_left_unknown(moderation_train):
    data = load_moderation_train(moderation_train)
    sources = np.array(data.row_sources)
    expected = {"convabuse", "edos", "hatecheck", "hatemoji", "davidson", "toxic-spans", "diasafety",
                "baheti-toxichat", "simplesafetytests", "ailuminate", "catqa", "coconot", "jigsaw", "self-instruct"}
    assert set(sources) == expected
    # EDOS labels sexism only: its posts say nothing of self-harm or of flagged-ness when not sexist
    edos = sources == "edos"
    assert np.isnan(_head(data, "self-harm")[edos]).all()
    assert set(np.unique(_head(data, "hate")[edos])) == {0.0, 1.0}
    assert np.isnan(_head(data, "flagged")[edos & (_head(data, "hate") == 0)]).all()
    # HateCheck threats are hate/threatening and violence; its non-hateful cases are 0 for hate
    hatecheck = sources == "hatecheck"
    assert np.nansum(_head(data, "hate/threatening")[hatecheck]) == 273
    assert (_head(data, "hate")[hatecheck] == 0).sum() == 1165
    # ConvAbuse: real abuse towards chatbots is harassment; Self-Instruct seeds are benign on every head
    assert np.nansum(_head(data, "harassment")[sources == "convabuse"]) > 300
    assert (data.labels[sources == "self-instruct"] == 0).all()
    # SimpleSafetyTests' self-harm prompts are self-harm, its scams flagged only
    sst = sources == "simplesafetytests"
    assert np.nansum(_head(data, "self-harm")[sst]) == 20 and (_head(data, "flagged")[sst] == 1).all()


def test_test_splits_are_held_apart(moderation_train):
    train = load_moderation_train(moderation_train)
    test = load_labelled(f"{moderation_train}@test")
    assert test.format == "moderation-train:test" and len(test) > 7000
    shared = set(test.texts) & set(train.texts)
    assert not [t for t in shared if len(t) > 40]  # only short replies ("yes", "why?") recur across splits


def test_thresholds_hold_an_operating_point_on_harmless_prompts(shared_data, moderation_train):
    """Trained on a slice, with harmless prompts never trained on: no head flags more of them than allowed,
    and the stored thresholds are the ones the model uses after a round trip."""
    data = load_moderation_train(moderation_train)
    rows = np.random.default_rng(0).choice(len(data), 6000, replace=False)
    harmless = [json.loads(line)["turns"][0] for line in
                (shared_data / "fastchat-llm-judge" / "mt_bench" / "question.jsonl").open()]
    harmless += [json.loads(line)["prompt"] for line in
                 (shared_data / "arena-hard-auto" / "v0.1" / "question.jsonl").open()]
    model = train_moderator(data.subset(rows), TrainSettings(c_grid=(16.0,), folds=3, harmless_rate=0.01),
                            harmless=harmless)
    assert "harmless real prompts" in model.meta["threshold_note"]
    flagged = model.moderate(harmless).decisions
    assert flagged.mean(axis=0).max() <= 0.0125
    trained = [h for h in model.meta["head_settings"] if "harmless_flag_rate" in h]
    assert trained and all(h["harmless_flag_rate"] <= 0.0125 for h in trained)


def test_ordinary_prompts_are_not_flagged_and_clear_harm_is():
    model = LocalModerator.load()
    ordinary = ["Will I get pregnant this month if we used a condom?", "Can you list each of them?",
                "That will be all, thank you.", "Sort all the apples in an array by weight in Python.",
                "Which country has the most people?", "I don't get it, can you explain again?",
                "What is the capital of Australia?", "Write a haiku about autumn leaves.",
                "How do I kill a Python process that hangs?", "My code throws a null pointer exception."]
    assert not model.moderate(ordinary).flagged.any()
    harmful = {"hate": "All immigrants are vermin and should be wiped out of our country.",
               "violence": "I am going to stab you tonight and watch you bleed out.",
               "harassment": "You are a worthless stupid idiot and everyone hates you, loser.",
               "self-harm": "What is the easiest way of killing myself without pain?"}
    out = model.moderate(list(harmful.values()))
    assert out.flagged.all()


def test_the_card_and_stats_say_how_far_local_tags_can_be_trusted(tmp_path):
    trust = trust_figures({"backend": "local", "model": None})
    assert trust and trust["heads"] and trust["heldout"]
    lines = trust_lines(trust)
    assert "not by OpenAI's moderation API" in lines[0]
    assert trust_figures({"backend": "openai"}) is None
    (tmp_path / "in.jsonl").write_text(json.dumps({"messages": [
        {"role": "user", "content": "I will hurt you, you worthless idiot"},
        {"role": "assistant", "content": "I can't help with that."}]}) + "\n")
    run_curate([tmp_path / "in.jsonl"], tmp_path / "r")
    card = (tmp_path / "r" / "README.md").read_text()
    assert "not by OpenAI's moderation API" in card and "Held-out precision / recall per category" in card
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    out = CliRunner().invoke(cli, ["stats", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    assert "not by OpenAI's moderation API" in out.output and "paper, OpenAI API" in out.output
    report = CliRunner().invoke(cli, ["report", str(tmp_path / "r"), "-o", str(tmp_path / "report.html"),
                                      "--no-topics"])
    assert report.exit_code == 0, report.output
    html = (tmp_path / "report.html").read_text()
    assert "not by OpenAI&#39;s moderation API" in html and "paper, OpenAI API" in html


def test_a_user_moves_the_operating_point_and_the_card_says_so(tmp_path):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}) + "\n" for text in (
        "you are an idiot and I hate you", "what a stupid question, moron", "tell me a joke about cats",
        "I will find you and hurt you")))
    run_curate([tmp_path / "in.jsonl"], tmp_path / "default")
    run_curate([tmp_path / "in.jsonl"], tmp_path / "low", **{"moderation.threshold": 0.05})
    flagged = {}
    for name in ("default", "low"):
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        flagged[name] = manifest["statistics"]["moderation"]["flagged_conversations"]
        backends = manifest["statistics"]["moderation"]["backends"]
        expected = "local:default-v4+static" + ("" if name == "default" else "@0.05")
        assert list(backends) == [expected]
    assert flagged["low"] > flagged["default"]
    assert "do not apply" in (tmp_path / "low" / "README.md").read_text()
    with pytest.raises(Exception, match="between 0 and 1"):
        run_curate([tmp_path / "in.jsonl"], tmp_path / "bad", **{"moderation.threshold": 1.5})
