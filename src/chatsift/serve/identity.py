"""Who is asking: the client address becomes a keyed hash, and forms carry a per-session CSRF token.

Consent belongs to a person's browser, not to an address that others may share: a long-lived signed
cookie names the browser, and consent and its withdrawal are stored under its keyed hash
(``consent_key``); the address hash stays what statistics and rate limits count as a user.

The address is taken from the socket, or, when the socket's peer is a trusted proxy, from the
rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy (the left entries are the
client's to forge). It is hashed at once with the server's secret (HMAC-SHA256, as WildChat salts
its IP hashes) and never stored or logged; the service runs uvicorn without its access log.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import time
from pathlib import Path

from chatsift.errors import ConfigError


def client_address(peer: str | None, forwarded_for: str | None, trusted: list) -> str:
    """The address to key the user on (``peer`` unless it is a trusted proxy that says who it forwards)."""
    address = peer or "unknown"
    if not trusted or not forwarded_for or not _in(address, trusted):
        return address
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop if _parses(hop) else address
        address = hop
    return address


def _parses(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _in(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def user_id(secret: bytes, address: str) -> str:
    return hmac.new(secret, b"user:" + address.encode(), hashlib.sha256).hexdigest()[:24]


def csrf_token(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_ok(secret: bytes, session_id: str, token: str | None) -> bool:
    # compared as bytes: compare_digest refuses a str with non-ASCII characters (a 500, not a refusal)
    return bool(token) and hmac.compare_digest(csrf_token(secret, session_id).encode(),
                                               str(token).encode("utf-8", "surrogatepass"))


def new_browser_cookie(secret: bytes) -> str:
    """A long-lived identity for one browser: a random id and its signature (``id.signature``)."""
    browser = secrets.token_hex(16)
    return f"{browser}.{_browser_signature(secret, browser)}"


def browser_id(secret: bytes, cookie: str | None) -> str | None:
    """The browser id a cookie carries, when its signature is the server's; None otherwise."""
    browser, _, signature = (cookie or "").partition(".")
    if len(browser) != 32 or not signature:
        return None
    expected = _browser_signature(secret, browser).encode()
    good = hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))
    return browser if good else None


def consent_key(secret: bytes, browser: str) -> str:
    """What consent is stored under: the browser's keyed hash (the address hash stays the statistics' user)."""
    return hmac.new(secret, b"browser:" + browser.encode(), hashlib.sha256).hexdigest()[:24]


def _browser_signature(secret: bytes, browser: str) -> str:
    return hmac.new(secret, b"browser-cookie:" + browser.encode(), hashlib.sha256).hexdigest()[:32]


ADMIN_SESSION_S = 8 * 3600  # an admin sign-in lasts this long


def admin_cookie(secret: bytes, token: str, issued: float | None = None) -> str:
    """A sign-in: when it was issued, a random nonce, and a signature over both and the token (a new value
    at every sign-in; it expires after ``ADMIN_SESSION_S``; a changed token ends every sign-in)."""
    issued = int(time.time() if issued is None else issued)
    nonce = secrets.token_hex(8)
    return f"{issued}.{nonce}.{_admin_signature(secret, token, issued, nonce)}"


def admin_cookie_ok(secret: bytes, token: str, cookie: str | None, now: float | None = None) -> bool:
    issued, _, rest = (cookie or "").partition(".")
    nonce, _, signature = rest.partition(".")
    if not issued.isdigit() or not nonce or not signature:
        return False
    if (time.time() if now is None else now) - int(issued) > ADMIN_SESSION_S:
        return False
    expected = _admin_signature(secret, token, int(issued), nonce).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def token_matches(given: str | None, token: str) -> bool:
    """The admin token, compared in constant time as bytes (a non-ASCII guess is a wrong guess, not a 500)."""
    return bool(given) and hmac.compare_digest(token.encode("utf-8", "surrogatepass"),
                                               str(given).encode("utf-8", "surrogatepass"))


def _admin_signature(secret: bytes, token: str, issued: int, nonce: str) -> str:
    message = f"admin:{issued}:{nonce}:".encode() + token.encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def new_id() -> str:
    return secrets.token_hex(16)


def load_secret(env: str, file: Path | None) -> bytes:
    """The server's key: from ``env``, else from ``file`` (made once, mode 0600, for an embedded store)."""
    value = os.environ.get(env)
    if value:
        return value.encode()
    if file is None:
        raise ConfigError(f"set {env}: the server's key for user ids and CSRF tokens (keep it; a new key means "
                          "new user ids)")
    if file.exists():
        return file.read_bytes()
    key = secrets.token_bytes(32)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
