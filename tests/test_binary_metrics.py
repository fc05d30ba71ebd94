import itertools
import json
import math
import sys
import warnings

import numpy as np
import pytest

from kerasnlp_seq.binary_metrics import (binary_report, plot_confusion_matrix,
                                         plot_precision_recall, roc_auc)


def _pairwise_auc(y, s):
    """Brute force: P(score_pos > score_neg) + 1/2 P(tie), over all pairs."""
    pos = [b for a, b in zip(y, s) if a == 1]
    neg = [b for a, b in zip(y, s) if a == 0]
    total = sum(1.0 if p > n else 0.5 if p == n else 0.0
                for p, n in itertools.product(pos, neg))
    return total / (len(pos) * len(neg))


def test_confusion_matrix_and_metrics_by_hand():
    # tp=6 (scores >= .5 with y=1), fn=1, fp=2, tn=3.
    y = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    s = [.9, .8, .7, .6, .55, .5, .2, .95, .5, .4, .3, .1]
    r = binary_report(y, s, threshold=0.5)
    assert (r["tp"], r["fn"], r["fp"], r["tn"]) == (6, 1, 2, 3)
    assert r["accuracy"] == pytest.approx(9 / 12)
    assert r["precision"] == pytest.approx(6 / 8)
    assert r["recall"] == pytest.approx(6 / 7)
    assert r["f1"] == pytest.approx(2 * 6 / (2 * 6 + 2 + 1))
    # MCC = (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))
    assert r["mcc"] == pytest.approx((18 - 2) / math.sqrt(8 * 7 * 5 * 4))
    assert r["mcc"] == pytest.approx(0.4780914, abs=1e-6)
    assert r["spam_caught"] == pytest.approx(100 * 6 / 7)
    assert r["blocked_ham"] == pytest.approx(100 * 2 / 5)
    assert r["threshold"] == 0.5
    assert r["roc_auc"] == pytest.approx(_pairwise_auc(y, s))
    json.dumps(r)  # plain Python numbers
    assert {type(r[k]) for k in ("tp", "fp", "tn", "fn")} == {int}


def test_score_equal_to_threshold_is_positive():
    r = binary_report([1, 0], [0.5, 0.5], threshold=0.5)
    assert (r["tp"], r["fp"]) == (1, 1)
    r = binary_report([1, 0], [0.5, 0.5], threshold=0.5000001)
    assert (r["tp"], r["fp"]) == (0, 0)


def test_auc_with_ties_by_hand():
    # Pairs (pos, neg): (.5,.5)=1/2, (.5,.2)=1, (.8,.5)=1, (.8,.2)=1 -> 3.5/4
    assert binary_report([1, 0, 1, 0], [.5, .5, .8, .2])["roc_auc"] == 0.875
    assert binary_report([1, 0], [.3, .3])["roc_auc"] == 0.5
    assert binary_report([0, 1], [.1, .9])["roc_auc"] == 1.0
    assert binary_report([1, 0], [.1, .9])["roc_auc"] == 0.0


def test_auc_matches_brute_force_and_sklearn_on_random_ties():
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = rng.integers(0, 2, size=60)
        s = np.round(rng.random(60) * 0.5 + 0.3 * y, 1)  # many ties
        expected = _pairwise_auc(y.tolist(), s.tolist())
        assert roc_auc(y, s) == pytest.approx(expected, abs=1e-12)
        try:
            from sklearn.metrics import roc_auc_score
        except ImportError:
            continue
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_degenerate_cases_give_zeros_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Nothing predicted positive.
        r = binary_report([1, 0, 0], [0.2, 0.1, 0.3], threshold=0.9)
        assert (r["tp"], r["fp"], r["tn"], r["fn"]) == (0, 0, 2, 1)
        assert r["precision"] == 0.0 and r["f1"] == 0.0 and r["mcc"] == 0.0
        assert r["blocked_ham"] == 0.0 and r["spam_caught"] == 0.0
        # Only negatives: recall and AUC are undefined.
        r = binary_report([0, 0], [0.7, 0.1])
        assert r["recall"] == 0.0 and r["blocked_ham"] == 50.0
        assert math.isnan(r["roc_auc"])
        # Only positives, all caught.
        r = binary_report([1, 1], [0.7, 0.6])
        assert r["recall"] == 1.0 and r["blocked_ham"] == 0.0
        assert r["mcc"] == 0.0 and math.isnan(r["roc_auc"])
        # Perfect separation.
        r = binary_report([1, 0], [0.9, 0.1])
        assert r["mcc"] == 1.0 and r["f1"] == 1.0


def test_accepts_column_vectors_and_bools():
    r = binary_report(np.array([[True], [False]]), np.array([[.8], [.3]]))
    assert (r["tp"], r["tn"]) == (1, 1)


@pytest.mark.parametrize("y, s, message", [
    ([1, 0], [0.5], "one score per label. Received: 2 labels and 1 scores"),
    ([1, 2], [0.5, 0.4], "y_true of 0 (negative) and 1 (positive). "
                         "Received: y_true[1]=2"),
    ([1, 0], [0.5, float("nan")], "finite scores. Received: scores[1]=nan"),
    ([], [], "at least one example"),
    ([[1, 0]], [[0.1, 0.2]], "shape (n,) or (n, 1). Received shape (1, 2)"),
    (["spam", "ham"], [0.1, 0.2], "numeric y_true and scores"),
])
def test_bad_inputs(y, s, message):
    with pytest.raises(ValueError) as e:
        binary_report(y, s)
    assert message in str(e.value)
    assert "binary_report()" in str(e.value)


def _png_size(path):
    from PIL import Image

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        return image.size


def test_plots_write_pngs_without_touching_pyplot(tmp_path):
    import matplotlib

    backend = matplotlib.rcParams["backend"]
    had_pyplot = "matplotlib.pyplot" in sys.modules
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=80)
    s = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    r = binary_report(y, s, 0.5)
    cm = plot_confusion_matrix(r["tp"], r["fp"], r["tn"], r["fn"],
                               ("ham", "spam"), tmp_path / "sub" / "cm.png")
    plain = plot_precision_recall(y, s, str(tmp_path / "pr.png"))
    marked = plot_precision_recall(y, s, str(tmp_path / "pr_t.png"),
                                   threshold=0.5)
    assert _png_size(cm) == (460, 400)
    assert _png_size(plain) == _png_size(marked) == (500, 420)
    with open(plain, "rb") as a, open(marked, "rb") as b:
        assert a.read() != b.read()  # the operating point is drawn
    assert matplotlib.rcParams["backend"] == backend
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def test_plot_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="two labels"):
        plot_confusion_matrix(1, 1, 1, 1, ("spam",), tmp_path / "x.png")
    with pytest.raises(ValueError, match="non-negative counts"):
        plot_confusion_matrix(1, -1, 1, 1, ("ham", "spam"), tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least one positive"):
        plot_precision_recall([0, 0], [0.1, 0.2], tmp_path / "x.png")
