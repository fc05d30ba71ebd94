"""Tag schemes (IOB1, IOB2, BIOES) and entity-level scores as conlleval computes them.

A tag is `"O"` or `PREFIX-TYPE` (the type may itself hold hyphens). IOB1 and
IOB2 sequences are read with the chunk start and end rules of the conlleval
perl script, so ill-formed predictions (an `I-` after `O`, a type switch inside
a chunk) count exactly as conlleval counts them. BIOES is read strictly: an
entity is `S-X` or `B-X (I-X)* E-X`; fragments are not entities (as seqeval's
`mode="strict"`).

Example:

>>> get_entities(["B-PER", "I-PER", "O", "I-LOC"], "iob2")
[('PER', 0, 2), ('LOC', 3, 4)]
>>> convert_tags(["I-PER", "B-PER", "O"], "iob1", "bioes")
['S-PER', 'S-PER', 'O']
>>> entity_scores([["B-PER", "O"]], [["B-PER", "B-LOC"]], "iob2")["f1"]
0.666...
"""

from kerasnlp_seq.errors import ConfigError, DataError

SCHEMES = ("bioes", "iob1", "iob2")
_ALIASES = {"iobes": "bioes"}
_PREFIXES = {"iob1": "BIO", "iob2": "BIO", "bioes": "BIOES"}


def validate_scheme(name):
    """Return the canonical scheme name, or raise `ConfigError`.

    Args:
        name: str. `"iob1"`, `"iob2"` or `"bioes"` (any case; `"iobes"` too).
    """
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in SCHEMES:
        raise ConfigError(
            f"Unknown tag scheme. Expected one of {list(SCHEMES)}. "
            f"Received: scheme={name!r}")
    return key


def _split(tag, scheme):
    """`(prefix, type)` of a tag; `("O", "")` for `O`."""
    if tag == "O":
        return "O", ""
    prefix, _, kind = str(tag).partition("-")
    if len(prefix) != 1 or prefix not in _PREFIXES[scheme] or not kind:
        allowed = ", ".join(f"'{p}-TYPE'" for p in _PREFIXES[scheme] if p != "O")
        raise DataError(
            f"Malformed tag for scheme {scheme!r}. Expected 'O' or one of "
            f"{allowed}. Received: tag={tag!r}")
    return prefix, kind


def _chunk_ends(prev, prev_type, prefix, kind):
    """conlleval's endOfChunk, restricted to B, I and O."""
    if prev == "O":
        return False
    return prefix in ("B", "O") or prev_type != kind


def _chunk_starts(prev, prev_type, prefix, kind):
    """conlleval's startOfChunk, restricted to B, I and O."""
    if prefix == "O":
        return False
    return prefix == "B" or prev == "O" or prev_type != kind


def _iob_entities(tags, scheme):
    entities, start = [], None
    prev, prev_type = "O", ""
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, kind = _split(tag, scheme)
        if start is not None and _chunk_ends(prev, prev_type, prefix, kind):
            entities.append((prev_type, start, i))
            start = None
        if _chunk_starts(prev, prev_type, prefix, kind):
            start = i
        prev, prev_type = prefix, kind
    return entities


def _bioes_entities(tags):
    parts = [_split(tag, "bioes") for tag in tags]
    entities, i = [], 0
    while i < len(parts):
        prefix, kind = parts[i]
        if prefix == "S":
            entities.append((kind, i, i + 1))
        elif prefix == "B":
            j = i + 1
            while j < len(parts) and parts[j] == ("I", kind):
                j += 1
            if j < len(parts) and parts[j] == ("E", kind):
                entities.append((kind, i, j + 1))
                i = j
            else:
                i = j - 1
        i += 1
    return entities


def get_entities(tags, scheme):
    """Entities of one tag sequence: a list of `(type, start, end_exclusive)`.

    Args:
        tags: list of str. One sentence's tags.
        scheme: str. `"iob1"`, `"iob2"` or `"bioes"`.

    Example:

    >>> get_entities(["S-LOC", "B-PER", "E-PER"], "bioes")
    [('LOC', 0, 1), ('PER', 1, 3)]
    """
    scheme = validate_scheme(scheme)
    if scheme == "bioes":
        return _bioes_entities(tags)
    return _iob_entities(tags, scheme)


_NAMES = {"iob1": "IOB1", "iob2": "IOB2", "bioes": "BIOES"}


def _bioes_rule(kind):
    return (f"in BIOES an entity is 'S-{kind}' or 'B-{kind}', "
            f"'I-{kind}'..., 'E-{kind}'")


def find_malformed(tags, scheme):
    """The first tag of a sequence that does not fit `scheme`, or None.

    A tag fits when its prefix belongs to the scheme and, for IOB2, every
    entity starts with `B-`; for BIOES, every entity is `S-X` or
    `B-X (I-X)* E-X`. IOB1 takes any sequence of `B-`, `I-` and `O` (as
    conlleval reads it), so IOB1 and IOB2 tags may share a file.

    Args:
        tags: list of str. One sentence's tags.
        scheme: str. `"iob1"`, `"iob2"` or `"bioes"`.

    Returns:
        `(index, reason)`: the position to blame and a phrase saying what is
        wrong, or None for a well-formed sequence.

    Example:

    >>> find_malformed(["B-PER", "O"], "bioes")
    (0, "tag 'B-PER' is followed by 'O'; in BIOES an entity is ...")
    >>> find_malformed(["B-PER", "E-PER"], "bioes") is None
    True
    """
    scheme = validate_scheme(scheme)
    name = _NAMES[scheme]
    prev, prev_type = "O", ""
    for i, tag in enumerate(tags):
        prefix, _, kind = str(tag).partition("-")
        if tag != "O" and (len(prefix) != 1 or prefix == "O" or not kind
                           or prefix not in _PREFIXES[scheme]):
            allowed = ", ".join(f"'{p}-TYPE'" for p in _PREFIXES[scheme]
                                if p != "O")
            return i, (f"tag {tag!r} is not {name}: expected 'O' or one of "
                       f"{allowed}")
        if tag == "O":
            prefix, kind = "O", ""
        inside = prev in "BI" and prev_type == kind
        if scheme == "iob2" and prefix == "I" and not inside:
            return i, (f"tag {tag!r} starts an entity, but IOB2 starts every "
                       f"entity with 'B-{kind}'")
        if scheme == "bioes":
            if prev in "BI" and not (prefix in "IE" and inside):
                return i - 1, (f"tag {tags[i - 1]!r} is followed by {tag!r}; "
                               + _bioes_rule(prev_type))
            if prefix in "IE" and not inside:
                verb = "continues" if prefix == "I" else "ends"
                return i, (f"tag {tag!r} {verb} no entity; "
                           + _bioes_rule(kind))
        prev, prev_type = prefix, kind
    if scheme == "bioes" and tags and prev in "BI":
        return len(tags) - 1, (f"tag {tags[-1]!r} ends the sentence inside "
                               f"an entity; " + _bioes_rule(prev_type))
    return None


def allowed_transitions(tags, scheme):
    """Which tag follows which in well-formed `scheme` sequences (for a CRF).

    BIOES: a sequence starts and ends outside an entity or at its first or
    last tag; `I-X` and `E-X` only follow `B-X` or `I-X`, and `B-X`/`I-X`
    are always followed by `I-X` or `E-X`. IOB2: `I-X` only follows `B-X` or
    `I-X`, and no sequence starts with `I-`. IOB1 allows every transition
    (conlleval reads any B/I/O sequence), as does a scheme without entities.

    Args:
        tags: list of str. Tag names by id (`"O"` and `PREFIX-TYPE`).
        scheme: str. `"bioes"`, `"iob2"`, `"iob1"` or `"none"`.

    Returns:
        `(transitions, start, end)`: nested lists of bool, from-tag by
        to-tag `(k, k)`, and `(k,)` for the first and the last tag; or None
        when the scheme allows everything.

    Example:

    >>> t, start, end = allowed_transitions(["O", "B-PER", "E-PER"], "bioes")
    >>> t[0], t[1], start, end
    ([True, True, False], [False, False, True], [True, True, False], [True, False, True])
    """
    if scheme not in ("bioes", "iob2"):
        return None
    split = [_split(t, scheme) for t in tags]
    if scheme == "bioes":
        def follows(a, b):
            (pa, ka), (pb, kb) = a, b
            if pa in ("B", "I"):
                return pb in ("I", "E") and ka == kb
            return pb in ("O", "B", "S")

        start = [p in ("O", "B", "S") for p, _ in split]
        end = [p in ("O", "E", "S") for p, _ in split]
    else:
        def follows(a, b):
            (pa, ka), (pb, kb) = a, b
            return pb != "I" or (pa in ("B", "I") and ka == kb)

        start = [p != "I" for p, _ in split]
        end = [True] * len(split)
    transitions = [[follows(a, b) for b in split] for a in split]
    return transitions, start, end


def detect_scheme(tag_sequences):
    """Guess the scheme of gold tag sequences: `"bioes"`, `"iob1"` or `"iob2"`.

    `E-`/`S-` prefixes mean BIOES; an `I-X` that starts a chunk (after `O`,
    at the start, or after another type) means IOB1; otherwise IOB2.

    Args:
        tag_sequences: list of lists of str.

    Example:

    >>> detect_scheme([["I-PER", "O"], ["B-LOC", "I-LOC"]])
    'iob1'
    """
    prefixes = {str(t).partition("-")[0] for seq in tag_sequences for t in seq}
    if prefixes & {"E", "S"}:
        return "bioes"
    for seq in tag_sequences:
        prev, prev_type = "O", ""
        for tag in seq:
            prefix, kind = _split(tag, "iob1")
            if prefix == "I" and (prev == "O" or prev_type != kind):
                return "iob1"
            prev, prev_type = prefix, kind
    return "iob2"


def _render(entities, length, scheme):
    tags = ["O"] * length
    previous_end = {}  # type -> end of the last entity of that type
    for kind, start, end in entities:
        for i in range(start, end):
            tags[i] = "I-" + kind
        if scheme == "iob2" or (scheme == "iob1" and previous_end.get(kind) == start):
            tags[start] = "B-" + kind
        elif scheme == "bioes":
            if end - start == 1:
                tags[start] = "S-" + kind
            else:
                tags[start], tags[end - 1] = "B-" + kind, "E-" + kind
        previous_end[kind] = end
    return tags


def convert_tags(tags, source, target):
    """Rewrite one tag sequence from scheme `source` to scheme `target`.

    The entities are read under `source` and written canonically under
    `target`, so well-formed sequences round-trip exactly; ill-formed ones
    come back normalised.

    Args:
        tags: list of str. One sentence's tags.
        source: str. The scheme `tags` are in.
        target: str. The scheme to write.

    Example:

    >>> convert_tags(["B-PER", "I-PER", "B-PER"], "iob2", "iob1")
    ['I-PER', 'I-PER', 'B-PER']
    """
    target = validate_scheme(target)
    return _render(get_entities(tags, source), len(tags), target)


def _ratios(correct, found, total):
    precision = correct / found if found else 0.0
    recall = correct / total if total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_scores(true_sequences, pred_sequences, scheme):
    """Entity precision, recall and F1 (micro and per type) and token accuracy.

    Computed as conlleval does, but as fractions in [0, 1], not percentages.

    Args:
        true_sequences: list of lists of str. Gold tags per sentence.
        pred_sequences: list of lists of str. Predicted tags, same shapes.
        scheme: str. `"iob1"`, `"iob2"` or `"bioes"`.

    Returns:
        A dict with `precision`, `recall`, `f1`, `accuracy`, the counts
        `true_entities`, `pred_entities`, `correct_entities`, flat per-type
        keys `precision_PER`, `recall_PER`, `f1_PER`, `support_PER` (gold
        count), and `per_type`: `{type: {precision, recall, f1, support}}`.
    """
    scheme = validate_scheme(scheme)
    if len(true_sequences) != len(pred_sequences):
        raise DataError(
            "`entity_scores()` needs as many predicted as gold sequences. "
            f"Received: {len(true_sequences)} gold, {len(pred_sequences)} predicted")
    gold, pred = set(), set()
    tokens = correct_tokens = 0
    for n, (t, p) in enumerate(zip(true_sequences, pred_sequences)):
        if len(t) != len(p):
            raise DataError(
                f"Sequence {n} has {len(t)} gold tags but {len(p)} predicted; "
                "expected equal lengths")
        gold.update((n,) + e for e in get_entities(t, scheme))
        pred.update((n,) + e for e in get_entities(p, scheme))
        tokens += len(t)
        correct_tokens += sum(a == b for a, b in zip(t, p))
    hits = gold & pred
    precision, recall, f1 = _ratios(len(hits), len(pred), len(gold))
    scores = {"precision": precision, "recall": recall, "f1": f1,
              "accuracy": correct_tokens / tokens if tokens else 0.0,
              "true_entities": len(gold), "pred_entities": len(pred),
              "correct_entities": len(hits), "per_type": {}}
    for kind in sorted({e[1] for e in gold | pred}):
        n_hits, n_pred, n_gold = (sum(e[1] == kind for e in entities)
                                  for entities in (hits, pred, gold))
        p, r, f = _ratios(n_hits, n_pred, n_gold)
        scores["per_type"][kind] = {"precision": p, "recall": r, "f1": f,
                                    "support": n_gold}
        for key, value in scores["per_type"][kind].items():
            scores[f"{key}_{kind}"] = value
    return scores
