"""Caption metrics: corpus BLEU-1..4 (sacrebleu) and CIDEr-D.

Both score generated captions against *all* the references of each image,
on lower-cased captions tokenized by `caption_tokens` (the same
standardisation the captioning vocabulary uses: punctuation dropped).

- `bleu1` ... `bleu4`: corpus BLEU with n-grams up to n and uniform
  weights, the closest reference length for the brevity penalty and no
  smoothing, computed by `sacrebleu` (multiple references, `tokenize="none"`
  on the pre-tokenized text), reported in [0, 1].
- `cider`: CIDEr-D (Vedantam et al. 2015, the coco-caption `ciderD`
  code): n-grams 1-4 weighted by tf-idf, the document frequency counted
  over the reference sets of the evaluated images (`log(#images / df)`),
  candidate counts clipped at the reference counts, a gaussian length
  penalty `exp(-(l_c - l_r)^2 / (2 * 6^2))`, averaged over n and over the
  references, times 10.
"""

import collections
import math
import re

SIGMA = 6.0
_APOSTROPHE = re.compile(r"['\u2019]")
_NON_WORD = re.compile(r"[^\w]+|_")


def caption_tokens(text):
    """Lower-cased word tokens of a caption, punctuation dropped.

    Example:

    >>> caption_tokens("A dog's ball, on the grass.")
    ['a', 'dogs', 'ball', 'on', 'the', 'grass']
    """
    text = _APOSTROPHE.sub("", str(text).lower())
    return _NON_WORD.sub(" ", text).split()


def _check(hypotheses, references):
    if len(hypotheses) != len(references):
        raise ValueError(
            f"Expected one hypothesis per reference set. Received: "
            f"{len(hypotheses)} hypotheses, {len(references)} reference sets.")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not refs:
            raise ValueError(
                f"Each image needs a non-empty list of reference captions. "
                f"Received at index {i}: {refs!r}")


def corpus_bleu(hypotheses, references, max_order=4):
    """Corpus BLEU-n of captions against all their references, in [0, 1].

    Args:
        hypotheses: list of str. One generated caption per image.
        references: list of lists of str. The reference captions of each
            image (any number per image).
        max_order: int. The longest n-gram (BLEU-n).

    Example:

    >>> round(corpus_bleu(["a dog runs"], [["a dog runs", "a cat"]], 2), 3)
    1.0
    """
    from sacrebleu.metrics import BLEU

    _check(hypotheses, references)
    join = lambda s: " ".join(caption_tokens(s))
    hyps = [join(h) for h in hypotheses]
    most = max(len(r) for r in references)
    streams = [[join(r[j]) if j < len(r) else None for r in references]
               for j in range(most)]
    bleu = BLEU(max_ngram_order=max_order, tokenize="none",
                smooth_method="none", force=True)
    return bleu.corpus_score(hyps, streams).score / 100.0


def _ngrams(tokens, n=4):
    counts = collections.Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            counts[tuple(tokens[i:i + k])] += 1
    return counts


def _vector(counts, df, log_images, n=4):
    """tf-idf vectors per n-gram order, their norms, and the length."""
    vec = [dict() for _ in range(n)]
    norm = [0.0] * n
    for gram, tf in counts.items():
        k = len(gram) - 1
        vec[k][gram] = tf * (log_images - math.log(max(1.0, df[gram])))
        norm[k] += vec[k][gram] ** 2
    return vec, [math.sqrt(x) for x in norm]


def _similarity(hyp, ref, hyp_len, ref_len, n=4):
    (vec_h, norm_h), (vec_r, norm_r) = hyp, ref
    penalty = math.exp(-((hyp_len - ref_len) ** 2) / (2 * SIGMA ** 2))
    out = []
    for k in range(n):
        # CIDEr-D clips the candidate's weight at the reference's.
        value = sum(min(w, vec_r[k].get(g, 0.0)) * vec_r[k].get(g, 0.0)
                    for g, w in vec_h[k].items())
        if norm_h[k] != 0 and norm_r[k] != 0:
            value /= norm_h[k] * norm_r[k]
        out.append(value * penalty)
    return out


def cider_scores(hypotheses, references, n=4):
    """Per-image CIDEr-D scores (see the module doc).

    Args:
        hypotheses: list of str. One generated caption per image.
        references: list of lists of str. The references of each image.
        n: int. The longest n-gram.

    Returns:
        A list of float, one per image.
    """
    _check(hypotheses, references)
    refs = [[caption_tokens(r) for r in group] for group in references]
    hyps = [caption_tokens(h) for h in hypotheses]
    df = collections.Counter()
    for group in refs:
        df.update(set(g for r in group for g in _ngrams(r, n)))
    log_images = math.log(float(len(refs)))
    scores = []
    for hyp, group in zip(hyps, refs):
        vec_h = _vector(_ngrams(hyp, n), df, log_images, n)
        total = [0.0] * n
        for ref in group:
            vec_r = _vector(_ngrams(ref, n), df, log_images, n)
            # Lengths in words: the reference code counts bigrams, whose
            # difference is the same for any non-empty captions.
            sims = _similarity(vec_h, vec_r, len(hyp), len(ref), n)
            total = [a + b for a, b in zip(total, sims)]
        scores.append(sum(total) / n / len(group) * 10.0)
    return scores


def cider(hypotheses, references):
    """Corpus CIDEr-D: the mean of `cider_scores`.

    Example:

    >>> refs = [["a red circle on the left"], ["a blue square at the top"]]
    >>> round(cider(["a red circle on the left", "a blue square at the top"],
    ...             refs), 3)
    10.0
    """
    scores = cider_scores(hypotheses, references)
    return sum(scores) / len(scores)


def caption_scores(hypotheses, references):
    """`{"bleu1": ..., "bleu4": ..., "cider": ...}` of generated captions."""
    scores = {f"bleu{n}": corpus_bleu(hypotheses, references, n)
              for n in range(1, 5)}
    scores["cider"] = cider(hypotheses, references)
    return scores
