"""Moderation backends: every one turns messages into ``ModerationOutput`` arrays in the data contract.

- ``local``: chatsift's own model (``LocalModerator``; the bundled one unless a folder is given), at
  its balanced thresholds, a named operating point or one threshold for every head;
- ``openai``: ``/v1/moderations`` of OpenAI or any compatible server, batched through the LLM client
  (text-moderation-* and omni-moderation-*; omni's extra categories count toward ``flagged`` only);
- ``llm``: a guard prompt through a chat endpoint (``guard.PROMPTS``); an answer that cannot be read
  leaves that message without a result and is counted, never guessed;
- ``passthrough``: no backend; the source's tags are kept.

Empty messages get an all-zero, unflagged result without a call; API backends send at most
``MAX_API_CHARS`` characters of a message.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatsift.errors import ConfigError
from chatsift.llm import Ledger, LLMClient, chat_text, make_client
from chatsift.llm.settings import LLMConfig
from chatsift.moderation.categories import CATEGORIES, from_api
from chatsift.moderation.guard import PROMPTS
from chatsift.moderation.local import LocalModerator, ModerationOutput
from chatsift.moderation.settings import ModerationConfig

MAX_API_CHARS = 32_000
OPENAI_DEFAULT_MODEL = "omni-moderation-latest"
_INDEX = {c: i for i, c in enumerate(CATEGORIES)}


def parse_moderator(spec: str) -> dict[str, str | None]:
    """``--moderator`` values -> ``moderation.*`` settings.

    ``local`` | ``passthrough`` | ``openai`` | ``openai:MODEL`` | ``openai:URL:MODEL`` | ``llm:ENDPOINT``
    | a model folder from ``chatsift moderator train``.
    """
    spec = spec.strip()
    if spec in {"local", "passthrough"}:
        return {"backend": spec}
    if spec == "openai":
        return {"backend": "openai", "endpoint": f"openai:{OPENAI_DEFAULT_MODEL}"}
    if spec.startswith("openai:"):
        return {"backend": "openai", "endpoint": spec}
    if spec.startswith("llm:"):
        if not spec[4:]:
            raise ConfigError("--moderator llm: name an endpoint, e.g. llm:http://127.0.0.1:8080/v1:MODEL")
        return {"backend": "llm", "endpoint": spec[4:]}
    return {"backend": "local", "model": spec}


class LocalBackend:
    def __init__(self, model_path: str | None = None, threshold: float | None = None, point: str = "balanced",
                 encoder: str | bool = "auto") -> None:
        self.model = LocalModerator.load(model_path, encoder)
        self.name = self.model.name + (f"+{self.model.stage}" if self.model.encoding else "")
        if threshold is not None:  # the user's operating point: the tags say so in their backend's name
            if not 0.0 < threshold < 1.0:
                raise ConfigError(f"moderation.threshold: expected a probability between 0 and 1, got {threshold}")
            self.model.active_thresholds()[:] = threshold
            self.name = f"{self.name}@{threshold:g}"
        elif point != "balanced":
            self.model.use_point(point)
            self.name = f"{self.name}@{point}"
        self.identity = f"{self.name}|{self.model.meta.get('created')}"  # two models may share a name

    def moderate(self, texts: list[str]) -> ModerationOutput:
        return self.model.moderate(texts)


def non_empty(texts: list[str]) -> list[int]:
    """Indices of the texts worth a call (empty and blank ones get the all-zero result)."""
    return [i for i, t in enumerate(texts) if t and t.strip()]


class OpenAIBackend:
    def __init__(self, client: LLMClient, batch_size: int = 32) -> None:
        self.client = client
        self.batch_size = batch_size
        self.name = f"openai:{client.endpoint.model}"
        self.identity = f"{self.name}|{client.endpoint.public_url}"

    def moderate(self, texts: list[str]) -> ModerationOutput:
        out = ModerationOutput.empty(len(texts))
        todo = non_empty(texts)
        results = self.client.moderate([texts[i][:MAX_API_CHARS] for i in todo], self.batch_size,
                                       desc="moderations")
        for i, result in zip(todo, results):
            entry = from_api(result)
            if entry is None:
                out.valid[i] = False
                continue
            out.scores[i] = [entry["category_scores"][c] for c in CATEGORIES]
            out.decisions[i] = [entry["categories"][c] for c in CATEGORIES]
            out.flagged[i] = entry["flagged"]
            out.flag_score[i] = max(out.scores[i].max(), float(entry["flagged"]))
        return out


class LLMGuardBackend:
    def __init__(self, client: LLMClient, prompt: str = "paper") -> None:
        if prompt not in PROMPTS:
            raise ConfigError(f"unknown guard prompt {prompt!r}; use {', '.join(PROMPTS)}")
        self.client = client
        self.prompt = prompt
        self.build, self.parse = PROMPTS[prompt]
        self.name = f"llm:{client.endpoint.model}:{prompt}"
        self.identity = f"{self.name}|{client.endpoint.public_url}"

    def requests(self, texts: list[str]) -> list[list[dict]]:
        return [self.build(texts[i]) for i in non_empty(texts)]

    def moderate(self, texts: list[str]) -> ModerationOutput:
        out = ModerationOutput.empty(len(texts))
        todo = non_empty(texts)
        results = self.client.chat_many([self.build(texts[i]) for i in todo], temperature=0.0, max_tokens=256,
                                        desc=f"guard ({self.prompt})")
        for i, result in zip(todo, results):
            verdict = self.parse(chat_text(result.response)) if result.response is not None else None
            if verdict is None:
                out.valid[i] = False
                continue
            for category in verdict.categories:
                out.scores[i, _INDEX[category]] = 1.0
                out.decisions[i, _INDEX[category]] = True
            out.flagged[i] = verdict.flagged
            out.flag_score[i] = float(verdict.flagged)
        return out


Backend = LocalBackend | OpenAIBackend | LLMGuardBackend


@dataclass(frozen=True)
class BackendSpec:
    """What ``make_backend`` needs; picklable, so curate's workers can build their own backend."""

    backend: str
    model: str | None = None
    endpoint: str | None = None
    prompt: str = "paper"
    threshold: float | None = None  # local: one threshold for every head (see ModerationConfig)
    point: str = "balanced"  # local: a named operating point
    encoder: str | bool = "auto"  # local: the model's second stage (settings.STAGES)

    @classmethod
    def from_config(cls, config: ModerationConfig) -> BackendSpec:
        return cls(config.backend, config.model, config.endpoint, config.prompt, config.threshold,
                   config.operating_point, config.encoder)

    @classmethod
    def parse(cls, spec: str, prompt: str = "paper") -> BackendSpec:
        return cls(prompt=prompt, **parse_moderator(spec))


def make_backend(spec: BackendSpec, llm: LLMConfig | None = None, progress: bool = False,
                 ledger: Ledger | None = None) -> Backend | None:
    if spec.backend == "passthrough":
        return None
    if spec.backend == "local":
        return LocalBackend(spec.model, spec.threshold, spec.point, spec.encoder)
    if spec.backend == "openai":
        return OpenAIBackend(make_client(spec.endpoint or f"openai:{OPENAI_DEFAULT_MODEL}", llm, progress=progress,
                                         ledger=ledger))
    if spec.backend == "llm":
        if not spec.endpoint:
            raise ConfigError("the llm moderation backend needs an endpoint (llm:ENDPOINT)")
        return LLMGuardBackend(make_client(spec.endpoint, llm, progress=progress, ledger=ledger), spec.prompt)
    raise ConfigError(f"unknown moderation backend {spec.backend!r}; use local, openai, llm or passthrough")

