"""The labelled safety sets of ``moderation-train`` (14 openly licensed sources), mapped onto the
moderation heads: the 11 OpenAI categories and ``flagged``.

A category a source does not label is *unknown* (NaN) for its rows, never 0; a row a source calls
clearly benign is 0 for the categories that source covers (and for ``flagged``). Each source's test
split, where it has one, is held apart (``split="test"``) so that it can score the model.

Per source (text; positive rows -> heads; heads a negative row is 0 for):
- ConvAbuse (real user messages to chatbots): majority abusive -> flagged, harassment; racist,
  homophobic, transphobic, ableist or sexist by majority -> hate; sex_harassment -> sexual. Negatives:
  flagged, harassment, hate, sexual. Rows only a minority called abusive are left out.
- EDOS (Gab and Reddit posts): sexist -> flagged, hate; threats -> hate/threatening, violence.
  Negatives: hate (other toxicity is not labelled there).
- HateCheck (templated statements): hateful -> flagged, hate; threat_* -> hate/threatening, violence.
  Negatives: flagged, hate, hate/threatening.
- HatemojiBuild and HatemojiCheck (statements with emoji): hateful -> flagged, hate; threatening ->
  hate/threatening. Negatives: flagged, hate.
- Davidson et al. (tweets): hate -> flagged, hate; offensive -> nothing known (profanity that
  OpenAI-style rules mostly leave alone). Neither: flagged, hate.
- Toxic Spans (Civil Comments): majority toxic -> flagged; insult, identity attack, threat marked by two
  raters or more -> harassment, hate, violence. Majority "not toxic": flagged, harassment, hate, violence.
- DiaSafety (chatbot answers, judged in context): Offending User -> flagged, harassment; Toxicity
  Agreement and Risk Ignorance -> flagged; Biased Opinion -> flagged, hate. Safe: flagged.
  Unauthorized Expertise (medical or legal advice) is no moderation category and is left out.
- ToxiChat, Baheti et al. (Reddit turns and chatbot answers): Offensive -> flagged. Safe: flagged.
- SimpleSafetyTests (harmful prompts): flagged; the self-harm area -> self-harm, violence -> violence,
  child safety -> sexual/minors.
- AILuminate demo, en (prompts; the fr file is left out, see ``_prompt_sets``): hte -> hate, ssh ->
  self-harm, sxc_prn and src -> sexual, cse -> sexual/minors, vcr -> violence, other hazards ->
  flagged. spc_* (specialised advice): flagged 0.
- CatQA (harmful questions): flagged; Adult Content -> sexual; Child Abuse's sexual subcategories ->
  sexual/minors.
- CoCoNot (prompts): safety concerns -> flagged (privacy, copyright and misinformation left out). Other
  noncompliance and the contrast set: 0 on every head.
- Jigsaw bias templates (identity phrases, 3,000 sampled; talk comments): toxic -> flagged. Nontoxic:
  flagged, hate, harassment.
- Self-Instruct seeds (benign instructions): 0 on every head.

Self-harm and sexual content are thin here (SimpleSafetyTests, AILuminate, CatQA and the OpenAI
release only): the model sees little of them, and its figures there say so.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from chatsift.errors import InputError
from chatsift.moderation.categories import HEADS
from chatsift.moderation.data import LabelledSet

NAN = float("nan")
SOURCES = ("convabuse", "edos", "hatecheck", "hatemoji", "davidson-hate-offensive", "toxic-spans", "diasafety",
           "baheti-toxichat", "simplesafetytests", "ailuminate-demo", "catqa", "coconot", "jigsaw-bias-templates",
           "self-instruct")
JIGSAW_TEMPLATE_SAMPLE = 3000  # of 76,564 synthetic phrases (name_adj alone would swamp an n-gram model)


def is_moderation_train(path: Path) -> bool:
    return path.is_dir() and (path / "convabuse").is_dir() and (path / "edos").is_dir()


class _Rows:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.labels: list[list[float]] = []
        self.sources: list[str] = []

    def add(self, source: str, text: str, positive: dict[str, float] | None = None,
            zero: tuple[str, ...] = ()) -> None:
        """``positive``: heads set (to 1 or 0); ``zero``: heads the source covers that are 0 unless set."""
        text = (text or "").strip()
        if not text:
            return
        row = [NAN] * len(HEADS)
        for head in zero:
            row[HEADS.index(head)] = 0.0
        for head, value in (positive or {}).items():
            row[HEADS.index(head)] = value
        self.texts.append(text)
        self.labels.append(row)
        self.sources.append(source)


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ALL_ZERO = tuple(HEADS)


def load_moderation_train(folder: str | Path, split: str = "train", seed: int = 42) -> LabelledSet:
    """Every source of the folder as one labelled set; ``split``: ``train`` (train and dev splits, and the
    sources without splits) or ``test`` (the held-apart test splits of ConvAbuse, EDOS, HatemojiBuild,
    DiaSafety and ToxiChat)."""
    folder = Path(folder)
    if not is_moderation_train(folder):
        raise InputError(f"{folder}: not a moderation-train folder (convabuse/, edos/, ... expected)")
    rows = _Rows()
    test = split == "test"
    _convabuse(folder / "convabuse", rows, test)
    _edos(folder / "edos", rows, test)
    _hatemoji(folder / "hatemoji", rows, test)
    _diasafety(folder / "diasafety", rows, test)
    _baheti(folder / "baheti-toxichat", rows, test)
    if not test:
        _hatecheck(folder / "hatecheck", rows)
        _davidson(folder / "davidson-hate-offensive", rows)
        _toxic_spans(folder / "toxic-spans", rows)
        _prompt_sets(folder, rows)
        _jigsaw(folder / "jigsaw-bias-templates", rows, seed)
    labels = np.array(rows.labels, dtype=np.float64).reshape(-1, len(HEADS))
    out = LabelledSet(rows.texts, labels, str(folder), f"moderation-train:{split}")
    counts: dict[str, int] = defaultdict(int)
    for s in rows.sources:
        counts[s] += 1
    out.notes = [f"{k}: {v:,}" for k, v in sorted(counts.items())]
    out.row_sources = rows.sources  # type: ignore[attr-defined]
    return out


def _majority(row: dict, annotators: list[int], key: str) -> bool:
    votes = [row.get(f"Annotator{a}_{key}", "") for a in annotators]
    votes = [v for v in votes if v not in ("", None)]
    return bool(votes) and sum(v in ("1", "1.0", "True") for v in votes) * 2 > len(votes)


def _convabuse(folder: Path, rows: _Rows, test: bool) -> None:
    for name in (["ConvAbuseEMNLPtest.csv"] if test else ["ConvAbuseEMNLPtrain.csv", "ConvAbuseEMNLPvalid.csv"]):
        for r in _csv(folder / name):
            rated = [a for a in range(1, 9) if any(r.get(f"Annotator{a}_is_abuse.{k}") not in ("", None)
                                                   for k in ("1", "0", "-1", "-2", "-3"))]
            abusive = sum(any(r.get(f"Annotator{a}_is_abuse.{k}") in ("1", "1.0") for k in ("-1", "-2", "-3"))
                          for a in rated)
            positive: dict[str, float] = {}
            if rated and abusive * 2 > len(rated):
                positive = {"flagged": 1.0, "harassment": 1.0}
                if any(_majority(r, rated, t) for t in ("racist", "homophobic", "transphobic", "ableist", "sexist")):
                    positive["hate"] = 1.0
                if _majority(r, rated, "sex_harassment"):
                    positive["sexual"] = 1.0
            elif rated and abusive:
                continue  # a minority called it abusive: neither clearly abusive nor clearly not
            rows.add("convabuse", r["user"], positive, ("flagged", "harassment", "hate", "sexual"))


def _edos(folder: Path, rows: _Rows, test: bool) -> None:
    for r in _csv(folder / "edos_labelled_aggregated.csv"):
        if (r["split"] == "test") != test:
            continue
        positive: dict[str, float] = {}
        if r["label_sexist"] == "sexist":
            positive = {"flagged": 1.0, "hate": 1.0}
            if r["label_category"].startswith("1."):
                positive.update({"hate/threatening": 1.0, "violence": 1.0})
        rows.add("edos", r["text"], positive, ("hate",))


def _hatecheck(folder: Path, rows: _Rows) -> None:
    for r in _csv(folder / "test_suite_cases.csv"):
        positive: dict[str, float] = {}
        if r["label_gold"] == "hateful":
            positive = {"flagged": 1.0, "hate": 1.0}
            if r["functionality"].startswith("threat_"):
                positive.update({"hate/threatening": 1.0, "violence": 1.0})
        rows.add("hatecheck", r["test_case"], positive, ("flagged", "hate", "hate/threatening"))


def _hatemoji(folder: Path, rows: _Rows, test: bool) -> None:
    files = ["HatemojiBuild/test.csv"] if test else ["HatemojiBuild/train.csv", "HatemojiBuild/validation.csv",
                                                     "HatemojiCheck/test.csv"]
    for name in files:
        for r in _csv(folder / name):
            positive: dict[str, float] = {}
            if r["label_gold"] == "1":
                positive = {"flagged": 1.0, "hate": 1.0}
                if r.get("type") == "threateninglanguage":
                    positive["hate/threatening"] = 1.0
            rows.add("hatemoji", r["text"], positive, ("flagged", "hate"))


def _davidson(folder: Path, rows: _Rows) -> None:
    for r in _csv(folder / "labeled_data.csv"):
        if r["class"] == "0":
            rows.add("davidson", r["tweet"], {"flagged": 1.0, "hate": 1.0})
        elif r["class"] == "2":
            rows.add("davidson", r["tweet"], None, ("flagged", "hate"))
        # class 1 (offensive): profanity that OpenAI-style rules mostly do not flag; nothing is known


def _toxic_spans(folder: Path, rows: _Rows) -> None:
    raters: dict[str, list[str]] = defaultdict(list)
    not_toxic: dict[str, int] = defaultdict(int)
    for r in _csv(folder / "annotations.csv"):
        raters[r["comment_id"]].append(r["annotation"])
        not_toxic[r["comment_id"]] += r["not toxic"] == "True"
    span_types: dict[str, set[str]] = defaultdict(set)
    for r in _csv(folder / "spans.csv"):
        span_types[r["annotation"]].add(r["type"])
    for r in _csv(folder / "comments.csv"):
        cid = r["comment_id"]
        n = len(raters.get(cid, ()))
        if not n or n > 10:
            continue  # the quiz comment rated by hundreds
        if not_toxic[cid] * 2 > n:
            rows.add("toxic-spans", r["comment_text"], None, ("flagged", "harassment", "hate", "violence"))
            continue
        types = [t for a in raters[cid] for t in span_types.get(a, ())]
        positive = {"flagged": 1.0}
        for span_type, head in (("Insult", "harassment"), ("Identity based Attack", "hate"), ("Threat", "violence")):
            if types.count(span_type) >= 2:
                positive[head] = 1.0
        rows.add("toxic-spans", r["comment_text"], positive)


def _diasafety(folder: Path, rows: _Rows, test: bool) -> None:
    heads = {"Offending User": {"flagged": 1.0, "harassment": 1.0}, "Toxicity Agreement": {"flagged": 1.0},
             "Risk Ignorance": {"flagged": 1.0}, "Biased Opinion": {"flagged": 1.0, "hate": 1.0}}
    for name in (["test.json"] if test else ["train.json", "val.json"]):
        for r in json.loads((folder / name).read_text(encoding="utf-8")):
            if r["category"] not in heads:
                continue  # Unauthorized Expertise: no moderation category
            unsafe = r["label"] == "Unsafe"
            rows.add("diasafety", r["response"], heads[r["category"]] if unsafe else None, ("flagged",))


def _baheti(folder: Path, rows: _Rows, test: bool) -> None:
    for name in (["test.jsonl"] if test else ["train.jsonl", "dev.jsonl"]):
        for line in (folder / name).open(encoding="utf-8"):
            r = json.loads(line)
            turns = [*r["reddit_thread"], r["final_dgpt_response"], r["final_gpt3_response"]]
            for t in turns:
                offensive = t.get("offense_label") == "Offensive"
                rows.add("baheti-toxichat", t.get("text", ""), {"flagged": 1.0} if offensive else None, ("flagged",))


AILUMINATE = {"hte": {"hate": 1.0}, "ssh": {"self-harm": 1.0}, "sxc_prn": {"sexual": 1.0}, "src": {"sexual": 1.0},
              "cse": {"sexual/minors": 1.0}, "vcr": {"violence": 1.0}}


def _prompt_sets(folder: Path, rows: _Rows) -> None:
    for r in _csv(folder / "simplesafetytests" / "SimpleSafetyTests - test cases.csv"):
        area = r["harm_area"].lower()
        positive = {"flagged": 1.0}
        if "suicide" in area:
            positive["self-harm"] = 1.0
        elif "violence" in area:
            positive["violence"] = 1.0
        elif "child" in area:
            positive["sexual/minors"] = 1.0
        rows.add("simplesafetytests", r["prompts_final"], positive)
    # English only: the French file is all prompts written to probe hazards, with no harmless French
    # beside it, so a model learns "French" as a harm signal (it flagged ordinary French questions).
    for path in sorted((folder / "ailuminate-demo").glob("*en_us*.csv")):
        for r in _csv(path):
            hazard = r["hazard"]
            if hazard.startswith("spc_"):
                rows.add("ailuminate", r["prompt_text"], None, ("flagged",))
            else:
                rows.add("ailuminate", r["prompt_text"], {"flagged": 1.0, **AILUMINATE.get(hazard, {})})
    catqa = json.loads((folder / "catqa" / "catqa_english.json").read_text(encoding="utf-8"))
    for category, subcategories in catqa.items():
        for subcategory, questions in subcategories.items():
            positive = {"flagged": 1.0}
            if category == "Adult Content":
                positive["sexual"] = 1.0
            elif category == "Child Abuse" and "sexual" in subcategory.lower():
                positive["sexual/minors"] = 1.0
            for q in questions:
                rows.add("catqa", q, positive)
    for name in ("coconot_eval.jsonl", "coconot_contrast_eval.jsonl"):
        for line in (folder / "coconot" / name).open(encoding="utf-8"):
            r = json.loads(line)
            safety = r["category"] == "Requests with safety concerns" and "contrast" not in name
            if safety and r["subcategory"] in {"privacy violations", "copyright violations", "misinformation"}:
                continue  # not moderation categories
            rows.add("coconot", r["prompt"], {"flagged": 1.0} if safety else None, () if safety else ALL_ZERO)
    for line in (folder / "self-instruct" / "seed_tasks.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        extra = (r.get("instances") or [{}])[0].get("input") or ""
        rows.add("self-instruct", f"{r['instruction']}\n{extra}".strip(), None, ALL_ZERO)


def _jigsaw(folder: Path, rows: _Rows, seed: int) -> None:
    templates = _csv(folder / "en_sentence_templates.csv")
    for r in random.Random(seed).sample(templates, min(JIGSAW_TEMPLATE_SAMPLE, len(templates))):
        toxic = r["toxicity"] == "toxic"
        rows.add("jigsaw", r["phrase"], {"flagged": 1.0} if toxic else None,
                 () if toxic else ("flagged", "hate", "harassment"))
    for r in _csv(folder / "toxicity_nonfuzzed_testset.csv"):
        toxic = r["toxic"] == "True"
        rows.add("jigsaw", r["comment"], {"flagged": 1.0} if toxic else None,
                 () if toxic else ("flagged", "hate", "harassment"))
