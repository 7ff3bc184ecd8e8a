"""Names: the one normal form of names read from files (:func:`clean_name`), and invented names
for generated stations, lines and people (no real places or persons)."""

from __future__ import annotations

import unicodedata

import numpy as np

STATION_HEADS = ("Ash", "Bram", "Cal", "Dun", "Elm", "Fen", "Glen", "Hart", "Ivy", "Kel",
                 "Lark", "Mar", "Nor", "Oak", "Pen", "Quill", "Rook", "Sil", "Thorn", "Umber",
                 "Vell", "Wren", "Yarrow", "Zell")
STATION_TAILS = ("ford", "bury", "wick", "field", "gate", "ham", "ley", "mouth", "stead", "ton",
                 "well", "wood", "brook", "cross", "combe", "holt")
STATION_EXTRAS = ("", "", "", " Green", " Park", " Road", " Hill", " Market", " Square",
                  " Junction", " Common", " Lane")
LINE_NAMES = ("Amber", "Beacon", "Cobalt", "Damson", "Ember", "Fern", "Garnet", "Harbour",
              "Indigo", "Juniper", "Kestrel", "Lantern")
FEMALE_NAMES = ("Ada", "Bea", "Cora", "Dora", "Edie", "Fay", "Greta", "Hana", "Iris", "Jude",
                "Kira", "Lena", "Mira", "Nell", "Opal", "Pia", "Rosa", "Suki", "Tess", "Una",
                "Vera", "Wynn", "Xena", "Yara", "Zoe", "Alba", "Bryn", "Cleo", "Dina", "Elsa")
MALE_NAMES = ("Abe", "Bram", "Cai", "Dov", "Eli", "Finn", "Gus", "Hal", "Ivo", "Jory", "Kit",
              "Lev", "Milo", "Ned", "Otto", "Pip", "Quin", "Rex", "Sol", "Tam", "Ugo", "Vik",
              "Wim", "Xan", "Yuri", "Zed", "Arlo", "Bo", "Cyd", "Dax")


def station_names(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct invented station names."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = (STATION_HEADS[rng.integers(len(STATION_HEADS))]
                + STATION_TAILS[rng.integers(len(STATION_TAILS))]
                + STATION_EXTRAS[rng.integers(len(STATION_EXTRAS))])
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def clean_name(text: str) -> str:
    """The stored form of a node name or edge label read from a file: Unicode NFC, leading
    and trailing white space removed, every run of inner white space one space.

    >>> clean_name("  King\u2019s   Cross\\t")
    'King’s Cross'
    """
    return " ".join(unicodedata.normalize("NFC", text).split())
