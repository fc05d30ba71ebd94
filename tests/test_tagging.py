"""Tag schemes and entity scores, cross-checked against seqeval (= conlleval)."""

import random
import warnings

import pytest
from seqeval import metrics as seqeval_metrics
from seqeval.scheme import IOBES

from kerasnlp_seq.errors import ConfigError, DataError
from kerasnlp_seq.tagging import (convert_tags, detect_scheme, entity_scores,
                                  get_entities, validate_scheme)

TYPES = ("PER", "LOC", "MISC-X")  # a type with a hyphen, as conlleval allows


def _random_tags(rng, n, prefixes="BIO"):
    """Any tags at all, ill-formed sequences included."""
    out = []
    for _ in range(n):
        p = rng.choice(prefixes + "OO")
        out.append("O" if p == "O" else f"{p}-{rng.choice(TYPES)}")
    return out


def _random_entities(rng, n):
    """Non-overlapping (type, start, end) spans, adjacent ones included."""
    entities, i = [], rng.randrange(3)
    while i < n:
        end = min(n, i + rng.randint(1, 3))
        entities.append((rng.choice(TYPES), i, end))
        i = end + rng.choice([0, 0, 1, 2])
    return entities


def _render(entities, n, scheme):
    """Canonical tags for entities, written independently of the library."""
    tags, last_end = ["O"] * n, {}
    for kind, start, end in entities:
        width = end - start
        if scheme == "iob2":
            tags[start:end] = ["B-" + kind] + ["I-" + kind] * (width - 1)
        elif scheme == "iob1":
            first = "B-" if last_end.get(kind) == start else "I-"
            tags[start:end] = [first + kind] + ["I-" + kind] * (width - 1)
        elif width == 1:
            tags[start] = "S-" + kind
        else:
            tags[start:end] = (["B-" + kind] + ["I-" + kind] * (width - 2)
                               + ["E-" + kind])
        last_end[kind] = end
    return tags


def _seqeval(true, pred, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = seqeval_metrics.classification_report(
            true, pred, output_dict=True, **kwargs)
    return report


def _assert_matches_seqeval(true, pred, our_scheme, **kwargs):
    ours = entity_scores(true, pred, our_scheme)
    report = _seqeval(true, pred, **kwargs)
    micro = report.pop("micro avg")
    assert ours["precision"] == pytest.approx(micro["precision"])
    assert ours["recall"] == pytest.approx(micro["recall"])
    assert ours["f1"] == pytest.approx(micro["f1-score"])
    assert ours["true_entities"] == micro["support"]
    assert ours["accuracy"] == pytest.approx(
        seqeval_metrics.accuracy_score(true, pred))
    kinds = {k for k in report if not k.endswith(" avg")}
    assert kinds == set(ours["per_type"])
    for kind in kinds:
        assert ours[f"precision_{kind}"] == pytest.approx(report[kind]["precision"])
        assert ours[f"recall_{kind}"] == pytest.approx(report[kind]["recall"])
        assert ours[f"f1_{kind}"] == pytest.approx(report[kind]["f1-score"])
        assert ours[f"support_{kind}"] == report[kind]["support"]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("scheme", ["iob1", "iob2"])
def test_random_iob_sequences_match_seqeval(seed, scheme):
    rng = random.Random(seed)
    true = [_random_tags(rng, rng.randint(0, 12)) for _ in range(30)]
    pred = [_random_tags(rng, len(t)) for t in true]
    _assert_matches_seqeval(true, pred, scheme)


def test_hand_made_ill_formed_iob():
    cases = {  # conlleval's reading
        ("O", "I-PER", "I-PER"): [("PER", 1, 3)],
        ("B-PER", "I-LOC", "I-LOC"): [("PER", 0, 1), ("LOC", 1, 3)],
        ("I-PER", "B-PER", "I-PER"): [("PER", 0, 1), ("PER", 1, 3)],
        ("B-PER", "B-PER", "O", "I-LOC"): [("PER", 0, 1), ("PER", 1, 2),
                                           ("LOC", 3, 4)],
        ("I-MISC-X", "I-MISC-X"): [("MISC-X", 0, 2)],
    }
    for tags, expected in cases.items():
        assert get_entities(list(tags), "iob2") == expected
        assert get_entities(list(tags), "iob1") == expected
    true = [list(t) for t in cases]
    pred = [["O", "B-PER", "I-PER"], ["B-PER", "B-LOC", "I-LOC"],
            ["I-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "O", "B-LOC"],
            ["B-MISC-X", "O"]]
    _assert_matches_seqeval(true, pred, "iob2")


@pytest.mark.parametrize("seed", range(4))
def test_well_formed_bioes_matches_seqeval_strict(seed):
    rng = random.Random(seed)
    lengths = [rng.randint(0, 12) for _ in range(30)]
    true = [_render(_random_entities(rng, n), n, "bioes") for n in lengths]
    pred = [_render(_random_entities(rng, n), n, "bioes") for n in lengths]
    _assert_matches_seqeval(true, pred, "bioes", mode="strict", scheme=IOBES)


def test_ill_formed_bioes_drops_fragments_like_seqeval_strict():
    assert get_entities(["B-PER", "I-PER", "O", "S-LOC", "E-LOC", "I-PER",
                         "B-PER", "E-LOC", "B-LOC", "E-LOC"], "bioes") == [
        ("LOC", 3, 4), ("LOC", 8, 10)]
    rng = random.Random(9)
    true = [_random_tags(rng, rng.randint(0, 10), "BIOES") for _ in range(40)]
    pred = [_random_tags(rng, len(t), "BIOES") for t in true]
    _assert_matches_seqeval(true, pred, "bioes", mode="strict", scheme=IOBES)


@pytest.mark.parametrize("seed", range(3))
def test_conversions_round_trip_exactly(seed):
    rng = random.Random(seed)
    for _ in range(40):
        n = rng.randint(0, 10)
        entities = _random_entities(rng, n)
        rendered = {s: _render(entities, n, s) for s in ("iob1", "iob2", "bioes")}
        for source, tags in rendered.items():
            assert get_entities(tags, source) == entities
            for target in rendered:
                assert convert_tags(tags, source, target) == rendered[target]


def test_conversion_examples():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-PER"]
    assert convert_tags(iob1, "iob1", "iob2") == [
        "B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-PER"]
    assert convert_tags(iob1, "iob1", "bioes") == [
        "B-PER", "E-PER", "S-PER", "O", "S-LOC", "S-PER"]
    # Ill-formed IOB2 is normalised the way conlleval reads it.
    assert convert_tags(["O", "I-PER"], "iob2", "iob2") == ["O", "B-PER"]


def test_detect_scheme():
    assert detect_scheme([["B-PER", "I-PER", "O"], ["B-LOC"]]) == "iob2"
    assert detect_scheme([["O", "I-PER"], ["B-LOC"]]) == "iob1"
    assert detect_scheme([["B-PER", "I-LOC"]]) == "iob1"
    assert detect_scheme([["S-PER", "O"]]) == "bioes"
    assert detect_scheme([["O", "O"], []]) == "iob2"


def test_scores_edge_cases_and_values():
    scores = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "B-LOC"]],
                           "iob2")
    assert (scores["precision"], scores["recall"]) == (0.5, 1.0)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0,
                                         "f1": 0.0, "support": 0}
    empty = entity_scores([["O"]], [["O"]], "iob2")
    assert (empty["f1"], empty["accuracy"], empty["per_type"]) == (0.0, 1.0, {})


def test_errors_say_what_was_expected():
    with pytest.raises(ConfigError, match=r"Unknown tag scheme\. Expected one of "
                       r"\['bioes', 'iob1', 'iob2'\]\. Received: scheme='bio'"):
        validate_scheme("bio")
    assert validate_scheme("IOBES") == "bioes"
    with pytest.raises(DataError, match=r"Malformed tag for scheme 'iob2'\. "
                       r"Expected 'O' or one of 'B-TYPE', 'I-TYPE'\. "
                       r"Received: tag='S-PER'"):
        get_entities(["S-PER"], "iob2")
    with pytest.raises(DataError, match=r"Received: tag='PER'"):
        get_entities(["PER"], "bioes")
    with pytest.raises(DataError, match=r"Received: 2 gold, 1 predicted"):
        entity_scores([["O"], ["O"]], [["O"]], "iob2")
    with pytest.raises(DataError, match=r"Sequence 1 has 1 gold tags but 2 predicted"):
        entity_scores([["O"], ["O"]], [["O"], ["O", "O"]], "iob2")


def test_find_malformed_names_the_first_tag_off_the_scheme():
    from kerasnlp_seq.tagging import find_malformed

    # Well-formed sequences of every scheme pass; IOB1 and IOB2 read alike.
    assert find_malformed(["B-PER", "I-PER", "E-PER", "S-LOC", "O"],
                          "bioes") is None
    assert find_malformed(["I-PER", "B-PER", "O", "B-LOC"], "iob1") is None
    assert find_malformed(["B-PER", "I-PER", "B-PER"], "iob2") is None
    assert find_malformed(["O", "O"], "bioes") is None
    # BIOES: an entity left open, a continuation of nothing, an open end.
    assert find_malformed(["O", "B-PER", "O"], "bioes") == (
        1, "tag 'B-PER' is followed by 'O'; in BIOES an entity is 'S-PER' "
        "or 'B-PER', 'I-PER'..., 'E-PER'")
    assert find_malformed(["O", "E-PER"], "bioes")[0] == 1
    assert "'I-LOC' continues no entity" in find_malformed(
        ["B-PER", "E-PER", "I-LOC", "E-LOC"], "bioes")[1]
    assert find_malformed(["B-PER", "I-PER"], "bioes") == (
        1, "tag 'I-PER' ends the sentence inside an entity; in BIOES an "
        "entity is 'S-PER' or 'B-PER', 'I-PER'..., 'E-PER'")
    # IOB2 starts every entity with B-; no scheme takes foreign prefixes.
    assert find_malformed(["O", "I-PER"], "iob2") == (
        1, "tag 'I-PER' starts an entity, but IOB2 starts every entity "
        "with 'B-PER'")
    assert find_malformed(["O", "S-PER"], "iob1") == (
        1, "tag 'S-PER' is not IOB1: expected 'O' or one of 'B-TYPE', "
        "'I-TYPE'")
    assert find_malformed(["B-"], "bioes")[0] == 0


@pytest.mark.parametrize("scheme", ["bioes", "iob2"])
def test_allowed_transitions_accept_exactly_the_well_formed_sequences(scheme):
    import itertools

    from kerasnlp_seq.tagging import allowed_transitions, find_malformed

    prefixes = "BIES" if scheme == "bioes" else "BI"
    tags = ["O"] + [f"{p}-{k}" for k in ("PER", "LOC") for p in prefixes]
    transitions, start, end = allowed_transitions(tags, scheme)
    for n in (1, 2, 3):
        for ids in itertools.product(range(len(tags)), repeat=n):
            allowed = (start[ids[0]] and end[ids[-1]] and all(
                transitions[a][b] for a, b in zip(ids, ids[1:])))
            sequence = [tags[i] for i in ids]
            assert allowed == (find_malformed(sequence, scheme) is None), \
                sequence


def test_iob1_and_plain_labels_allow_every_transition():
    from kerasnlp_seq.tagging import allowed_transitions

    assert allowed_transitions(["O", "B-PER", "I-PER"], "iob1") is None
    assert allowed_transitions(["NN", "VB"], "none") is None
