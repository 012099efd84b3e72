"""Structured PII: validated, not just pattern-matched.

Every pattern is an RE2 expression (linear time in the input, no backtracking), so adversarial text
cannot hang a worker. A candidate must then pass its kind's validator: Luhn and issuer ranges for
cards, the ISO 13616 mod-97 checksum and country lengths for IBANs, ``ipaddress`` for globally
routable IPs (private, loopback and documentation ranges are not personal), SSN area/group/serial
rules, and shape plus context for phone numbers. Example domains, ``localhost``, version numbers,
hashes and UUIDs are not PII: digits glued to letters or to ``-_./`` are never taken.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import re2

from chatsift.privacy.spans import Span

_OPTS = re2.Options()
_OPTS.max_mem = 64 << 20
_OPTS.log_errors = False


_GROUP_INDEX: dict[tuple[int, str], int] = {}


def _group(m, name: str) -> int:
    pattern = m.re
    key = (id(pattern), name)
    index = _GROUP_INDEX.get(key)
    if index is None:
        index = _GROUP_INDEX[key] = pattern.groupindex[name]
    return index


def gstart(m, name: str) -> int:
    """Start of a named group (google-re2's ``Match.start`` takes group numbers only)."""
    return m.start(_group(m, name))


def gend(m, name: str) -> int:
    return m.end(_group(m, name))


def _compile(pattern: str) -> re2._Regexp:
    return re2.compile(pattern, _OPTS)


# ------------------------------------------------------------------ e-mail

_EMAIL = _compile(
    r"(?:^|[^\p{L}\p{N}._%+-])(?P<v>[\p{L}\p{N}](?:[\p{L}\p{N}._%+-]{0,63})@[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,62})"
    r"(?:\.[\p{L}\p{N}-]{1,63})*\.\p{L}{2,24})"
)
EXAMPLE_DOMAINS = frozenset({
    "example.com", "example.org", "example.net", "example.edu", "domain.com", "yourdomain.com", "yourcompany.com",
    "company.com", "email.com", "test.com", "localhost", "host.com", "website.com", "mysite.com", "somewhere.com",
    "acme.com", "foo.com", "bar.com", "foo.bar", "users.noreply.github.com",
})
EXAMPLE_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".local", ".internal")


def is_example_domain(domain: str) -> bool:
    d = domain.lower().rstrip(".")
    return d in EXAMPLE_DOMAINS or d.endswith(EXAMPLE_SUFFIXES) or d.startswith("example.")


def _emails(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        value = m.group("v")
        local, _, domain = value.rpartition("@")
        if is_example_domain(domain) or local.lower() in {"user", "username", "name", "your.name", "yourname",
                                                            "email", "someone", "john.doe", "jane.doe"}:
            continue
        yield Span(gstart(m, "v"), gend(m, "v"), "email", value)


# ------------------------------------------------------------------ credit cards

_CARD = _compile(r"(?:^|[^\p{L}\p{N}_./-])(?P<v>\d(?:[ -]?\d){11,18})(?:$|[^\p{L}\p{N}_/-])")
_CARD_CONTEXT = _compile(r"(?i)\b(?:card|cc|credit|debit|visa|mastercard|amex|maestro|jcb|discover|payment)\b")
# Well-known test numbers (Stripe, Braintree, PayPal sandbox): not anyone's card.
TEST_CARDS = frozenset({
    "4111111111111111", "4242424242424242", "4000056655665556", "5555555555554444", "5200828282828210",
    "5105105105105100", "378282246310005", "371449635398431", "6011111111111117", "6011000990139424",
    "3056930009020004", "36227206271667", "3566002020360505", "6200000000000005", "4012888888881881",
    "4222222222222", "4000000000000002", "5431111111111111", "4917610000000000", "4035501000000008",
})


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_issuer_ok(digits: str) -> bool:
    """IIN ranges of the networks that issue 13-19 digit cards."""
    n = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19  # Discover
    if p2 == 35:
        return 16 <= n <= 19  # JCB (3528-3589 issued; generators use all of 35xx)
    if p4 in (1800, 2131):
        return n == 15  # old JCB
    if 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:
        return 14 <= n <= 19  # Diners Club
    if p2 == 62 or p2 == 81:
        return 16 <= n <= 19  # UnionPay
    if p2 in (50, 56, 57, 58, 63, 67) or p4 in (6304, 6759, 6761, 6762, 6763, 6390, 604):
        return 12 <= n <= 19  # Maestro
    if p4 in (2200, 2201, 2202, 2203, 2204):
        return n == 16  # Mir
    return False


def _cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        value = m.group("v")
        digits = value.replace(" ", "").replace("-", "")
        seps = {c for c in value if not c.isdigit()}
        if len(seps) > 1 or len(set(digits)) == 1 or digits in TEST_CARDS:
            continue
        if not luhn_ok(digits):
            continue
        if card_issuer_ok(digits) and len(digits) >= 13:
            yield Span(gstart(m, "v"), gend(m, "v"), "credit_card", value)
        elif _CARD_CONTEXT.search(text[max(0, gstart(m, "v") - 40) : gstart(m, "v")]):
            # A short or unusual number that the text says is a card.
            yield Span(gstart(m, "v"), gend(m, "v"), "credit_card", value)


# ------------------------------------------------------------------ IBAN

_IBAN = _compile(
    r"(?:^|[^\p{L}\p{N}])(?P<v>(?i:[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?))(?:$|[^\p{L}\p{N}])"
)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SD": 18,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22,
    "VG": 24, "XK": 20,
}


def iban_ok(compact: str) -> bool:
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ibans(text: str) -> Iterator[Span]:
    for m in _IBAN.finditer(text):
        value = m.group("v").rstrip()
        if iban_ok(value.replace(" ", "").upper()):
            yield Span(gstart(m, "v"), gstart(m, "v") + len(value), "iban", value)


# ------------------------------------------------------------------ US SSN

_SSN = _compile(r"(?:^|[^\p{L}\p{N}_-])(?P<v>\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4})(?:$|[^\p{L}\p{N}_-])")
_SSN_PLAIN = _compile(r"(?i)(?:ssn|social security(?: number| no\.?)?)\D{0,20}?(?P<v>\d{9})(?:$|\D)")


def ssn_ok(digits: str) -> bool:
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    return 0 < area < 900 and area != 666 and group > 0 and serial > 0


def _ssns(text: str) -> Iterator[Span]:
    for pattern in (_SSN, _SSN_PLAIN):
        for m in pattern.finditer(text):
            value = m.group("v")
            if ssn_ok(value.replace("-", "").replace(" ", "")):
                yield Span(gstart(m, "v"), gend(m, "v"), "ssn", value)


# ------------------------------------------------------------------ IP addresses

_IPV4 = _compile(r"(?:^|[^\p{L}\p{N}_.])(?P<v>(?:\d{1,3}\.){3}\d{1,3})(?:$|[^\p{L}\p{N}_.]|\.(?:$|\s))")
_IPV6 = _compile(r"(?:^|[^\p{L}\p{N}_:.])(?P<v>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?:$|[^\p{L}\p{N}_:])")
_VERSION_CONTEXT = ("version", "ver", "v", "build", "release", "chrome/", "firefox/", "oid")


# Public DNS resolvers and other well-known service addresses: global, but not anyone's.
PUBLIC_SERVICE_IPS = frozenset({"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
                                "208.67.222.222", "208.67.220.220", "4.2.2.1", "4.2.2.2", "2001:4860:4860::8888",
                                "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001"})


def _canonical_ipv4(value: str) -> str:
    """``081.002.069.142`` -> ``81.2.69.142``: leading zeros are still an address to a person reading it
    (Python's parser refuses them), so they are judged as the address they spell."""
    octets = value.split(".")
    if len(octets) == 4 and all(o.isdigit() and len(o) <= 3 for o in octets):
        return ".".join(str(int(o)) for o in octets)
    return value


def ip_is_personal(value: str) -> bool:
    value = _canonical_ipv4(value) if "." in value and ":" not in value else value
    if value in PUBLIC_SERVICE_IPS:
        return False
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast


def _ips(text: str) -> Iterator[Span]:
    if "." in text:
        for m in _IPV4.finditer(text):
            value = m.group("v")
            before = text[max(0, gstart(m, "v") - 10) : gstart(m, "v")].lower().rstrip(" :=")
            if before.endswith(_VERSION_CONTEXT):
                continue
            if ip_is_personal(value):
                yield Span(gstart(m, "v"), gend(m, "v"), "ip_address", value)
    if "::" in text or text.count(":") >= 5:
        for m in _IPV6.finditer(text):
            value = m.group("v")
            if value.count(":") >= 2 and ip_is_personal(value):
                yield Span(gstart(m, "v"), gend(m, "v"), "ip_address", value)


# ------------------------------------------------------------------ phone numbers

_PHONE = _compile(
    r"(?:^|[^\p{L}\p{N}_./+-])(?P<v>(?:\+|00)?\(?\d[\d \t().\-/]{5,24}\d(?:[ \t]?(?:x|ext\.?|#)[ \t]?\d{1,6})?)"
    r"(?:$|[^\p{L}\p{N}_/-]|-\p{L}|[.,](?:$|\s))"
)
_PHONE_CONTEXT = _compile(
    r"(?i)(?:\b(?:phone|tel|telephone|mobile|mob|cell|call|fax|whats ?app|sms|text me|contact|number|num|no|"
    r"registered|reach|desk|office|ring|dial|hotline|helpline|messages to|answering|answer at|reach me|"
    r"text|telefon|téléphone|telefono|teléfono|"
    r"telefone)\b|телефон|тел\.|номер|電話|电话|手机|携帯|전화)"
)
_PHONE_AFTER = _compile(r"(?i)^\s*[-(]?\s*(?:office|fax|mobile|cell|home|work|desk|phone|tel)")


def _digit_groups(value: str) -> list[str]:
    groups, current = [], []
    for ch in value:
        if ch.isdigit():
            current.append(ch)
        elif current:
            groups.append("".join(current))
            current = []
    if current:
        groups.append("".join(current))
    return groups


def phone_shape_ok(value: str) -> bool:
    """A number formatted the way phone numbers are written, without needing context."""
    groups = _digit_groups(value)
    digits = sum(len(g) for g in groups)
    if value.startswith(("+", "00")) and 8 <= digits <= 15:
        return True
    if "(" in value and ")" in value and 9 <= digits <= 12:
        return True
    # NANP: 905-674-3793 (dotted triples such as 1.2.3 need context)
    return [len(g) for g in groups] == [3, 3, 4] and value.count(".") != 2


def _dotted_phone(groups: list[str], value: str) -> bool:
    """Dots separate phone groups only in shapes like 259.735.7502 or 06.12.34.56.78."""
    lengths = [len(g) for g in groups]
    return lengths in ([3, 3, 4], [2, 2, 2, 2, 2], [3, 4], [4, 3, 3]) or (value.startswith("+") and max(lengths) <= 4)


def _looks_like_date_or_time(value: str) -> bool:
    groups = _digit_groups(value)
    lengths = [len(g) for g in groups]
    if lengths in ([4, 2, 2], [2, 2, 4], [1, 2, 4], [2, 1, 4], [4, 1, 1], [4, 2, 1], [4, 1, 2]):
        return True
    return len(groups) == 2 and lengths[0] == 4 and lengths[1] == 4 and value.count("-") == 1  # year ranges


def _phones(text: str, taken: list[Span]) -> Iterator[Span]:
    for m in _PHONE.finditer(text):
        value = m.group("v").rstrip(" (.-/")
        start = gstart(m, "v")
        end = start + len(value)
        if value.count("(") != value.count(")"):
            value = value.strip("()")
            start = gstart(m, "v") + m.group("v").index(value)
            end = start + len(value)
        main = re2.split(r"[ \t]?(?:x|ext\.?|#)[ \t]?", value)[0]
        groups = _digit_groups(main)
        digits = sum(len(g) for g in groups)
        if not 7 <= digits <= 15 or "  " in value.strip() or " / " in value:
            continue
        joined = "".join(groups)
        if set(joined) <= {"0", "1"} or joined.count("0") * 2 > len(joined):
            continue  # binary strings and round numbers
        if "." in value and not _dotted_phone(groups, value):
            continue  # decimals such as 2.707915
        if _looks_like_date_or_time(value) or any(start < t.end and t.start < end for t in taken):
            continue
        context = _PHONE_CONTEXT.search(text[max(0, start - 40) : start]) is not None or \
            _PHONE_AFTER.search(text[end : end + 15]) is not None
        if context or phone_shape_ok(value):
            yield Span(start, end, "phone", value)


def find_structured(text: str, kinds: frozenset[str]) -> list[Span]:
    """All validated structured spans in ``text`` for the enabled ``kinds`` (overlaps not yet resolved)."""
    spans: list[Span] = []
    if "email" in kinds:
        spans.extend(_emails(text))
    has_digit = ANY_DIGIT.search(text) is not None
    if has_digit:
        if "iban" in kinds:
            spans.extend(_ibans(text))
        if "credit_card" in kinds:
            spans.extend(_cards(text))
        if "ssn" in kinds:
            spans.extend(_ssns(text))
        if "ip_address" in kinds:
            spans.extend(_ips(text))
        if "phone" in kinds:
            spans.extend(_phones(text, [s for s in spans if s.kind != "email"]))
    return spans


ANY_DIGIT = re.compile(r"\d")  # the standard library's: a C scan, much cheaper per text than re2's wrapper
