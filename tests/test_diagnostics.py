"""Tests for gradient-flow diagnostics, probes and the gradient callback."""

import csv
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnlp_seq.builder import build_recurrent
from kerasnlp_seq.diagnostics import (first_recurrent_layer,
                                      input_gradient_norms,
                                      layer_gradient_norms, write_results)
from kerasnlp_seq.errors import ConfigError
from kerasnlp_seq.gradient_callback import (GradientNormLogger,
                                            clipping_experiment)
from kerasnlp_seq.probes import (adding_problem, build_probe_model,
                                 compare_cells, recall_task)

SCE = "sparse_categorical_crossentropy"


def token_model(cell="simple_rnn", mask_zero=False, bidirectional=False):
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(7,), dtype="int32")
    x = keras.layers.Embedding(10, 3, mask_zero=mask_zero,
                               name="emb")(inputs)
    x = build_recurrent(cell=cell, units=4, bidirectional=bidirectional,
                        name="enc")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs)


def test_recall_task_is_seeded_and_labels_are_the_first_token():
    x, y = recall_task(50, seq_len=20, num_classes=3, noise_vocab=5, seed=4)
    x2, y2 = recall_task(50, seq_len=20, num_classes=3, noise_vocab=5,
                         seed=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, recall_task(50, 20, 3, 5, seed=5)[0])
    assert x.dtype == np.int32 and x.shape == (50, 20) and y.shape == (50,)
    np.testing.assert_array_equal(x[:, 0], y + 1)
    assert x[:, 1:].min() == 4 and x[:, 1:].max() == 8  # noise only
    assert set(y.tolist()) == {0, 1, 2}


def test_adding_problem_target_is_the_sum_of_the_marked_values():
    x, y = adding_problem(40, seq_len=12, seed=3)
    markers = x[..., 1]
    assert (markers[:, :6].sum(axis=1) == 1).all()
    assert (markers[:, 6:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y, (x[..., 0] * markers).sum(axis=1),
                               rtol=1e-6)


def test_input_gradient_norms_match_a_split_model_reference():
    model = token_model("simple_rnn")
    x, y = recall_task(5, seq_len=7, num_classes=3, noise_vocab=6, seed=0)
    norms = input_gradient_norms(model, x, y, loss=SCE)
    # Reference: run the layers after the embedding on its output, by hand.
    embedded = model.get_layer("emb")(x)
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        probs = model.get_layer("out")(model.get_layer("enc_simple_rnn_1")(
            embedded))
        total = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(
            y, probs))
    grad = tape.gradient(total, embedded).numpy()
    expected = np.linalg.norm(grad, axis=-1).mean(axis=0)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    layer = first_recurrent_layer(model)
    assert "call" not in layer.__dict__  # the interception is undone
    np.testing.assert_allclose(model(x), probs, rtol=1e-6)


def test_padded_steps_get_no_gradient_through_a_masked_bidirectional_gru():
    model = token_model("gru", mask_zero=True, bidirectional=True)
    x, y = recall_task(4, seq_len=7, num_classes=3, noise_vocab=6, seed=1)
    x[:, 5:] = 0  # right padding
    norms = input_gradient_norms(model, x, y, loss=SCE)
    assert norms.shape == (7,)
    assert (norms[:5] > 0).all()
    np.testing.assert_array_equal(norms[5:], 0.0)


def test_layer_gradient_norms_match_the_tape_and_per_weight_adds_up():
    model = token_model("lstm")
    model.compile(loss=SCE)
    x, y = recall_task(6, seq_len=7, num_classes=3, noise_vocab=6, seed=2)
    norms = layer_gradient_norms(model, x, y)  # uses the compiled loss
    assert list(norms) == ["emb", "enc_lstm_1", "out"]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    layer = model.get_layer("enc_lstm_1")
    grads = tape.gradient(loss, [v.value for v in layer.trainable_weights])
    expected = np.sqrt(sum(float(tf.reduce_sum(g * g)) for g in grads))
    assert norms["enc_lstm_1"] == pytest.approx(expected, rel=1e-5)
    per_weight = layer_gradient_norms(model, x, y, per_weight=True)
    lstm_parts = [v for k, v in per_weight.items() if k.startswith("enc_")]
    assert len(lstm_parts) == 3  # kernel, recurrent_kernel, bias
    assert np.sqrt(np.sum(np.square(lstm_parts))) == pytest.approx(
        expected, rel=1e-5)


@pytest.fixture(scope="module")
def chrono_init():
    return compare_cells(seq_len=100, units=16, embed_dim=8,
                         gate_bias="chrono", num_train=32, num_eval=32,
                         probe_size=32, seed=0)


def test_simple_rnn_gradient_vanishes_over_100_steps_gated_cells_keep_it(
        chrono_init):
    ratios = {c: r["first_last_ratio"]
              for c, r in chrono_init["cells"].items()}
    # SimpleRNN: ||dL/dx_0|| is more than 8 orders of magnitude below
    # ||dL/dx_99||; with open gates, LSTM and GRU stay within 3.
    assert ratios["simple_rnn"] < 1e-8
    assert ratios["lstm"] > 1e-3 and ratios["gru"] > 1e-3
    for cell in ("lstm", "gru"):
        norms = chrono_init["cells"][cell]["input_grad_norms"]
        assert len(norms) == 100 and norms[0] > 0


def test_with_keras_gate_biases_lstm_still_beats_simple_rnn():
    out = compare_cells(cells="simple_rnn,lstm", seq_len=100, units=16,
                        embed_dim=8, num_train=32, num_eval=32,
                        probe_size=32, seed=0)
    ratios = {c: r["first_last_ratio"] for c, r in out["cells"].items()}
    # Forget gate ~ sigmoid(1) at init: the LSTM's gradient decays too,
    # but by orders of magnitude less than the SimpleRNN's.
    assert ratios["lstm"] > 1e4 * ratios["simple_rnn"]


def test_write_results_writes_csv_json_and_a_png(tmp_path, chrono_init):
    paths = write_results(chrono_init, tmp_path / "sub" / "grads")
    with open(paths["csv"]) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestep", "simple_rnn", "lstm", "gru"]
    assert len(rows) == 101
    assert float(rows[1][2]) == chrono_init["cells"]["lstm"][
        "input_grad_norms"][0]
    with open(paths["json"]) as f:
        saved = json.load(f)
    assert saved["config"]["gate_bias"] == "chrono"
    assert saved["cells"]["gru"]["first_last_ratio"] == pytest.approx(
        chrono_init["cells"]["gru"]["first_last_ratio"])
    with open(paths["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_clipnorm_keeps_an_exploding_rnn_finite():
    out = clipping_experiment(clipnorm=1.0, seq_len=50, num_samples=256,
                              epochs=2)
    unclipped = out["unclipped"]["final_loss"]
    assert not out["unclipped"]["finite"]
    assert not unclipped < 1e6  # NaN, inf or huge
    clipped = out["clipped"]["history"]["loss"]
    assert out["clipped"]["finite"]
    assert clipped[1] < clipped[0] and clipped[1] < 1.0  # and it learns
    # Gain 3 puts the gradient far above 1 on every sampled batch.
    assert out["clipped"]["history"]["clip_fraction"] == [1.0, 1.0]


def test_gradient_norm_logger_feeds_csv_logger_and_tensorboard(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = recall_task(32, seq_len=6, num_classes=3, noise_vocab=4, seed=0)
    inputs = keras.Input(shape=(6,), dtype="int32")
    h = keras.layers.Embedding(8, 4, name="emb")(inputs)
    h = build_recurrent(cell="gru", units=4, name="enc")(h)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(h))
    model.compile(keras.optimizers.SGD(0.1, clipnorm=1e-6),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    logger = GradientNormLogger(x, y, batch_size=8, every_n_batches=2,
                                log_dir=tmp_path / "tb")
    history_csv = tmp_path / "history.csv"
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False,
              callbacks=[logger, keras.callbacks.CSVLogger(history_csv)])
    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert float(rows[1]["clip_fraction"]) == 1.0  # read from the optimizer
    expected = layer_gradient_norms(model, x[:8], y[:8])
    for name in ("emb", "enc_gru_1", "out"):
        assert float(rows[1][f"grad_norm/{name}"]) == pytest.approx(
            expected[name], rel=1e-4)
    tags = set()
    for path in (tmp_path / "tb").iterdir():
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags.update(v.tag for v in event.summary.value)
    assert {"clip_fraction", "grad_norm/global", "grad_norm/enc_gru_1"} <= tags


def test_clip_fraction_is_zero_below_the_threshold():
    x, y = adding_problem(16, seq_len=5, seed=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 2)),
                              keras.layers.SimpleRNN(3),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    logger = GradientNormLogger(x, y, batch_size=4, every_n_batches=1,
                                global_clipnorm=1e6)
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0,
                        callbacks=[logger])
    assert history.history["clip_fraction"] == [0.0]
    assert history.history["grad_norm/batch_max"][0] > 0


@pytest.mark.parametrize("call, message", [
    (lambda: recall_task(4, seq_len=1), "Expected an int >= 2"),
    (lambda: build_probe_model("rnn"), "Received: cell='rnn'"),
    (lambda: build_probe_model("lstm", gate_bias="chrono"), "seq_len"),
    (lambda: compare_cells(cells=("lstm", "tcn")), "cells=['lstm', 'tcn']"),
    (lambda: compare_cells(data=(np.ones((3, 4)), np.ones(3))),
     "Invalid `data`"),
    (lambda: write_results({"x": 1}, "/tmp/never"), "Invalid `results`"),
    (lambda: GradientNormLogger(np.ones((3, 2)), np.ones(2)), "3 and 2"),
    (lambda: GradientNormLogger(np.ones(3), np.ones(3), batch_size=0),
     "batch_size=0"),
])
def test_bad_arguments_raise_one_line_errors(call, message):
    with pytest.raises(ConfigError, match=None) as info:
        call()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_models_without_a_recurrent_layer_or_a_loss_are_refused():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ConfigError, match="No recurrent layer"):
        input_gradient_norms(dense, np.ones((2, 4)), np.ones((2, 1)),
                             loss="mse")
    with pytest.raises(ConfigError, match="No loss"):
        layer_gradient_norms(dense, np.ones((2, 4)), np.ones((2, 1)))
    with pytest.raises(ConfigError, match="Unknown `loss`"):
        layer_gradient_norms(dense, np.ones((2, 4)), np.ones((2, 1)),
                             loss="nope")
