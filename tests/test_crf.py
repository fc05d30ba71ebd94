"""CRF checks: brute-force reference, masks, gradients, fit, save and export."""

import itertools
import numpy as np
import pytest

import keras
import tensorflow as tf

from kerasnlp_seq.crf import (CRF, CRFLoss, crf_log_likelihood,
                              crf_log_partition, viterbi_decode)

NUM_TAGS = 3


def _random_problem(seed, batch=5, time=4, k=NUM_TAGS):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=s).astype("float32")
              for s in ((batch, time, k), (k, k), (k,), (k,))]
    return (*arrays, rng)


def _path_score(e, path, trans, start, end):
    s = start[path[0]] + end[path[-1]] + sum(e[t, p] for t, p in enumerate(path))
    return s + sum(trans[a, b] for a, b in zip(path, path[1:]))


def _brute_force(e, length, trans, start, end):
    """(log-partition, best path, best score, all path scores) by enumeration."""
    scores = {p: _path_score(e, p, trans, start, end)
              for p in itertools.product(range(e.shape[-1]), repeat=length)}
    values = np.array(list(scores.values()), dtype="float64")
    log_z = values.max() + np.log(np.exp(values - values.max()).sum())
    best = max(scores, key=scores.get)
    return log_z, best, scores[best], scores


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("lengths", [None, [4, 1, 3, 2, 4]])
def test_matches_brute_force(seed, lengths):
    emissions, trans, start, end, rng = _random_problem(seed)
    gold = rng.integers(0, NUM_TAGS, size=(5, 4))
    log_z = np.array(crf_log_partition(emissions, lengths, trans, start, end))
    log_lik = np.array(crf_log_likelihood(emissions, gold, lengths, trans,
                                          start, end))
    tags, best = (np.array(v) for v in viterbi_decode(emissions, lengths,
                                                       trans, start, end))
    for b in range(5):
        n = 4 if lengths is None else lengths[b]
        ref_z, ref_path, ref_best, scores = _brute_force(
            emissions[b, :n], n, trans, start, end)
        assert log_z[b] == pytest.approx(ref_z, abs=1e-4)
        path_score = scores[tuple(gold[b, :n])]
        assert log_lik[b] == pytest.approx(path_score - ref_z, abs=1e-4)
        assert tuple(tags[b, :n]) == ref_path
        assert np.all(tags[b, n:] == 0)
        assert best[b] == pytest.approx(ref_best, abs=1e-4)


def test_mask_lengths_padding_and_empty_sequences():
    emissions, trans, start, end, _ = _random_problem(3)
    lengths = np.array([4, 2, 0, 1, 3])
    mask = np.arange(4)[None, :] < lengths[:, None]
    gold = np.zeros((5, 4), "int32")
    by_len = crf_log_likelihood(emissions, gold, lengths, trans, start, end)
    by_mask = crf_log_likelihood(emissions, gold, mask, trans, start, end)
    np.testing.assert_allclose(by_len, by_mask, atol=1e-6)
    # Garbage in padded steps (emissions and tags) changes nothing.
    noisy = emissions + 50.0 * (~mask)[..., None]
    junk = np.where(mask, gold, 7)
    np.testing.assert_allclose(
        crf_log_likelihood(noisy, junk, mask, trans, start, end), by_mask,
        atol=1e-5)
    tags, score = viterbi_decode(noisy, mask, trans, start, end)
    np.testing.assert_array_equal(tags, viterbi_decode(emissions, mask, trans,
                                                       start, end)[0])
    # A length-0 sequence has likelihood 1 (log 0) and decodes to zeros.
    assert float(by_mask[2]) == 0.0 and float(score[2]) == 0.0
    assert not np.any(np.isnan(np.array(by_mask)))


def test_gradients_exist_and_are_finite():
    emissions, trans, start, end, _ = _random_problem(4)
    lengths = tf.constant([4, 2, 0, 1, 3])
    variables = [tf.Variable(v) for v in (emissions, trans, start, end)]
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(crf_log_likelihood(
            variables[0], tf.ones((5, 4), "int32"), lengths, *variables[1:]))
    grads = tape.gradient(loss, variables)
    for g in grads:
        assert g is not None and np.all(np.isfinite(g))
        assert np.abs(g).sum() > 0
    # No gradient reaches padded emissions.
    assert np.all(np.array(grads[0])[2] == 0) and np.all(np.array(grads[0])[3, 1:] == 0)


def test_float16_emissions_are_computed_in_float32():
    emissions, trans, start, end, _ = _random_problem(5)
    z16 = crf_log_partition(emissions.astype("float16"), None, trans, start, end)
    assert z16.dtype == tf.float32
    z32 = crf_log_partition(emissions.astype("float16").astype("float32"),
                            None, trans, start, end)
    np.testing.assert_allclose(z16, z32, atol=1e-6)


def test_layer_validation_and_outputs():
    with pytest.raises(ValueError, match=r"positive int\. Received: num_tags=0"):
        CRF(0)
    with pytest.raises(ValueError, match=r"num_tags=3\. Received: input_shape="):
        CRF(3)(keras.ops.zeros((1, 2, 4)))
    x = keras.Input((None,), dtype="int32")
    h = keras.layers.Dense(NUM_TAGS)(keras.layers.Embedding(5, 4, mask_zero=True)(x))
    tags, potentials = CRF(NUM_TAGS)(h)
    assert tags.dtype == "int32" and tuple(tags.shape) == (None, None)
    assert tuple(potentials.shape) == (None, None, NUM_TAGS, NUM_TAGS)


# --- a functional model that must learn transitions -------------------------

def _bio_data(seed=0, n=64):
    """Tokens 1-2 are entity words, 3-4 other words. Tag O=0, B=1, I=2: an
    entity word is B after O or at the start, I after B or I."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 8), "int32")
    y = np.zeros((n, 8), "int32")
    for i in range(n):
        length = rng.integers(2, 9)
        x[i, :length] = rng.integers(1, 5, size=length)
        prev = 0
        for t in range(length):
            prev = 0 if x[i, t] >= 3 else (1 if prev == 0 else 2)
            y[i, t] = prev
    return x, y


def _model():
    inputs = keras.Input((None,), dtype="int32", name="token_ids")
    h = keras.layers.Embedding(5, 8, mask_zero=True)(inputs)
    h = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))(h)
    h = keras.layers.Dense(NUM_TAGS, name="emissions")(h)
    tags, potentials = CRF(NUM_TAGS, name="crf")(h)
    return keras.Model(inputs, {"tags": tags, "potentials": potentials})


def _both(y):
    return {"tags": y, "potentials": y}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(0)
    x, y = _bio_data()
    model = _model()
    model.compile(keras.optimizers.Adam(0.05), loss={"potentials": CRFLoss()},
                  metrics={"tags": [keras.metrics.Accuracy(name="acc")]})
    first = model.evaluate(x, _both(y), verbose=0)[0]
    history = model.fit(x, _both(y), batch_size=16,
                        epochs=5, verbose=0).history
    path = str(tmp_path_factory.mktemp("crf") / "model.keras")
    model.save(path)
    return model, x, y, first, history, path


def test_bilstm_crf_fits_to_full_accuracy(trained):
    model, x, y, first, history, _ = trained
    assert history["loss"][-1] < 0.1 * first
    assert history["tags_acc"][-1] == 1.0
    tags = model.predict(x, verbose=0)["tags"]
    valid = x > 0
    assert np.mean(tags[valid] == y[valid]) == 1.0
    assert np.all(tags[~valid] == 0)


def test_transitions_alone_learn_bio_with_plain_fit():
    # Emissions see one token, so B vs I can only come from the transitions.
    keras.utils.set_random_seed(1)
    x, y = _bio_data(seed=1)
    inputs = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(5, NUM_TAGS, mask_zero=True)(inputs)
    tags, potentials = CRF(NUM_TAGS, name="crf")(h)
    model = keras.Model(inputs, {"tags": tags, "potentials": potentials})
    model.compile(keras.optimizers.Adam(0.1), loss={"potentials": CRFLoss()})
    model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    pred = model.predict(x, verbose=0)["tags"]
    assert np.mean(pred[x > 0] == y[x > 0]) == 1.0
    trans = model.get_layer("crf").transitions.numpy()
    assert trans[0, 2] < trans[0, 1] and trans[1, 2] > trans[1, 1]


def test_loss_equals_mean_sequence_nll_and_ignores_padding(trained):
    model, x, y, *_ = trained
    crf = model.get_layer("crf")
    emissions = keras.Model(model.input,
                            model.get_layer("emissions").output)(x[:8])
    mask = x[:8] > 0
    expected = -np.mean(crf.log_likelihood(emissions, y[:8], mask))
    got = model.evaluate(x[:8], _both(y[:8]), batch_size=8, verbose=0)[0]
    assert got == pytest.approx(float(expected), rel=1e-4)
    junk = np.where(mask, y[:8], 2)
    assert model.evaluate(x[:8], _both(junk), batch_size=8, verbose=0)[0] == got


def test_keras_round_trip_decodes_identically(trained):
    model, x, _, _, _, path = trained
    reloaded = keras.saving.load_model(path)  # safe_mode on, compiled
    np.testing.assert_array_equal(model.predict(x, verbose=0)["tags"],
                                  reloaded.predict(x, verbose=0)["tags"])
    assert isinstance(reloaded.loss["potentials"], CRFLoss)


def test_tf_function_dynamic_time_and_padding_invariance(trained):
    model, x, *_ = trained
    serve = tf.function(lambda ids: model(ids)["tags"],
                        input_signature=[tf.TensorSpec([None, None], tf.int32)])
    full = serve(tf.constant(x[:4])).numpy()
    short = serve(tf.constant(x[:4, :5])).numpy()
    padded = serve(tf.constant(np.pad(x[:4], [[0, 0], [0, 3]]))).numpy()
    np.testing.assert_array_equal(padded[:, :8], full)
    keep = (x[:4, 5:] == 0).all(axis=1)  # rows that fit in 5 steps
    assert keep.any()
    np.testing.assert_array_equal(short[keep], full[keep, :5])


def test_saved_model_round_trip(trained, tmp_path):
    model, x, *_ = trained
    module = tf.Module()
    module.weights_ = list(model.variables)  # tracked, not re-traced
    module.serve = tf.function(
        lambda ids: {"tags": model(ids)["tags"]},
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="ids")])
    tf.saved_model.save(module, str(tmp_path),
                        signatures={"serving_default": module.serve})
    loaded = tf.saved_model.load(str(tmp_path))  # needs no project classes
    serving = loaded.signatures["serving_default"]
    for ids in (x[:6], x[:3, :4]):  # dynamic batch and time
        np.testing.assert_array_equal(serving(ids=tf.constant(ids))["tags"],
                                      model.predict(ids, verbose=0)["tags"])


# ----------------------------------------------------------- constraints
def _constrained_brute_force(e, length, trans, start, end, allowed):
    """Best allowed path by enumeration (`allowed`: the three bool tables)."""
    a_trans, a_start, a_end = (np.array(t, dtype=bool) for t in allowed)
    best, best_score = None, -np.inf
    for path in itertools.product(range(e.shape[-1]), repeat=length):
        if not (a_start[path[0]] and a_end[path[-1]] and all(
                a_trans[a, b] for a, b in zip(path, path[1:]))):
            continue
        score = _path_score(e, path, trans, start, end)
        if score > best_score:
            best, best_score = path, score
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_constraints_decode_the_best_allowed_path(seed):
    emissions, trans, start, end, rng = _random_problem(seed, k=4)
    allowed = (rng.random((4, 4)) < 0.6, rng.random(4) < 0.7,
               rng.random(4) < 0.7)
    allowed[1][0] = allowed[2][0] = True  # some path of any length exists
    allowed[0][0, 0] = True
    crf = CRF(4, allowed_transitions=allowed[0], allowed_start=allowed[1],
              allowed_end=allowed[2])
    crf.build((None, None, 4))
    crf.set_weights([trans, start, end])
    lengths = np.array([4, 1, 3, 2, 4])
    tags, _ = crf.decode(emissions, lengths)
    for b, n in enumerate(lengths):
        assert tuple(np.array(tags)[b, :n]) == _constrained_brute_force(
            emissions[b, :n], n, trans, start, end, allowed)


def test_all_allowed_constraints_change_nothing():
    emissions, trans, start, end, rng = _random_problem(5)
    k = NUM_TAGS
    free, ones = CRF(k), CRF(k, allowed_transitions=[[True] * k] * k,
                            allowed_start=[True] * k, allowed_end=[True] * k)
    for crf in (free, ones):
        crf.build((None, None, k))
        crf.set_weights([trans, start, end])
    gold = rng.integers(0, k, size=(5, 4))
    for a, b in zip(free.decode(emissions), ones.decode(emissions)):
        np.testing.assert_allclose(np.array(a), np.array(b))
    np.testing.assert_allclose(np.array(free.log_likelihood(emissions, gold)),
                               np.array(ones.log_likelihood(emissions, gold)),
                               atol=1e-5)


def test_constraints_normalise_over_allowed_paths_only():
    # One forbidden first tag: the gold path's probability is its share of
    # the allowed paths, by enumeration.
    emissions, trans, start, end, _ = _random_problem(6, batch=1, time=3)
    crf = CRF(NUM_TAGS, allowed_start=[True, True, False])
    crf.build((None, None, NUM_TAGS))
    crf.set_weights([trans, start, end])
    gold = np.array([[0, 2, 1]])
    scores = {p: _path_score(emissions[0], p, trans, start, end)
              for p in itertools.product(range(NUM_TAGS), repeat=3)
              if p[0] != 2}
    values = np.array(list(scores.values()))
    log_z = values.max() + np.log(np.exp(values - values.max()).sum())
    assert float(crf.log_likelihood(emissions, gold)[0]) == pytest.approx(
        scores[(0, 2, 1)] - log_z, abs=1e-4)


def test_constraints_are_config_and_survive_a_keras_round_trip(tmp_path):
    allowed = ([[True, True, False], [True, True, True], [True, False, True]],
               [True, True, False], [True, False, True])
    inputs = keras.Input((None, NUM_TAGS))
    tags, potentials = CRF(NUM_TAGS, *allowed, name="crf")(inputs)
    model = keras.Model(inputs, {"tags": tags, "potentials": potentials})
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    crf = loaded.get_layer("crf")
    assert (crf.allowed_transitions, crf.allowed_start,
            crf.allowed_end) == allowed
    x = np.random.default_rng(0).normal(size=(2, 5, NUM_TAGS)).astype(
        "float32")
    np.testing.assert_array_equal(np.array(model(x)["tags"]),
                                  np.array(loaded(x)["tags"]))
    assert CRF(NUM_TAGS).get_config()["allowed_start"] is None
    with pytest.raises(ValueError, match="allowed_start"):
        CRF(NUM_TAGS, allowed_start=[True, False])
    with pytest.raises(ValueError, match="allowed_transitions"):
        CRF(NUM_TAGS, allowed_transitions=[[True, 2, True]] * 3)
