"""Words around a name, by language, that say it is a person's: reporting verbs and roles.

News and chat name people by their surname alone ("rekao je Sejdiu", "Merkel sagte", "disse
Antinori", "o ministro Cutolo"). A surname alone is no evidence on its own (most of them are also
places, brands or words somewhere), but a capitalised word that is no word of the language, right
after a reporting verb or a role, or right before a reporting verb, is a person's name.

The lists are short on purpose: the verbs of saying and the roles that news writes before a name,
for the languages chatsift has word lists for. English has its own, older lists in ``names.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


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
    for phrase in phrases:
        if text.endswith(phrase) and (len(text) == len(phrase) or not text[-len(phrase) - 1].isalnum()):
            return True
    return False


def starts_with_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    for phrase in phrases:
        if text.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalnum()):
            return True
    return False
