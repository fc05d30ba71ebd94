"""`classification_metrics`: by hand, against scikit-learn, through evaluate.

Per-class F1 and the macro averages cover the classes present in the gold
labels or the predictions, as scikit-learn's `classification_report` and
`f1_score(average="macro")` with `labels=None` do: a class that the data
neither holds nor is predicted as gets no `f1_<label>` key and does not
pull the averages down.
"""

import json

import numpy as np
import pytest

from kerasnlp_seq.classification import classification_metrics
from tasks.sentiment import SentimentConfig, SentimentTask


def one_hot(pred, classes=3):
    """Probabilities that predict `pred` (a little mass on every class)."""
    probs = np.full((len(pred), classes), 0.1 / (classes - 1))
    probs[np.arange(len(pred)), pred] = 0.9
    return probs


def test_by_hand_a_gold_class_never_predicted_scores_zero():
    y = [0, 0, 1, 1, 2]
    probs = np.array([[.8, .1, .1], [.3, .6, .1], [.2, .7, .1],
                      [.1, .8, .1], [.5, .1, .4]])
    m = classification_metrics(y, probs, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(3 / 5)
    # a: tp1 fp1 fn1; b: tp2 fp1 fn0; c: tp0 fp0 fn1 (gold, so averaged)
    assert m["f1_a"] == pytest.approx(0.5)
    assert m["f1_b"] == pytest.approx(0.8)
    assert m["f1_c"] == 0.0
    assert m["precision"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert m["recall"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert m["f1"] == pytest.approx(1.3 / 3)
    assert m["loss"] == pytest.approx(-np.mean(np.log([.8, .3, .7, .8, .4])))
    assert m["support"] == 5


def test_a_class_neither_gold_nor_predicted_is_left_out():
    # Gold a a b b, predicted a b b b; c is in neither.
    # a: tp1 fp0 fn1 -> P 1, R 1/2, F 2/3; b: tp2 fp1 fn0 -> P 2/3, R 1,
    # F 4/5. Macro over a and b only (the old code averaged a 0 for c:
    # F (2/3 + 4/5 + 0) / 3 = 0.4889).
    m = classification_metrics([0, 0, 1, 1], one_hot([0, 1, 1, 1]),
                               ["a", "b", "c"])
    assert "f1_c" not in m
    assert m["f1_a"] == pytest.approx(2 / 3)
    assert m["f1_b"] == pytest.approx(4 / 5)
    assert m["precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["recall"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["f1"] == pytest.approx(11 / 15)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["support"] == 4


def test_an_absent_class_between_present_ones_keeps_names_in_place():
    # Gold a c c, predicted a c a; b is in neither.
    # a: tp1 fp1 fn0 -> P 1/2, R 1, F 2/3; c: tp1 fp0 fn1 -> P 1, R 1/2,
    # F 2/3.
    m = classification_metrics([0, 2, 2], one_hot([0, 2, 0]),
                               ["a", "b", "c"])
    assert sorted(k for k in m if k.startswith("f1_")) == ["f1_a", "f1_c"]
    assert m["f1_a"] == pytest.approx(2 / 3)
    assert m["f1_c"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(2 / 3)


def test_a_class_predicted_but_never_gold_keeps_precision_zero():
    # Gold a a b b, predicted a c b b: the c prediction is a real error.
    # a: tp1 fp0 fn1 -> P 1, R 1/2, F 2/3; b: tp2 -> P R F 1;
    # c: tp0 fp1 fn0 -> P 0, R 0 (no gold), F 0; all three averaged.
    m = classification_metrics([0, 0, 1, 1], one_hot([0, 2, 1, 1]),
                               ["a", "b", "c"])
    assert m["f1_c"] == 0.0
    assert m["f1_a"] == pytest.approx(2 / 3)
    assert m["f1_b"] == pytest.approx(1.0)
    assert m["precision"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["recall"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert m["f1"] == pytest.approx(5 / 9)


@pytest.mark.parametrize("seed", range(6))
def test_matches_scikit_learn_with_labels_none(seed):
    from sklearn import metrics  # installed with seqeval, a dependency
    rng = np.random.default_rng(seed)
    names = ["zero", "one", "two", "three", "four"]
    # Gold and predictions each drawn from a few of the five classes, so
    # some classes are gold only, predicted only, both or neither.
    y = rng.choice(rng.choice(5, size=3, replace=False), size=40)
    pred = rng.choice(rng.choice(5, size=3, replace=False), size=40)
    pred[:10] = y[:10]
    m = classification_metrics(y, one_hot(pred, 5), names)
    p, r, f, _ = metrics.precision_recall_fscore_support(
        y, pred, average="macro", zero_division=0)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f))
    present = np.unique(np.concatenate([y, pred]))
    per_class = metrics.f1_score(y, pred, average=None, zero_division=0)
    assert {k: v for k, v in m.items() if k.startswith("f1_")} == \
        pytest.approx({f"f1_{names[k]}": v
                       for k, v in zip(present, per_class)})


def test_evaluate_leaves_out_a_class_the_data_lacks(helpers):
    """What `kerasnlp-seq evaluate RUN --data FILE` reports: flat metrics
    without the class the file has no example of and the model never
    predicted."""
    task = SentimentTask(SentimentConfig(units=4, embedding_dim=4,
                                         vocab_size=100))
    task.adapt([{"text": t, "label": y} for t, y in helpers.make_texts(30)])
    assert task.labels.names == ["neg", "neu", "pos"]
    examples = [{"text": t, "label": y} for t, y in
                [("bad", "neg"), ("awful", "neg"), ("great", "pos"),
                 ("lovely", "pos")]]

    class FixedModel:  # predicts neg, pos, pos, pos
        def predict(self, dataset, verbose=0):
            return one_hot([0, 2, 2, 2])

    m = task.evaluate(FixedModel(), examples)
    assert "f1_neu" not in m
    assert m["f1_neg"] == pytest.approx(2 / 3)
    assert m["f1_pos"] == pytest.approx(4 / 5)
    assert m["f1"] == pytest.approx(11 / 15)
    assert all(isinstance(v, (int, float)) for v in m.values())
    assert json.loads(json.dumps(m, allow_nan=False)) == m
