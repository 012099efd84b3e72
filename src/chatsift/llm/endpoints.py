"""Named LLM endpoints and the short specs that name them on the command line.

An endpoint is an OpenAI-compatible ``/v1`` server and one model on it. Specs:

- ``NAME``: an endpoint from config (``llm.endpoints.NAME: {base_url, model, ...}``);
- ``openai:MODEL``, ``vllm:MODEL``, ``ollama:MODEL``, ``llamacpp:MODEL``: a provider's usual address
  (``CHATSIFT_<PROVIDER>_URL`` overrides it);
- ``http://HOST:PORT/v1:MODEL`` or ``http://HOST:PORT/v1#MODEL``: any server.

A key belongs to its provider: a URL spec carries ``OPENAI_API_KEY`` only when its host is OpenAI's own
(any other server gets a key only from a configured endpoint's ``api_key_env``), and no key is ever
sent over plain HTTP to a host off this machine unless the endpoint sets ``allow_plain_http_key``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields, replace
from typing import Any

from chatsift.errors import ConfigError

# provider -> (base URL, environment variable holding the API key, key required)
PROVIDERS: dict[str, tuple[str, str | None, bool]] = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY", True),
    "vllm": ("http://127.0.0.1:8000/v1", "VLLM_API_KEY", False),
    "ollama": ("http://127.0.0.1:11434/v1", None, False),
    "llamacpp": ("http://127.0.0.1:8080/v1", None, False),
}
# The hosts whose URL specs carry a provider's key from the environment.
KEY_HOSTS = {"api.openai.com": "OPENAI_API_KEY"}


def url_host(url: str) -> str:
    """The host of a URL, without credentials or port (lower case; IPv6 without brackets)."""
    rest = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest[1 : rest.find("]")].lower()
    return rest.rsplit(":", 1)[0].lower() if rest.count(":") == 1 else rest.lower()


def without_credentials(url: str) -> str:
    """``http://user:secret@host/v1`` -> ``http://***@host/v1`` (the credentials never reach a file or a line)."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if not sep or "@" not in host:
        return url
    return f"{scheme}://***@{host.rsplit('@', 1)[1]}{slash}{path}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoint:
    """One model behind one OpenAI-compatible server, with its limits and prices.

    Args:
        api_key_env: the environment variable holding the key (the key itself never sits in config).
        key_required: fail before any call when that variable is unset (hosted APIs).
        rpm, tpm: client-side limits on requests and tokens per minute (None: unlimited).
        price_per_mtok_in, price_per_mtok_out: US dollars per million prompt / completion tokens.
        allow_plain_http_key: send the key over plain HTTP to a host off this machine (off by default:
            anyone on the path would read it).
        timeout_s: the longest wait for a byte; deadline_s: the longest a whole answer may take (a server
            that drips a byte at a time never passes ``timeout_s`` alone); max_response_bytes: the largest
            answer read (an endless body is cut there, not held in memory).
    """

    name: str
    base_url: str
    model: str
    api_key_env: str | None = None
    key_required: bool = False
    max_concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    price_per_mtok_in: float = 0.0
    price_per_mtok_out: float = 0.0
    timeout_s: float = 60.0
    deadline_s: float = 600.0
    max_response_bytes: int = 16 * 1024 * 1024
    allow_plain_http_key: bool = False

    @property
    def public_url(self) -> str:
        """The base URL without the credentials it may carry (what logs, manifests and ledgers show)."""
        return without_credentials(self.base_url)

    @property
    def label(self) -> str:
        where = f"{self.model} at {self.public_url}"
        return where if self.name in (self.base_url, self.public_url) else f"{self.name} ({where})"

    def api_key(self) -> str | None:
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key and self.key_required:
            raise ConfigError(f"endpoint {self.name} needs an API key: set the environment variable "
                              f"{self.api_key_env}")
        if key and self.base_url.startswith("http://") and not is_loopback(url_host(self.base_url)) and (
                not self.allow_plain_http_key):
            raise ConfigError(f"endpoint {self.name}: refusing to send {self.api_key_env} over plain HTTP to "
                              f"{url_host(self.base_url)}; use https, or set allow_plain_http_key: true")
        return key or None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.price_per_mtok_in + completion_tokens * self.price_per_mtok_out) / 1e6


_FIELDS = {f.name for f in fields(Endpoint)}


def endpoint_from_mapping(name: str, data: dict[str, Any]) -> Endpoint:
    """An endpoint from a config mapping such as ``{base_url: ..., model: ..., rpm: 500}``."""
    if not isinstance(data, dict):
        raise ConfigError(f"llm.endpoints.{name}: expected a mapping with base_url and model, got {data!r}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        known = ", ".join(sorted(_FIELDS - {"name"}))
        raise ConfigError(f"llm.endpoints.{name}: unknown key {unknown[0]}; known: {known}")
    data = dict(data)
    provider = data.pop("provider", None)
    if "base_url" not in data and provider in PROVIDERS:
        data["base_url"] = _provider_url(provider)
    for required in ("base_url", "model"):
        if not data.get(required):
            raise ConfigError(f"llm.endpoints.{name}: {required} is required")
    try:
        endpoint = Endpoint(name=name, **data)
    except TypeError as exc:
        raise ConfigError(f"llm.endpoints.{name}: {exc}") from None
    _check(endpoint, f"llm.endpoints.{name}")
    return endpoint


def _provider_url(provider: str) -> str:
    return os.environ.get(f"CHATSIFT_{provider.upper()}_URL", PROVIDERS[provider][0]).rstrip("/")


def _check(endpoint: Endpoint, where: str) -> None:
    if not endpoint.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: base_url must start with http:// or https://, got {endpoint.base_url!r}")
    if endpoint.max_concurrency < 1:
        raise ConfigError(f"{where}: max_concurrency must be at least 1")
    for limit in ("rpm", "tpm"):
        value = getattr(endpoint, limit)
        if value is not None and value <= 0:
            raise ConfigError(f"{where}: {limit} must be positive")


def split_url_model(spec: str) -> tuple[str, str]:
    """``http://host:8000/v1:model`` or ``...#model`` -> (base URL, model); the model may hold ':'."""
    if "#" in spec:
        url, model = spec.split("#", 1)
        return url.rstrip("/"), model
    scheme, rest = spec.split("://", 1)
    host, slash, path = rest.partition("/")
    if slash and ":" in path:
        path, model = path.split(":", 1)
        return f"{scheme}://{host}/{path}".rstrip("/"), model
    raise ConfigError(f"endpoint {spec!r}: name the model after the URL, e.g. http://127.0.0.1:8000/v1:MODEL "
                      "(or URL#MODEL)")


def parse_endpoint(spec: str, named: dict[str, Endpoint] | None = None, **overrides: Any) -> Endpoint:
    """Resolve a spec (see the module doc) to an ``Endpoint``; ``overrides`` replace its fields."""
    spec = (spec or "").strip()
    named = named or {}
    if not spec:
        raise ConfigError("no LLM endpoint given; use NAME, openai:MODEL, vllm:MODEL, ollama:MODEL or URL:MODEL")
    if spec in named:
        endpoint = named[spec]
    elif spec.startswith(("http://", "https://")):
        url, model = split_url_model(spec)
        endpoint = Endpoint(name=without_credentials(url), base_url=url, model=model,
                            api_key_env=KEY_HOSTS.get(url_host(url)))
    elif spec.partition(":")[2] in named:  # openai:NAME, llm:NAME ... name a configured endpoint too
        endpoint = named[spec.partition(":")[2]]
    else:
        provider, sep, model = spec.partition(":")
        if provider in ("openai", "vllm", "ollama", "llamacpp") and sep and model:
            # The legacy form openai:BASE_URL#MODEL names a server through the openai provider.
            if model.startswith(("http://", "https://")):
                url, model = split_url_model(model)
                return parse_endpoint(f"{url}#{model}", named, **overrides)
            _, key_env, required = PROVIDERS[provider]
            endpoint = Endpoint(name=provider, base_url=_provider_url(provider), model=model, api_key_env=key_env,
                                key_required=required)
        else:
            known = ", ".join(sorted(named)) or "none configured"
            raise ConfigError(f"unknown LLM endpoint {spec!r}: use a configured name ({known}), openai:MODEL, "
                              "vllm:MODEL, ollama:MODEL, llamacpp:MODEL or http://HOST:PORT/v1:MODEL")
    if overrides:
        endpoint = replace(endpoint, **{k: v for k, v in overrides.items() if v is not None})
    _check(endpoint, f"endpoint {spec}")
    return endpoint
