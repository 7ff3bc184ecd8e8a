"""Verb lemmas for relation names: ``likes`` -> ``like``, ``wrote``/``written`` -> ``write``.

A built-in table of common irregular English verbs (past and past participle forms) and the
regular suffix rules (``-ies``/``-ied`` -> ``-y``, ``-es`` after a sibilant, ``-s``, ``-ed``
with its doubled consonant or silent ``e``). It is meant for the one verb of a simple
statement, where the position already says the word is a verb; it is not a general
lemmatiser (spaCy's lookup tables are a separate 100 MB package this project does not need).
"""

from __future__ import annotations

# base: past / participle forms (space separated; a form may appear for several bases only
# when they agree).
_IRREGULAR = """
arise arose arisen|awake awoke awoken|be was were been is are am|bear bore borne|beat beaten|
become became|begin began begun|bend bent|bet|bind bound|bite bit bitten|bleed bled|
blow blew blown|break broke broken|breed bred|bring brought|build built|burn burnt|
buy bought|catch caught|choose chose chosen|come came|cost|creep crept|cut|deal dealt|
dig dug|do did done does|draw drew drawn|dream dreamt|drink drank drunk|drive drove driven|
eat ate eaten|fall fell fallen|feed fed|feel felt|fight fought|find found|flee fled|
fly flew flown flies|forbid forbade forbidden|forget forgot forgotten|forgive forgave forgiven|
freeze froze frozen|get got gotten|give gave given|go went gone goes|grind ground|
grow grew grown|hang hung|have had has|hear heard|hide hid hidden|hit|hold held|hurt|
keep kept|kneel knelt|know knew known|lay laid|lead led|leave left|lend lent|let|lie lay lain|
light lit|lose lost|make made|mean meant|meet met|pay paid|put|quit|read|ride rode ridden|
ring rang rung|rise rose risen|run ran|say said|see saw seen|seek sought|sell sold|
send sent|set|shake shook shaken|shine shone|shoot shot|show showed shown|shut|sing sang sung|
sink sank sunk|sit sat|sleep slept|slide slid|speak spoke spoken|spend spent|spin spun|
split|spread|stand stood|steal stole stolen|stick stuck|sting stung|strike struck|
swear swore sworn|sweep swept|swim swam swum|swing swung|take took taken|teach taught|
tear tore torn|tell told|think thought|throw threw thrown|understand understood|
undertake undertook undertaken|wake woke woken|wear wore worn|weave wove woven|weep wept|
win won|wind wound|withdraw withdrew withdrawn|write wrote written|
rebuild rebuilt|overthrow overthrew overthrown|oversee oversaw overseen|foresee foresaw foreseen
"""
IRREGULAR: dict[str, str] = {}
for _entry in " ".join(_IRREGULAR.split()).split("|"):
    _base, *_forms = _entry.split()
    for _form in (_base, *_forms):
        IRREGULAR.setdefault(_form, _base)

# Regular verbs whose -ed/-es forms the rules below would cut wrongly.
_EXCEPTIONS = {
    "created": "create", "creates": "create", "located": "locate", "founded": "found",
    "married": "marry", "visited": "visit", "edited": "edit", "used": "use", "uses": "use",
    "caused": "cause", "causes": "cause", "produced": "produce", "produces": "produce",
    "composed": "compose", "composes": "compose", "loved": "love", "loves": "love",
    "lived": "live", "lives": "live", "moved": "move", "moves": "move", "named": "name",
    "owned": "own", "ruled": "rule", "served": "serve", "directed": "direct",
    "painted": "paint", "invented": "invent", "discovered": "discover", "admired": "admire",
    "hated": "hate", "hates": "hate", "liked": "like", "likes": "like", "danced": "dance",
    "designed": "design", "governed": "govern", "joined": "join", "played": "play",
    "studied": "study", "employed": "employ", "described": "describe", "defeated": "defeat",
    "translated": "translate", "illustrated": "illustrate", "narrated": "narrate",
    "bordered": "border", "traded": "trade", "promoted": "promote", "recorded": "record",
    "released": "release", "published": "publish", "featured": "feature",
    "inhabited": "inhabit", "occupied": "occupy", "carried": "carry", "buried": "bury",
    "married to": "marry", "born": "born", "does": "do", "goes": "go", "echoes": "echo",
}
_SIBILANT_ES = ("sses", "shes", "ches", "xes", "zes", "oes")
_VOWELS = set("aeiou")


def verb_lemma(word: str) -> str:
    """The base form of an English verb form (lowercased); unknown forms by the regular
    rules; a word that is no inflected form comes back as it is."""
    w = word.lower()
    if w in _EXCEPTIONS:
        return _EXCEPTIONS[w]
    if w in IRREGULAR:
        return IRREGULAR[w]
    if len(w) > 4 and (w.endswith("ies") or w.endswith("ied")):
        return w[:-3] + "y"
    if w.endswith(_SIBILANT_ES) and len(w) > 4:
        return w[:-2]
    if w.endswith("ss") or w.endswith("us") or w.endswith("is"):
        return w
    if w.endswith("s") and len(w) > 3:
        return w[:-1]
    if w.endswith("ed") and len(w) > 4:
        stem = w[:-2]
        if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
            return stem[:-1]  # planned -> plan, stopped -> stop
        if stem.endswith(("v", "c", "g", "z", "u")) or (
            len(stem) <= 4 and stem[-1] not in _VOWELS | {"w", "x", "y"}
            and stem[-2] in _VOWELS and stem[-3] not in _VOWELS
        ):
            return stem + "e"  # loved -> love, liked -> like
        return stem
    return w


def is_inflected_verb(word: str) -> bool:
    """Whether ``word`` looks like a finite verb form of a statement (``likes``, ``wrote``,
    ``founded``): an irregular past or a regular ``-s``/``-ed`` form."""
    w = word.lower()
    if not w.isalpha():
        return False
    if w in IRREGULAR and IRREGULAR[w] != w:
        return True
    if w in _EXCEPTIONS:
        return True
    return (w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 2) or (
        w.endswith("ed") and len(w) > 4)
