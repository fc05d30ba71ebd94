"""The hoisted-projection layers match the Keras layers they extend."""

import numpy as np
import pytest

import keras

from kerasnlp_seq.recurrent import FastGRU, FastLSTM, FastSimpleRNN

STOCK = {FastLSTM: keras.layers.LSTM, FastGRU: keras.layers.GRU,
         FastSimpleRNN: keras.layers.SimpleRNN}


def _pair(fast_cls, bidirectional, **kwargs):
    fast, stock = fast_cls(5, **kwargs), STOCK[fast_cls](5, **kwargs)
    if bidirectional:
        fast = keras.layers.Bidirectional(fast)
        stock = keras.layers.Bidirectional(stock)
    return fast, stock


def _model(layer, mask_zero=True):
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 3, mask_zero=mask_zero)(inputs)
    return keras.Model(inputs, layer(x))


@pytest.mark.parametrize("fast_cls", [FastLSTM, FastGRU, FastSimpleRNN])
@pytest.mark.parametrize("bidirectional,go_backwards",
                         [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_outputs_states_and_gradients_match_keras(
        fast_cls, bidirectional, go_backwards, return_sequences):
    fast, stock = _pair(fast_cls, bidirectional, go_backwards=go_backwards,
                        return_sequences=return_sequences, return_state=True)
    fast_model, stock_model = _model(fast), _model(stock)
    stock_model.set_weights(fast_model.get_weights())
    ids = np.array([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12],
                    [13, 0, 0, 0, 0, 0]], "int32")
    for got, want in zip(fast_model(ids), stock_model(ids)):
        np.testing.assert_allclose(got, want, atol=1e-5)

    import tensorflow as tf

    def grads(model):
        with tf.GradientTape() as tape:
            loss = sum(tf.reduce_sum(t ** 2) for t in model(ids))
        return tape.gradient(loss, model.trainable_variables)

    for got, want in zip(grads(fast_model), grads(stock_model)):
        np.testing.assert_allclose(tf.convert_to_tensor(got),
                                   tf.convert_to_tensor(want), atol=1e-4)


@pytest.mark.parametrize("fast_cls", [FastLSTM, FastGRU])
def test_padding_does_not_change_the_output(fast_cls):
    model = _model(keras.layers.Bidirectional(fast_cls(4)))
    short = model(np.array([[3, 4, 5]], "int32"))
    padded = model(np.array([[3, 4, 5, 0, 0, 0, 0]], "int32"))
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_cell_dropout_takes_the_keras_path():
    # Dropout masks are drawn per step input, so these layers defer to Keras.
    layer = FastLSTM(4, dropout=0.5, recurrent_dropout=0.5, seed=1)
    x = np.ones((2, 3, 3), "float32")
    assert layer(x, training=True).shape == (2, 4)
    np.testing.assert_allclose(layer(x), layer(x))
    stock = keras.layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5, seed=1)
    stock(x)
    stock.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x), stock(x), atol=1e-6)


def test_use_cudnn_true_still_raises_without_a_gpu():
    with pytest.raises(ValueError, match="use_cudnn=True"):
        FastLSTM(4, use_cudnn=True)(np.ones((1, 2, 3), "float32"))


def test_saved_model_file_round_trip(tmp_path):
    model = _model(keras.layers.Bidirectional(FastGRU(4)))
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)  # safe mode, registered class
    ids = np.array([[3, 4, 0]], "int32")
    np.testing.assert_allclose(model(ids), reloaded(ids), atol=1e-6)
    assert type(reloaded.layers[-1].forward_layer) is FastGRU
