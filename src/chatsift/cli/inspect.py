"""``chatsift inspect``: what is in a release, checked against its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pyarrow.parquet as pq

from chatsift.errors import ReleaseError

SHOWN_INPUTS = 20  # more input files than this are summarised per format


def inspect_release(path: Path) -> dict:
    """The manifest's summary plus what the shards on disk hold (rows, bytes, schema)."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise ReleaseError(f"{path} has no manifest.json: not a finished chatsift release")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    shards = sorted((path / "data").glob("*.parquet"))
    rows = sum(pq.ParquetFile(s).metadata.num_rows for s in shards)
    schema = pq.read_schema(shards[0]) if shards else None
    problems = []
    if rows != manifest["counts"]["released"]:
        problems.append(f"shards hold {rows} rows but the manifest says {manifest['counts']['released']} released")
    return {
        "name": manifest["name"],
        "created": manifest["created"],
        "chatsift_version": manifest["chatsift_version"],
        "counts": manifest["counts"],
        "statistics": {k: v for k, v in manifest["statistics"].items() if not k.endswith("_count")},
        "schema": {"mode": manifest["schema"]["mode"], "columns": schema.names if schema else []},
        "shards": {"files": len(shards), "rows": rows, "bytes": sum(s.stat().st_size for s in shards)},
        "inputs": [{"file": i["file"], "format": i["format"], "input": i["counts"]["input"],
                    "released": i["counts"]["released"]} for i in manifest["inputs"]],
        "derived": {name: {"written": d["written"], "files": len(d["files"])}
                    for name, d in (manifest.get("derived") or {}).items()},
        "problems": problems,
    }


@click.command("inspect")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect_command(release: str, as_json: bool) -> None:
    """Summarise RELEASE: counts, Table-1 basics, schema, shards and inputs."""
    info = inspect_release(Path(release))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    c, s = info["counts"], info["statistics"]
    click.echo(f"{info['name']}  (chatsift {info['chatsift_version']}, {info['created']})")
    click.echo(f"input {c['input']:,} = released {c['released']:,} + excluded {sum(c['excluded'].values()):,} "
               f"+ quarantined {sum(c['quarantined'].values()):,}")
    for title, d in (("excluded", c["excluded"]), ("quarantined", c["quarantined"])):
        for reason, n in sorted(d.items(), key=lambda x: -x[1]):
            click.echo(f"  {title:<11} {reason:<24} {n:>10,}")
    users = f"{s['users']:,}" if s["users"] is not None else "n/a"
    click.echo(f"conversations {s['conversations']:,} | models {s['models']} | users {users} | "
               f"languages {s['languages']} | mean turns {s['mean_turns']:.2f}")
    click.echo("top models: " + ", ".join(f"{m} ({n:,})" for m, n in s["top_models"][:5]))
    click.echo("top languages: " + ", ".join(f"{m} ({n:,})" for m, n in s["top_languages"][:5]))
    sh = info["shards"]
    click.echo(f"schema ({info['schema']['mode']}): {', '.join(info['schema']['columns'])}")
    click.echo(f"shards: {sh['files']} file(s), {sh['rows']:,} rows, {sh['bytes'] / 1e6:,.1f} MB")
    inputs = info["inputs"]
    if len(inputs) <= SHOWN_INPUTS:
        for i in inputs:
            click.echo(f"  {i['file']} [{i['format']}]: {i['released']:,} of {i['input']:,} released")
    else:  # a folder of many small files: one line per format, and the files that lost the most
        by_format: dict[str, list[int]] = {}
        for i in inputs:
            totals = by_format.setdefault(i["format"] or "format not detected", [0, 0, 0])
            totals[0] += 1
            totals[1] += i["released"]
            totals[2] += i["input"]
        click.echo(f"inputs: {len(inputs):,} files (--json lists each)")
        for fmt, (files, released, total) in sorted(by_format.items(), key=lambda x: -x[1][0]):
            click.echo(f"  {files:,} file{'s' if files > 1 else ''} [{fmt}]: {released:,} of {total:,} released")
        worst = sorted((i for i in inputs if i["released"] < i["input"]), key=lambda i: i["released"] - i["input"])
        for i in worst[:5]:
            click.echo(f"  most not released: {i['file']}: {i['released']:,} of {i['input']:,}")
    for name, d in info["derived"].items():
        click.echo(f"written later: {name}/ ({d['files']} files, {d['written']}; listed in manifest.json)")
    for p in info["problems"]:
        click.echo(f"PROBLEM: {p}", err=True)
    if info["problems"]:
        raise SystemExit(1)
