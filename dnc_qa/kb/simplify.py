"""Rewrite one sentence into the simple statements the extractor's forms read.

Knowledge bases written by people say several facts in one sentence, or wrap a fact in words
no form reads. Each rewrite here is tried before the forms, and its statements are kept only
when every one of them reads (:meth:`~dnc_qa.kb.extract.TripleExtractor.extract`); otherwise
the sentence is read as written.

* **Dates and asides after a name** are dropped: "Dorran founded Corvid Mills in 1987" ->
  "Dorran founded Corvid Mills"; "Talia works for Saffrain Trading as an accountant" ->
  "... for Saffrain Trading"; "founded in 1994 by Ysolde" -> "founded by Ysolde". A date that
  is the whole object stays ("Corvid Mills was founded in 1987").
* **Adverbs of time before the verb** are dropped (:data:`_ADVERBS`): "was first performed
  in" -> "was performed in", "Imogen also designed" -> "Imogen designed"; a negation or a
  hedge never is ("Tom never lived in Paris" stays unread).
* **"in the south of X"** (north, northern coast, ...) is "in X"; **"sails from A to B"** is
  "sails from A." + "sails to B.".
* **"X is a region of Y"** (province, town, ...) is "X is in Y".
* **"the city of X"** (town, village, ...) is X: "The city of Dunmorrow is in Quessia"; and
  **a kind before a name** goes: "The song Lantern Hymn was composed by ..." -> "Lantern
  Hymn was composed by ...", "wrote the novel Salt Road" -> "wrote Salt Road".
* **"X is a KIND who VERBs ..."** is "X VERBs ...": "Wren is a painter who lives in Saffrain".
* **Two verbs of one subject** are two statements: "Lucan was born in Saffrain and lives in
  Dunmorrow" -> "Lucan was born in Saffrain." + "Lucan lives in Dunmorrow."; so are two
  clauses: "The mayor visited Rome and Ann visited Paris".
* **A list of names at the end** is one statement per name: "The Tessel flows through
  Brackenholt and Velport" (also "A, B and C"), when the text names one of them elsewhere
  (else it is one title: "Tolstoy wrote War and Peace").
* **Two relations of one pair**: "Ithelion is the capital and largest city of Ytheria" ->
  "... the capital of Ytheria." + "... the largest city of Ytheria."; **a "where" clause**
  after a place: "Jaspar moved to Ithelion, where he lives today" -> "Jaspar moved to
  Ithelion." + "Jaspar lives in Ithelion."
* **Two subjects** with a plural verb: "Ann and Tom live in Paris" -> "Ann lives in Paris." +
  "Tom lives in Paris."; "Ann and Tom are married" -> "Ann is married to Tom."; "Quelling and
  Odenby are towns in Tarsany" -> "Quelling is a town in Tarsany." + ... A title with a
  singular verb stays one name ("Ash and Ember was written by Lune"), and so do names before
  a past verb that the text does not name elsewhere ("Romeo and Juliet premiered in London").
"""

from __future__ import annotations

import re
from collections.abc import Container

from dnc_qa.kb.lemmas import is_inflected_verb

_YEAR = re.compile(r"^\d{3,4}s?$")
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"}
_DATE_PREPS = {"in", "on", "during", "around", "since", "circa", "from", "until", "by"}
_ASIDE_PREPS = {"as", "with", "since", "until", "when", "while", "because", "for", "after",
                "before", "during", "alongside"}
_ASIDE_WORDS = {"today", "now", "ago", "yesterday", "nowadays", "still", "too", "also"}
_ADVERBS = {"first", "also", "later", "originally", "still", "now", "once", "then", "already",
            "formerly", "recently", "currently", "famously", "subsequently", "eventually",
            "initially", "officially", "briefly", "soon"}
"""Adverbs that say when or how well known, never whether: dropped before a verb. A negation
or a hedge ("never", "nearly", "allegedly") is kept, so such a sentence stays unread."""
_AUX = {"is", "are", "was", "were", "has", "have", "had", "been", "be"}
_PLACE_KINDS = {"city", "town", "village", "hamlet", "port", "island", "county", "district",
                "province", "region", "state", "country", "kingdom", "republic", "river"}
_PLURAL = {"are": "is", "were": "was", "have": "has"}
NAME_JOINERS = frozenset({"of", "de", "van", "von", "da", "del", "la", "le", "du", "der", "&",
                          "-"})
"""Small words that join the capitalised words of one name ("Bank of England")."""
_JOINERS = NAME_JOINERS | {"the"}


def is_name_word(word: str) -> bool:
    """Whether ``word`` can be part of a name: capitalised, or a number."""
    return word[:1].isupper() or word[:1].isdigit()


def _words(text: str) -> tuple[list[str], str]:
    """The words of ``text`` (a comma is a word of its own) and its final stop ("." when it
    has none)."""
    text = text.strip()
    stop = "."
    if text[-1:] in ".!":
        text, stop = text[:-1].rstrip(), text[-1]
    return text.replace(",", " , ").split(), stop


def _join(words: list[str], stop: str = ".") -> str:
    return " ".join(words).replace(" , ", ", ") + stop


def _name_end(words: list[str], start: int) -> int:
    """The index after the name that starts at ``start`` (capitalised words, joined by
    "of", "de", ...; a year is no part of a name)."""
    def part(word: str, first: bool) -> bool:
        return is_name_word(word) and (first or not _YEAR.match(word))

    i = start
    while i < len(words):
        joins = (words[i].lower() in _JOINERS and i > start and i + 1 < len(words)
                 and part(words[i + 1], False))
        if not (part(words[i], i == start) or joins):
            break
        i += 1
    return i


def _is_date(words: list[str], i: int) -> int:
    """How many words from ``i`` make a date ("1987", "May 1987", "3 May 1987", "the 1980s"),
    0 for none."""
    j = i
    if j < len(words) and words[j].lower() == "the":
        j += 1
    if j < len(words) and words[j].isdigit() and len(words[j]) <= 2:
        j += 1
    if j < len(words) and words[j].lower() in _MONTHS:
        j += 1
    if j < len(words) and _YEAR.match(words[j]):
        return j + 1 - i
    return 0


def drop_asides(text: str) -> str:
    """``text`` without the dates and asides that follow a name, and without the adverbs of
    :data:`_ADVERBS` before a verb (see the module docstring)."""
    words, stop = _words(text)
    out: list[str] = []
    i = 0
    while i < len(words):
        w, low = words[i], words[i].lower()
        prev = out[-1] if out else ""
        after_name = bool(prev) and is_name_word(prev) and not _YEAR.match(prev)
        if low in _DATE_PREPS and (n := _is_date(words, i + 1)):
            rest = words[i + 1 + n:]
            if rest and rest[0].lower() in ("to", "until", "and") and (m := _is_date(rest, 1)):
                n += 1 + m  # "from 1990 to 2000"
                rest = rest[1 + m:]
            then_place = len(rest) > 1 and rest[0].lower() in _DATE_PREPS and is_name_word(rest[1])
            if after_name or (rest and rest[0].lower() == "by") or then_place:
                i += 1 + n  # "founded Corvid in 1987", "in 1994 by Ysolde", "in 1950 in Rome"
                if then_place and prev.lower() in _DATE_PREPS:
                    i += 1  # "born in 1950 in Rome": the place's own "in" follows
                continue
        if after_name and out and len(out) > 1:
            if low in _ASIDE_WORDS and i == len(words) - 1:
                break  # "... in Ithelion today"
            if (low in _ASIDE_PREPS and i + 1 < len(words)
                    and (words[i + 1][:1].islower() or words[i + 1].isdigit())):
                break  # "... as an accountant", "... with her husband", "for 20 years"
        adverb = low in _ADVERBS
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if adverb and nxt[:1].islower() and (
                prev.lower() in _AUX or (after_name and is_inflected_verb(nxt))):
            i += 1  # "was first performed", "Imogen also designed"
            continue
        out.append(w)
        i += 1
    return _join(out, stop) if out else text


_FUNCTION = {"of", "in", "at", "on", "for", "to", "by", "with", "from", "and", "or", "a", "an",
             "the", "is", "was", "are", "were", "who", "which", "that", "where", "as", "into"}
_KIND_BEFORE_NAME = re.compile(r"\b(?P<the>[Tt]he) (?P<kind>[a-z]+(?: [a-z]+)?) (?=[A-Z])")


def _drop_kind(m: re.Match[str]) -> str:
    """"the song Lantern Hymn" -> "Lantern Hymn" (a common noun or two naming the kind)."""
    words = m.group("kind").split()
    if any(w in _FUNCTION or w.endswith("ly") or is_inflected_verb(w) for w in words):
        return m.group(0)  # "The mayor visited Rome": a verb, not a kind
    return ""


_PART_OF = re.compile(r"\b(?P<prep>in|on|at) the (?:far )?(?:north|south|east|west|north-east|"
                      r"north-west|south-east|south-west|northern|southern|eastern|western|"
                      r"central|middle)(?: (?:part|coast|shore|edge|region|side|end))? of ",
                      re.IGNORECASE)
_FROM_TO = re.compile(r"^(?P<head>.+? [a-z]+) from (?P<a>(?:the )?[A-Z][^,]*?) to "
                      r"(?P<b>(?:the )?[A-Z][^,]*?)(?P<stop>[.!]?)$")

_PLACE_OF = re.compile(rf"\b[Tt]he (?:{'|'.join(sorted(_PLACE_KINDS))}) of (?=[A-Z])")
_KIND_WHO = re.compile(r"^(?P<x>.+?) (?:is|was) (?:a|an) [a-z]+(?: [a-z]+)? (?:who|that) "
                       r"(?P<rest>[a-z].*)$")


_PART_KINDS = ("region", "province", "state", "county", "district", "part", "suburb",
               "borough", "department", "town", "city", "village", "canton", "municipality")
_KIND_OF = re.compile(rf"^(?P<x>[A-Z].*?) (?P<be>is|was) an? (?:[a-z]+ )?"
                      rf"(?:{'|'.join(_PART_KINDS)}) of (?=(?:the )?[A-Z])")


def unwrap(text: str) -> str:
    """"The city of X" -> "X"; "X is a region of Y" -> "X is in Y"; "X is a KIND who
    VERBs ..." -> "X VERBs ..."."""
    text = _PLACE_OF.sub("", text.strip())
    text = _KIND_OF.sub(lambda m: f"{m.group('x')} {m.group('be')} in ", text)
    text = _PART_OF.sub(lambda m: f"{m.group('prep')} ", text)
    text = _KIND_BEFORE_NAME.sub(_drop_kind, text)
    text = text[:1].upper() + text[1:]
    m = _KIND_WHO.match(text)
    return f"{m.group('x')} {m.group('rest')}" if m else text


def _singular(verb: str) -> str:
    low = verb.lower()
    if low in _PLURAL:
        return _PLURAL[low]
    if low.endswith(("s", "sh", "ch", "x", "o")):
        return verb + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def split_subjects(text: str, names: Container[str] = ()) -> list[str] | None:
    """"Ann and Tom live in Paris" -> a statement per subject; "Ann and Tom are married" ->
    "Ann is married to Tom"; ``None`` unless the sentence opens with two or more names joined
    by "and" before a plural verb."""
    words, stop = _words(text)
    names_found: list[list[str]] = []
    i = 0
    while True:
        if i < len(words) and words[i].lower() == "the":
            i += 1
        end = _name_end(words, i)
        if end == i:
            return None
        names_found.append(words[i:end])
        i = end
        if i < len(words) and words[i] == ",":
            i += 1
        if i < len(words) and words[i].lower() == "and":
            i += 1
            continue
        break
    if len(names_found) < 2 or i >= len(words):
        return None
    verb, rest = words[i], words[i + 1:]
    if verb.lower() in ("is", "was", "has") or is_inflected_verb(verb) and not (
            verb.lower().endswith("ed") or verb.lower() in _PLURAL):
        return None  # a singular verb: the names are one title
    if verb.lower().endswith("ed") and not any(" ".join(n) in names for n in names_found):
        return None  # a past verb fits a title too ("Romeo and Juliet premiered in London")
    if verb.lower() in ("are", "were") and [w.lower() for w in rest] == ["married"]:
        a, b = (" ".join(n) for n in names_found[:2])
        return ([f"{a} {_PLURAL[verb.lower()]} married to {b}{stop}"]
                if len(names_found) == 2 else None)
    single = verb if verb.lower().endswith("ed") else _singular(verb)
    if verb.lower() in ("are", "were") and rest and rest[0][:1].islower() and \
            rest[0].endswith("s") and rest[0] not in ("in", "on", "at"):
        rest = ["a", rest[0][:-1], *rest[1:]]  # "are towns in X" -> "is a town in X"
    return [_join([*name, single, *rest], stop) for name in names_found]


def split_verbs(text: str, names: Container[str] = ()) -> list[str] | None:
    """"X was born in A and lives in B" -> "X was born in A." + "X lives in B."; ``None``
    when no "and" is followed by a verb."""
    words, stop = _words(text)
    start = 1 if words and words[0].lower() == "the" else 0
    end = _name_end(words, start)
    if end == start and start == 1 and len(words) > 2:
        end = 2  # "The mayor visited Rome and ..."
    if end == start:
        return None
    subject = words[:end]
    aux = [words[end]] if end < len(words) and words[end].lower() in _AUX else []
    for i in range(end + 1, len(words) - 1):
        if words[i].lower() in ("who", "which", "whose", "that", "where"):
            return None  # "Tom works for Corvid, which was founded by Ann and owns Velt"
        nxt = words[i + 1]
        if words[i].lower() == "and" and is_name_word(nxt):
            after = _name_end(words, i + 1)  # "... and Ann visited Paris": its own subject
            if after < len(words) and words[after][:1].islower() and (
                    words[after].lower() in _AUX or is_inflected_verb(words[after])):
                return [_join(words[:i], stop), _join(words[i + 1:], stop)]
        if words[i].lower() == "and" and nxt[:1].islower() and (
                nxt.lower() in _AUX or is_inflected_verb(nxt)):
            second = words[i + 1:]
            if aux and nxt.lower() not in _AUX and nxt.lower().endswith(("ed", "en", "wn")):
                second = [*aux, *second]  # "was born in A and raised in B"
            return [_join(words[:i], stop), _join([*subject, *second], stop)]
    return None


def split_objects(text: str, names: Container[str] = ()) -> list[str] | None:
    """"The Tessel flows through A, B and C" -> one statement per name; ``None`` when the
    sentence does not end with names joined by "and", or when two are and neither is in
    ``names`` (then it is one title: "Tolstoy wrote War and Peace")."""
    words, stop = _words(text)
    lowered = [w.lower() for w in words]
    if "and" not in lowered:
        return None
    at = len(lowered) - 1 - lowered[::-1].index("and")
    last_start = at + 1 + (1 if at + 1 < len(words) and lowered[at + 1] == "the" else 0)
    if last_start >= len(words) or _name_end(words, last_start) != len(words):
        return None
    items = [words[at + 1:]]
    head = words[:at]
    while True:  # "A, B and C"
        j = len(head)
        while j > 0 and is_name_word(head[j - 1]) or (
                j > 1 and head[j - 1].lower() in _JOINERS and is_name_word(head[j - 2])):
            j -= 1
        if j > 0 and head[j - 1].lower() == "the":
            j -= 1
        if j == len(head):
            return None
        items.insert(0, head[j:])
        head = head[:j]
        if head and head[-1] == ",":
            head = head[:-1]
            continue
        break
    if not head or len(items) < 2:
        return None
    if len(items) == 2 and not any(_bare(item) in names for item in items):
        return None  # "A, B and C" is a list; "A and B" may be one title
    return [_join([*head, *item], stop) for item in items]


def _bare(words: list[str]) -> str:
    """A name without its leading "the"."""
    return " ".join(words[1:] if words and words[0].lower() == "the" else words)


_TWO_RELATIONS = re.compile(r"^(?P<x>.+?) (?P<be>is|was) the (?P<r1>[a-z]+(?: [a-z]+)?) and "
                            r"(?P<r2>[a-z]+(?: [a-z]+)?) of (?P<y>[A-Z].*?)(?P<stop>[.!]?)$")
_WHERE_CLAUSE = re.compile(r"^(?P<main>(?P<x>[A-Z][^,]*?) (?:[a-z]+ )?[a-z]+ (?:to|in|at|into) "
                           r"(?P<place>[A-Z][^,]*)), where (?:he|she|they) "
                           r"(?P<verb>[a-z]+)(?: [a-z]+)?(?P<stop>[.!]?)$")


_RENAMING = (
    re.compile(r"^(?P<owner>[A-Z][^,]*?'s) (?P<r>[a-z]+(?: [a-z]+)?), (?P<n>[A-Z][^,]*?), "
               r"(?P<rest>[a-z].*?)(?P<stop>[.!]?)$"),
    re.compile(r"^(?P<owner>[Tt]he (?P<r>[a-z]+(?: [a-z]+)?) of [A-Z][^,]*?), "
               r"(?P<n>[A-Z][^,]*?), (?P<rest>[a-z].*?)(?P<stop>[.!]?)$"),
)
"""An apposition that names the person a relation leads to: "Imogen's husband, Felix, is a
painter", "The mayor of Dorrow, Ada Quill, lives in Fenwick"."""


def split_renaming(text: str) -> list[str] | None:
    """"X's R, N, VP" -> "N is X's R." + "N VP."; "The R of X, N, VP" -> "N is the R of X."
    + "N VP."; ``None`` for other sentences (N must be a name)."""
    for pattern in _RENAMING:
        m = pattern.match(text)
        if not m:
            continue
        name = m.group("n").split()
        if _name_end(name, 0) != len(name):
            return None
        stop = m.group("stop") or "."
        owner = m.group("owner")
        relation = (f"{owner} {m.group('r')}" if owner.endswith("'s")
                    else owner[0].lower() + owner[1:])
        return [f"{m.group('n')} is {relation}{stop}", f"{m.group('n')} {m.group('rest')}{stop}"]
    return None


def split_relations(text: str, names: Container[str] = ()) -> list[str] | None:
    """"X is the capital and largest city of Y" -> "X is the capital of Y." + "X is the
    largest city of Y."; "X moved to Y, where she lives today" -> "X moved to Y." + "X
    lives in Y."; a renaming apposition (:func:`split_renaming`); ``None`` for other
    sentences."""
    text = text.strip()
    parts = split_renaming(text)
    if parts is not None:
        return parts
    m = _TWO_RELATIONS.match(text)
    if m:
        stop = m.group("stop") or "."
        return [f"{m.group('x')} {m.group('be')} the {m.group(r)} of {m.group('y')}{stop}"
                for r in ("r1", "r2")]
    m = _FROM_TO.match(text)
    if m:
        stop = m.group("stop") or "."
        return [f"{m.group('head')} from {m.group('a')}{stop}",
                f"{m.group('head')} to {m.group('b')}{stop}"]
    m = _WHERE_CLAUSE.match(text)
    if m:
        x = m.group("x").split()
        subject = " ".join(x) if _name_end(x, 0) == len(x) else ""  # "Tom moved to", not
        if subject:  # "Tom met his wife in Rome, where she lives"
            stop = m.group("stop") or "."
            return [f"{m.group('main')}{stop}",
                    f"{subject} {m.group('verb')} in {m.group('place')}{stop}"]
    return None


MAX_PARTS = 32
"""The most statements one sentence is rewritten into; a longer one is read as written."""


def rewrite(text: str, names: Container[str] = (), depth: int = 0) -> list[str] | None:
    """The simple statements ``text`` says (see the module docstring), or ``None`` when no
    rewrite applies. ``names``: names the rest of the text uses; a list of names joined by
    "and" is split only when one of its names is among them ("Tolstoy wrote War and Peace"
    stays one title, "Aurel is the father of Idra and Tomas" splits when Idra or Tomas is
    named elsewhere)."""
    cleaned = unwrap(drop_asides(text))
    if depth < MAX_PARTS:
        for split in (split_relations, split_subjects, split_verbs, split_objects):
            parts = split(cleaned, names)
            if parts is not None:
                out: list[str] = []
                for part in parts:
                    out.extend(rewrite(part, names, depth + 1) or [part])
                return out if len(out) <= MAX_PARTS else None
    return [cleaned] if cleaned != text.strip() else None
