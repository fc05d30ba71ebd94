"""A tagger's tag set: the data's scheme, the training scheme, tag ids and scores.

A tagger reads gold tags in whatever scheme its data uses (IOB1, IOB2,
BIOES, or `"none"` for tags that name no entities, such as parts of
speech), trains in a scheme of its own choosing (BIOES by default), and is
scored in each gold file's own scheme, as conlleval scores it. The
functions here keep that bookkeeping, with sentences, schemes and tag
names as explicit arguments:

- `learn_tags`: the data's scheme, the training scheme and the tag names
  by id, from a tagger's training sentences (`training_scheme`,
  `tag_names`).
- `known_scheme`, `remember_scheme` and `gold_scheme`: the scheme of gold
  sentences, remembered per source (sentences held back from the training
  file keep its scheme) or resolved file by file.
- `train_tags` and `tag_ids`: gold tags in the training scheme, as ids.
- `score_tags`: predicted tags (training scheme) against gold tags, as
  entity precision, recall and F1 in the gold scheme, or token accuracy.

Example:

>>> sentences = [{"tokens": ["Ann", "Lee", "ran"],
...               "tags": ["I-PER", "I-PER", "O"]}]
>>> scheme, train_scheme, tags = learn_tags(sentences)
>>> scheme, train_scheme, tags
('iob1', 'bioes', ['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER'])
>>> tag_ids(sentences, tags, train_scheme, "iob1")
[[1, 3, 0]]
>>> score_tags([["I-PER", "I-PER", "O"]], [["B-PER", "E-PER", "O"]],
...            "iob1", train_scheme)["f1"]
1.0
"""

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.tagged_data import resolve_scheme
from kerasnlp_seq.tagging import _split, convert_tags, entity_scores


def training_scheme(scheme, requested="bioes"):
    """The scheme a tagger trains in, for training data in `scheme`.

    Args:
        scheme: str. The training data's scheme; `"none"`: no entities
            (the tags are learnt as they are).
        requested: str. `"bioes"`, `"iob2"`, or `"same"` (the data's).
    """
    return scheme if requested == "same" or scheme == "none" else requested


def tag_names(sentences, scheme, train_scheme):
    """Tag names by id that a tagger learns from gold `sentences`.

    For an entity scheme: `"O"`, then every prefix of `train_scheme` for
    every entity type of the data (types sorted), so each type has all its
    training tags even where the data never writes them. For `"none"`: the
    distinct tags, sorted.

    Args:
        sentences: list of `{"tags": [...]}` dicts (`"_source"` names the
            data in errors).
        scheme: str. The sentences' scheme (`tagged_data.resolve_scheme`).
        train_scheme: str. The scheme the tagger trains in.

    Raises:
        DataError: for fewer than two distinct tags, or no entities.
    """
    source = sentences[0].get("_source") or "training data"
    if scheme == "none":
        tags = sorted({t for s in sentences for t in s["tags"]})
        if len(tags) < 2:
            raise DataError(
                f"every tag is {tags[0]!r}; expected at least two "
                "different tags to learn.", source)
        return tags
    types = sorted({_split(t, scheme)[1] for s in sentences
                    for t in s["tags"]} - {""})
    if not types:
        raise DataError(
            "no entities: every tag is 'O'; expected training data "
            "with tagged entities (B-, I-, E-, S- tags).", source)
    prefixes = "BIES" if train_scheme == "bioes" else "BI"
    return ["O"] + [f"{p}-{k}" for k in types for p in prefixes]


def learn_tags(sentences, declared="auto", requested="bioes", schemes=None,
               hint=None):
    """The scheme, training scheme and tag names learnt from `sentences`.

    Sentences all from one source in `schemes` (e.g. the training file,
    resolved whole before a part was held back) take its scheme; others
    are resolved (`tagged_data.resolve_scheme`), and `schemes` remembers
    the result for their sources.

    Args:
        sentences: list of `{"tags": [...]}` training sentences.
        declared: str. The data's declared scheme, or `"auto"`.
        requested: str. The training scheme (`training_scheme`).
        schemes: dict or None. Source -> scheme, read and updated.
        hint: str or None. For the unknown-scheme error (`resolve_scheme`).

    Returns:
        `(scheme, train_scheme, tags)`: the data's scheme, the scheme the
        tagger trains in, and the tag names by id (`tag_names`).
    """
    schemes = {} if schemes is None else schemes
    scheme = (known_scheme(sentences, schemes)
              or resolve_scheme(sentences, declared, hint=hint))
    remember_scheme(schemes, sentences, scheme)
    train_scheme = training_scheme(scheme, requested)
    return scheme, train_scheme, tag_names(sentences, scheme, train_scheme)


def known_scheme(sentences, schemes):
    """The scheme remembered for the one source of all `sentences`, or None.

    Args:
        sentences: list of dicts with `"_source"` (the data they came from).
        schemes: dict. Source -> scheme (see `remember_scheme`).
    """
    known = {schemes.get(s.get("_source")) for s in sentences}
    return known.pop() if len(known) == 1 else None


def remember_scheme(schemes, sentences, scheme):
    """Record `scheme` in the dict `schemes` for every source of `sentences`."""
    schemes.update(dict.fromkeys({s.get("_source") for s in sentences},
                                 scheme))


def gold_scheme(sentences, declared="auto", schemes=None, expected=None):
    """The entity scheme of gold `sentences`.

    Sentences all from one source in `schemes` (e.g. held back from the
    training file) take its scheme; others are detected, or checked against
    a declared scheme (`tagged_data.resolve_scheme`), so that each file
    may use its own scheme.

    Args:
        sentences: list of `{"tags": [...]}` dicts.
        declared: str. The data's declared scheme, or `"auto"`.
        schemes: dict or None. Source -> scheme already known.
        expected: str or None. The training data's scheme, for the error.

    Raises:
        DataError: when the tags are no entity scheme (`"none"`).
    """
    scheme = known_scheme(sentences, schemes or {})
    if scheme is None:
        scheme = resolve_scheme(sentences, declared)
    if scheme == "none":
        gold = sentences[0]["tags"]
        raise DataError(
            f"tags of scheme {expected!r} expected (as in training), "
            f"found tags like {gold[:3]!r}.", sentences[0].get("_source"))
    return scheme


def train_tags(tags, scheme, train_scheme):
    """One sentence's gold `tags`, in scheme `scheme`, in `train_scheme`."""
    if scheme == train_scheme or train_scheme == "none":
        return list(tags)
    return convert_tags(tags, scheme, train_scheme)


def tag_ids(sentences, tags, train_scheme, scheme):
    """Training-scheme tag ids per sentence (tags not in `tags` -> 0).

    Args:
        sentences: list of `{"tags": [...]}` dicts.
        tags: list of str. Tag names by id.
        train_scheme: str. The scheme `tags` are in.
        scheme: str or callable. The gold tags' scheme (`"none"`: used as
            they are), or a function from the sentences of one `"_source"`
            to their scheme (e.g. `gold_scheme`), so that sentences from
            several files each convert from their own.
    """
    if callable(scheme):
        by_source = {}
        for s in sentences:
            by_source.setdefault(s.get("_source"), []).append(s)
        schemes = {source: scheme(group)
                   for source, group in by_source.items()}
    else:
        schemes = dict.fromkeys({s.get("_source") for s in sentences},
                                scheme)
    index = {t: i for i, t in enumerate(tags)}
    return [[index.get(t, 0) for t in train_tags(
        s["tags"], schemes[s.get("_source")], train_scheme)]
        for s in sentences]


def score_tags(gold, predicted, scheme, train_scheme):
    """Scores of predicted tags against gold tags, sentence by sentence.

    For an entity scheme: `tagging.entity_scores` (micro P/R/F1, token
    accuracy, flat per-type keys, no `per_type` dict) in the gold scheme,
    the predictions converted from `train_scheme`, as conlleval scores
    them. For `"none"`: token accuracy. Both add `sentences` and `tokens`.

    Args:
        gold: list of lists of str. Gold tags per sentence.
        predicted: list of lists of str. Predicted tags (`train_scheme`).
        scheme: str. The gold tags' scheme, or `"none"`.
        train_scheme: str. The predicted tags' scheme.
    """
    tokens = sum(len(g) for g in gold)
    if scheme == "none":
        correct = sum(a == b for g, p in zip(gold, predicted)
                      for a, b in zip(g, p))
        return {"accuracy": correct / max(tokens, 1),
                "sentences": len(gold), "tokens": tokens}
    if train_scheme != scheme:
        predicted = [convert_tags(p, train_scheme, scheme) for p in predicted]
    scores = entity_scores(gold, predicted, scheme)
    scores.pop("per_type")
    scores.update(sentences=len(gold), tokens=tokens)
    return scores
