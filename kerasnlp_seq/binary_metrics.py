"""Binary-classification metrics for filters: spam caught and ham blocked.

A filter is judged by the legitimate messages it wrongly blocks as much as by
the unwanted ones it catches, so `binary_report()` gives, beside accuracy,
precision, recall, F1, MCC and ROC AUC, the two numbers a mail administrator
reads: `spam_caught` (recall of the positive class, in %) and `blocked_ham`
(false-positive rate, in %).

The decision rule everywhere in the toolkit is `score >= threshold` means
positive; `kerasnlp_seq.thresholds.choose_threshold()` picks thresholds under
the same rule. Everything is numpy; matplotlib is imported only by the two
plotting functions, which draw on a private Agg canvas and leave pyplot and
the global backend alone.
"""

import os

import numpy as np


def check_binary(y_true, scores, caller):
    """Validate and convert labels (0/1) and scores to float64 numpy arrays.

    Args:
        y_true: array-like of 0/1 (ints, bools or floats), shape `(n,)` or
            `(n, 1)`.
        scores: array-like of finite floats, the same length: the score (e.g.
            probability) of the positive class.
        caller: str. The public function's name, for error messages.

    Returns:
        `(y_true, scores)`: int64 and float64 arrays of shape `(n,)`.
    """
    y = _as_vector(y_true, "y_true", caller)
    s = _as_vector(scores, "scores", caller)
    if y.shape[0] != s.shape[0]:
        raise ValueError(
            f"`{caller}()` needs one score per label. Received: "
            f"{y.shape[0]} labels and {s.shape[0]} scores.")
    if y.shape[0] == 0:
        raise ValueError(f"`{caller}()` needs at least one example. "
                         "Received: empty y_true and scores.")
    try:
        s = s.astype(np.float64)
        yf = y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{caller}()` needs numeric y_true and scores. "
                         f"Received dtypes {y.dtype} and {s.dtype}.") from None
    bad = ~np.isin(yf, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"`{caller}()` needs y_true of 0 (negative) and 1 (positive). "
            f"Received: y_true[{int(np.argmax(bad))}]="
            f"{y[int(np.argmax(bad))].item()!r}.")
    if not np.isfinite(s).all():
        i = int(np.argmax(~np.isfinite(s)))
        raise ValueError(f"`{caller}()` needs finite scores. "
                         f"Received: scores[{i}]={s[i].item()!r}.")
    return yf.astype(np.int64), s


def _as_vector(values, name, caller):
    a = np.asarray(values)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"`{caller}()` needs {name} of shape (n,) or (n, 1). "
                         f"Received shape {a.shape}.")
    return a


def counts_by_threshold(y_true, scores):
    """Confusion counts at every distinct score used as threshold (`>=`).

    Args:
        y_true: int array of 0/1, validated (see `check_binary()`).
        scores: float array, validated, same length.

    Returns:
        `(thresholds, tp, fp)`: thresholds are the distinct scores in
        decreasing order; `tp[i]` and `fp[i]` count the positives and
        negatives with `score >= thresholds[i]`. O(n log n).
    """
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    y = y_true[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    # The last index of each run of equal scores closes that threshold.
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.shape[0] - 1]
    return s[last], tp[last], fp[last]


def roc_auc(y_true, scores):
    """ROC AUC by the Mann-Whitney rank statistic, ties counted as 1/2.

    Args:
        y_true: int array of 0/1, validated.
        scores: float array, validated.

    Returns:
        float, or NaN when only one class is present (AUC is undefined).
    """
    n_pos = int(y_true.sum())
    n_neg = y_true.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(scores, return_inverse=True,
                                   return_counts=True)
    ends = np.cumsum(counts)  # 1-based rank of the last of each tie group
    average_rank = ends - (counts - 1) / 2.0
    rank_sum = average_rank[inverse.ravel()][y_true == 1].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _ratio(num, den):
    return float(num) / float(den) if den > 0 else 0.0


def binary_report(y_true, scores, threshold=0.5):
    """Accuracy, precision, recall, F1, MCC, ROC AUC, spam caught, ham blocked.

    An example is predicted positive when `score >= threshold`. Degenerate
    cases give 0.0 rather than a warning: precision when nothing is predicted
    positive, recall (and `spam_caught`) when there are no positives,
    `blocked_ham` when there are no negatives, F1 when precision + recall is
    0, and MCC when any row or column of the confusion matrix is empty (as in
    scikit-learn). `roc_auc` is NaN when only one class is present.

    Args:
        y_true: array-like of 0/1, shape `(n,)` or `(n, 1)`; 1 is the
            positive class (spam).
        scores: array-like of floats, same length: the score (probability)
            of the positive class.
        threshold: float. The operating point.

    Returns:
        dict of plain Python numbers: `accuracy`, `precision`, `recall`,
        `f1`, `mcc`, `roc_auc` (fractions), `spam_caught` (recall, %),
        `blocked_ham` (false-positive rate, %), `tp`, `fp`, `tn`, `fn`
        (ints) and `threshold`.

    Example:

    >>> from kerasnlp_seq.binary_metrics import binary_report
    >>> r = binary_report([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1])
    >>> r["tp"], r["fp"], r["spam_caught"], r["blocked_ham"], r["roc_auc"]
    (1, 1, 50.0, 50.0, 0.75)
    """
    y, s = check_binary(y_true, scores, "binary_report")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ValueError("`binary_report()` needs a numeric threshold. "
                         f"Received: threshold={threshold!r}") from None
    predicted = s >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    tn = int(np.sum(~predicted & (y == 0)))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    denominator = float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    mcc = ((tp * tn - fp * fn) / np.sqrt(denominator)
           if denominator > 0 else 0.0)
    return {
        "accuracy": _ratio(tp + tn, y.shape[0]),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "mcc": float(mcc),
        "roc_auc": roc_auc(y, s),
        "spam_caught": 100.0 * recall,
        "blocked_ham": 100.0 * _ratio(fp, fp + tn),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "threshold": threshold,
    }


def _new_figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)  # a private canvas: pyplot's state is untouched
    return figure


def _save(figure, path):
    path = str(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def plot_confusion_matrix(tp, fp, tn, fn, labels, path):
    """Write a 2x2 confusion matrix (rows: true, columns: predicted) as PNG.

    Each cell shows its count and its share of the true class's row.

    Args:
        tp, fp, tn, fn: int. The counts, e.g. from `binary_report()`.
        labels: pair of str, `(negative_name, positive_name)`, e.g.
            `("ham", "spam")`.
        path: str. The PNG file to write (parent folders are created).

    Returns:
        str, the path written.

    Example:

    >>> r = binary_report([1, 0, 0], [0.8, 0.7, 0.1])
    >>> plot_confusion_matrix(r["tp"], r["fp"], r["tn"], r["fn"],
    ...                       ("ham", "spam"), "/tmp/cm.png")
    '/tmp/cm.png'
    """
    if len(labels) != 2:
        raise ValueError("`plot_confusion_matrix()` needs two labels "
                         f"(negative, positive). Received: labels={labels!r}")
    matrix = np.array([[tn, fp], [fn, tp]], dtype=np.int64)
    if (matrix < 0).any():
        raise ValueError("`plot_confusion_matrix()` needs non-negative "
                         f"counts. Received: tp={tp}, fp={fp}, tn={tn}, "
                         f"fn={fn}")
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape),
                       where=rows > 0)
    figure = _new_figure((4.6, 4.0))
    ax = figure.add_subplot(1, 1, 1)
    ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{matrix[i, j]}\n{100 * shares[i, j]:.1f}%",
                    ha="center", va="center",
                    color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks([0, 1], [str(x) for x in labels])
    ax.set_yticks([0, 1], [str(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"blocked {labels[0]}: {100 * shares[0, 1]:.2f}%   "
                 f"caught {labels[1]}: {100 * shares[1, 1]:.2f}%",
                 fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def plot_precision_recall(y_true, scores, path, threshold=None):
    """Write the precision-recall curve as PNG, marking the operating point.

    Args:
        y_true: array-like of 0/1; 1 is the positive class.
        scores: array-like of floats: the score of the positive class.
        path: str. The PNG file to write (parent folders are created).
        threshold: float or None. If given, the point `score >= threshold`
            is marked and labelled.

    Returns:
        str, the path written.

    Example:

    >>> plot_precision_recall([1, 0, 1, 0], [0.9, 0.3, 0.6, 0.7],
    ...                       "/tmp/pr.png", threshold=0.6)
    '/tmp/pr.png'
    """
    y, s = check_binary(y_true, scores, "plot_precision_recall")
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("`plot_precision_recall()` needs at least one "
                         "positive example. Received: y_true all 0.")
    _, tp, fp = counts_by_threshold(y, s)
    precision = np.r_[1.0, tp / (tp + fp)]
    recall = np.r_[0.0, tp / n_pos]
    average_precision = float(np.sum(np.diff(recall) * precision[1:]))
    figure = _new_figure((5.0, 4.2))
    ax = figure.add_subplot(1, 1, 1)
    ax.step(recall, precision, where="post",
            label=f"average precision {average_precision:.3f}")
    if threshold is not None:
        r = binary_report(y, s, threshold)
        ax.plot([r["recall"]], [r["precision"]], "o", color="C3",
                label=f"threshold {r['threshold']:.4g}: P={r['precision']:.3f}"
                      f" R={r['recall']:.3f} FPR={r['blocked_ham']:.2f}%")
    ax.set_xlim(0.0, 1.01)
    ax.set_ylim(0.0, 1.01)
    ax.set_xlabel("recall (positives caught)")
    ax.set_ylabel("precision")
    ax.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    return _save(figure, path)
