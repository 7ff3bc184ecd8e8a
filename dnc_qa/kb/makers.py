"""The verb that makes each kind of work ("a novel by Y" is what Y wrote): read by the
extractor (:mod:`dnc_qa.kb.extract`) and by the question parser ("the painting by X"), which
must not import spaCy before ``dncqa ask`` has blocked its torch import."""

from __future__ import annotations

MAKER_VERBS = {
    "write": ("novel", "book", "play", "poem", "story", "essay", "memoir", "biography",
              "tragedy", "comedy", "epic", "saga", "article", "letter"),
    "paint": ("painting", "portrait", "mural", "fresco", "landscape"),
    "compose": ("song", "symphony", "opera", "sonata", "concerto", "ballad", "hymn", "anthem"),
    "direct": ("film", "movie", "documentary"),
    "design": ("building", "bridge", "tower", "house", "church", "garden", "monument"),
    "found": ("company", "firm", "school", "college", "university", "band", "party"),
}
"""The verb that makes each kind of work: "X is a novel by Y" is "Y wrote X"."""
MAKER_OF = {kind: verb for verb, kinds in MAKER_VERBS.items() for kind in kinds}
"""The maker's verb of each kind of work ("novel" -> "write")."""
