"""The moderator's encoder stage and its named operating points, on real labelled prompts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import SHARED_DATA, run_curate

from chatsift.errors import ConfigError
from chatsift.moderation.backends import LocalBackend
from chatsift.moderation.data import load_labelled
from chatsift.moderation.evaluate import evaluate
from chatsift.moderation.local import LocalModerator, bundled_model_path, stage_metas
from chatsift.moderation.train import TrainSettings, train_moderator
from chatsift.moderation.trust import trust_figures


@pytest.fixture(scope="module")
def toxicchat_split():
    data = load_labelled(SHARED_DATA / "toxicchat-train" / "toxic_chat_train.json")
    order = np.random.default_rng(7).permutation(len(data))
    cut = int(len(data) * 0.8)
    return data, order[:cut], order[cut:]


@pytest.fixture(scope="module")
def encoder_model(toxicchat_split):
    data, train, _ = toxicchat_split
    model = train_moderator(data.subset(train), TrainSettings(c_grid=(16.0,), folds=3, encoder=True))
    assert model.stage is None  # a MiniLM stage is opt-in
    model.stage = "minilm"
    return model


def test_the_encoder_stage_finds_more_of_what_people_called_toxic(toxicchat_split, encoder_model, tmp_path):
    data, _, test = toxicchat_split
    held = data.subset(test)
    texts = [data.texts[i] for i in test]
    stacked = evaluate(held, encoder_model.moderate(texts))["binary"]
    encoder_model.stage = None
    ngrams = evaluate(held, encoder_model.moderate(texts))["binary"]
    encoder_model.stage = "minilm"
    # Real Vicuna-demo prompts the model never saw; the benchmark's 5-fold figure is 0.76 against 0.70.
    assert stacked["f1"] >= 0.7 and stacked["f1"] > ngrams["f1"], (stacked, ngrams)
    assert stacked["auprc"] > ngrams["auprc"]
    # The cascade reads only the messages the n-grams are unsure of, yet the stored figures include that.
    encoder_model.encoded, encoder_model.repeats = 0, None
    encoder_model.moderate(texts)
    assert 0 < encoder_model.encoded < 0.6 * len(texts)
    stage = encoder_model.encoder_heads
    flagged = stage.meta["head_settings"][-1]
    assert flagged["held_out"]["f1"] >= 0.7 and (stage.floors[-1] <= stage.thresholds[-1])

    folder = encoder_model.save(tmp_path / "m")
    assert not LocalModerator.load(folder).encoding
    loaded = LocalModerator.load(folder, encoder=True)
    stages = json.loads((folder / "model.json").read_text())["encoder_stages"]
    assert loaded.stage == "minilm" and stages["minilm"]["encoder"] == "st:all-MiniLM-L6-v2"
    np.testing.assert_allclose(loaded.probabilities(texts[:200]), encoder_model.probabilities(texts[:200]),
                               atol=1e-4)
    backend = LocalBackend(str(folder), encoder="minilm")
    assert backend.name.endswith("+minilm")
    assert not LocalBackend(str(folder)).model.encoding  # opt-in: too slow for a default curate
    with pytest.raises(ConfigError, match="no static stage"):
        LocalBackend(str(folder), encoder="static")


def test_a_static_embedding_stage_is_a_cheaper_second_stage(toxicchat_split, tmp_path):
    """``--encoder-model static``: the stage over the static embedder chatsift ships, on by default."""
    data, train, test = toxicchat_split
    model = train_moderator(data.subset(train), TrainSettings(c_grid=(16.0,), folds=3, encoder=True,
                                                              encoder_models=("static",)))
    assert model.stage == "static"
    held = data.subset(test)
    texts = [data.texts[i] for i in test]
    stacked = evaluate(held, model.moderate(texts))["binary"]
    model.stage = None
    ngrams = evaluate(held, model.moderate(texts))["binary"]
    # On this split: AUPRC 0.758 -> 0.766, F1 0.637 -> 0.646 (MiniLM's stage: above 0.7); on the bundled
    # recipe it lifts ToxicChat's F1 0.302 -> 0.339 at about 17,000 messages/s (BENCHMARKS.md).
    assert stacked["auprc"] > ngrams["auprc"] and stacked["f1"] >= 0.62, (stacked, ngrams)
    folder = model.save(tmp_path / "m")
    assert json.loads((folder / "model.json").read_text())["encoder_stages"]["static"]["encoder"] == "static"
    loaded = LocalModerator.load(folder)  # the default: a static stage where the model has one
    model.stage = "static"
    assert loaded.stage == "static" and LocalBackend(str(folder)).name.endswith("+static")
    np.testing.assert_allclose(loaded.probabilities(texts[:200]), model.probabilities(texts[:200]), atol=1e-4)
    assert not LocalModerator.load(folder, encoder="none").encoding


def test_a_repeated_message_is_answered_from_memory_with_the_same_scores(toxicchat_split):
    """Chat logs repeat themselves: the second stage reads a text once per process."""
    data, _, test = toxicchat_split
    texts = [data.texts[i] for i in test[:300]]
    model = LocalModerator.load()
    assert model.stage == "static"
    first = model.probabilities(texts)
    read = model.encoded
    assert read > 0
    again = model.probabilities(list(reversed(texts)))
    assert model.encoded == read  # nothing encoded twice
    np.testing.assert_array_equal(again, first[::-1])
    model.repeats, model.encoded = None, 0
    np.testing.assert_allclose(model.probabilities(texts), first, atol=1e-6)
    assert model.encoded == read


@pytest.mark.parametrize(("available", "choice", "chosen"), [
    (["static", "minilm"], "auto", "static"), (["minilm"], "auto", None), ([], "auto", None),
    (["static", "minilm"], "minilm", "minilm"), (["static", "minilm"], "none", None),
    (["static", "minilm"], True, "minilm"), (["static"], "true", "static"), (["static", "minilm"], False, None),
])
def test_the_second_stage_a_setting_chooses(available, choice, chosen):
    from chatsift.moderation.settings import choose_stage

    assert choose_stage(available, choice) == chosen


def test_a_model_saved_with_one_stage_still_loads(tmp_path):
    """Models before v4 kept their one stage under ``encoder_stage``: it loads, named by its encoder,
    opt-in as it was for MiniLM."""
    folder = tmp_path / "v3"
    shutil.copytree(bundled_model_path(), folder)
    meta = json.loads((folder / "model.json").read_text())
    meta["encoder_stage"] = meta.pop("encoder_stages")["minilm"]
    meta["encoder_stage"].pop("file")
    (folder / "static_heads.npz").unlink()
    (folder / "model.json").write_text(json.dumps(meta))
    assert LocalModerator.load(folder).stage is None
    old = LocalModerator.load(folder, encoder=True)
    assert list(old.stages) == ["minilm"] and old.stage == "minilm"
    assert old.encoder_heads.thresholds.shape == (len(old.trained),)


def test_each_stage_has_its_own_file_in_the_model_folder():
    from chatsift.moderation.encoder_heads import stage_file

    files = [stage_file(e) for e in ("static", "st:all-MiniLM-L6-v2", "st:sentence-transformers/all-mpnet-base-v2")]
    assert files[:2] == ["static_heads.npz", "encoder_heads.npz"]  # the second as one-stage models named it
    assert len(set(files)) == 3 and all("/" not in f and ":" not in f for f in files)


def test_an_unknown_second_stage_is_a_config_error(tmp_path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(ConfigError, match=r"moderation\.encoder: expected auto, none, static, minilm"):
        run_curate([tmp_path / "in.jsonl"], tmp_path / "r", **{"moderation.encoder": "fast"})


def test_named_operating_points_trade_recall_for_precision(toxicchat_split, encoder_model):
    data, _, test = toxicchat_split
    texts = [data.texts[i] for i in test]
    flagged = {}
    balanced = encoder_model.active_thresholds().copy()
    for point in ("recall", "balanced", "precision"):
        encoder_model.use_point(point)
        flagged[point] = int(encoder_model.moderate(texts).flagged.sum())
        encoder_model.active_thresholds()[:] = balanced
    assert flagged["recall"] >= flagged["balanced"] >= flagged["precision"]
    assert flagged["recall"] > flagged["precision"]
    points = encoder_model.encoder_heads.meta["head_settings"][-1]["points"]
    assert points["precision"]["precision"] >= 0.85 and points["recall"]["recall"] >= 0.8
    assert points["precision"]["threshold"] >= points["balanced"]["threshold"] >= points["recall"]["threshold"]
    with pytest.raises(ConfigError, match="unknown operating point"):
        encoder_model.use_point("strict")


def test_a_release_names_its_operating_point_and_prints_its_figures(tmp_path):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}) + "\n" for text in (
        "you are an idiot and I hate you", "tell me a joke about cats", "I will find you and hurt you")))
    run_curate([tmp_path / "in.jsonl"], tmp_path / "r", **{"moderation.operating_point": "recall"})
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    (backend,) = manifest["statistics"]["moderation"]["backends"]
    assert backend.endswith("+static@recall")  # the bundled model's default second stage, at that point
    card = (tmp_path / "r" / "README.md").read_text()
    assert "`recall` operating point" in card
    assert "at the balanced point, not the one used" in card  # the held-apart figures were not measured here
    # the false flags the point costs on harmless real prompts are printed, as the stage in use stored them
    model = json.loads((bundled_model_path() / "model.json").read_text())
    static = stage_metas(model)["static"]["head_settings"]
    flagged_rate = next(h for h in static if h["head"] == "flagged")["points"]["recall"]["harmless_flag_rate"]
    assert f"flagged {flagged_rate:.1%}" in card
    trust = trust_figures({"backend": "local", "operating_point": "recall"})
    assert trust and trust["point"] == "recall" and trust["model"].endswith("+static")
    trained = {h["head"] for h in model["head_settings"] if h["trained"]}
    recall_point = {h["head"]: h["points"]["recall"] for h in static if h["head"] in trained}
    assert {h: m["recall"] for h, m in trust["heads"].items()} == {h: p["recall"] for h, p in recall_point.items()}
    with pytest.raises(ConfigError, match="operating_point"):
        run_curate([tmp_path / "in.jsonl"], tmp_path / "bad", **{"moderation.operating_point": "strict"})


def test_a_model_without_points_says_how_to_get_them(tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(bundled_model_path(), folder)
    meta = json.loads((folder / "model.json").read_text())
    for head in meta["head_settings"]:
        head.pop("points", None)
    meta.pop("encoder_stages", None)
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="retrain"):
        LocalBackend(str(folder), point="precision")
    assert LocalBackend(str(folder)).name.startswith("local:")  # the balanced thresholds still load


def test_train_command_with_the_encoder_stores_held_apart_figures_per_stage(tmp_path):
    """`moderator train --encoder --heldout`: both stages scored on data held apart, each release's card
    reads the figures of the stage it used."""
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    train = SHARED_DATA / "openai-moderation-api-release" / "samples-1680.jsonl.gz"
    held = str(SHARED_DATA / "toxicchat-train" / "toxic_chat_train.json")
    out = tmp_path / "m"
    result = CliRunner().invoke(cli, ["moderator", "train", str(train), "--out", str(out), "--folds", "3",
                                      "--c", "16", "--encoder", "--heldout", held])
    assert result.exit_code == 0, result.output
    assert "with the minilm stage" in result.output
    assert f"held apart, {held} (n-grams)" in result.output
    assert f"held apart, {held} (minilm stage)" in result.output
    meta = json.loads((out / "model.json").read_text())
    ngrams, stage = meta["heldout"][held]["binary"], meta["encoder_stages"]["minilm"]["heldout"][held]["binary"]
    assert ngrams["n"] == stage["n"] == 2801 and ngrams != stage
    for encoder, figures in ((False, ngrams), (True, stage)):
        trust = trust_figures({"backend": "local", "model": str(out), "encoder": encoder})
        assert trust["heldout"][held]["binary"] == figures
        assert trust["model"].endswith("+minilm") == encoder
    # the stage's encoder is chosen with the stage, never alone
    result = CliRunner().invoke(cli, ["moderator", "train", str(train), "--out", str(tmp_path / "s"),
                                      "--encoder-model", "static"])
    assert result.exit_code == 2 and "add --encoder" in result.output and not (tmp_path / "s").exists()
