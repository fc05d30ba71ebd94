"""sacreBLEU scores on detokenized text, the smoothed loss, attention plots."""

import keras
import numpy as np
import pytest
import sacrebleu

from kerasnlp_seq.attention_plots import plot_attention
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.translation_metrics import (SmoothedSparseCrossentropy,
                                              translation_scores)

HYPS = ["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen im Schnee!",
        "eine frau liest ein buch", "Kinder spielen."]
REFS = ["Ein Mann fährt ein Fahrrad.", "Zwei Hunde spielen im Schnee.",
        "Eine Frau liest ein Buch.", "Die Kinder spielen draußen."]


def test_scores_equal_sacrebleu_on_the_same_strings():
    scores = translation_scores(HYPS, REFS)
    assert scores["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(HYPS, [REFS]).score)
    assert scores["chrf"] == pytest.approx(
        sacrebleu.corpus_chrf(HYPS, [REFS]).score)
    assert scores["bleu_tok_lc"] == pytest.approx(sacrebleu.corpus_bleu(
        HYPS, [REFS], tokenize="13a", lowercase=True).score)
    # Lower-casing forgives the third sentence's case errors.
    assert scores["bleu_tok_lc"] > scores["bleu"]
    assert "case:mixed" in scores["bleu_signature"]
    assert translation_scores(REFS, REFS)["bleu"] == pytest.approx(100.0)
    assert 0 <= scores["bleu_bp"] <= 1


@pytest.mark.parametrize("hyps, refs, message", [
    (["a"], ["a", "b"], "found 1 hypotheses and 2 references"),
    ([], [], "no sentences to score"),
    (["a", None], ["a", "b"], "hypothesis 2 is not a string: NoneType"),
    (["a"], [b"a"], "reference 1 is not a string: bytes"),
])
def test_bad_inputs_are_one_line_errors(hyps, refs, message):
    with pytest.raises(DataError) as info:
        translation_scores(hyps, refs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_smoothed_loss_matches_keras_categorical_smoothing():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 7)).astype("float32")
    labels = rng.integers(0, 7, size=(3, 4))
    one_hot = np.eye(7, dtype="float32")[labels]
    for smoothing in (0.0, 0.1, 0.3):
        ours = SmoothedSparseCrossentropy(smoothing)(labels, logits)
        ref = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=smoothing)(one_hot, logits)
        np.testing.assert_allclose(float(ours), float(ref), rtol=1e-5)
    loss = SmoothedSparseCrossentropy(0.2)
    again = SmoothedSparseCrossentropy.from_config(loss.get_config())
    assert again.label_smoothing == 0.2
    with pytest.raises(ValueError, match=r"label_smoothing` must be in"):
        SmoothedSparseCrossentropy(1.0)


def test_smoothed_loss_ignores_masked_positions():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(5, 4, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    model.compile(loss=SmoothedSparseCrossentropy(0.1))
    ids = np.array([[1, 2, 0, 0]])
    labels = np.array([[3, 4, 0, 0]])
    short = model.evaluate(ids[:, :2], labels[:, :2], verbose=0)
    padded = model.evaluate(ids, labels, verbose=0)
    assert padded == pytest.approx(short, rel=1e-5)


def test_attention_plot_writes_a_png(tmp_path):
    path = str(tmp_path / "attention.png")
    weights = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0, 0, 1.0]])
    assert plot_attention(weights, ["hola", "mundo", "[END]"],
                          ["hello", "world"], path, title="t") == path
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="cannot cover 4 target"):
        plot_attention(weights, ["a"], ["a", "b", "c", "d"], path)
    with pytest.raises(ValueError, match="must be 2-D"):
        plot_attention(np.zeros(3), ["a"], ["b"], path)
