"""FastChat's own ratings next to chatsift's, on one chat store exported with ``chatsift export``.

FastChat is not a dependency of chatsift: give the Python of an environment where ``fschat`` is
installed (``pip install fschat==0.2.36`` and what its monitor scripts import: pandas, scikit-learn,
plotly, pytz, tqdm, polyglot, pycld2, six, pyicu, psutil, torch, transformers, accelerate). Its
``clean_battle_data`` reads the exported logs unchanged; its ``compute_elo_mle_with_tie`` (the
Bradley-Terry of its leaderboard) and ``compute_elo`` (online Elo) rate the anonymous battles. chatsift's
figures come from ``chatsift leaderboard --votes`` on the same files.

    python benchmarks/bench_fastchat_ratings.py STORE_URL --fastchat-python /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

FASTCHAT = """
import glob, json, sys
import pandas as pd
from fastchat.serve.monitor.clean_battle_data import clean_battle_data
from fastchat.serve.monitor.elo_analysis import compute_elo, compute_elo_mle_with_tie

battles = pd.DataFrame(clean_battle_data(sorted(glob.glob(sys.argv[1] + "/*-conv.json")), []))
battles = battles[battles["anony"]]
print(json.dumps({"battles": len(battles),
                  "bt": {m: float(r) for m, r in compute_elo_mle_with_tie(battles).items()},
                  "online_elo": {m: float(r) for m, r in compute_elo(battles).items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a chat store URL (sqlite:///chat.db, postgresql://...)")
    parser.add_argument("--fastchat-python", required=True, help="the Python of an environment with fschat")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        run = [sys.executable, "-m", "chatsift.cli.main"]
        subprocess.run([*run, "export", args.store, "-o", str(logs)], check=True, capture_output=True)
        ours = json.loads(subprocess.run([*run, "leaderboard", "--votes", "--anonymous-only", "--json",
                                          "--rounds", "100", *map(str, sorted(logs.glob("*.json")))],
                                         check=True, capture_output=True, text=True).stdout)
        theirs = json.loads(subprocess.run([args.fastchat_python, "-c", FASTCHAT, str(logs)], check=True,
                                           capture_output=True, text=True).stdout.strip().splitlines()[-1])
    rows = []
    for row in ours["rows"]:
        model = row["model"]
        rows.append({"model": model, "battles": int(row["battles"]),
                     "bt_chatsift": round(row["rating"], 2), "bt_fastchat": round(theirs["bt"][model], 2),
                     "elo_chatsift": round(row["online_elo"], 2),
                     "elo_fastchat": round(theirs["online_elo"][model], 2)})
    result = {"read_chatsift": ours["read"], "battles_fastchat": theirs["battles"],
              "rows": rows,
              "max_abs_difference": {k: round(max(abs(r[f"{k}_chatsift"] - r[f"{k}_fastchat"]) for r in rows), 2)
                                     for k in ("bt", "elo")}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
