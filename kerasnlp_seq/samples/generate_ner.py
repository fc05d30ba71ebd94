"""Generate `ner.conll`, the bundled named-entity sample (synthetic, seeded).

Sentences in the style of CoNLL-2003 news, built from templates with slots
for people (PER), places (LOC), organisations (ORG) and other names (MISC:
nationalities, events). Names of one or several tokens fill the slots, so
the tagger must learn entity boundaries as well as types; several names
appear under more than one type ("Jordan", "Washington"), so context
matters. Two columns (token, tag), IOB2 tags, `-DOCSTART-` every 25
sentences, blank lines between sentences.

Run `python -m kerasnlp_seq.samples.generate_ner` to rewrite the file; the
output is the same on every run.
"""

import os
import random

PER = ["John Smith", "Maria Garcia", "Wei Chen", "Ahmed Khan", "Anna Müller",
       "Peter Blackburn", "Yuki Tanaka", "Jordan", "Fischler", "Clinton",
       "Boris Yeltsin", "Steffi Graf", "Pete Sampras", "Nelson Mandela",
       "Helmut Kohl", "Jean-Claude Juncker", "O'Brien", "Sarah Jones"]
LOC = ["Germany", "Britain", "Paris", "New York", "Jordan", "Washington",
       "Brussels", "South Africa", "Tokyo", "Moscow", "Los Angeles", "Bonn",
       "Kenya", "Rio de Janeiro", "Hong Kong", "Sydney", "Cairo"]
ORG = ["European Commission", "Reuters", "United Nations", "Bayern Munich",
       "General Motors", "NATO", "Sony", "Washington Post", "Greenpeace",
       "World Bank", "Ajax", "Microsoft Corp.", "Bank of England",
       "Red Cross", "Oxford University"]
MISC = ["German", "British", "French", "Japanese", "Russian", "European",
        "Olympic", "World Cup", "Nobel Prize", "Christmas", "Kenyan",
        "Internet", "U.S. Open"]
WORDS = {
    "verb": ["said", "told", "warned", "announced", "denied", "confirmed"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "thing": ["plan", "deal", "report", "talks", "ban", "offer", "budget"],
    "number": ["two", "three", "12", "1,000", "3.5", "40", "1996"],
}
TEMPLATES = [
    "{PER} {verb} on {day} that the {MISC} {thing} would go ahead .",
    "{ORG} {verb} it had rejected the {thing} from {ORG} .",
    "{PER} arrived in {LOC} on {day} for talks with {PER} .",
    "The {MISC} {thing} was {verb_past} by {ORG} in {LOC} .",
    "{LOC} and {LOC} signed a {thing} worth {number} million dollars .",
    "\" We will not accept this , \" {PER} of {ORG} {verb} .",
    "{PER} ( {LOC} ) beat {PER} ( {LOC} ) 6-4 7-5 .",
    "Shares in {ORG} rose {number} percent in {LOC} on {day} .",
    "{ORG} , based in {LOC} , {verb} {number} jobs would go .",
    "Police in {LOC} {verb} {number} people were hurt .",
    "{PER} won the {MISC} title for the {ordinal} time .",
    "A spokesman for {ORG} {verb} the {thing} was {adjective} .",
    "The {thing} between {ORG} and {ORG} collapsed on {day} .",
    "{MISC} officials met {PER} in {LOC} .",
    "It was not clear whether {PER} would travel to {LOC} .",
    "{PER} told {ORG} the {MISC} {thing} was {adjective} .",
]
EXTRA = {
    "verb_past": ["rejected", "approved", "delayed", "welcomed"],
    "ordinal": ["first", "second", "third", "fifth"],
    "adjective": ["unacceptable", "fair", "premature", "good news"],
}


def _fill(template, rng):
    tokens, tags = [], []
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            slot = piece[1:-1]
            if slot in ("PER", "LOC", "ORG", "MISC"):
                name = rng.choice(globals()[slot]).split()
                tokens.extend(name)
                tags.extend([f"B-{slot}"] + [f"I-{slot}"] * (len(name) - 1))
                continue
            words = rng.choice(WORDS.get(slot) or EXTRA[slot]).split()
            tokens.extend(words)
            tags.extend(["O"] * len(words))
        else:
            tokens.append(piece)
            tags.append("O")
    return tokens, tags


def generate(n=1200, seed=7):
    """`n` seeded `(tokens, tags)` sentences."""
    rng = random.Random(seed)
    return [_fill(rng.choice(TEMPLATES), rng) for _ in range(n)]


def write(path, n=1200, seed=7):
    """Write the sample in CoNLL format (token, tag)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i, (tokens, tags) in enumerate(generate(n, seed)):
            if i % 25 == 0:
                f.write("-DOCSTART- O\n\n")
            for token, tag in zip(tokens, tags):
                f.write(f"{token} {tag}\n")
            f.write("\n")


if __name__ == "__main__":
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "ner.conll")
    write(target)
    print(f"wrote {target}")
