"""Translation scores with sacreBLEU, and the label-smoothed training loss.

Scores are computed by the field's standard tool, `sacrebleu`, on
detokenized text (what a user reads), never by a re-implementation:

- `bleu`: sacreBLEU's default BLEU (13a tokenization, case-sensitive),
  the number to quote with its signature.
- `chrf`: chrF (character n-gram F-score, beta 2), robust on morphology.
- `bleu_tok_lc`: tokenized, lower-cased BLEU, to compare with the Multi30k
  literature, which scores Moses-tokenized lower-cased text with
  `multi-bleu.perl`. Here it is sacreBLEU with `tokenize="13a"` (the
  mteval-v13a tokenizer, close to Moses' on these data) and
  `lowercase=True`; expect it within a few tenths of multi-bleu.perl.

`SmoothedSparseCrossentropy` is the teacher-forcing loss: sparse
cross-entropy over logits with optional label smoothing (Szegedy et al.
2016), which Keras's sparse loss lacks. Padding is excluded by the Keras
mask the decoder's logits carry.
"""

import keras
from keras import ops

from kerasnlp_seq.errors import DataError


def _check(hypotheses, references):
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise DataError(
            f"expected one reference per hypothesis; found "
            f"{len(hypotheses)} hypotheses and {len(references)} references.")
    if not hypotheses:
        raise DataError("no sentences to score.")
    for name, items in (("hypothesis", hypotheses),
                        ("reference", references)):
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise DataError(
                    f"{name} {i + 1} is not a string: {type(text).__name__}.")
    return hypotheses, references


def translation_scores(hypotheses, references):
    """BLEU, chrF and tokenized lower-cased BLEU of detokenized sentences.

    Args:
        hypotheses: list of str. System outputs, one per source sentence.
        references: list of str. One reference translation each.

    Returns:
        dict of floats in [0, 100]: `bleu`, `chrf`, `bleu_tok_lc`, plus the
        BLEU brevity penalty (`bleu_bp`) and `bleu_signature` (str).

    Example:

    >>> same = ["a cat sat on the mat ."]
    >>> round(translation_scores(same, same)["bleu"], 6)
    100.0
    """
    import sacrebleu

    hypotheses, references = _check(hypotheses, references)
    bleu = sacrebleu.metrics.BLEU()
    score = bleu.corpus_score(hypotheses, [references])
    chrf = sacrebleu.metrics.CHRF().corpus_score(hypotheses, [references])
    tok_lc = sacrebleu.metrics.BLEU(tokenize="13a", lowercase=True)
    return {
        "bleu": float(score.score),
        "bleu_bp": float(score.bp),
        "chrf": float(chrf.score),
        "bleu_tok_lc": float(tok_lc.corpus_score(
            hypotheses, [references]).score),
        "bleu_signature": str(bleu.get_signature()),
    }


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy from logits, with label smoothing.

    The smoothed target puts `1 - label_smoothing` on the true class and
    spreads `label_smoothing` uniformly over all classes.

    Args:
        label_smoothing: float in [0, 1). 0 is plain cross-entropy.
        **kwargs: `keras.losses.Loss` arguments (`name`, `reduction`).

    Example:

    >>> loss = SmoothedSparseCrossentropy(0.1)
    >>> logits = np.array([[[0.0, 2.0, 0.0]]])
    >>> round(float(loss(np.array([[1]]), logits)), 4)
    0.3729
    """

    def __init__(self, label_smoothing=0.0, name="smoothed_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(
                "`label_smoothing` must be in [0, 1). Received: "
                f"label_smoothing={label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        nll = keras.losses.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=True)
        if not self.label_smoothing:
            return nll
        uniform = -ops.mean(ops.log_softmax(y_pred, axis=-1), axis=-1)
        return ((1.0 - self.label_smoothing) * nll
                + self.label_smoothing * uniform)

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing})
        return config
