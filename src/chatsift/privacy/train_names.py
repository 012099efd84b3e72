"""``chatsift pii train-names``: train the person-name tagger from gold NER files, score it on dev files.

The shipped model is trained by ``train_default`` from ``../shared/data/ner-person-train`` (every source
there allows shipping a trained model) plus the WNUT-17 *train* split; it is scored on the dev splits of
``ner-person-dev`` (UNER, WNUT-17, GermEval 2014), which it never sees.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from chatsift.privacy.name_features import Knowledge
from chatsift.privacy.name_model import NameModel, evaluate, training_sequences
from chatsift.privacy.ner_gold import GoldSentence, read_gold

# (path under the shared data folder, licence, attribution) of every default training source.
TRAIN_SOURCES = (
    ("ner-person-train/uner/UNER_Portuguese-Bosque/pt_bosque-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1 (Mayhew et al., NAACL 2024), UD Portuguese-Bosque"),
    ("ner-person-train/uner/UNER_Chinese-GSDSIMP/zh_gsdsimp-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Chinese-GSDSIMP"),
    ("ner-person-train/uner/UNER_Chinese-GSD/zh_gsd-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Chinese-GSD"),
    ("ner-person-train/uner/UNER_Croatian-SET/hr_set-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Croatian-SET"),
    ("ner-person-train/uner/UNER_Serbian-SET/sr_set-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Serbian-SET"),
    ("ner-person-train/uner/UNER_Danish-DDT/da_ddt-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Danish-DDT; DaN+ (Plank et al., COLING 2020)"),
    ("ner-person-train/uner/UNER_Slovak-SNK/sk_snk-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Slovak-SNK"),
    ("ner-person-train/uner/UNER_Swedish-Talbanken/sv_talbanken-ud-train.iob2", "CC BY-SA 4.0",
     "UNER v1, UD Swedish-Talbanken"),
    ("ner-person-train/btc/raw/a.conll", "CC BY 4.0",
     "Broad Twitter Corpus (Derczynski, Bontcheva and Roberts, COLING 2016)"),
    ("ner-person-train/btc/raw/b.conll", "CC BY 4.0",
     "Broad Twitter Corpus"),
    ("ner-person-train/btc/raw/e.conll", "CC BY 4.0",
     "Broad Twitter Corpus"),
    ("ner-person-train/btc/raw/g.conll", "CC BY 4.0",
     "Broad Twitter Corpus"),
    ("ner-person-train/btc/raw/h.conll", "CC BY 4.0",
     "Broad Twitter Corpus"),
    ("ner-person-train/wikigold/raw/wikigold.conll.txt", "CC BY 4.0",
     "wikigold (Balasuriya et al., 2009; Nothman et al., 2013)"),
    ("ner-person-train/europeana/raw/enp_DE.lft.bio", "CC0",
     "Europeana Newspapers NER (Neudecker, LREC 2016)"),
    ("ner-person-train/europeana/raw/enp_DE.onb.bio", "CC0",
     "Europeana Newspapers NER"),
    ("ner-person-train/europeana/raw/enp_DE.sbb.bio", "CC0",
     "Europeana Newspapers NER"),
    ("ner-person-train/europeana/raw/enp_FR.bnf.bio", "CC0",
     "Europeana Newspapers NER"),
    ("ner-person-train/europeana/raw/enp_NL.kb.bio", "CC0",
     "Europeana Newspapers NER"),
    ("ner-person-train/stockmark-ja/raw/ner.json", "CC BY-SA 3.0",
     "Stockmark Wikipedia NER (Omi, NLP2021; Stockmark Inc.)"),
    ("ner-person-train/klue-ner/raw/klue-ner-v1.1_dev.tsv", "CC BY-SA 4.0",
     "KLUE-NER (Park et al., NeurIPS 2021 Datasets and Benchmarks)"),
    ("ner-person-train/ler/raw/ler_dev.conll", "CC BY 4.0",
     "German LER (Leitner, Rehm and Moreno-Schneider, LREC 2020)"),
    ("ner-person-train/swedish-ner-corpus/raw/train_corpus.txt", "CC BY 4.0",
     "Swedish NER corpus (Andreas Klintberg; Språkbanken, Webbnyheter 2012)"),
    ("ner-person-train/factrueval2016/raw/devset", "MIT",
     "factRuEval-2016 (Starostin et al., Dialogue 2016), (c) 2015 dialogue-evaluation"),
    ("ner-person-dev/wnut17/raw/wnut17train.conll", "CC BY 4.0",
     "WNUT-17 train split (Derczynski et al., W-NUT 2017)"),
)
DEV_SOURCES = (
    "ner-person-dev/uner/UNER_English-EWT/en_ewt-ud-dev.iob2",
    "ner-person-dev/uner/UNER_Portuguese-Bosque/pt_bosque-ud-dev.iob2",
    "ner-person-dev/uner/UNER_Chinese-GSDSIMP/zh_gsdsimp-ud-dev.iob2",
    "ner-person-dev/uner/UNER_Danish-DDT/da_ddt-ud-dev.iob2",
    "ner-person-dev/uner/UNER_Slovak-SNK/sk_snk-ud-dev.iob2",
    "ner-person-dev/uner/UNER_Croatian-SET/hr_set-ud-dev.iob2",
    "ner-person-dev/wnut17/raw/emerging.dev.conll",
    "ner-person-dev/germeval14/raw/NER-de-dev.tsv",
)


def parse_source(spec: str) -> tuple[str | None, Path]:
    """``PATH`` or ``LANG:PATH`` (a two- or three-letter code before the colon)."""
    head, sep, rest = spec.partition(":")
    if sep and 2 <= len(head) <= 3 and head.isalpha() and head.islower():
        return head, Path(rest)
    return None, Path(spec)


def read_sources(specs: Iterable[str]) -> list[GoldSentence]:
    sentences: list[GoldSentence] = []
    for spec in specs:
        language, path = parse_source(spec)
        sentences.extend(read_gold(path, language))
    return sentences


def score_by_source(model: NameModel, sentences: list[GoldSentence]) -> dict[str, dict]:
    groups: dict[str, list[GoldSentence]] = defaultdict(list)
    for s in sentences:
        groups[s.source].append(s)
    return {source: evaluate(model, group) for source, group in sorted(groups.items())}


def train(train_specs: list[str], dev_specs: list[str] | None = None, c1: float = 0.5, c2: float = 0.01,
          max_iterations: int = 150, name: str = "names", licences: list[dict] | None = None,
          limit: int | None = None, seed: int = 0, log=print) -> NameModel:
    """Train on ``train_specs``; score on ``dev_specs`` (never trained on) into the model's metadata."""
    started = time.perf_counter()
    sentences = read_sources(train_specs)
    if limit is not None and limit < len(sentences):
        sentences = random.Random(seed).sample(sentences, limit)
    log(f"read {len(sentences):,} training sentences from {len(train_specs)} sources")
    data = training_sequences(sentences, Knowledge())
    log(f"{data.tokens:,} candidate tokens in {len(data.sequences):,} sentences; {data.candidate_share:.1%} of "
        "person tokens are candidates")
    sources = sorted({s.source for s in sentences})
    meta = {"name": name, "trained_on": licences or [{"source": s} for s in sources],
            "languages": sorted({s.language for s in sentences}), "sentences": len(sentences)}
    model = NameModel.train(data, c1=c1, c2=c2, max_iterations=max_iterations, meta=meta)
    log(f"trained in {model.meta['train_seconds']} s")
    if dev_specs:
        dev = read_sources(dev_specs)
        scores = score_by_source(model, dev)
        model.meta["dev"] = {k: {m: round(v, 4) if isinstance(v, float) else v for m, v in s.items()}
                             for k, s in scores.items()}
        for source, s in scores.items():
            log(f"dev {source}: recall {s['recall']:.3f}, precision {s['precision']:.3f} "
                f"({s['persons']} persons, {s['touch_other']} names on other entities)")
    model.meta["total_seconds"] = round(time.perf_counter() - started, 1)
    return model


def default_specs(data_root: Path) -> tuple[list[str], list[str], list[dict]]:
    train_specs = [str(data_root / p) for p, _, _ in TRAIN_SOURCES]
    licences = [{"source": p, "licence": lic, "credit": credit} for p, lic, credit in TRAIN_SOURCES]
    dev_specs = [str(data_root / p) for p in DEV_SOURCES]
    return train_specs, dev_specs, licences
