"""Street addresses: a street line found by its street word and house number, grown into the block
around it (unit, post box, city, postcode), and unit or military-post lines on their own.

Street words cover English, German, Nordic, Finnish, Hungarian, Slavic, Dutch, Romance and Greek
spellings. Addresses are hard to bound; the block rule keeps one address as one ``ADDRESS_n``.
"""

from __future__ import annotations

from collections.abc import Iterator

import re2

from chatsift.privacy.spans import Span
from chatsift.privacy.structured import _OPTS, ANY_DIGIT, gend, gstart

_EN_SUFFIX = (
    r"(?:STREET|AVENUE|ROAD|DRIVE|LANE|Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|"
    r"Place|Pl|Square|Sq|Terrace|"
    r"Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Trail|Trl|Crescent|Close|Gardens|Greens|Green|Pass|Row|Walk|Mews|"
    r"Grove|Heights|Hollow|Junction|Loop|Pike|Plaza|Point|Ridge|Run|Turnpike|Expressway|Freeway|Alley|Crossing|"
    r"Estates|Meadows|Villas|Vista|Manor|Path|Bypass|Causeway|Esplanade|Wharf|Quay|Embankment)"
)
# Street words written glued to the name or before/after it, in other languages.
_EU_GLUED = (
    r"\p{L}+(?i:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|steig|chaussee|vägen|väg|gatan|gata|"
    r"gränd|stigen|torget|tie|tien|katu|kuja|polku|kaari|tori|raitti|utca|út|útja|vej|gade|vænget|veien|veg|gaten|"
    r"laan|straat|plein|gracht|kade|dreef|singel|braut|stræti|gata|vegur|brekka)"
)
# Street words written before the name. Those that are also English words ("via", "place") only count
# capitalised; the rest in any case.
_EU_BEFORE = (
    r"(?:(?i:rue|chemin|allée|impasse|quai|viale|piazza|piazzale|vicolo|calle|avenida|avda\.|paseo|camino|"
    r"carrer|rua|travessa|praça|estrada|alameda|ul\.|ulica|aleja|ulice|náměstí|třída|strada|bulevardul|calea|"
    r"caddesi|cad\.|sokak|sok\.|bulvarı|λ\.|οδός|leoforos)"
    r"|Avenue|Boulevard|Bd|Place|Quai|Via|Corso|Largo|Plaza|Plac|Trg|Al\.|Av\.)"
)
_NUM = r"\d{1,5}[a-zA-Z]?"
# Famous public addresses and textbook examples: an address, but nobody's personal data.
PUBLIC_ADDRESSES = ("123 main st", "1234 main st", "123 elm st", "1600 pennsylvania ave", "1600 amphitheatre pkwy",
                    "1600 amphitheatre parkway", "1 infinite loop", "1 apple park way", "221b baker st",
                    "742 evergreen terrace", "10 downing st", "1 microsoft way", "350 fifth ave")
_STREET = re2.compile(
    # English: house number, up to four words, a capitalised street word ("12 Kimberly Way").
    r"(?:^|[^\p{L}\p{N}])(?P<a>" + _NUM + r"[ \t]+(?:\p{Lu}[\p{L}\p{M}.'’-]*[ \t]+|\d{1,3}(?:st|nd|rd|th)[ \t]+){1,4}"
    + _EN_SUFFIX + r"\.?)(?:$|[^\p{L}])"
    # Elsewhere: a capitalised name with the street word glued to it, then a house number ("Hauptstraße 5")...
    r"|(?:^|[^\p{L}\p{N}])(?P<b>\p{Lu}" + _EU_GLUED + r"[ \t]+" + _NUM + r"\.?)(?:$|[^\p{L}\p{N}])"
    # ... or a street word before the name, whole-word, with the house number after it ("Via Roma 12").
    r"|(?:^|[^\p{L}\p{N}])(?P<c>(?:" + _NUM + r"[ \t,]+)?" + _EU_BEFORE
    + r"[ \t]+(?:\p{L}[\p{L}\p{M}.'’-]*[ \t]+){0,4}\d{1,5})(?:$|[^\p{L}\p{N}])"
    # French order: the house number first ("12 rue de Rivoli", "3 bis, chemin des Vignes").
    r"|(?:^|[^\p{L}\p{N}])(?P<d>" + _NUM
    + r"(?:[ \t]+(?:bis|ter))?,?[ \t]+(?i:rue|chemin|allée|impasse|quai|boulevard|bd)[ \t]+"
    r"(?:(?:de|du|des|la|le|l'|d')[ \t]*)*\p{Lu}[\p{L}\p{M}'’-]*(?:[ \t]+\p{Lu}[\p{L}\p{M}'’-]*){0,2})",
    _OPTS,
)
_UNIT = re2.compile(
    r"(?i)(?:^|[^\p{L}])(?P<u>(?:apt\.?|apartment|suite|ste\.?|unit|room|flat|floor|postbox|p\.?\s?o\.?\s?box|box|"
    r"psc|cmr)[ \t]*#?[ \t]*\d{1,6}(?:,?[ \t]*box[ \t]*\d{1,6})?(?:\n?[ \t]*(?:apo|dpo|fpo)[ \t]+a[aep][ \t]+\d{5})?)",
    _OPTS,
)
_UNIT_ALONE = re2.compile(r"(?:Apt\.?|Apartment|Suite|Ste\.?|APT\.?|SUITE)[ \t]*#?[ \t]*\d{2,6}", _OPTS)
_POST_BOX = re2.compile(r"(?i)(?:postbox|p\.?\s?o\.?\s?box|psc|cmr)", _OPTS)
_MILITARY = re2.compile(
    r"(?P<m>(?:USNS|USNV|USS|USCGC)[ \t]+\p{Lu}[\p{L}]+\n?[ \t]*(?:APO|DPO|FPO)[ \t]+A[AEP][ \t]+\d{5})", _OPTS
)
_ADDRESS_CONTEXT = re2.compile(
    r"(?i:address|addr\.|lives (?:on|at)|living (?:on|at)|located at|ship(?:ped)? to|send (?:it|this|them)? ?to|"
    r"deliver(?:ed)? to|billing|shipping|residence|resides at|moved to|postal)(?:[ \t]+is)?[ \t:]*(?P<x>" + _NUM +
    r"[ \t]+\p{Lu}[\p{L}\p{M}.'’-]*(?:[ \t]+\p{L}[\p{L}\p{M}.'’-]*){0,3}|\p{Lu}[\p{L}\p{M}'’-]+(?:[ \t]+\p{L}"
    r"[\p{L}\p{M}'’-]+){0,2}[ \t]+\d{1,5})(?:$|[^\p{L}\p{N}])",
    _OPTS,
)
# A block continues over separators (newline, comma, "|", ">", runs of spaces) into units, place names
# in capitals, postcodes and country names.
_CONTINUATION = re2.compile(
    r"^(?:[ \t]*(?:\n|,|;|\||>|\?\?\?|[ \t]{2,})[ \t]*|[ \t]+)(?P<c>(?:apt\.?|suite|ste\.?|unit|box|flat|floor)"
    r"[ \t]*#?\d{1,6}|\d{3,6}(?:[ -]\d{2,4})?|\p{Lu}[\p{Lu}\p{M}'’-]{2,}(?:[ \t]+\p{Lu}[\p{Lu}\p{M}'’-]{2,}){0,2}|"
    r"\p{Lu}[\p{Ll}\p{M}'’-]+(?:[ \t]+\p{Lu}[\p{Ll}\p{M}'’-]+){0,2}(?:[ \t]+\d{3,6})?)",
    _OPTS,
)
_HOUSE_BEFORE = re2.compile(r"(?P<h>\d{1,6})[ \t]+$", _OPTS)
MAX_CONTINUATIONS = 4


def find_addresses(text: str) -> Iterator[Span]:
    if not ANY_DIGIT.search(text):
        return
    cores: list[tuple[int, int]] = []
    for m in _STREET.finditer(text):
        for group in ("a", "b", "c", "d"):
            if m.group(group):
                cores.append((gstart(m, group), gend(m, group)))
    for m in _ADDRESS_CONTEXT.finditer(text):
        cores.append((gstart(m, "x"), gend(m, "x")))
    for m in _MILITARY.finditer(text):
        cores.append((gstart(m, "m"), gend(m, "m")))
    # "Room 0", "floor 3", "Creative Suite 6" alone are no one's address: a unit counts beside a street
    # line; on its own only a post box, a military post line or a capitalised "Apt. 297" / "Suite 501".
    for m in _UNIT.finditer(text):
        start, end = gstart(m, "u"), gend(m, "u")
        unit = m.group("u")
        alone = _POST_BOX.match(unit) is not None or _UNIT_ALONE.match(unit) is not None or "\n" in unit
        if alone or any(s - 40 <= end and start <= e + 40 for s, e in cores):
            cores.append((start, end))
    for start, end in _merge(cores):
        start, end = _grow(text, start, end)
        value = text[start:end]
        if " ".join(value.lower().replace(".", "").replace("street", "st").replace("avenue", "ave").split()
                    ).startswith(PUBLIC_ADDRESSES):
            continue
        yield Span(start, end, "address", value)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1] + 2:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend a street line backwards over a house number and forwards over the rest of the block."""
    before = _HOUSE_BEFORE.search(text[max(0, start - 8) : start])
    if before:
        start = max(0, start - 8) + gstart(before, "h")
    for _ in range(MAX_CONTINUATIONS):
        m = _CONTINUATION.search(text[end : end + 80])
        if not m:
            break
        end += gend(m, "c")
    return start, end
