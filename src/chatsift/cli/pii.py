"""``chatsift pii train-names``: train the person-name tagger the PII stage uses."""

from __future__ import annotations

from pathlib import Path

import click

from chatsift.errors import ConfigError


@click.group("pii")
def pii_group() -> None:
    """The PII redactor's learned parts."""


@click.command("train-names")
@click.argument("gold", nargs=-1)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write the model into.")
@click.option("--dev", "dev", multiple=True, help="Gold file to score the model on (never trained on); repeatable.")
@click.option("--shared-data", type=click.Path(exists=True, file_okay=False),
              help="Train the default model: every source of SHARED/ner-person-train plus WNUT-17 train, scored "
                   "on SHARED/ner-person-dev (the command that made the bundled model).")
@click.option("--c1", default=0.5, show_default=True, help="L1 penalty of the CRF.")
@click.option("--c2", default=0.01, show_default=True, help="L2 penalty of the CRF.")
@click.option("--iterations", default=150, show_default=True, help="L-BFGS iterations.")
@click.option("--name", default="names", show_default=True, help="The model's name in its metadata.")
@click.option("--limit", type=int, help="Train on this many sentences drawn at random (a quick model).")
@click.option("--seed", default=0, show_default=True)
def train_names_command(gold, out, dev, shared_data, c1, c2, iterations, name, limit, seed) -> None:
    """Train a person-name tagger from GOLD files (PATH or LANG:PATH).

    Formats: UNER/CoNLL-U IOB2 (index, token, tag), token-tag columns (CoNLL, BIO, inside-only or bare
    labels, tab or spaces), GermEval TSV, KLUE character TSV, Stockmark JSON, factRuEval folders. PER
    (PS, Person, 人名, LER's RR and AN) is the positive class; every other entity type is an explicit
    negative. The language comes from the file's name (uner/UNER_Danish-DDT, btc, klue, ...) or LANG:.
    """
    from chatsift.privacy.ner_gold import GoldFormatError
    from chatsift.privacy.train_names import default_specs, train

    licences = None
    specs, dev_specs = list(gold), list(dev)
    if shared_data:
        default_train, default_dev, licences = default_specs(Path(shared_data))
        # files named beside --shared-data are trained on too: the model's metadata lists them (no licence known)
        licences = licences + [{"source": spec} for spec in specs]
        specs, dev_specs = specs + default_train, dev_specs + default_dev
    if not specs:
        raise click.UsageError("name GOLD files to train on, or --shared-data for the default model")
    try:
        model = train(specs, dev_specs, c1=c1, c2=c2, max_iterations=iterations, name=name, licences=licences,
                      limit=limit, seed=seed, log=click.echo)
    except GoldFormatError as exc:
        raise ConfigError(f"cannot read gold data: {exc}") from None
    model.save(out)
    click.echo(f"wrote {out} ({model.meta['tokens']:,} training tokens, {model.meta['total_seconds']} s)")


pii_group.add_command(train_names_command)
