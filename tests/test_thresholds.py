import numpy as np
import pytest

from kerasnlp_seq.binary_metrics import binary_report
from kerasnlp_seq.errors import ConfigError, DataError
from kerasnlp_seq.thresholds import choose_threshold, class_weights

Y = [0, 0, 0, 0, 1, 1, 1, 0, 1, 1]
P = [.1, .2, .3, .4, .5, .6, .7, .8, .9, .95]


def test_hand_example():
    # Budget 0: above .8 (the highest-scored ham); .9 catches 2 of 5 spam.
    r = choose_threshold(Y, P, max_fpr=0.0)
    assert r == {"threshold": 0.9, "fpr": 0.0, "recall": 0.4,
                 "f1": pytest.approx(4 / 7), "objective": "recall"}
    # Budget 1/5 of ham allows .8: then .5 catches all 5 spam for 1 ham.
    r = choose_threshold(Y, P, max_fpr=0.2)
    assert (r["threshold"], r["fpr"], r["recall"]) == (0.5, 0.2, 1.0)
    # Unconstrained F1: .5 gives 2*5/(2*5+1+0) = 10/11.
    r = choose_threshold(Y, P)
    assert r["threshold"] == 0.5 and r["objective"] == "f1"
    assert r["f1"] == pytest.approx(10 / 11)


def test_ties_go_to_the_higher_threshold():
    # .9 and .8 both reach recall 1/2 within the budget; .8 adds nothing.
    r = choose_threshold([1, 0, 1], [.9, .85, .1], max_fpr=0.0)
    assert r["threshold"] == 0.9
    r = choose_threshold([1, 1, 0, 0], [.9, .9, .2, .2])
    assert r["threshold"] == 0.9 and r["f1"] == 1.0


def _brute_force(y, s, max_fpr, objective):
    """Best threshold over all candidates, ties to the higher threshold."""
    candidates = sorted(set(s.tolist()), reverse=True)
    candidates.insert(0, float(np.nextafter(max(s), np.inf)))
    best, best_value = None, -1.0
    for t in candidates:
        r = binary_report(y, s, t)
        if max_fpr is not None and r["blocked_ham"] / 100 > max_fpr:
            continue
        value = r["recall"] if objective == "recall" else r["f1"]
        if value > best_value + 1e-12:
            best, best_value = t, value
    return best, best_value


@pytest.mark.parametrize("seed", range(4))
def test_meets_budget_and_is_optimal_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = 150
    y = (rng.random(n) < 0.3).astype(int)
    s = np.round(rng.normal(0.4 + 0.25 * y, 0.2), 2)  # with ties
    for max_fpr in (0.0, 0.005, 0.02, 0.1, 0.5, None):
        objective = "f1" if max_fpr is None else "recall"
        r = choose_threshold(y, s, max_fpr=max_fpr)
        report = binary_report(y, s, r["threshold"])
        assert report["recall"] == r["recall"]
        assert report["blocked_ham"] / 100 == pytest.approx(r["fpr"])
        assert report["f1"] == pytest.approx(r["f1"])
        if max_fpr is not None:
            assert r["fpr"] <= max_fpr
        expected, value = _brute_force(y, s, max_fpr, objective)
        assert r["threshold"] == expected, (max_fpr, r)
        assert r[objective] == pytest.approx(value)
    # F1 under a budget, too.
    r = choose_threshold(y, s, max_fpr=0.05, objective="f1")
    assert r["threshold"] == _brute_force(y, s, 0.05, "f1")[0]


def test_no_score_meets_budget_flags_nothing():
    y = [0, 1, 1, 0]
    s = np.array([.9, .8, .7, .1], dtype=np.float32)
    r = choose_threshold(y, s, max_fpr=0.0)
    assert r["recall"] == 0.0 and r["fpr"] == 0.0
    assert r["threshold"] > 0.9
    assert not (s >= r["threshold"]).any()  # holds in float32, too
    assert not (s.astype(np.float32) >= np.float32(r["threshold"])).any()
    assert binary_report(y, s, r["threshold"])["tp"] == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"max_fpr": 1.0}, "fraction in [0, 1), e.g. 0.005 to block at most 0.5% "
                       "of negatives. Received: max_fpr=1.0"),
    ({"max_fpr": -0.1}, "Received: max_fpr=-0.1"),
    ({"max_fpr": "low"}, "Received: max_fpr='low'"),
    ({"max_fpr": True}, "Received: max_fpr=True"),
    ({"objective": "auc"}, "Expected one of ['f1', 'recall']. "
                           "Received: objective='auc'"),
    ({"objective": "recall"}, "needs `max_fpr`"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ConfigError) as e:
        choose_threshold(Y, P, **kwargs)
    assert message in str(e.value)


def test_bad_data():
    with pytest.raises(DataError, match="both classes; it has no positive"):
        choose_threshold([0, 0, 0], [.1, .2, .3])
    with pytest.raises(DataError, match="no negative"):
        choose_threshold([1, 1], [.1, .2], max_fpr=0.01)
    with pytest.raises(ValueError, match="one score per label"):
        choose_threshold([0, 1], [.1])


def test_class_weights_balanced():
    assert class_weights([0, 0, 0, 1]) == {0: 4 / 6, 1: 4 / 2}
    assert class_weights(np.array([[2], [2], [5]])) == {2: 0.75, 5: 1.5}
    labels = np.random.default_rng(0).integers(0, 3, size=100)
    weights = class_weights(labels)
    # Balanced: every class carries the same total weight n / k.
    counts = np.bincount(labels)
    for c, w in weights.items():
        assert counts[c] * w == pytest.approx(100 / 3)
    try:
        from sklearn.utils.class_weight import compute_class_weight
    except ImportError:
        return
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    assert [weights[c] for c in range(3)] == pytest.approx(expected.tolist())


def test_class_weights_bad_input():
    with pytest.raises(ValueError, match="integer class indices"):
        class_weights(["spam", "ham"])
    with pytest.raises(ValueError, match="integer class indices"):
        class_weights([0.5, 1.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        class_weights([])
