"""Tests for `kerasnlp_seq.builder` and `kerasnlp_seq.cudnn`."""

import importlib
import itertools

import keras
import numpy as np
import pytest

from kerasnlp_seq import builder
from kerasnlp_seq.builder import RecurrentStack, build_recurrent
from kerasnlp_seq.cudnn import cudnn_report, format_cudnn_report
from kerasnlp_seq.recurrent import LAYERS

CELLS = ["simple_rnn", "lstm", "gru"]
MODES = ["concat", "sum", "mul", "ave"]
N_STATES = {"simple_rnn": 1, "lstm": 2, "gru": 1}
UNITS, T, FEATURES = 3, 5, 4


def _inputs(batch=2, seed=0):
    return np.random.default_rng(seed).normal(
        size=(batch, T, FEATURES)).astype("float32")


# --- shapes ------------------------------------------------------------------

SHAPE_CASES = list(itertools.product(CELLS, [False, True], [False, True],
                                     [False, True]))


@pytest.mark.parametrize("cell,bidirectional,return_sequences,return_state",
                         SHAPE_CASES)
def test_shapes_and_states(cell, bidirectional, return_sequences,
                           return_state):
    index = SHAPE_CASES.index(
        (cell, bidirectional, return_sequences, return_state))
    mode = MODES[index % 4] if bidirectional else "concat"
    keras.utils.set_random_seed(index)
    stack = build_recurrent(cell=cell, units=UNITS, num_layers=2,
                            bidirectional=bidirectional, merge_mode=mode,
                            return_sequences=return_sequences,
                            return_state=return_state)
    width = 2 * UNITS if (bidirectional and mode == "concat") else UNITS
    assert stack.output_dim == width
    inputs = keras.Input((None, FEATURES))
    result = stack(inputs)
    outputs = result[0] if return_state else result
    expected = (None, None, width) if return_sequences else (None, width)
    assert tuple(outputs.shape) == expected
    if not return_state:
        assert not isinstance(result, (list, tuple))
        return
    assert len(result) == 1 + N_STATES[cell]
    for state in result[1:]:
        assert tuple(state.shape) == (None, width)

    # Eagerly: the merged final `h` is the merged final output step.
    values = keras.Model(inputs, result)(_inputs())
    values = [keras.ops.convert_to_numpy(v) for v in values]
    out, h = values[0], values[1]
    assert out.shape == ((2, T, width) if return_sequences else (2, width))
    if not return_sequences:
        np.testing.assert_allclose(out, h, rtol=1e-6, atol=1e-6)
    elif not bidirectional:
        np.testing.assert_allclose(out[:, -1], h, rtol=1e-6, atol=1e-6)
    elif mode == "concat":
        np.testing.assert_allclose(out[:, -1, :UNITS], h[:, :UNITS],
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(out[:, 0, UNITS:], h[:, UNITS:],
                                   rtol=1e-6, atol=1e-6)


def test_every_merge_mode_used_in_shape_cases():
    used = {MODES[i % 4] for i, case in enumerate(SHAPE_CASES) if case[1]}
    assert used == set(MODES)


# --- masking -----------------------------------------------------------------

SEQUENCES = [[4, 2, 7, 1, 5], [3, 8, 6], [9]]
MAXLEN = 7


@pytest.mark.parametrize("cell,bidirectional,return_sequences",
                         list(itertools.product(CELLS, [False, True],
                                                [False, True])))
def test_right_padding_changes_nothing(cell, bidirectional,
                                       return_sequences):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    stack = build_recurrent(cell=cell, units=UNITS, num_layers=2,
                            bidirectional=bidirectional,
                            merge_mode="concat" if return_sequences else "ave",
                            residual=bidirectional, dropout=0.3,
                            return_sequences=return_sequences,
                            return_state=True)
    outputs, *states = stack(x)
    extra = []
    if return_sequences:
        # The mask must also leave the stack: pooling honours it.
        extra = [keras.layers.GlobalAveragePooling1D()(outputs)]
    model = keras.Model(inputs, [outputs, *states, *extra])

    padded = np.array([s + [0] * (MAXLEN - len(s)) for s in SEQUENCES])
    batch = [keras.ops.convert_to_numpy(v) for v in model(padded)]
    for i, seq in enumerate(SEQUENCES):
        alone = [keras.ops.convert_to_numpy(v)
                 for v in model(np.array([seq]))]
        for j, (got, want) in enumerate(zip(batch, alone)):
            got = got[i:i + 1]
            if j == 0 and return_sequences:
                got = got[:, :len(seq)]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# --- stacking, dropout, residual ---------------------------------------------

def test_stack_structure():
    stack = build_recurrent(cell="gru", units=UNITS, num_layers=3,
                            dropout=0.2, recurrent_dropout=0.1,
                            residual=True, name="enc")
    assert isinstance(stack, RecurrentStack)
    assert [type(layer) for layer in stack.layers] == [keras.layers.GRU] * 3
    assert [layer.name for layer in stack.layers] == [
        "enc_gru_1", "enc_gru_2", "enc_gru_3"]
    assert [layer.return_sequences for layer in stack.layers] == [
        True, True, False]
    assert all(layer.cell.recurrent_dropout == 0.1 for layer in stack.layers)
    assert [d.rate for d in stack.dropout_layers] == [0.2, 0.2]
    # No residual on the last layer: it returns no sequence.
    assert [a.name for a in stack.residual_layers] == ["enc_residual_2"]
    assert stack.config["num_layers"] == 3 and stack.config["name"] == "enc"

    inputs = keras.Input((None, FEATURES))
    model = keras.Model(inputs, stack(inputs))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("GRU") == 3 and kinds.count("Dropout") == 2
    assert kinds.count("Add") == 1


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_hoist_inputs_gives_fast_layers_with_the_same_outputs(cell):
    fast = build_recurrent(cell=cell, units=UNITS, num_layers=2,
                           bidirectional=True, hoist_inputs=True)
    stock = build_recurrent(cell=cell, units=UNITS, num_layers=2,
                            bidirectional=True)
    keras_class = getattr(keras.layers, builder.CELLS[cell])
    assert all(type(layer.forward_layer) is keras_class
               for layer in stock.layers)
    assert all(type(layer.forward_layer) is LAYERS[cell]
               for layer in fast.layers)
    inputs = keras.Input((None, FEATURES))
    fast_model = keras.Model(inputs, fast(inputs))
    stock_model = keras.Model(inputs, stock(inputs))
    stock_model.set_weights(fast_model.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 6, FEATURES))
    np.testing.assert_allclose(fast_model(x), stock_model(x), atol=1e-5)


def test_bidirectional_layers_are_wrappers():
    stack = build_recurrent(cell="lstm", units=UNITS, num_layers=2,
                            bidirectional=True, merge_mode="sum")
    assert all(isinstance(layer, keras.layers.Bidirectional)
               for layer in stack.layers)
    assert all(layer.merge_mode == "sum" for layer in stack.layers)
    assert isinstance(stack.layers[0].forward_layer, keras.layers.LSTM)


def test_residual_adds_layer_input():
    keras.utils.set_random_seed(2)
    stack = build_recurrent(cell="lstm", units=UNITS, num_layers=2,
                            bidirectional=True, residual=True,
                            return_sequences=True)
    x = _inputs()
    got = keras.ops.convert_to_numpy(stack(x))
    first = stack.layers[0](x)
    want = keras.ops.convert_to_numpy(first + stack.layers[1](first))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    plain = keras.ops.convert_to_numpy(stack.layers[1](first))
    assert np.abs(got - plain).max() > 1e-3


def test_dropout_only_in_training():
    keras.utils.set_random_seed(3)
    stack = build_recurrent(cell="gru", units=8, num_layers=2, dropout=0.5)
    x = _inputs()
    infer_a = keras.ops.convert_to_numpy(stack(x, training=False))
    infer_b = keras.ops.convert_to_numpy(stack(x))
    train = keras.ops.convert_to_numpy(stack(x, training=True))
    np.testing.assert_array_equal(infer_a, infer_b)
    assert np.abs(train - infer_a).max() > 1e-4


# --- states initialise a decoder ---------------------------------------------

@pytest.mark.parametrize("cell,bidirectional", [("lstm", True),
                                                ("gru", False),
                                                ("simple_rnn", True)])
def test_encoder_states_initialise_decoder(cell, bidirectional):
    keras.utils.set_random_seed(4)
    encoder = build_recurrent(cell=cell, units=UNITS,
                              bidirectional=bidirectional,
                              return_state=True, name="encoder")
    decoder = build_recurrent(cell=cell, units=encoder.output_dim,
                              num_layers=2, return_sequences=True,
                              name="decoder")
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    _, *states = encoder(keras.layers.Embedding(10, 4)(source))
    outputs = decoder(keras.layers.Embedding(10, 4)(target),
                      initial_state=states)
    model = keras.Model([source, target], outputs)
    assert tuple(outputs.shape) == (None, None, encoder.output_dim)
    tgt = np.array([[1, 2, 3]])
    a = keras.ops.convert_to_numpy(model([np.array([[1, 2, 3, 4]]), tgt]))
    b = keras.ops.convert_to_numpy(model([np.array([[5, 6, 7, 8]]), tgt]))
    assert np.abs(a - b).max() > 1e-4


def test_per_layer_and_bidirectional_initial_states():
    keras.utils.set_random_seed(5)
    stack = build_recurrent(cell="lstm", units=UNITS, num_layers=2,
                            bidirectional=True, return_sequences=True)
    x = _inputs(batch=1)
    zeros = np.zeros((1, UNITS), "float32")
    ones = np.ones((1, UNITS), "float32")
    base = keras.ops.convert_to_numpy(stack(x))
    same = keras.ops.convert_to_numpy(
        stack(x, initial_state=[[zeros, zeros], None]))
    first = keras.ops.convert_to_numpy(stack(x, initial_state=[ones, ones]))
    second = keras.ops.convert_to_numpy(
        stack(x, initial_state=[None, [ones, ones]]))
    np.testing.assert_allclose(base, same, rtol=1e-6, atol=1e-6)
    # The state reaches both directions: the first step of the backward
    # half and the first step of the forward half both move.
    assert np.abs(first - base)[0, 0, :UNITS].max() > 1e-4
    assert np.abs(first - base)[0, -1, UNITS:].max() > 1e-4
    assert np.abs(second - base).max() > 1e-4
    assert np.abs(second - first).max() > 1e-4
    with pytest.raises(ValueError, match="initial_state"):
        stack(x, initial_state=[zeros])
    with pytest.raises(ValueError, match="initial_state"):
        stack(x, initial_state=[[zeros, zeros]] * 3)


# --- saving ------------------------------------------------------------------

def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(6)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    outputs, h, c = build_recurrent(
        cell="lstm", units=UNITS, num_layers=2, bidirectional=True,
        merge_mode="ave", dropout=0.2, residual=True, return_sequences=True,
        return_state=True, name="enc")(x)
    pooled = keras.layers.GlobalAveragePooling1D()(outputs)
    joined = keras.layers.Concatenate()([pooled, h, c])
    model = keras.Model(inputs, keras.layers.Dense(2)(joined))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    data = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    np.testing.assert_allclose(loaded.predict(data, verbose=0),
                               model.predict(data, verbose=0),
                               rtol=0, atol=1e-7)


# --- cuDNN report ------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cudnn_defaults_eligible(cell):
    stack = build_recurrent(cell=cell, units=UNITS, num_layers=2,
                            bidirectional=True, dropout=0.5)
    rows = stack.cudnn_report()
    assert len(rows) == 4
    assert all(r["cudnn"] and r["reasons"] == [] and r["cell"] == cell
               for r in rows)
    assert rows[0]["layer"].startswith("forward_")
    assert rows[1]["layer"].startswith("backward_")


REASONS = [
    ("lstm", {"activation": "relu"}, "activation='relu'"),
    ("gru", {"recurrent_activation": "hard_sigmoid"},
     "recurrent_activation='hard_sigmoid'"),
    ("lstm", {"recurrent_dropout": 0.25}, "recurrent_dropout=0.25"),
    ("gru", {"unroll": True}, "unroll=True"),
    ("lstm", {"use_bias": False}, "use_bias=False"),
    ("gru", {"reset_after": False}, "reset_after=False"),
]


@pytest.mark.parametrize("cell,kwargs,reason", REASONS)
def test_cudnn_each_reason(cell, kwargs, reason):
    rows = build_recurrent(cell=cell, units=UNITS, **kwargs).cudnn_report()
    assert len(rows) == 1 and rows[0]["cudnn"] is False
    assert len(rows[0]["reasons"]) == 1
    assert rows[0]["reasons"][0].startswith(reason)


def test_cudnn_simple_rnn_never_and_lstm_ignores_reset_after():
    rows = build_recurrent(cell="simple_rnn", units=UNITS).cudnn_report()
    assert rows[0]["cudnn"] is False
    assert "no cuDNN kernel" in rows[0]["reasons"][0]
    rows = build_recurrent(cell="lstm", reset_after=False).cudnn_report()
    assert rows[0]["cudnn"] is True


def test_cudnn_matches_keras_own_check():
    # Reference: the predicates Keras's TF backend uses to pick cuDNN.
    tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")

    for cell, act, rec, unroll, bias, reset in itertools.product(
            ["lstm", "gru"], ["tanh", "relu"], ["sigmoid", "hard_sigmoid"],
            [False, True], [True, False], [True, False]):
        layer = build_recurrent(cell=cell, units=2, activation=act,
                                recurrent_activation=rec, unroll=unroll,
                                use_bias=bias, reset_after=reset).layers[0]
        args = (layer.cell.activation, layer.cell.recurrent_activation,
                unroll, bias)
        if cell == "lstm":
            want = tf_rnn._do_lstm_arguments_support_cudnn(*args)
        else:
            want = tf_rnn._do_gru_arguments_support_cudnn(*args, reset)
        assert cudnn_report(layer)[0]["cudnn"] == bool(want)


def test_cudnn_report_searches_nested_models_and_formats():
    inner_in = keras.Input((None, FEATURES))
    inner = keras.Model(inner_in, keras.layers.Bidirectional(
        keras.layers.GRU(2, name="g"))(inner_in))
    outer_in = keras.Input((None, FEATURES))
    y = keras.layers.LSTM(FEATURES, return_sequences=True, use_cudnn=False,
                          name="l")(outer_in)
    model = keras.Model(outer_in, inner(y))
    rows = cudnn_report(model)
    assert [(r["layer"], r["cudnn"]) for r in rows] == [
        ("l", False), ("forward_g", True), ("backward_g", True)]
    assert rows[0]["reasons"] == ["use_cudnn=False"]
    text = format_cudnn_report(rows).splitlines()
    assert text[0].split() == ["layer", "cell", "cudnn", "reasons"]
    assert text[1].split() == ["l", "lstm", "no", "use_cudnn=False"]
    assert text[2].split() == ["forward_g", "gru", "yes", "-"]
    assert len({line.index(line.split()[1]) for line in text}) == 1
    assert format_cudnn_report([]) == "(no recurrent layers)"
    with pytest.raises(ValueError, match="model_or_layers"):
        cudnn_report(42)


# --- validation --------------------------------------------------------------

BAD_ARGS = [
    ("cell", "rnn"), ("units", 0), ("units", 2.5), ("units", True),
    ("num_layers", 0), ("bidirectional", "yes"), ("merge_mode", "max"),
    ("return_sequences", 1), ("return_state", None), ("dropout", 1.0),
    ("dropout", -0.1), ("recurrent_dropout", 1.5), ("residual", "no"),
    ("activation", "nope"), ("activation", 3),
    ("recurrent_activation", "nope"), ("use_bias", 0), ("unroll", "x"),
    ("reset_after", None), ("name", ""),
]


@pytest.mark.parametrize("arg,value", BAD_ARGS)
def test_invalid_arguments(arg, value):
    with pytest.raises(ValueError) as info:
        build_recurrent(**{arg: value})
    message = str(info.value)
    assert f"`{arg}`" in message and f"Received: {arg}={value!r}" in message
    assert "\n" not in message


def test_cell_message_in_house_style():
    with pytest.raises(ValueError) as info:
        build_recurrent(cell="rnn")
    assert str(info.value) == (
        "Unknown `cell` for `build_recurrent()`. Expected one of "
        "['gru', 'lstm', 'simple_rnn']. Received: cell='rnn'")


# --- it trains ---------------------------------------------------------------

def test_model_fits_token_presence_task():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    lengths = rng.integers(3, 9, size=128)
    tokens = np.zeros((128, 8), "int32")
    for i, n in enumerate(lengths):
        tokens[i, :n] = rng.integers(1, 10, size=n)
    labels = (tokens == 3).any(axis=1).astype("float32")
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
    x = build_recurrent(cell="gru", units=8, bidirectional=True)(x)
    model = keras.Model(inputs, keras.layers.Dense(1, "sigmoid")(x))
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(tokens, labels, epochs=5, batch_size=32, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.25 * loss[0]
    assert history.history["accuracy"][-1] >= 0.95
