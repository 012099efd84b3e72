"""General knowledge about how people are named, kept beside the learned tagger (each earns its place in
the ablation on dev, see BENCHMARKS.md):

- an introduction ("my name is", "je m'appelle", "меня зовут", "我叫", ...) names a person: the words
  after it, capitalised or not (chat text is often lower case), in any script;
- an honorific ("Mr.", "Dr.", "Frau", "Sra.") names a person: the capitalised words after it;
- a self-introduction without the word "name" ("I'm Priya", "ich bin Jonas") or a greeting ("Dear Karen,",
  "Hallo Stefan") names a person when the capitalised word after it is a known given name that is not a
  common word of the language ("I am German", "Dear Sir", "Hello World" stay), unless it is a very common
  given name ("I am Grace");
- a relation after a possessive ("my son Liam", "mon frère Julien", "meiner Tochter Lena") names a person
  when the capitalised word after it is such a known given name: chat names private people this way;
- a Japanese or Chinese name before an honorific suffix (さん, 様, 先生, 氏);
- a name before a noun that makes it a term ("Gauss's law", "the Monte Carlo method", "Bayes theorem")
  names a law, method or disease, not a person in the text (English eponyms);
- code is not prose: fenced and inline code holds identifiers, not people.

No rule here was written for a sentence of any dev or test set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import re2

from chatsift.privacy.structured import _OPTS, gstart
from chatsift.privacy.wordlists import gazetteers, language_lists, latin_key

INTRO = re2.compile(
    r"(?i)(?:my name is|my name's|(?:last|first|full|sur) ?name is|mi nombre es|me llamo|je m'appelle|"
    r"je m’appelle|mon nom est|ich heiße|ich heisse|"
    r"mein name ist|mi chiamo|il mio nome è|meu nome é|me chamo|mijn naam is|ik heet|nazywam się|jmenuji se|"
    r"jeg hedder|jag heter|mitt namn är|mit navn er|zovem se|volám sa|benim adım|меня зовут|моё имя|мое имя|"
    r"мене звати)[ \t]*[:,]?[ \t]*(?P<n>\p{L}[\p{L}\p{M}'’-]*(?:[ \t]+\p{L}[\p{L}\p{M}'’-]*){0,3})",
    _OPTS,
)
# A word every introduction above holds (lower-cased), to skip the scan of a text that has none.
INTRO_KEYS = ("name", "nombre", "llamo", "appelle", "nom est", "heiße", "heisse", "chiamo", "nome", "chamo", "naam",
              "heet", "nazywam", "jmenuji", "adım", "зовут", "имя", "звати", "hedder", "heter", "namn", "navn",
              "zovem", "volám")
INTRO_CJK = re2.compile(
    r"(?:我叫|我的名字是|私の名前は|제 이름은)[ \t]*(?P<n>[\p{Han}\p{Hangul}\p{Katakana}]{2,4})", _OPTS)
CJK_HONORIFIC = re2.compile(r"(?P<n>[\p{Han}\p{Katakana}]{2,4})(?:さん|様|先生|くん|ちゃん|氏)", _OPTS)
HONORIFIC = re.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Mme|Mlle|Monsieur|Madame|Herr|Frau|Sr|Sra|Srta|Señor|Señora|"
    r"Doña|Sig|Signor|Signora|Rev|Capt|Sgt|Mister|Г-н|Г-жа|Господин|Госпожа)\.?[ \t]+"
    r"(?P<n>[^\W\d_][\w'’-]*(?:[ \t]+(?:(?:van|von|de|der|den|da|di|du|del|la|le|bin|al|ibn)[ \t]+)?"
    r"[^\W\d_][\w'’-]*){0,2})")
_BOUNDARY = r"(?:^|[^\p{L}\p{N}_'’])"
# The capitalised name after an opening: up to three words, a particle allowed between them.
_NAME_AFTER = (r"(?P<n>\p{Lu}[\p{L}\p{M}\p{N}_'’-]*(?:[ \t]+(?:(?:van|von|de|der|den|da|di|du|del|la|le|bin|al|ibn)"
               r"[ \t]+)?\p{L}[\p{L}\p{M}\p{N}_'’-]*){0,2})")
# Self-introductions without "name" and greetings, per language; what follows must be a known given name.
_ADDRESS_OPENING = (
    r"(?i:I am|I'm|I’m|je suis|ich bin|soy|sono|sou|ik ben|jag är|jeg er|ja sam|som|я|"
    r"dear|hi|hello|hey|liebe|lieber|hallo|cher|chère|bonjour|salut|hola|querido|querida|olá|oi|ciao|caro|cara|"
    r"beste|hoi|hej|kære|kära|bok|zdravo|ahoj|привет|здравствуйте|дорогой|дорогая)[ \t]*,?[ \t]+"
)
ADDRESS = re2.compile(_BOUNDARY + _ADDRESS_OPENING + _NAME_AFTER, _OPTS)
# A person named by relation ("my son Liam"): a possessive, perhaps an adjective, a word for a relative, friend
# or colleague, then the name; per language (en, fr, de, es, pt, it, nl, and the Scandinavian languages).
_POSSESSIVES = (
    "my|our|his|her|their|mon|ma|notre|son|sa|leur|mein|meine|meinem|meinen|meiner|unser|unsere|unserem|unseren|"
    "unserer|sein|seine|seinem|seinen|seiner|ihr|ihre|ihrem|ihren|ihrer|mi|mis|nuestro|nuestra|su|meu|minha|nosso|"
    "nossa|seu|sua|mio|mia|il mio|la mia|il suo|la sua|mijn|onze|zijn|haar|min|mitt|mine|vores|vår|vårt"
)
_RELATION_ADJECTIVES = (
    "best|little|big|older|younger|elder|old|new|former|dear|late|good|close|petit|petite|grand|grande|cher|chère|"
    "meilleur|meilleure|kleiner|kleinen|kleine|großer|großen|große|älterer|älteren|ältere|jüngerer|jüngeren|jüngere|"
    "bester|besten|beste|lieber|lieben|liebe|mejor|querido|querida|melhor|caro|cara|migliore|lieve|"
    "bäste|bedste|kære|kära"
)
_RELATIONS = (
    # en
    "friend|son|daughter|wife|husband|boyfriend|girlfriend|partner|fiancé|fiancée|fiance|fiancee|brother|sister|"
    "mother|mom|mum|father|dad|stepson|stepdaughter|stepmother|stepfather|grandson|granddaughter|grandmother|"
    "grandfather|grandma|grandpa|cousin|uncle|aunt|nephew|niece|boss|colleague|coworker|co-worker|classmate|"
    "roommate|flatmate|neighbor|neighbour|teacher|student|tutor|coach|mentor|manager|landlord|tenant|"
    "kid|child|baby|buddy|bestie|crush|ex|"
    # fr
    "ami|amie|copain|copine|fils|fille|femme|mari|frère|sœur|soeur|mère|père|maman|papa|cousine|oncle|tante|neveu|"
    "nièce|collègue|voisin|voisine|patron|patronne|chef|compagnon|compagne|grand-mère|grand-père|enfant|bébé|"
    "professeur|prof|élève|"
    # de
    "freund|freundin|sohn|tochter|frau|mann|ehemann|ehefrau|bruder|schwester|mutter|mama|vater|onkel|neffe|"
    "nichte|kollege|kollegin|kollegen|nachbar|nachbarin|nachbarn|chefin|verlobte|verlobter|verlobten|partnerin|oma|"
    "opa|enkel|enkelin|kind|lehrer|lehrerin|"
    # es, pt, it
    "amigo|amiga|hijo|hija|esposa|esposo|marido|novio|novia|hermano|hermana|madre|mamá|padre|papá|primo|prima|tío|"
    "tía|sobrino|sobrina|colega|compañero|compañera|vecino|vecina|jefe|jefa|abuela|abuelo|filho|filha|mulher|"
    "namorado|namorada|irmão|irmã|mãe|pai|tio|tia|sobrinho|sobrinha|vizinho|vizinha|chefe|avó|avô|amico|amica|"
    "figlio|figlia|moglie|fidanzato|fidanzata|fratello|sorella|mamma|papà|cugino|cugina|zio|zia|nipote|collega|"
    "vicino|vicina|capo|nonna|nonno|"
    # nl, sv, da, no
    "vriend|vriendin|zoon|dochter|vrouw|man|broer|zus|moeder|vader|neef|nicht|oom|buurman|buurvrouw|baas|"
    "vän|ven|venn|veninde|venninne|dotter|datter|søn|sønn|fru|kone|mand|bror|syster|søster|mor|far|pappa|kollega|granne|"
    "nabo"
)
_RELATION_OPENING = (r"(?i:" + _POSSESSIVES + r")[ \t]+(?:(?i:" + _RELATION_ADJECTIVES + r")[ \t]+)?(?i:" + _RELATIONS
                     + r")[ \t]*,?[ \t]+")
RELATION = re2.compile(_BOUNDARY + _RELATION_OPENING + _NAME_AFTER, _OPTS)
# Both in one scan: each search costs about the same whatever the pattern, so the default pays for one.
ADDRESS_OR_RELATION = re2.compile(_BOUNDARY + "(?:" + _ADDRESS_OPENING + "|" + _RELATION_OPENING + ")" + _NAME_AFTER,
                                  _OPTS)
# A given name this prominent (summed country frequency classes) is read as a name even when it is also a
# common word ("Grace", "June", "Christian"); below it, a common word stays a word ("I am German").
ADDRESS_GIVEN_MIN, ADDRESS_COMMON_GIVEN_MIN = 5, 30
# Chat logs greet the assistant by its product name ("Hi Claude", "Hey Siri"): a product, not a person.
ASSISTANT_NAMES = frozenset({"claude", "siri", "alexa", "cortana", "bard", "gemini", "vicuna", "alpaca", "koala",
                             "llama", "dolly", "bing", "copilot", "grok", "mistral", "falcon", "pi", "bixby"})

# The nouns that make a name before them a term (English eponyms: "Gauss's law", "Alzheimer's disease").
EPONYM_NOUNS = frozenset({
    "law", "laws", "theorem", "theorems", "lemma", "conjecture", "hypothesis", "principle", "paradox",
    "equation", "equations", "inequality", "formula", "constant", "number", "numbers", "method", "methods",
    "algorithm", "algorithms", "distribution", "transform", "series", "function", "functions", "effect",
    "cycle", "structure", "structures", "bound", "integral", "syndrome", "disease", "criterion", "filter",
    "matrix", "sequence", "curve", "coefficient", "machine", "notation", "operator", "simulation",
    "simulations", "approximation", "estimator", "diagram", "cipher", "chain", "chains", "process",
})
_EPONYM_AFTER = re.compile(r"(?:['’]s?)?[ \t]+([A-Za-z]+)(?:[ \t]+([a-z]+))?")
INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
# Words of an introduction's continuation that end the name ("my name is john and i ...").
_ENDS_NAME = frozenset({"and", "i", "im", "i'm", "from", "but", "so", "the", "a", "an", "et", "je", "und", "ich",
                        "y", "e", "en", "og", "och", "и", "я", "here", "too", "btw", "nice", "not"})


def code_regions(text: str) -> list[tuple[int, int]]:
    """Fenced (```) and inline (`) code: identifiers there are not names (secrets are still scanned)."""
    regions = []
    pos = 0
    while True:
        start = text.find("```", pos)
        if start < 0:
            break
        end = text.find("```", start + 3)
        end = len(text) if end < 0 else end + 3
        regions.append((start, end))
        pos = end
    if "`" in text:
        for m in INLINE_CODE.finditer(text):
            if not any(s <= m.start() < e for s, e in regions):
                regions.append((m.start(), m.end()))
    return regions


def names_a_term(text: str, end: int) -> bool:
    """Whether the name ending at ``end`` is part of an eponymous term: a possessive or nothing, then a term
    noun as the next word or the one after ("Gauss's law", "Kepler's third law", "Navier-Stokes
    equations", "the Monte Carlo method")."""
    m = _EPONYM_AFTER.match(text, end, end + 40)
    return bool(m) and (m.group(1).lower() in EPONYM_NOUNS or (m.group(2) or "") in EPONYM_NOUNS)


def introduced_names(text: str) -> Iterator[tuple[int, int]]:
    """The names that introductions and honorifics give (character spans)."""
    lowered = text.lower()
    if any(key in lowered for key in INTRO_KEYS):
        for m in INTRO.finditer(text):
            yield from _words_of_name(text, gstart(m, "n"), m.group("n"))
    if not text.isascii():
        for pattern in (INTRO_CJK, CJK_HONORIFIC):
            for m in pattern.finditer(text):
                start = gstart(m, "n")
                yield start, start + len(m.group("n"))
    if "." in text or " " in text:
        for m in HONORIFIC.finditer(text):
            yield from _words_of_name(text, m.start("n"), m.group("n"), capitalised_only=True)


def addressed_names(text: str, language: str | None) -> Iterator[tuple[int, int]]:
    """The names that self-introductions without "name" and greetings give, when the first word is a known
    given name that is not a common word of the text's language (see ``ADDRESS``)."""
    yield from _given_names_after(ADDRESS, text, language)


def related_names(text: str, language: str | None) -> Iterator[tuple[int, int]]:
    """The names that a relation after a possessive gives ("my son Liam"), on the same condition as
    ``addressed_names`` (see ``RELATION``)."""
    yield from _given_names_after(RELATION, text, language)


def addressed_or_related_names(text: str, language: str | None) -> Iterator[tuple[int, int]]:
    """``addressed_names`` and ``related_names`` in one scan."""
    yield from _given_names_after(ADDRESS_OR_RELATION, text, language)


def _given_names_after(pattern, text: str, language: str | None) -> Iterator[tuple[int, int]]:
    given = gazetteers().given
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        start = gstart(m, "n")
        pos = start - 1  # the next search starts before this word: "Hello, I am Lucas" has two openings
        found = m.group("n")
        first = re.match(r"[^\W\d_][\w'’-]*", found).group()
        low = first.lower()
        if (first.isupper() and len(first) > 1) or low in ASSISTANT_NAMES:
            continue
        weight = given.get(latin_key(low), 0)
        if weight < ADDRESS_GIVEN_MIN or (weight < ADDRESS_COMMON_GIVEN_MIN and _common_word(low, language)):
            continue
        words = list(_words_of_name(text, start, found, capitalised_only=True))
        # the next search starts after the name, not after all ``found`` took ("Lucas and my son Liam")
        pos = words[-1][1] if words else start + len(first)
        yield from words


def _common_word(word: str, language: str | None) -> bool:
    lists = language_lists(language) if language and language != "en" else None
    if lists is not None:
        return word in lists.function or word in lists.words
    return word in gazetteers().dictionary


def _words_of_name(text: str, start: int, found: str, capitalised_only: bool = False) -> Iterator[tuple[int, int]]:
    """The first word, then the words while they look like a name's (capitalised, or a particle in a
    capitalised name); lower-case text gives one word, or two when a second follows without a break."""
    words = [(m.group(), start + m.start(), start + m.end()) for m in re.finditer(r"\S+", found)]
    keep: list[tuple[str, int, int]] = []
    capitalised_text = any(c.isupper() for c in found)
    for word, s, _ in words:
        bare = word.rstrip(".,;:!?'’")
        if not bare or bare.lower() in _ENDS_NAME:
            break
        if keep and capitalised_text and not bare[0].isupper() and bare.lower() not in {
                "van", "von", "de", "der", "den", "da", "di", "du", "del", "la", "le", "bin", "al", "ibn"}:
            break
        if capitalised_only and not keep and not bare[0].isupper():
            return
        keep.append((bare, s, s + len(bare)))
        if bare != word or (not capitalised_text and len(keep) == 2):
            break  # punctuation ends the name
    while len(keep) > 1 and not keep[-1][0][0].isupper() and capitalised_text:
        keep.pop()  # "Jan de" never ends on a particle
    if keep:
        yield keep[0][1], keep[-1][2]
