"""Tests for `LuongAttention` and `BahdanauAttention`."""

import keras
import numpy as np
import pytest

from kerasnlp_seq.attention import BahdanauAttention
from kerasnlp_seq.attention import LuongAttention

B, TQ, TV, DQ, DV = 3, 5, 4, 6, 7
RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(B, TQ, DQ)).astype("float32")
VALUES = RNG.normal(size=(B, TV, DV)).astype("float32")
MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)

LAYERS = {
    "luong_general": lambda: LuongAttention(),
    "luong_general_scaled": lambda: LuongAttention(use_scale=True),
    "bahdanau": lambda: BahdanauAttention(units=5),
}


@pytest.fixture(params=sorted(LAYERS))
def layer(request):
    return LAYERS[request.param]()


def test_shapes_for_both_query_forms(layer):
    context, weights = layer(QUERY, VALUES, mask=MASK)
    assert tuple(context.shape) == (B, TQ, DV)
    assert tuple(weights.shape) == (B, TQ, TV)
    context, weights = layer(QUERY[:, 0], VALUES, mask=MASK)
    assert tuple(context.shape) == (B, DV)
    assert tuple(weights.shape) == (B, TV)


def test_weights_sum_to_one_and_are_zero_where_masked(layer):
    _, weights = layer(QUERY, VALUES, mask=MASK)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights[np.broadcast_to(~MASK[:, None], weights.shape)] == 0)
    assert np.all(weights[np.broadcast_to(MASK[:, None], weights.shape)] > 0)


def test_padded_values_do_not_change_the_output(layer):
    noisy = VALUES + 100.0 * (~MASK)[..., None]
    for a, b in zip(layer(QUERY, VALUES, mask=MASK),
                    layer(QUERY, noisy, mask=MASK)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fully_masked_row_gives_zero_weights_and_context(layer):
    mask = MASK.copy()
    mask[2] = False
    context, weights = layer(QUERY, VALUES, mask=mask)
    assert np.all(keras.ops.convert_to_numpy(weights)[2] == 0)
    assert np.all(keras.ops.convert_to_numpy(context)[2] == 0)


def test_single_step_equals_row_of_all_steps(layer):
    context, weights = layer(QUERY, VALUES, mask=MASK)
    for t in range(TQ):
        c, w = layer(QUERY[:, t], VALUES, mask=MASK)
        np.testing.assert_allclose(c, context[:, t], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(w, weights[:, t], rtol=1e-5, atol=1e-6)


def test_without_mask_all_positions_are_used(layer):
    _, weights = layer(QUERY, VALUES)
    assert np.all(keras.ops.convert_to_numpy(weights) > 0)


def _softmax_context(scores, mask):
    scores = np.where(mask[:, None], scores, -np.inf)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return w @ VALUES, w


def test_luong_general_matches_numpy_reference():
    layer = LuongAttention(use_scale=True)
    context, weights = layer(QUERY, VALUES, mask=MASK)
    w_a = keras.ops.convert_to_numpy(layer.projection.kernel)
    scale = keras.ops.convert_to_numpy(layer.scale)
    np.testing.assert_allclose(scale, DV ** -0.5, rtol=1e-6)
    scores = (QUERY @ w_a) @ VALUES.transpose(0, 2, 1) * scale
    want_context, want_weights = _softmax_context(scores, MASK)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(context, want_context, rtol=1e-4, atol=1e-5)


def test_luong_dot_matches_numpy_reference():
    values = VALUES[..., :DQ]
    context, weights = LuongAttention(score="dot")(QUERY, values, mask=MASK)
    scores = QUERY @ values.transpose(0, 2, 1)
    _, want_weights = _softmax_context(scores, MASK)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(context, want_weights @ values, rtol=1e-4,
                               atol=1e-5)


def test_bahdanau_matches_numpy_reference():
    layer = BahdanauAttention(units=5)
    context, weights = layer(QUERY, VALUES, mask=MASK)
    w1, w2, v = (keras.ops.convert_to_numpy(d.kernel) for d in (
        layer.query_dense, layer.key_dense, layer.score_dense))
    hidden = np.tanh((QUERY @ w1)[:, :, None] + (VALUES @ w2)[:, None])
    want_context, want_weights = _softmax_context((hidden @ v)[..., 0], MASK)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(context, want_context, rtol=1e-4, atol=1e-5)


def test_keras_file_round_trip(layer, tmp_path):
    query = keras.Input((None, DQ))
    values = keras.Input((None, DV))
    mask = keras.Input((None,), dtype="bool")
    context, weights = layer(query, values, mask=mask)
    model = keras.Model([query, values, mask], [context, weights])
    path = tmp_path / "attention.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects needed
    assert type(restored.layers[-1]) is type(layer)
    for a, b in zip(model.predict([QUERY, VALUES, MASK], verbose=0),
                    restored.predict([QUERY, VALUES, MASK], verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda: LuongAttention(score="concat"), "Unknown `score`"),
    (lambda: BahdanauAttention(units=0), "must be a positive int"),
    (lambda: LuongAttention(score="dot")(QUERY, VALUES),
     "same width; use score='general'"),
    (lambda: LuongAttention()(QUERY[:, :, :, None], VALUES),
     r"query of shape \(batch, units\)"),
    (lambda: BahdanauAttention(4)(QUERY, VALUES[:, 0]),
     r"values of shape \(batch, tv, dim\)"),
])
def test_bad_arguments_are_rejected(make, message):
    with pytest.raises(ValueError, match=message):
        make()
