"""Golden end-to-end run: the synthetic demo sample through the CLI, compared with tests/golden/.

The sample is deterministic and chatsift's own, so the expected summary can live in the repository.
After an intended change in behaviour, regenerate it with CHATSIFT_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import polars as pl
from click.testing import CliRunner
from conftest import assert_reconciles, read_release

from chatsift.cli.main import cli
from chatsift.demo.sample import write_sample

GOLDEN = Path(__file__).parent / "golden" / "demo_400.json"


def _rounded(value):
    """Scores to 6 significant digits: numpy sums them in a different order on a CPU with AVX-512, which
    moves the last bits (the digest of the same release differed between two CI machines)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _summary(release: Path) -> dict:
    manifest = json.loads((release / "manifest.json").read_text())
    table = read_release(release).sort_by("conversation_id")
    rows = _rounded(table.to_pylist())
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
    stats = {k: v for k, v in manifest["statistics"].items() if k not in {"top_models", "top_languages"}}
    return {"counts": manifest["counts"], "statistics": stats,
            "inputs": [{"file": i["file"], "format": i["format"], "counts": i["counts"]} for i in manifest["inputs"]],
            "columns": manifest["schema"]["columns"], "release_sha256": digest}


def test_demo_sample_matches_the_golden_summary(tmp_path):
    sample = write_sample(tmp_path / "input", n=400)
    result = CliRunner().invoke(cli, ["curate", str(sample.folder), "--out", str(tmp_path / "release"),
                                      "--schema", "full", "--blocked-words", str(sample.blocked_words),
                                      "--set", "user_id.secret=golden", "--no-progress", "--workers", "2",
                                      "--set", "engine.chunk_bytes=50000"])
    assert result.exit_code == 0, result.output
    summary = _summary(tmp_path / "release")
    assert_reconciles(json.loads((tmp_path / "release" / "manifest.json").read_text()))
    if os.environ.get("CHATSIFT_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert summary["counts"] == expected["counts"]
    assert summary["inputs"] == expected["inputs"]
    assert summary["statistics"] == expected["statistics"]
    assert summary["columns"] == expected["columns"]
    assert summary["release_sha256"] == expected["release_sha256"]
    # The full schema, dotted names included, loads in DuckDB and polars.
    glob = str(tmp_path / "release" / "data" / "*.parquet")
    n = expected["counts"]["released"]
    query = f"select count(\"dedup.exact_size\") from read_parquet('{glob}')"
    assert duckdb.connect().execute(query).fetchall()[0][0] == n
    assert pl.read_parquet(glob).height == n
