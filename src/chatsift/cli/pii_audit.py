"""``chatsift pii-audit``: residual PII candidates in a finished release, before it is published."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chatsift.errors import ReleaseError


@click.command("pii-audit")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--examples", default=5, show_default=True, help="Masked excerpts shown per kind.")
@click.option("--fail-above", type=float, default=None,
              help="Exit 1 when residual_* candidates exceed this many per 10,000 messages.")
def pii_audit_command(release: str, as_json: bool, examples: int, fail_above: float | None) -> None:
    """Scan RELEASE at high recall and report PII candidates by kind, with masked excerpts.

    Messages, system prompts, the metadata strings (ids, model, language, source file) and the
    quarantine's excerpts are all scanned; the JSON report breaks the counts down by location.

    residual_* are what chatsift's own detectors still find: few after a chatsift release, but not
    always none (the audit reads each message whole after redaction, so a name the first pass judged
    in another context can show up), and many when a kind was turned off. The *_like kinds come from
    loose detectors that find more and are wrong more often, for a person to review.
    """
    from chatsift.privacy.audit import Auditor

    path = Path(release)
    if not (path / "data").is_dir():
        raise ReleaseError(f"{path} has no data/ folder: not a release")
    report = Auditor(examples_per_kind=examples).audit(path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"{report.conversations:,} conversations, {report.messages:,} messages, "
                   f"{report.other_texts:,} other texts (system prompts, metadata, quarantine)")
        rates = report.per_10k()
        for kind, n in sorted(report.counts.items(), key=lambda x: (not x[0].startswith("residual"), -x[1])):
            click.echo(f"  {kind:<24} {n:>9,}  {rates[kind]:>9.2f} per 10k messages")
            for ex in report.examples.get(kind, []):
                click.echo(f"      {ex}")
        if not report.counts:
            click.echo("  no candidates found")
        elsewhere = {loc: sum(c.values()) for loc, c in report.by_location.items() if loc != "messages"}
        if any(elsewhere.values()):
            click.echo("  outside the messages: " + ", ".join(f"{loc} {n:,}" for loc, n in sorted(elsewhere.items())))
    residual = sum(v for k, v in report.per_10k().items() if k.startswith("residual"))
    if fail_above is not None and residual > fail_above:
        raise SystemExit(1)
