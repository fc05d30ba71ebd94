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

The teacher-forcing loss, `SmoothedSparseCrossentropy`, lives in
`kerasnlp_seq.losses` (captioning uses it too); it is importable from here
as before.
"""

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.losses import SmoothedSparseCrossentropy  # noqa: F401


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
