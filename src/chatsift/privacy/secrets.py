"""Secrets users paste into chats: API keys, tokens, private keys, passwords, credentialed URLs.

Well-known key formats are matched exactly (prefix, alphabet and length as the issuers document
them); JWTs must decode to a JSON header with ``alg``; passwords only count in an assignment whose
value is not an obvious placeholder. URLs with ``user:password@`` or a secret-bearing query
parameter become ``URL_n``; the rest become ``SECRET_n``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import re2

from chatsift.privacy.spans import Span
from chatsift.privacy.structured import _OPTS, gend, gstart, is_example_domain

_KEY_FORMATS = [
    ("anthropic", r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,120}"),
    ("openai", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"),
    ("openai", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,200}"),  # the prefix is the issuer's: short ones too
    ("openai", r"sk-[A-Za-z0-9]{48}"),
    ("aws_access_key", r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}"),
    ("github", r"gh[pousr]_[A-Za-z0-9]{36,255}"),
    ("github", r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
    ("gitlab", r"gl(?:pat|dt|ptt|rt|oas)-[A-Za-z0-9_-]{20,64}"),
    ("slack", r"xox[abposre]-[A-Za-z0-9-]{10,250}"),
    ("slack_webhook", r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}"),
    ("google_api_key", r"AIza[0-9A-Za-z_-]{35}"),
    ("google_oauth", r"ya29\.[0-9A-Za-z_-]{20,}"),
    ("telegram_bot", r"\d{8,10}:AA[A-Za-z0-9_-]{33}"),
    ("stripe", r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99}"),
    ("huggingface", r"hf_[A-Za-z]{34}"),
    ("sendgrid", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ("npm", r"npm_[A-Za-z0-9]{36}"),
    ("discord_bot", r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}"),
    ("twilio", r"SK[0-9a-f]{32}"),
    ("jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
]
_KEYS = re2.compile(
    r"(?:^|[^A-Za-z0-9])(?P<v>" + "|".join(f"(?:{p})" for _, p in _KEY_FORMATS) + r")(?:$|[^A-Za-z0-9_-])", _OPTS
)
_KEY_TRIGGERS = ("sk-", "glpat-", "gldt-", "glptt-", "glrt-", "gloas-",
                 "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "ABIA", "ACCA", "gh", "xox",
                 "hooks.slack", "AIza", "ya29.", ":AA", "sk_", "rk_", "hf_", "SG.", "npm_", "SK", "eyJ", ".")
_PEM = re2.compile(
    r"-----BEGIN (?P<t>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
    r"(?s:.*?)-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
    _OPTS,
)
_AWS_SECRET = re2.compile(
    r"(?i)aws.{0,20}?(?:secret|private).{0,20}?[=:\"' ]+(?P<v>[A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+])", _OPTS
)
_ASSIGNMENT = re2.compile(
    r"(?i)(?:^|[^A-Za-z0-9])(?:password|passwd|pwd|pass|passphrase|secret|secret_key|api_key|apikey|api-key|"
    r"access_token|auth_token|token|client_secret|private_key)[\"']?\s*(?:=|:|=>)\s*(?P<q>[\"']?)"
    r"(?P<v>[^\s\"',;)}\]]{6,200})",
    _OPTS,
)
_PASSWORD_PROSE = re2.compile(
    r"(?i)(?:my|the|our|his|her) (?:password|passcode|pin|passphrase) (?:is|was|=|:) *[\"']?(?P<v>[^\s\"']{4,64})",
    _OPTS,
)
_CRED_URL = re2.compile(
    r"(?P<v>[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s/:@\"'<>]{0,128}:[^\s/@\"'<>]{1,128}@[^\s/\"'<>]{1,255}[^\s\"'<>]*)",
    _OPTS,
)
_TOKEN_URL = re2.compile(
    r"(?P<v>https?://[^\s\"'<>]+?[?&](?i:access_token|token|api_key|apikey|key|secret|password|pwd|sig|"
    r"signature|auth|session|sessionid|client_secret|x-amz-signature|x-amz-credential)=[^\s&\"'<>]{8,}[^\s\"'<>]*)",
    _OPTS,
)
# What makes a value a stand-in rather than a secret. A weak real password ("MyTestPass99x", "admin123",
# "Gr8$Summer2024") is still a password: words such as "test" or "admin" inside a value prove nothing,
# so only whole stand-ins, template words and code count.
PLACEHOLDER_VALUES = frozenset({
    "password", "passwd", "pass", "secret", "token", "apikey", "api_key", "key", "none", "null", "nil", "true",
    "false", "undefined", "string", "str", "required", "test", "admin", "root", "123456", "qwerty", "letmein",
    "changeme", "default", "empty", "hidden", "redacted", "todo", "tbd",
})
TEMPLATE_WORDS = frozenset({"your", "here", "example", "placeholder", "xxx", "xxxx", "insert", "replace", "dummy",
                            "sample", "changeme", "redacted", "fake"})
CODE_MARKERS = ("${", "{{", "<", ">", "getenv", "environ", "process.env", "config.", "settings.", "os.", "input(",
                "self.", "args.", "request.", "(", "`", "***", "...", "%s")
_WORD = re2.compile(r"[a-z]+")


def is_placeholder(value: str) -> bool:
    raw = value.lower().strip("\"'")
    v = raw.rstrip(".,;:!?")
    if len(set(v)) <= 2 or (v.isdigit() and len(v) < 8):
        return True
    if v.startswith(("$", "%")) or v in PLACEHOLDER_VALUES:
        return True  # a variable ($DB_PASS, %PASSWORD%) or a stand-in word
    if v.replace("_", "").isalpha() and v == v.lower() and ("_" in v or len(v) < 12):
        return True  # an identifier such as my_password or a plain word (code: password = pwd)
    if any(m in raw for m in CODE_MARKERS):
        return True
    return any(w in TEMPLATE_WORDS for w in _WORD.findall(v))


def _jwt_ok(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def find_secrets(text: str, kinds: frozenset[str]) -> Iterator[Span]:
    if "secret" in kinds:
        if any(t in text for t in _KEY_TRIGGERS):
            for m in _KEYS.finditer(text):
                value = m.group("v")
                if value.startswith("eyJ") and not _jwt_ok(value):
                    continue
                yield Span(gstart(m, "v"), gend(m, "v"), "secret", value)
        if "PRIVATE KEY" in text:
            for m in _PEM.finditer(text):
                yield Span(m.start(), m.end(), "secret", m.group())
        lowered = text.lower()
        if "aws" in lowered:
            for m in _AWS_SECRET.finditer(text):
                yield Span(gstart(m, "v"), gend(m, "v"), "secret", m.group("v"))
        if any(k in lowered for k in ("pass", "pwd", "secret", "key", "token")):
            for pattern in (_ASSIGNMENT, _PASSWORD_PROSE):
                for m in pattern.finditer(text):
                    value = m.group("v")
                    if text[m.start() : m.start() + 1] in ("?", "&"):
                        continue  # a URL query parameter: the whole URL is taken below
                    if not is_placeholder(value):
                        yield Span(gstart(m, "v"), gend(m, "v"), "secret", value)
    if "url" in kinds and "://" in text:
        for m in _CRED_URL.finditer(text):
            value = m.group("v")
            password = value.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
            # A password works wherever its host is, localhost and *.internal included: only a stand-in
            # password (user:pass@..., ${DB_PASS}) is left.
            if not is_placeholder(password):
                yield Span(gstart(m, "v"), gend(m, "v"), "url", value)
        if "=" in text:
            for m in _TOKEN_URL.finditer(text):
                value = m.group("v")
                host = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
                param = value.rsplit("=", 1)[1] if "=" in value else ""
                if not is_example_domain(host) and not is_placeholder(param):
                    yield Span(gstart(m, "v"), gend(m, "v"), "url", value)
