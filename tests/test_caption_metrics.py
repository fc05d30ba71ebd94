"""Caption metrics against values worked out by hand from their definitions.

BLEU: modified n-gram precisions clipped by the most counts in any
reference, corpus sums, brevity penalty from the closest reference length,
geometric mean, no smoothing. CIDEr-D: tf-idf n-gram vectors with document
frequency over the evaluated images' reference sets, clipped cosine per
order, gaussian length penalty (sigma 6), mean over n = 1..4 and over
references, times 10.
"""

import math

import pytest

from kerasnlp_seq.caption_metrics import (caption_scores, caption_tokens,
                                          cider, cider_scores, corpus_bleu)

HYPS = ["The cat sat on the mat.", "a dog"]
REFS = [["the cat is on the mat", "a cat sat on a mat"],
        ["a dog runs fast", "the dog runs"]]


def test_caption_tokens_lowercase_and_drop_punctuation():
    assert caption_tokens("A dog's ball, on the GRASS .") == [
        "a", "dogs", "ball", "on", "the", "grass"]
    assert caption_tokens("  ") == []


def test_corpus_bleu_matches_hand_computation():
    # Sentence 1 (6 words, refs of 6): p1 6/6, p2 5/5, p3 2/4 ("cat sat
    # on", "on the mat"), p4 0/3. Sentence 2 ("a dog", closest ref 3
    # words): p1 2/2, p2 1/1, no 3- or 4-grams. Corpus: c = 8, r = 9,
    # BP = exp(1 - 9/8); p3 = 2/4, p4 = 0/3.
    bp = math.exp(1 - 9 / 8)
    assert corpus_bleu(HYPS, REFS, 1) == pytest.approx(bp, abs=1e-4)
    assert corpus_bleu(HYPS, REFS, 2) == pytest.approx(bp, abs=1e-4)
    assert corpus_bleu(HYPS, REFS, 3) == pytest.approx(
        bp * 0.5 ** (1 / 3), abs=1e-4)
    assert corpus_bleu(HYPS, REFS, 4) == 0.0


def test_bleu_clips_counts_and_uses_every_reference():
    # "the the the the": clipped unigram precision 2/4 (the most "the" in
    # one reference); BP 1 (a reference of 4 words).
    assert corpus_bleu(["the the the the"], [["the cat on the", "a b"]],
                       1) == pytest.approx(0.5, abs=1e-4)
    # Matching the second reference only is a perfect score.
    assert corpus_bleu(["a dog runs on grass"],
                       [["something else entirely here", "a dog runs on "
                         "grass"]], 4) == pytest.approx(1.0)


def test_bleu_rejects_bad_shapes():
    with pytest.raises(ValueError, match="one hypothesis per reference set"):
        corpus_bleu(["a"], [["a"], ["b"]])
    with pytest.raises(ValueError, match="non-empty list of reference"):
        corpus_bleu(["a"], [[]])
    with pytest.raises(ValueError, match="non-empty list of reference"):
        corpus_bleu(["a"], ["a string, not a list"])


def test_cider_one_image_is_zero():
    # idf = log(#images / df) = log(1 / 1) = 0 for every n-gram.
    assert cider(["a red circle"], [["a red circle"]]) == 0.0


def test_cider_exact_matches_score_ten_per_order_present():
    # Disjoint words: every n-gram has df 1, idf log 2, cosine 1 for each
    # order the caption has. Four words: orders 1-4 -> 10. Two words:
    # orders 1-2 only -> (1 + 1 + 0 + 0) / 4 * 10 = 5.
    refs = [["w1 w2 w3 w4"], ["z1 z2"]]
    scores = cider_scores(["w1 w2 w3 w4", "z1 z2"], refs)
    assert scores == pytest.approx([10.0, 5.0])


def test_cider_length_penalty():
    # Hypothesis "w1..w5" against "w1..w4" (idf log 2 everywhere, also for
    # the unseen w5 n-grams: df 0 counts as 1). Cosines: 1-grams 4/(2*sqrt5),
    # 2-grams 3/(2*sqrt3), 3-grams 2/(sqrt3*sqrt2), 4-grams 1/sqrt2; length
    # difference 1 -> exp(-1 / 72).
    expected = 10 * math.exp(-1 / 72) * (
        4 / (2 * math.sqrt(5)) + 3 / (2 * math.sqrt(3))
        + 2 / (math.sqrt(3) * math.sqrt(2)) + 1 / math.sqrt(2)) / 4
    scores = cider_scores(["w1 w2 w3 w4 w5", "z1 z2 z3 z4"],
                          [["w1 w2 w3 w4"], ["z1 z2 z3 z4"]])
    assert scores == pytest.approx([expected, 10.0])
    assert scores[0] == pytest.approx(8.0968, abs=1e-3)


def test_cider_clips_repeated_words():
    # "w1 w1 w1 w1" vs "w1 w2 w3 w4": unigram dot min(4, 1) * 1 over norms
    # 4 and 2 -> 1/8 (1/2 without clipping); no shared 2-4-grams; same
    # length. (1/8) / 4 * 10 = 0.3125.
    scores = cider_scores(["w1 w1 w1 w1", "z1 z2 z3 z4"],
                          [["w1 w2 w3 w4"], ["z1 z2 z3 z4"]])
    assert scores[0] == pytest.approx(0.3125)


def test_cider_averages_over_references_and_weights_by_idf():
    # Image A: the hypothesis equals one of two disjoint references:
    # (1 + 0) / 2 * 10 = 5. Words in every image's references ("a") get
    # idf log(2 / 2) = 0 and do not count.
    scores = cider_scores(
        ["a b c d", "i j k l"], [["a b c d", "e f g h"], ["i j k l"]])
    assert scores == pytest.approx([5.0, 10.0])
    shared = cider_scores(["a cat", "a dog"], [["a cat"], ["a dog"]])
    assert shared == pytest.approx([5.0, 5.0])
    wrong = cider_scores(["a dog", "a cat"], [["a cat"], ["a dog"]])
    assert wrong == pytest.approx([0.0, 0.0])


def test_caption_scores_has_all_names():
    scores = caption_scores(HYPS, REFS)
    assert sorted(scores) == ["bleu1", "bleu2", "bleu3", "bleu4", "cider"]
    assert scores["bleu3"] == pytest.approx(corpus_bleu(HYPS, REFS, 3))
    assert scores["cider"] == pytest.approx(cider(HYPS, REFS))
