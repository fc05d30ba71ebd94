"""Generate the bundled sentiment sample (`sentiment.tsv`), deterministically.

Short synthetic movie reviews built from templates: positive and negative
opinions about parts of a film, negations that flip them ("not good"),
contrasts ("but") where the later clause decides, and neutral filler. A model
must read word order to get the negations and contrasts right, so the sample
exercises the recurrent model rather than a bag of words.

    python -m kerasnlp_seq.samples.generate  # rewrites sentiment.tsv
"""

import os
import random

SUBJECTS = ["movie", "film", "plot", "acting", "script", "soundtrack",
            "ending", "cast", "story", "dialogue", "camera work", "pacing",
            "lead actor", "director's work", "special effects"]
POSITIVE = ["great", "wonderful", "brilliant", "moving", "excellent",
            "funny", "beautiful", "clever", "gripping", "superb", "charming",
            "fantastic", "touching", "delightful", "smart"]
NEGATIVE = ["boring", "awful", "dull", "terrible", "weak", "clumsy", "silly",
            "predictable", "tedious", "bland", "painful", "messy", "lifeless",
            "forgettable", "poor"]
INTENSIFIERS = ["", "", "really ", "very ", "truly ", "quite ", "so "]
FILLER = ["I saw it last weekend with friends.",
          "It runs a little over two hours.",
          "The film is set in a small town by the sea.",
          "It is based on a novel from the seventies.",
          "We watched it at the cinema downtown.",
          "The trailer had been everywhere for weeks.",
          "My sister picked it for movie night.",
          "It came out on streaming this month."]
VERDICT_POS = ["I would watch it again.", "Highly recommended!",
               "Go and see it.", "A real treat.", "Worth every minute.",
               "Ten out of ten."]
VERDICT_NEG = ["I would not watch it again.", "Avoid it.",
               "What a waste of time.", "Skip this one.",
               "I want my money back.", "Two out of ten."]


def clause(rng, polarity):
    """A clause about one subject that carries `polarity` (+1 / -1)."""
    subject = rng.choice(SUBJECTS)
    negate = rng.random() < 0.3
    word_polarity = -polarity if negate else polarity
    adj = rng.choice(POSITIVE if word_polarity > 0 else NEGATIVE)
    intens = rng.choice(INTENSIFIERS)
    if negate:
        return rng.choice([f"the {subject} was not {intens}{adj}",
                           f"the {subject} is not {intens}{adj} at all",
                           f"I did not find the {subject} {adj}"])
    return rng.choice([f"the {subject} was {intens}{adj}",
                       f"the {subject} is {intens}{adj}",
                       f"I found the {subject} {intens}{adj}",
                       f"what a {intens}{adj} {subject}"])


def review(rng, label):
    """One review whose overall sentiment is `label` ('positive'/'negative')."""
    polarity = 1 if label == "positive" else -1
    sentences = []
    if rng.random() < 0.5:
        sentences.append(rng.choice(FILLER))
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.35:  # contrast: the clause after "but" decides
            first = clause(rng, -polarity)
            second = clause(rng, polarity)
            sentences.append(f"{first.capitalize()}, but {second}.")
        else:
            sentences.append(clause(rng, polarity).capitalize() + ".")
    if rng.random() < 0.3:
        sentences.append(rng.choice(FILLER))
    if rng.random() < 0.5:
        sentences.append(rng.choice(VERDICT_POS if polarity > 0
                                    else VERDICT_NEG))
    return " ".join(sentences)


def generate(n=2000, seed=0):
    """`n` (text, label) pairs, balanced, in a seeded order."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        rows.append((review(rng, label), label))
    rng.shuffle(rows)
    return rows


def main():
    path = os.path.join(os.path.dirname(__file__), "sentiment.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        for text, label in generate():
            f.write(f"{text}\t{label}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
