"""Choosing a decision threshold on validation data; balanced class weights.

A spam filter that blocks 1 in 200 legitimate messages is unusable however
much spam it catches, so the operating point is chosen on validation data
under a budget of false positives: `choose_threshold(y, p, max_fpr=0.005)`
finds the threshold that catches the most spam while blocking at most 0.5% of
ham. Without a budget it maximises F1.

Thresholds are actual score values and the rule is the one
`kerasnlp_seq.binary_metrics.binary_report()` uses: `score >= threshold`
means positive, so `binary_report(y, p, chosen["threshold"])` reproduces the
`fpr` and `recall` reported here exactly on the same data.
"""

import numpy as np

from kerasnlp_seq.binary_metrics import check_binary, counts_by_threshold
from kerasnlp_seq.errors import ConfigError, DataError

OBJECTIVES = ("f1", "recall")


def choose_threshold(y_true, scores, max_fpr=None, objective=None):
    """Pick the threshold that maximises F1, or recall under an FPR budget.

    Candidates are the distinct scores, each used as `score >= threshold`,
    plus one value just above the highest score (nothing flagged). With
    `max_fpr`, the chosen threshold maximises `objective` (default recall,
    i.e. spam caught) among those whose false-positive rate is at most
    `max_fpr`; if no score meets the budget, the answer is the value just
    above the highest score (the next representable float in the scores'
    precision), which flags nothing: recall 0, fpr 0. Without `max_fpr`,
    it maximises F1. Ties go to the higher threshold (fewer false
    positives). Exact, O(n log n).

    Args:
        y_true: array-like of 0/1, shape `(n,)` or `(n, 1)`; 1 is the
            positive class (spam). Both classes must be present.
        scores: array-like of floats, same length: the score (probability)
            of the positive class, e.g. `model.predict(x)`.
        max_fpr: float or None. The largest false-positive rate allowed, as
            a fraction in [0, 1): 0.005 blocks at most 0.5% of negatives.
        objective: `"f1"`, `"recall"` or None. What to maximise. None means
            `"recall"` when `max_fpr` is given and `"f1"` otherwise;
            `"recall"` needs `max_fpr` (without a budget it is trivially 1).

    Returns:
        dict: `threshold` (float), `fpr` and `recall` (fractions, on these
        data), `f1`, and `objective` (the objective used).

    Example:

    >>> from kerasnlp_seq.thresholds import choose_threshold
    >>> y = [0, 0, 0, 0, 1, 1, 1, 0, 1, 1]
    >>> p = [.1, .2, .3, .4, .5, .6, .7, .8, .9, .95]
    >>> choose_threshold(y, p, max_fpr=0.0)["threshold"]
    0.9
    >>> choose_threshold(y, p)["threshold"]
    0.5
    """
    y, s = check_binary(y_true, scores, "choose_threshold")
    max_fpr = _check_max_fpr(max_fpr)
    if objective is None:
        objective = "f1" if max_fpr is None else "recall"
    if objective not in OBJECTIVES:
        raise ConfigError(
            "Unknown `objective` for `choose_threshold()`. Expected one of "
            f"{list(OBJECTIVES)}. Received: objective={objective!r}")
    if objective == "recall" and max_fpr is None:
        raise ConfigError(
            "`choose_threshold(objective='recall')` needs `max_fpr`; without "
            "a false-positive budget the lowest threshold has recall 1. "
            "Received: max_fpr=None")
    n_pos = int(y.sum())
    n_neg = y.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        missing = "positive (1)" if n_pos == 0 else "negative (0)"
        raise DataError(
            f"`choose_threshold()` needs validation data with both classes; "
            f"it has no {missing} examples among {y.shape[0]}.")

    thresholds, tp, fp = counts_by_threshold(y, s)
    thresholds = np.r_[_just_above(s.max(), scores), thresholds]
    tp = np.r_[0, tp]
    fp = np.r_[0, fp]
    recall = tp / n_pos
    fpr = fp / n_neg
    f1 = 2.0 * tp / (tp + fp + n_pos)  # 2tp / (2tp + fp + fn)
    value = (recall if objective == "recall" else f1).astype(np.float64)
    if max_fpr is not None:
        value = np.where(fpr <= max_fpr, value, -np.inf)
    best = int(np.argmax(value))  # first maximum = highest threshold
    return {
        "threshold": float(thresholds[best]),
        "fpr": float(fpr[best]),
        "recall": float(recall[best]),
        "f1": float(f1[best]),
        "objective": objective,
    }


def _check_max_fpr(max_fpr):
    if max_fpr is None:
        return None
    if isinstance(max_fpr, (bool, np.bool_)):
        ok = False
    else:
        try:
            max_fpr = float(max_fpr)
            ok = 0.0 <= max_fpr < 1.0
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise ConfigError(
            "`max_fpr` must be a fraction in [0, 1), e.g. 0.005 to block at "
            f"most 0.5% of negatives. Received: max_fpr={max_fpr!r}")
    return max_fpr


def _just_above(top, original_scores):
    """The next float above `top` in the precision the scores came in."""
    dtype = np.asarray(original_scores).dtype
    kind = dtype.type if dtype in (np.float16, np.float32) else np.float64
    return float(np.nextafter(kind(top), kind(np.inf)))


def class_weights(labels):
    """Balanced class weights `n / (k * count)`, as scikit-learn's "balanced".

    A class that makes up half the data gets weight `1 / (2 * 0.5) = 1`
    when there are two classes; a rare class gets more. Only classes present
    in `labels` get a weight; pass the result to `model.fit(class_weight=)`
    when every class index `0..k-1` occurs.

    Args:
        labels: array-like of integer class indices, shape `(n,)` or
            `(n, 1)`.

    Returns:
        dict mapping each class present (int) to its weight (float).

    Example:

    >>> from kerasnlp_seq.thresholds import class_weights
    >>> class_weights([0, 0, 0, 1])
    {0: 0.6666666666666666, 1: 2.0}
    """
    a = np.asarray(labels)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError("`class_weights()` needs a non-empty 1-D array of "
                         f"class indices. Received shape {a.shape}.")
    if a.dtype.kind in "biu":
        bad = np.zeros(a.shape, dtype=bool)
    elif a.dtype.kind == "f":
        bad = ~(np.isfinite(a) & (a == np.round(a)))
    else:
        bad = np.ones(a.shape, dtype=bool)
    if bad.any():
        raise ValueError(
            "`class_weights()` needs integer class indices; map label names "
            f"to indices first. Received: labels[{int(np.argmax(bad))}]="
            f"{a[int(np.argmax(bad))].item()!r}")
    classes, counts = np.unique(a.astype(np.int64), return_counts=True)
    n, k = a.shape[0], classes.shape[0]
    return {int(c): n / (k * int(m)) for c, m in zip(classes, counts)}
