"""Generate `translation.tsv`, the bundled English -> Spanish sample (seeded).

A toy grammar with what makes translation more than word lookup:
adjectives move behind their noun and agree with it in gender and number
("the small white houses" -> "las casas blancas pequeñas"), articles agree
too, negation moves ("does not see" -> "no ve"), and object pronouns move
in front of the verb ("sees her" -> "la ve"). Sentences are short, so a
small attention model learns the sample in a minute or two on a CPU.

The file is in the Anki / Tatoeba layout, `english<TAB>spanish`, one pair
per line, no header. Run `python -m kerasnlp_seq.samples.generate_translation`
to rewrite it; the output is the same on every run.
"""

import os
import random

# noun: (english singular, english plural, spanish singular, plural, gender)
NOUNS = [
    ("cat", "cats", "gato", "gatos", "m"),
    ("dog", "dogs", "perro", "perros", "m"),
    ("boy", "boys", "niño", "niños", "m"),
    ("girl", "girls", "niña", "niñas", "f"),
    ("man", "men", "hombre", "hombres", "m"),
    ("woman", "women", "mujer", "mujeres", "f"),
    ("teacher", "teachers", "maestra", "maestras", "f"),
    ("friend", "friends", "amigo", "amigos", "m"),
]
THINGS = [
    ("house", "houses", "casa", "casas", "f"),
    ("ball", "balls", "pelota", "pelotas", "f"),
    ("book", "books", "libro", "libros", "m"),
    ("car", "cars", "coche", "coches", "m"),
    ("apple", "apples", "manzana", "manzanas", "f"),
    ("table", "tables", "mesa", "mesas", "f"),
    ("letter", "letters", "carta", "cartas", "f"),
    ("tree", "trees", "árbol", "árboles", "m"),
]
# adjective: english, spanish masculine singular, feminine singular
ADJECTIVES = [
    ("black", "negro", "negra"), ("white", "blanco", "blanca"),
    ("red", "rojo", "roja"), ("small", "pequeño", "pequeña"),
    ("old", "viejo", "vieja"), ("new", "nuevo", "nueva"),
]
# verb: english 3sg, english plural, spanish 3sg, spanish 3pl
VERBS = [
    ("sees", "see", "ve", "ven"), ("wants", "want", "quiere", "quieren"),
    ("has", "have", "tiene", "tienen"), ("finds", "find", "encuentra",
                                         "encuentran"),
    ("buys", "buy", "compra", "compran"), ("likes", "like", "quiere",
                                           "quieren"),
]
# pronoun objects: english, spanish clitic (moves before the verb)
PRONOUNS = [("him", "lo"), ("her", "la"), ("them", "los"), ("me", "me"),
            ("us", "nos")]
ARTICLES = {("the", "m", False): "el", ("the", "f", False): "la",
            ("the", "m", True): "los", ("the", "f", True): "las",
            ("a", "m", False): "un", ("a", "f", False): "una",
            ("my", "m", False): "mi", ("my", "f", False): "mi",
            ("my", "m", True): "mis", ("my", "f", True): "mis"}


def adjective_form(adj, gender, plural):
    word = adj[1] if gender == "m" else adj[2]
    return word + "s" if plural else word


def noun_phrase(rng, nouns, allow_a=True):
    """`(english, spanish, plural)` of a determiner, noun, 0-2 adjectives."""
    noun = rng.choice(nouns)
    plural = rng.random() < 0.35
    det = rng.choice(["the", "the", "my"] + (["a"] if allow_a and not plural
                                             else []))
    adjs = rng.sample(ADJECTIVES, rng.choice([0, 1, 1, 2]))
    english = [det] + [a[0] for a in adjs] + [noun[1] if plural else noun[0]]
    spanish = [ARTICLES[(det, noun[4], plural)],
               noun[3] if plural else noun[2]]
    # Spanish adjectives follow the noun, in reverse order of English ones.
    spanish += [adjective_form(a, noun[4], plural) for a in reversed(adjs)]
    return english, spanish, plural


def sentence(rng):
    subj_en, subj_es, plural = noun_phrase(rng, NOUNS)
    verb = rng.choice(VERBS)
    negated = rng.random() < 0.3
    if rng.random() < 0.25:
        pronoun = rng.choice(PRONOUNS)
        obj_en, clitic, obj_es = [pronoun[0]], [pronoun[1]], []
    else:
        obj_en, obj_es, _ = noun_phrase(rng, THINGS + NOUNS)
        clitic = []
        if obj_en[-1] in {n[0] for n in NOUNS} | {n[1] for n in NOUNS}:
            obj_es = ["a"] + obj_es  # the personal "a" before people
            if obj_es[1] == "el":
                obj_es[:2] = ["al"]
    if negated:
        verb_en = ["do" if plural else "does", "not", verb[1]]
    else:
        verb_en = [verb[1] if plural else verb[0]]
    verb_es = (["no"] if negated else []) + clitic + [
        verb[3] if plural else verb[2]]
    english = " ".join(subj_en + verb_en + obj_en) + "."
    spanish = " ".join(subj_es + verb_es + obj_es) + "."
    return english[0].upper() + english[1:], spanish[0].upper() + spanish[1:]


def generate(n=1500, seed=7):
    """`n` distinct `(english, spanish)` pairs."""
    rng = random.Random(seed)
    pairs, seen = [], set()
    while len(pairs) < n:
        pair = sentence(rng)
        if pair[0] not in seen:
            seen.add(pair[0])
            pairs.append(pair)
    return pairs


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "translation.tsv")
    with open(path, "w", encoding="utf-8") as f:
        for english, spanish in generate():
            f.write(f"{english}\t{spanish}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
