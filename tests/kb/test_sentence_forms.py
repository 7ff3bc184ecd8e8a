"""The sentence forms beyond the copula templates: verbs with lemmas, passives, states,
relative clauses, what is left unread and why; the verb lemmas; the inverse facts."""

from __future__ import annotations

import pytest

from dnc_qa.graphs.model import Triple
from dnc_qa.kb.extract import TripleExtractor, read_verb_statement, split_relative_clause
from dnc_qa.kb.inverse import genders, inverse_triples
from dnc_qa.kb.lemmas import is_inflected_verb, verb_lemma


@pytest.fixture(scope="module")
def extractor() -> TripleExtractor:
    return TripleExtractor(entities=["Bank of Larks"])


@pytest.mark.parametrize(("sentence", "triple"), [
    ("Jonah likes apples.", ("Jonah", "like", "apples")),
    ("Quentin teaches Pell.", ("Quentin", "teach", "Pell")),
    ("Orla visited the Copper Hall.", ("Orla", "visit", "Copper Hall")),
    ("Tom studies maps.", ("Tom", "study", "maps")),
    ("Tom lives in Paris.", ("Tom", "live in", "Paris")),
    ("Tom works for the Bank of Larks.", ("Tom", "work for", "Bank of Larks")),
    ("The Bank of Larks owns Gull Bay.", ("Bank of Larks", "own", "Gull Bay")),
    ("Hamlet was written by Shakespeare.", ("Shakespeare", "write", "Hamlet")),
    ("The bridge was built by Ada Stone.", ("Ada Stone", "build", "bridge")),
    ("Shakespeare was born in Stratford.", ("Shakespeare", "born in", "Stratford")),
    ("Ann is married to Tom.", ("Ann", "married to", "Tom")),
    ("Paris is in France.", ("Paris", "in", "France")),
    ("The kitchen contains a table.", ("kitchen", "contain", "table")),
    ("Tom is a friend of Ann.", ("Ann", "friend", "Tom")),
    ("Shakespeare wrote Hamlet.", ("Shakespeare", "write", "Hamlet")),
    # what a thing is, with a place or a maker
    ("Castelbrook is a city in Maravia.", ("Castelbrook", "in", "Maravia")),
    ("Gull Bay is a small port on the Ashwater.", ("Gull Bay", "in", "Ashwater")),
    ("Jonah Vey is a painter from Castelbrook.", ("Jonah Vey", "from", "Castelbrook")),
    ("The Silver Orchard is a novel by Petra Lune.", ("Petra Lune", "write", "Silver Orchard")),
    ("The Red Stair was a painting by Jonah Vey.", ("Jonah Vey", "paint", "Red Stair")),
    ("Night Wires is a film by Kestrel Vance.", ("Kestrel Vance", "direct", "Night Wires")),
    ("The Lamp is a sculpture by Ada Stone.", ("Lamp", "by", "Ada Stone")),
    ("Port Sable has a population of two million.", ("Port Sable", "population", "two million")),
])
def test_statement_forms(extractor: TripleExtractor, sentence: str, triple: tuple) -> None:
    result = extractor.extract(sentence)
    assert result.complete, result.unread
    assert [t.triple for t in result.triples] == [Triple(*triple)]


def test_active_and_passive_give_the_same_fact(extractor: TripleExtractor) -> None:
    active = extractor.extract("Shakespeare wrote Hamlet.").triples[0].triple
    passive = extractor.extract("Hamlet was written by Shakespeare.").triples[0].triple
    assert active == passive


@pytest.mark.parametrize(("sentence", "facts"), [
    ("Tom, who lives in Paris, likes apples.",
     [("Tom", "like", "apples"), ("Tom", "live in", "Paris")]),
    ("Tom likes Ann, who lives in Rome.",
     [("Tom", "like", "Ann"), ("Ann", "live in", "Rome")]),
    ("Hamlet was written by Shakespeare, who was born in Stratford.",
     [("Shakespeare", "write", "Hamlet"), ("Shakespeare", "born in", "Stratford")]),
    ("Tom, whose mother is Ann, works for the Bank of Larks.",
     [("Tom", "work for", "Bank of Larks"), ("Tom", "mother", "Ann")]),
    ("Larkhaven, which is the capital of Eastmarch, lies on the Silverrun.",
     [("Larkhaven", "lie on", "Silverrun"), ("Eastmarch", "capital", "Larkhaven")]),
])
def test_relative_clauses_split_into_facts(extractor: TripleExtractor, sentence: str,
                                           facts: list) -> None:
    result = extractor.extract(sentence)
    assert result.complete, result.unread
    assert [t.triple for t in result.triples] == [Triple(*f) for f in facts]
    assert all(t.sentence == sentence and t.line == 1 for t in result.triples)


@pytest.mark.parametrize(("sentence", "facts"), [
    ("Petra Lune, a poet, was born in Castelbrook.", [("Petra Lune", "born in", "Castelbrook")]),
    ("Petra Lune, the author of Hamlet, lives in Dunholt.",
     [("Petra Lune", "live in", "Dunholt"), ("Hamlet", "author", "Petra Lune")]),
    ("Tom, a friend of Ann, likes apples.",
     [("Tom", "like", "apples"), ("Ann", "friend", "Tom")]),
])
def test_appositions_are_facts_or_asides(extractor: TripleExtractor, sentence: str,
                                         facts: list) -> None:
    result = extractor.extract(sentence)
    assert result.complete, result.unread
    assert [t.triple for t in result.triples] == [Triple(*f) for f in facts]


@pytest.mark.parametrize(("sentence", "reason"), [
    ("Tom is tall.", "no sentence form"),
    ("Ada is a doctor.", "no sentence form"),
    ("Tom is a tall man.", "no sentence form"),
    ("Ada, a doctor, is tall.", "no sentence form"),
    ("Tom does not like pears.", "no sentence form"),
    ("They like pears.", "no sentence form"),
    ("Who likes apples?", "a question"),
    ("Tom, who is tall, likes apples.", "its clause"),
    ("Ann, who lives in Rome, is tall.", "main clause"),
])
def test_unreadable_sentences_say_why(extractor: TripleExtractor, sentence: str,
                                      reason: str) -> None:
    result = extractor.extract(sentence)
    assert not result.triples
    assert len(result.unread) == 1 and reason in result.unread[0].reason


def test_verb_reader_needs_a_finite_verb() -> None:
    assert read_verb_statement(["Tom", "big", "house", "."]) is None
    assert read_verb_statement(["Tom", "likes", "."]) is None
    assert read_verb_statement(["Tom", "likes", "Ann", "."])[0] == Triple("Tom", "like", "Ann")


def test_split_relative_clause() -> None:
    assert split_relative_clause("Tom, who lives in Paris, likes apples.") == (
        "Tom likes apples.", "lives in Paris", "who")
    assert split_relative_clause("Tom likes apples.") is None


@pytest.mark.parametrize(("form", "lemma"), [
    ("likes", "like"), ("wrote", "write"), ("written", "write"), ("studies", "study"),
    ("watches", "watch"), ("planned", "plan"), ("called", "call"), ("loved", "love"),
    ("owned", "own"), ("visited", "visit"), ("built", "build"), ("goes", "go"),
    ("founded", "found"), ("found", "find"), ("married", "marry"), ("teaches", "teach"),
])
def test_verb_lemmas(form: str, lemma: str) -> None:
    assert verb_lemma(form) == lemma
    assert is_inflected_verb(form)


def test_base_forms_are_not_finite_verbs() -> None:
    assert not is_inflected_verb("like") and not is_inflected_verb("glass")
    assert verb_lemma("like") == "like"


def test_genders_from_relation_words() -> None:
    facts = [Triple("Bob", "mother", "Ann"), Triple("Ann", "husband", "Carl"),
             Triple("Dee", "sister", "Eve"), Triple("Eve", "brother", "Dee"),
             Triple("Fay", "son", "Gil"), Triple("Hal", "father", "Gil")]
    # Dee is someone's brother and Eve someone's sister; Gil is a son and a father
    assert genders(facts) == {"Ann": "female", "Carl": "male", "Eve": "female",
                              "Dee": "male", "Gil": "male"}


def test_inverse_facts() -> None:
    facts = [
        Triple("Bob", "mother", "Ann"),      # Ann is Bob's mother
        Triple("Cai", "son", "Bob"),         # Bob is Cai's son: Bob is male
        Triple("Dee", "daughter", "Eli"),    # Eli: gender unknown
        Triple("Ann", "husband", "Gus"),
        Triple("Shakespeare", "write", "Hamlet"),
        Triple("Ulysses", "author", "Joyce"),
        Triple("Tom", "like", "apples"),     # no inverse
    ]
    assert inverse_triples(facts) == [
        Triple("Ann", "son", "Bob"),
        Triple("Bob", "parent", "Cai"),      # Cai's gender is unknown
        Triple("Eli", "parent", "Dee"),
        Triple("Gus", "wife", "Ann"),
        Triple("Hamlet", "author", "Shakespeare"),
        Triple("Joyce", "write", "Ulysses"),
    ]


def test_inverse_facts_are_not_stated_twice() -> None:
    facts = [Triple("Bob", "mother", "Ann"), Triple("Ann", "son", "Bob")]
    assert inverse_triples(facts) == []


@pytest.mark.parametrize(("sentence", "triples"), [
    # dates and asides after a name are dropped; a date that is the object stays
    ("Dorran Ulf founded Corvid Mills in 1987.", [("Dorran Ulf", "found", "Corvid Mills")]),
    ("Brightwell was founded in 1994 by Ysolde Marrick.",
     [("Ysolde Marrick", "found", "Brightwell")]),
    ("Jaspar Kint was born in Dunmorrow on 3 May 1962.",
     [("Jaspar Kint", "born in", "Dunmorrow")]),
    ("Talia Orsk works for Saffrain Trading as an accountant.",
     [("Talia Orsk", "work for", "Saffrain Trading")]),
    ("Mira has lived in Tamberly since 2001.", [("Mira", "live in", "Tamberly")]),
    ("Corvid Mills was founded in 1987.", [("Corvid Mills", "founded in", "1987")]),
    # adverbs, "the city of X", "a KIND who ..."
    ("The Glass Cantata was first performed in Varnhold.",
     [("Glass Cantata", "performed in", "Varnhold")]),
    ("The city of Dunmorrow is in Quessia.", [("Dunmorrow", "in", "Quessia")]),
    ("Wren Halloway is a painter who lives in Saffrain.",
     [("Wren Halloway", "live in", "Saffrain")]),
    # several facts in one sentence
    ("Lucan Tess was born in Saffrain and lives in Dunmorrow.",
     [("Lucan Tess", "born in", "Saffrain"), ("Lucan Tess", "live in", "Dunmorrow")]),
    ("The Tessel flows through Brackenholt, Velport and Ardun.",
     [("Tessel", "flow through", "Brackenholt"), ("Tessel", "flow through", "Velport"),
      ("Tessel", "flow through", "Ardun")]),
    ("The mayor visited Rome and Ann visited Paris.",
     [("mayor", "visit", "Rome"), ("Ann", "visit", "Paris")]),
    ("Ann and Tom live in Paris.", [("Ann", "live in", "Paris"), ("Tom", "live in", "Paris")]),
    ("Ann and Tom are married.", [("Ann", "married to", "Tom")]),
    ("Ithelion is the capital and largest city of Ytheria.",
     [("Ytheria", "capital", "Ithelion"), ("Ytheria", "largest city", "Ithelion")]),
    ("Jaspar moved to Ithelion, where he lives today.",
     [("Jaspar", "move to", "Ithelion"), ("Jaspar", "live in", "Ithelion")]),
    # titles with small words, as subjects and after "the author of"
    ("Winter at Pirrow was painted by Thaddeus Vimm.",
     [("Thaddeus Vimm", "paint", "Winter at Pirrow")]),
    ("Song of the North was written by Ada Lune.", [("Ada Lune", "write", "Song of the North")]),
    ("Ash and Ember was written by Petra Lune.", [("Petra Lune", "write", "Ash and Ember")]),
    ("Lucan is the author of A Map of Small Hours.",
     [("A Map of Small Hours", "author", "Lucan")]),
    ("The rector of the University of Kelder is Ingrid Sauvel.",
     [("University of Kelder", "rector", "Ingrid Sauvel")]),
    ("The University of Brisk is in Brisk.", [("University of Brisk", "in", "Brisk")]),
    ("The CEO of Brightwell is Hadrian Voss.", [("Brightwell", "ceo", "Hadrian Voss")]),
    # a kind before a name, participle appositions, an adverb before the verb
    ("The song Lantern Hymn was composed by Orrin Maddox.",
     [("Orrin Maddox", "compose", "Lantern Hymn")]),
    ("Orrin wrote the song Salt on the Wind.", [("Orrin", "write", "Salt on the Wind")]),
    ("Foxglove Studios, owned by Ravi Tallis, is in Brannock.",
     [("Foxglove Studios", "in", "Brannock"), ("Ravi Tallis", "own", "Foxglove Studios")]),
    ("Imogen Raske also designed the Wyckholme Library.",
     [("Imogen Raske", "design", "Wyckholme Library")]),
    ("Mara was born in Brisk and raised in Ketterby.",
     [("Mara", "born in", "Brisk"), ("Mara", "raised in", "Ketterby")]),
    # what a thing is, said more richly
    ("The Glass Foxes are a rock band from Pellinor.", [("Glass Foxes", "from", "Pellinor")]),
    ("Harbor of Crows is a 1987 film directed by Agnes Wolde.",
     [("Agnes Wolde", "direct", "Harbor of Crows")]),
    ("The Rose Walk is a garden by Ada Stone.", [("Ada Stone", "design", "Rose Walk")]),
    ("The ferry Morning Star sails from Brannock to Port Emrys.",
     [("Morning Star", "sail from", "Brannock"), ("Morning Star", "sail to", "Port Emrys")]),
    ("Pellinor is in the northern part of Draventia.", [("Pellinor", "in", "Draventia")]),
])
def test_sentences_with_several_parts(extractor: TripleExtractor, sentence: str,
                                      triples: list) -> None:
    result = extractor.extract(sentence)
    assert result.complete, result.unread
    assert [t.triple for t in result.triples] == [Triple(*t) for t in triples]


def test_two_names_split_only_when_the_text_names_one_elsewhere(
        extractor: TripleExtractor) -> None:
    text = ("Aurel is the father of Idra and Tomas.\nIdra lives in Velport.\n"
            "Tolstoy wrote War and Peace.\nTom works for Marks and Spencer.\n"
            "Romeo and Juliet premiered in London.\nAnn and Tom live in Paris.\n")
    triples = [t.triple for t in extractor.extract(text).triples]
    assert triples == [Triple("Idra", "father", "Aurel"), Triple("Tomas", "father", "Aurel"),
                       Triple("Idra", "live in", "Velport"),
                       Triple("Tolstoy", "write", "War and Peace"),
                       Triple("Tom", "work for", "Marks and Spencer"),
                       Triple("Romeo and Juliet", "premier in", "London"),
                       Triple("Ann", "live in", "Paris"), Triple("Tom", "live in", "Paris")]


@pytest.mark.parametrize("sentence", [
    "Tom never lived in Paris.", "Ann was never married to Tom.", "Ann allegedly killed Tom.",
    "Ann nearly married Tom.",
])
def test_negations_and_hedges_are_not_read_as_facts(extractor: TripleExtractor,
                                                      sentence: str) -> None:
    result = extractor.extract(sentence)
    assert result.triples == [] and len(result.unread) == 1


@pytest.mark.parametrize(("sentence", "triple"), [
    ("Tom is the King of Ardun.", ("Ardun", "king", "Tom")),
    ("Ann is the Prime Minister of Ardun.", ("Ardun", "prime minister", "Ann")),
    ("Glass Heart is a hit by Ann Lee.", ("Glass Heart", "by", "Ann Lee")),
    ("The Blue Oven is a kitchen by Ann Lee.", ("Blue Oven", "by", "Ann Lee")),
    ("Lucan is the CEO of the Bank of Larks.", ("Bank of Larks", "ceo", "Lucan")),
    ("Ondine's doctoral advisor was Henrietta Vasko.",
     ("Ondine", "doctoral advisor", "Henrietta Vasko")),
    ("Lower Fenning is a region of Essmark.", ("Lower Fenning", "in", "Essmark")),
    ("Ann lived in Rome from 1990 to 2000.", ("Ann", "live in", "Rome")),
    ("Tom Lee was born in 1950 in Rome.", ("Tom Lee", "born in", "Rome")),
])
def test_titles_nouns_and_dates_keep_their_meaning(extractor: TripleExtractor, sentence: str,
                                                   triple: tuple) -> None:
    result = extractor.extract(sentence)
    assert result.complete, result.unread
    assert [t.triple for t in result.triples] == [Triple(*triple)]


def test_object_relative_clause_and_participle_apposition(extractor: TripleExtractor) -> None:
    result = extractor.extract("Harvest Procession, which Aurelia Brandt painted in 1930, is "
                               "kept in the Corsano Museum.\nAnn, born in Rome, lives in Paris.\n"
                               "Tom works for Corvid, which was founded by Ann and owns Velt.")
    assert [t.triple for t in result.triples] == [
        Triple("Harvest Procession", "kept in", "Corsano Museum"),
        Triple("Aurelia Brandt", "paint", "Harvest Procession"),
        Triple("Ann", "live in", "Paris"), Triple("Ann", "born in", "Rome"),
        Triple("Tom", "work for", "Corvid"), Triple("Ann", "found", "Corvid"),
        Triple("Corvid", "own", "Velt")]


def test_an_apposition_is_read_when_the_rest_is_not(extractor: TripleExtractor) -> None:
    result = extractor.extract("Brackenholt, the capital of Lormandy, is a busy port.")
    assert [t.triple for t in result.triples] == [Triple("Lormandy", "capital", "Brackenholt")]
    (unread,) = result.unread
    assert unread.reason.startswith("only its apposition was read")


def test_a_renaming_apposition_names_where_the_relation_leads(
        extractor: TripleExtractor) -> None:
    """"X's R, N, ..." and "The R of X, N, ...": N is X's R, and the rest is said of N; a
    rest that is no fact still leaves the relation read (the sentence read in part)."""
    result = extractor.extract("Tom's sister, Ann Bell, works for the Bank of Larks.\n"
                               "The mayor of Dorrow, Ada Quill, lives in Fenwick.\n"
                               "Imogen's husband, Felix, is a painter.\n"
                               "Tom's dog, a small terrier, sleeps all day.")
    assert [t.triple for t in result.triples] == [
        Triple("Tom", "sister", "Ann Bell"), Triple("Ann Bell", "work for", "Bank of Larks"),
        Triple("Dorrow", "mayor", "Ada Quill"), Triple("Ada Quill", "live in", "Fenwick"),
        Triple("Imogen", "husband", "Felix")]
    assert [(u.line, u.reason.split(":")[0]) for u in result.unread] == [
        (3, "read in part"), (4, "no sentence form matches")]


def test_marriage_and_friendship_hold_both_ways() -> None:
    stated = [Triple("Tom", "marry", "Ann"), Triple("Ada", "married to", "Bo"),
              Triple("Cy", "friend", "Di"), Triple("Veland", "border", "Pell"),
              Triple("Ravi", "own", "Foxglove")]
    assert inverse_triples(stated) == [Triple("Ann", "marry", "Tom"),
                                       Triple("Bo", "married to", "Ada"),
                                       Triple("Di", "friend", "Cy"),
                                       Triple("Pell", "border", "Veland"),
                                       Triple("Foxglove", "owner", "Ravi")]
