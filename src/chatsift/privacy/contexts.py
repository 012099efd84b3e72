"""Words around a name, by language, that say it is a person's: reporting verbs and roles.

News and chat name people by their surname alone ("rekao je Sejdiu", "Merkel sagte", "disse
Antinori", "o ministro Cutolo"). A surname alone is no evidence on its own (most of them are also
places, brands or words somewhere), but a capitalised word that is no word of the language, right
after a reporting verb or a role, or right before a reporting verb, is a person's name.

The lists are short on purpose: the verbs of saying and the roles that news writes before a name,
for the languages chatsift has word lists for. English has its own, older lists first: titles,
introductions, narrative verbs, and the words that make a capitalised run a thing ("Nobel Prize").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# English, the language every text is also read in.
# Honorifics: whatever capitalised word follows is a name ("Ms. Austin").
HONORIFICS = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "madam", "madame", "mme", "mlle", "monsieur",
    "herr", "frau", "sr", "sra", "srta", "señor", "señora", "doña", "dona", "sig", "signor", "signora",
    "signorina", "rev", "fr", "capt", "lt", "col", "gen", "sgt", "mister",
})
# Roles: a following word is a name only if it is not an ordinary word ("Uncle Bob", not "Coach They").
ROLES = frozenset({
    "professor", "lady", "lord", "reverend", "father", "sister", "brother", "captain", "officer", "detective",
    "judge", "senator", "uncle", "aunt", "auntie", "grandma", "grandpa", "doctor", "nurse", "coach", "pastor",
    "rabbi", "imam", "president", "minister",
})
TITLES = HONORIFICS | ROLES
# A capitalised run that starts so names a place or a church, not a person.
PLACE_PREFIXES = frozenset({"san", "santa", "santo", "são", "sao", "puerto", "porto", "st", "sankt", "saint", "ste",
                            "sainte", "fort", "port", "mount", "mt", "lake", "cape", "bad"})
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "dds", "dvm", "esq", "cpa", "rn", "mba", "dmd",
                      "jd", "do"})
PARTICLES = frozenset({"van", "von", "de", "da", "del", "della", "di", "du", "la", "le", "bin", "al", "ibn", "ter",
                       "ten", "den", "der", "dos", "das", "el", "bint", "ben", "af", "zu", "y"})
STRONG_INTRO = ("welcome", "posted by", "thanks from", "my name is", "name is", "name's", "your name?", "name?",
                "i'm", "i am", "call me", "called", "named",
                "this is",
                "dear", "hi", "hello", "hey", "thanks", "thank you", "regards,", "sincerely,", "cheers,", "best,",
                "from:", "to:", "cc:", "signed,", "contact", "ask", "meet", "met", "married", "son", "daughter",
                "wife", "husband", "friend", "colleague", "boss", "manager", "mom", "mother", "dad", "father",
                "last name", "last name?", "surname", "surname?", "first name", "first name?", "full name",
                "name:", "name -", "follow up with", "talk to", "speak to", "spoke with", "spoke to",
                "named him", "named her", "calls me", "call me", "maiden name is", "kid", "child", "baby", "son",
                "partner's name", "brother", "sister", "aunt", "uncle", "cousin", "nephew", "niece", "grandson",
                "granddaughter",
                # greetings and wishes addressed to someone ("Bye Capwin!", "Happy New year Amber,")
                "bye", "goodbye", "congrats", "congratulations", "happy birthday", "happy new year", "merry christmas",
                "love you", "miss you", "good luck", "shoutout to", "shout out to", "rip")
# Weaker contexts: the word must also look like a name (a known given name or surname).
WEAK_INTRO = ("said", "says", "told", "asked", "answered", "replied", "shouted", "yelled", "according to",
                "kid", "child", "baby", "son", "partner", "partner's name", "brother", "sister", "aunt", "uncle",
                "cousin", "nephew", "niece", "grandson", "granddaughter", "assistant to", "directed by", "starring",
                "featuring", "produced by", "written by", "producer", "songwriter", "author", "singer", "actor",
                "actress", "director", "named him", "named her", "calls me", "call me", "maiden name is", "add",
                "remove", "under", "to", "by")
# Nouns that, after a possessive, make a name part of a thing named after someone ("Occam's razor").
EPONYM_NOUNS = ("cube", "law", "laws", "theorem", "algorithm", "principle", "constant", "equation", "paradox", "razor",
                "disease", "syndrome", "conjecture", "lemma", "formula", "series", "triangle", "effect", "hypothesis",
                "inequality", "distribution", "transform", "sequence", "dilemma", "pyramid", "hierarchy", "bound",
                "cycle", "integral", "polynomial")
# Nouns that, right after a capitalised run, make it a modifier: "the Monte Carlo method", "a Lewis
# structure", "Markov decision processes". Nouns that double as verbs ("John tests", "Ann and Li model") are
# left out.
THING_NOUNS = (*EPONYM_NOUNS, "method", "rule", "problem", "machine", "number", "identity", "structure", "space",
               "matrix", "operator", "coefficient", "diagram", "notation", "simulation", "simulations", "decision",
               "curve")
NAMED_THINGS = frozenset({"act", "prize", "award", "awards", "foundation", "university", "institute", "college",
                          "school", "hospital", "museum", "library", "cup", "trophy", "theorem", "law", "effect",
                          "method", "algorithm", "distribution", "process", "chain", "test", "box", "center",
                          "centre", "hall", "tower", "bridge", "park", "airport", "station", "stadium", "hotel",
                          "inc", "corp", "ltd", "llc", "group", "company", "studio", "studios", "festival", "show",
                          "advisors", "partners", "consulting", "solutions", "technologies", "systems", "labs",
                          "bank", "capital", "ventures", "holdings", "associates", "agency", "network", "system",
                          # a business's trade after its owner's name: "Malcolm Smith Motorsports", "Barrys Auto Tech"
                          "motorsports", "motors", "auto", "automotive", "transport", "trucking", "plumbing",
                          "roofing", "realty", "insurance", "dental", "photography", "landscaping", "catering",
                          "bakery", "salon", "pizza", "grill", "garage", "enterprises", "industries", "productions",
                          "construction", "builders", "cleaning", "clinic", "pharmacy", "garden", "gardens", "square"})
# A word right before a capitalised run that makes it a storm or a place ("Hurricane Rita", "St. Thomas").
NAMED_BEFORE = frozenset({"hurricane", "storm", "typhoon", "cyclone", "st", "san", "santa", "saint", "mount", "mt",
                          "lake", "fort", "port", "cape"})
# "Item Name: Deli Cava": after these labels a capitalised run names a thing, not a person.
THING_LABELS = ("item name:", "item:", "product:", "product name:", "brand:", "company:", "title:", "song:",
                "album:", "film:", "movie:", "book:", "capital:", "country:", "city:", "organization:")
# Verbs that follow a person's name in narrative text ("Shovda is very reliable", "Dexter lives on ...").
PERSON_VERBS_AFTER = ("said", "says", "shouted", "yelled", "replied", "asked", "told", "lives", "lived", "was born",
                      "is from", "was from", "had given", "has given", "began", "wrote", "writes", "thinks",
                      "thought", "feels", "felt", "wants", "wanted", "loves", "loved", "married", "died", "smiled",
                      "laughed", "cried", "spent", "works at", "worked at", "will be talking", "is talking",
                      "is very", "is so", "is my", "was my", "has been", "had been", "listed his", "listed her",
                      "employs", "explained", "stated", "knew", "knows", "is obsessed", "continues his",
                      "continues her", "had me", "smiles", "sings", "sang", "laughs", "cries")

# What two people named together do next ("Marrero and Usamov were", "... met").
PLURAL_VERBS = frozenset({"were", "are", "have", "had", "both", "met", "married", "wrote", "said", "founded",
                          "started", "played", "sang", "worked", "lived", "became"})
# A work after a surname ("the Jensen novel"): its maker is a person.
WORK_AFTER = frozenset({"novel", "novels", "book", "books", "film", "films", "movie", "movies", "album", "song",
                        "songs", "play", "poem", "biography", "memoir", "painting", "paintings", "symphony"})
# A quotation's attribution: '..." says Gerste', '..., said Hauta-aho': whoever says it is a person.
ATTRIBUTION = ('," says', '," said', ', says', ', said', '" says', '" said', "” says", "” said")
ORDINALS = ("first", "second", "third", "fourth", "zeroth", "last")
DETERMINERS = (" the ", " a ", " an ", " your ", " our ", " their ", " its ", " this ", " these ",
                " those ")
# A name given to an animal, a place or a thing: "My cats name is Twinky", "a Forest Cat that is named
# Achilles", "the city called Miramar", "It's now called Sushi Lover".
NAMED_THING_NOUNS = ("cat", "cats", "dog", "dogs", "puppy", "kitten", "kitty", "pet", "pets", "horse", "pony", "bird",
                     "parrot", "hamster", "rabbit", "bunny", "turtle", "snake", "goldfish", "fish", "cow", "goat",
                     "city", "town", "towns", "village", "place", "street", "road", "restaurant", "shop", "store",
                     "bar", "cafe", "band", "boat", "ship", "car", "truck", "company", "business", "song", "album",
                     "movie", "film", "book", "game", "app", "channel", "server", "bot", "team", "club", "house",
                     "farm", "brand", "product", "it", "it's", "its", "that's", "this")
# Before a single capitalised word these make it a place: "flowers shops around Norman", "a bus near Hilla".
NEAR = (" near", " around", " outside", " outside of", " downtown")
PLACE_OF = (" city of", " town of", " village of", " province of", " state of", " county of", " kingdom of",
             " republic of", " island of")

@dataclass(frozen=True)
class NameContexts:
    before: tuple[str, ...]  # lower-case phrases that may end right before a name
    after: tuple[str, ...]  # lower-case phrases that may start right after a name


_REPORTING_BEFORE = {
    "de": ("sagte", "sagt", "so", "erklärte", "betonte", "meinte", "kritisierte", "berichtete", "fragte"),
    "da": ("sagde", "siger", "fortæller", "forklarer", "mener", "skriver", "spurgte"),
    "sv": ("sade", "sa", "säger", "berättar", "skriver", "menar"),
    "no": ("sa", "sier", "forteller", "skriver", "mener"),
    "nl": ("zei", "zegt", "aldus", "volgens", "vertelt", "schrijft"),
    "pt": ("disse", "diz", "afirmou", "explicou", "declarou", "segundo", "contou", "acrescentou", "enumerou",
           "garantiu", "defendeu", "criticou"),
    "es": ("dijo", "dice", "afirmó", "explicó", "declaró", "según", "contó", "añadió", "aseguró"),
    "it": ("ha detto", "dice", "secondo", "ha dichiarato", "ha spiegato", "ha aggiunto"),
    "fr": ("a déclaré", "a dit", "dit", "selon", "explique", "affirme", "a ajouté", "a expliqué"),
    "hr": ("rekao je", "rekla je", "izjavio je", "izjavila je", "dodao je", "dodala je", "kazao je", "kazala je",
           "naveo je", "navela je", "tvrdi", "kaže", "navodi", "smatra", "prema"),
    "sr": ("rekao je", "rekla je", "izjavio je", "izjavila je", "dodao je", "dodala je", "kaže", "navodi", "prema"),
    "bs": ("rekao je", "rekla je", "izjavio je", "izjavila je", "dodao je", "kaže", "navodi"),
    "sl": ("je dejal", "je dejala", "pravi", "je povedal", "je povedala"),
    "sk": ("povedal", "povedala", "uviedol", "uviedla", "vyhlásil", "vyhlásila", "tvrdil", "tvrdila", "podľa"),
    "cs": ("řekl", "řekla", "uvedl", "uvedla", "prohlásil", "prohlásila", "tvrdil", "podle"),
    "pl": ("powiedział", "powiedziała", "stwierdził", "stwierdziła", "według", "dodał", "dodała"),
}
_REPORTING_AFTER = {
    "de": ("sagte", "sagt", "erklärte", "betonte", "meinte", "kritisierte", "berichtete", "erklärt", "betont"),
    "da": ("sagde", "siger", "fortæller", "forklarer", "mener", "skriver"),
    "sv": ("sade", "säger", "berättar", "skriver", "menar"),
    "no": ("sa", "sier", "forteller", "skriver", "mener"),
    "nl": ("zei", "zegt", "vertelt", "schrijft"),
    "pt": ("disse", "diz", "afirmou", "explicou", "declarou", "contou", "acrescentou", "garantiu", "defendeu"),
    "es": ("dijo", "dice", "afirmó", "explicó", "declaró", "contó", "añadió", "aseguró"),
    "it": ("ha detto", "dice", "ha dichiarato", "ha spiegato", "ha aggiunto"),
    "fr": ("a déclaré", "a dit", "dit", "explique", "affirme", "a ajouté", "a expliqué"),
    "hr": ("je rekao", "je rekla", "je izjavio", "je izjavila", "je dodao", "je dodala", "je kazao", "je kazala",
           "je naveo", "je navela", "kaže", "tvrdi", "navodi", "smatra", "objašnjava", "je navela"),
    "sr": ("je rekao", "je rekla", "je izjavio", "je izjavila", "je dodao", "kaže", "tvrdi", "navodi"),
    "bs": ("je rekao", "je rekla", "je izjavio", "je izjavila", "kaže", "tvrdi", "navodi"),
    "sl": ("je dejal", "je dejala", "pravi", "je povedal", "je povedala"),
    "sk": ("povedal", "povedala", "uviedol", "uviedla", "vyhlásil", "vyhlásila", "tvrdil", "tvrdila", "ohlásil"),
    "cs": ("řekl", "řekla", "uvedl", "uvedla", "prohlásil", "prohlásila", "tvrdil"),
    "pl": ("powiedział", "powiedziała", "stwierdził", "stwierdziła", "dodał", "dodała"),
}
# Roles written right before a name ("ministro Cutolo", "Kanzlerin Merkel", "premijerka Jadranka Kosor").
_ROLES = {
    "de": ("kanzler", "kanzlerin", "minister", "ministerin", "präsident", "präsidentin", "trainer", "trainerin",
           "bürgermeister", "bürgermeisterin", "sprecher", "sprecherin", "vorsitzende", "vorsitzender", "kollege",
           "kollegin", "autor", "autorin", "regisseur", "regisseurin", "sänger", "sängerin", "schauspieler",
           "schauspielerin", "spieler", "stürmer", "torhüter", "abgeordnete", "abgeordneter", "papst", "könig",
           "königin", "kaiser", "landrat", "pfarrer", "komponist", "maler", "dichter", "architekt"),
    "da": ("minister", "statsminister", "formand", "psykolog", "direktør", "træner", "forfatter", "borgmester",
           "landstræner", "kaptajn", "maleren", "forfatteren", "digteren", "sangeren", "skuespilleren"),
    "pt": ("ministro", "ministra", "presidente", "juiz", "juíza", "jogador", "jogadora", "técnico", "treinador",
           "deputado", "deputada", "senador", "senadora", "governador", "prefeito", "secretário", "secretária",
           "diretor", "diretora", "director", "directora", "projectista", "centroavante", "atacante", "volante",
           "zagueiro", "goleiro", "meia", "cantor", "cantora", "ator", "atriz", "escritor", "escritora", "lorde",
           "primeiro-ministro", "vice-presidente", "papa", "rei", "rainha", "realizador", "pintor", "compositor",
           "empresário", "advogado", "advogada", "professor", "professora", "médico", "médica", "taxista"),
    "es": ("ministro", "ministra", "presidente", "presidenta", "juez", "jueza", "jugador", "entrenador", "diputado",
           "diputada", "senador", "alcalde", "alcaldesa", "secretario", "director", "directora", "cantante", "actor",
           "actriz", "escritor", "escritora", "papa", "rey", "reina"),
    "it": ("ministro", "presidente", "giudice", "giocatore", "allenatore", "deputato", "senatore", "sindaco",
           "segretario", "direttore", "cantante", "attore", "attrice", "scrittore", "papa", "re", "regina"),
    "fr": ("ministre", "président", "présidente", "juge", "joueur", "entraîneur", "député", "sénateur", "maire",
           "secrétaire", "directeur", "directrice", "chanteur", "chanteuse", "acteur", "actrice", "écrivain",
           "pape", "roi", "reine"),
    "hr": ("premijer", "premijerka", "predsjednik", "predsjednica", "predsjednika", "ministar", "ministrica",
           "ministra", "glasnogovornik", "glasnogovornica", "trener", "trenera", "analitičar", "analitičaru",
           "kolega", "kolegom", "dopisnica", "dopisnik", "povjerenica", "povjerenik", "veleposlanik", "zastupnik",
           "zastupnica", "gradonačelnik", "savjetnik", "savjetnika", "tužitelj", "tužiteljica", "sudac", "papa",
           "papi", "kralj", "kraljica", "redatelj", "pjevač", "pjevačica", "glumac", "glumica", "igrač"),
    "sr": ("premijer", "predsednik", "predsjednik", "ministar", "portparol", "trener", "kolega", "ambasador",
           "gradonačelnik", "savetnik", "sudija", "papa", "kralj"),
    "sk": ("prezident", "prezidenta", "premiér", "premiéra", "minister", "ministra", "pápež", "pápeža", "pápežom",
           "kardinál", "kardinála", "cisár", "cisára", "kráľ", "kráľa", "tréner", "hráč", "veľvyslanec", "poslanec",
           "starosta", "spisovateľ", "skladateľ", "maliar", "herec", "herečka", "speváčka", "spevák"),
    "cs": ("prezident", "premiér", "ministr", "ministryně", "papež", "kardinál", "císař", "král", "trenér", "hráč",
           "velvyslanec", "poslanec", "starosta", "spisovatel", "skladatel", "malíř", "herec", "herečka"),
    "pl": ("prezydent", "premier", "minister", "papież", "kardynał", "król", "trener", "zawodnik", "poseł",
           "burmistrz", "pisarz", "kompozytor", "aktor", "aktorka"),
}
NONE = NameContexts((), ())

# German capitalises every noun; one right after an article is a noun, not a person ("der Sieger").
ARTICLES = {"de": frozenset({"der", "die", "das", "dem", "den", "des", "ein", "eine", "einen", "einem", "einer",
                             "eines", "im", "am", "vom", "zum", "zur", "beim", "ins", "ans", "kein", "keine"})}

# "in" in each language: one capitalised word right after it is a place ("em Roma", "in Orlando", "i Halifax"),
# where people are met "with", "at", "by" someone, never "in" them.
LOCATIVES = {"en": frozenset({"in"}), "pt": frozenset({"em"}), "es": frozenset({"en"}), "fr": frozenset({"en"}),
             "it": frozenset({"in"}), "nl": frozenset({"in"}), "de": frozenset({"in"}),
             **dict.fromkeys(("da", "no", "nb", "sv"), frozenset({"i"})),
             **dict.fromkeys(("hr", "sr", "bs", "sl"), frozenset({"u"})),
             **dict.fromkeys(("sk", "cs"), frozenset({"v", "vo", "ve"})), "pl": frozenset({"w", "we"})}

# Case and possessive endings a name takes in these languages, longest first: a word that is a known
# given name once one is cut off is that name ("Alexanderovi", "Traianom", "Iliru", "Susannes").
_SLAVIC = ("ovými", "ovho", "ovej", "ovou", "ovmu", "ovým", "ovim", "evim", "ovih", "ovom", "ovoj", "ovu", "ova",
           "ovo", "ove", "ovi", "ov", "om", "em", "ju", "ja", "ji", "iu", "ia", "ho", "mu", "u", "a", "e", "i", "y")
_GENITIVE_S = ("s", "'", "’s", "'s")
CASE_ENDINGS = {**dict.fromkeys(("sk", "cs", "hr", "sr", "bs", "sl", "pl"), _SLAVIC),
                **dict.fromkeys(("da", "sv", "no", "de"), _GENITIVE_S)}


@lru_cache(maxsize=64)
def name_contexts(language: str | None) -> NameContexts:
    """The phrases of a language (none for English and unknown languages: ``names.py`` has English's)."""
    if not language or language == "en":
        return NONE
    before = _REPORTING_BEFORE.get(language, ()) + _ROLES.get(language, ())
    return NameContexts(tuple(sorted(set(before))), tuple(sorted(set(_REPORTING_AFTER.get(language, ())))))


def ends_with_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    """``text`` ends with one of ``phrases`` as whole words ("mare" does not end with "re")."""
    if not text.endswith(phrases):  # one C call turns away nearly every text
        return False
    for phrase in phrases:
        if text.endswith(phrase) and (len(text) == len(phrase) or not text[-len(phrase) - 1].isalnum()):
            return True
    return False


def starts_with_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    if not text.startswith(phrases):
        return False
    for phrase in phrases:
        if text.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalnum()):
            return True
    return False
