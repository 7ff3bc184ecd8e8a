"""Resolve the names a user types to the graph's own node names (and edge labels).

Matching is tried in this order, the first that finds anything wins:

1. **normalised equality**: case-insensitive, punctuation variants ignored (``St.``/``St``,
   ``&``/``and``, curly/straight apostrophes, hyphens, ``Saint``/``St``); when several names
   are equal this way (``Bob`` and ``bob``), the one typed exactly is taken, else the name is
   *ambiguous* (never one of them silently);
2. **word prefix**: the typed words begin exactly one name's words ("King's Cross" for
   "King's Cross St. Pancras"); several such names are *ambiguous*;
3. **fuzzy** (rapidfuzz ``WRatio`` over the normalised forms): a misspelt name is *unknown* and
   its nearest names are offered as suggestions; it is never silently replaced by another name
   (so "Oxfrd Circus" is an error that suggests "Oxford Circus").  ``NameIndex(accept=90)``
   instead accepts one clear winner scoring at least ``accept`` (a near tie is ambiguous).

Errors are :class:`~dnc_qa.errors.DncQaError` subclasses with one-line messages such as
``no station 'Oxfrd Circuz' in 'london'; did you mean 'Oxford Circus'?``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dnc_qa.errors import DncQaError
from dnc_qa.textout import clip

FUZZY_SUGGEST = 76.0
"""Matches scoring at least this are offered as suggestions for an unknown name."""

SUGGEST_SPREAD = 5.0
"""Suggestions scoring more than this below the best one are left out."""

FUZZY_TIE = 3.0
"""Two fuzzy scores within this many points of each other make a name ambiguous."""

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_WORD_SUBS = {"&": "and", "saint": "st", "ste": "st", "street": "st", "+": "and"}


class UnknownNameError(DncQaError):
    """A typed name matches nothing in the graph; ``suggestions`` holds the nearest names."""

    def __init__(self, typed: str, kind: str, graph: str | None, suggestions: Sequence[str]):
        self.typed, self.kind, self.graph = typed, kind, graph
        self.suggestions = list(suggestions)
        where = f" in {graph!r}" if graph else ""
        msg = f"no {kind} {clip(typed, 100)!r}{where}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(msg)


class AmbiguousNameError(DncQaError):
    """A typed name fits several names equally well; ``candidates`` lists them."""

    def __init__(self, typed: str, kind: str, graph: str | None, candidates: Sequence[str]):
        self.typed, self.kind, self.graph = typed, kind, graph
        self.candidates = list(candidates)
        where = f" in {graph!r}" if graph else ""
        listed = ", ".join(repr(c) for c in self.candidates)
        super().__init__(
            f"{kind} {clip(typed, 100)!r} is ambiguous{where}: it could be {listed}; "
            "type the full name"
        )


def normalise(text: str) -> str:
    """The matching form of a name: lower case, words only, variants unified.

    >>> normalise("King’s Cross St. Pancras")
    "king's cross st pancras"
    >>> normalise("Elephant & Castle") == normalise("elephant and castle")
    True
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    text = text.replace("&", " & ").replace("+", " + ")
    text = re.sub(r"[-_/.,;:()\[\]\"!?]", " ", text)
    words = []
    for word in text.split():
        word = word.strip("'")
        if not word:
            continue
        words.append(_WORD_SUBS.get(word, word))
    return " ".join(words)


def loose(text: str) -> str:
    """:func:`normalise` with apostrophes dropped too ("Earls Court" == "Earl's Court")."""
    return normalise(text).replace("'", "")


@dataclass
class NameIndex:
    """Looks names up among ``names`` (node names, or edge labels).

    Attributes:
        names: the canonical names, in a stable order.
        kind: what a name is, for messages ("station", "person", "line", "node").
        graph: the workspace name, for messages (``None``: none).
        accept: accept a fuzzy match scoring at least this (0-100); ``None``: only suggest.
    """

    names: Sequence[str]
    kind: str = "node"
    graph: str | None = None
    accept: float | None = None
    _by_key: dict[str, list[str]] = field(init=False, repr=False)
    _keys: list[str] = field(init=False, repr=False)
    _key_names: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.names = list(dict.fromkeys(str(n) for n in self.names))
        self._by_key = {}
        for name in self.names:
            self._by_key.setdefault(loose(name), []).append(name)
        self._keys = list(self._by_key)
        self._key_names = [self._by_key[k][0] for k in self._keys]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and loose(name) in self._by_key

    def variants(self, name: str) -> set[str]:
        """Spellings of ``name`` worth matching verbatim in a question (for spaCy patterns)."""
        base = unicodedata.normalize("NFKC", name).translate(_APOSTROPHES)
        out = {base, normalise(base), loose(base)}
        for a, b in (("&", "and"), ("St.", "St"), ("St ", "St. "), (" and ", " & ")):
            out |= {v.replace(a, b) for v in list(out)}
        out.add(re.sub(r"\s*\(.*?\)\s*", " ", base).strip())  # "Bank (DLR)" -> "Bank"
        return {v for v in out if v.strip()}

    def resolve(self, typed: str) -> str:
        """The one canonical name ``typed`` means; raise unknown / ambiguous errors."""
        key = loose(typed)
        if not key:
            raise UnknownNameError(typed, self.kind, self.graph, [])
        exact = self._by_key.get(key)
        if exact:
            if len(exact) > 1:
                # names that differ only in case or punctuation: the one typed exactly wins
                typed_clean = " ".join(unicodedata.normalize("NFC", typed).split())
                same = [n for n in exact if " ".join(unicodedata.normalize("NFC", n).split())
                        == typed_clean]
                if len(same) == 1:
                    return same[0]
                raise AmbiguousNameError(typed, self.kind, self.graph, exact)
            return exact[0]
        prefixed = self._word_prefix(key)
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            raise AmbiguousNameError(typed, self.kind, self.graph, prefixed)
        return self._fuzzy(typed, key)

    def suggest(self, typed: str, limit: int = 3) -> list[str]:
        """Up to ``limit`` names close to ``typed`` (best first)."""
        from rapidfuzz import fuzz, process

        hits = process.extract(
            loose(typed), self._keys, scorer=fuzz.WRatio, limit=limit, score_cutoff=FUZZY_SUGGEST
        )
        return [self._key_names[i] for _, _, i in hits]

    def _word_prefix(self, key: str) -> list[str]:
        words = key.split()
        hits: list[str] = []
        for k, names in self._by_key.items():
            kw = k.split()
            prefix = len(kw) > len(words) and kw[: len(words)] == words
            if prefix or re.sub(r"\s*\(.*", "", k) == key:  # "bank" for "Bank (DLR)"
                hits.extend(names)
        return list(dict.fromkeys(hits))

    def _fuzzy(self, typed: str, key: str) -> str:
        from rapidfuzz import fuzz, process

        hits = process.extract(key, self._keys, scorer=fuzz.WRatio, limit=5)
        hits = [(score, self._key_names[i]) for _, score, i in hits]
        # WRatio scores a short query inside a long name highly; require the lengths be close.
        close = [(s, n) for s, n in hits if _length_ok(key, loose(n))]
        if self.accept is not None and close and close[0][0] >= self.accept:
            best = close[0][0]
            tied = [n for s, n in close if best - s < FUZZY_TIE]
            if len(tied) == 1:
                return tied[0]
            raise AmbiguousNameError(typed, self.kind, self.graph, tied)
        good = [(s, n) for s, n in hits if s >= FUZZY_SUGGEST]
        # offer the best match and any about as good, not a long tail of weaker ones
        suggestions = [n for s, n in good if s >= good[0][0] - SUGGEST_SPREAD][:3] if good else []
        raise UnknownNameError(typed, self.kind, self.graph, suggestions)


def _length_ok(a: str, b: str) -> bool:
    return abs(len(a) - len(b)) <= max(2, len(b) // 4)


def resolve_all(index: NameIndex, typed: Iterable[str]) -> list[str]:
    """:meth:`NameIndex.resolve` for each of ``typed``."""
    return [index.resolve(t) for t in typed]
