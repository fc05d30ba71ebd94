"""Built-in long-range probe tasks: study gradient flow without any data.

Two classic tasks from the recurrent-network literature, each a seeded
generator that returns numpy arrays:

- `recall_task()`: the label is the first token of a sequence; every later
  token is noise drawn from a separate vocabulary. A model must carry one
  token across the whole sequence, so its loss gradient has to reach step 0.
  Chance accuracy is `1 / num_classes`.
- `adding_problem()` (Hochreiter & Schmidhuber, 1997): each step holds a
  random value and a marker; the target is the sum of the two marked values,
  the first marked in the first half of the sequence.

`build_probe_model()` builds a small classifier for them (token embedding,
one recurrent layer from the shared builder, softmax), and
`compare_cells()` trains and measures it with each cell on the same data,
for `kerasnlp_seq.diagnostics.write_results()` to save and plot.
"""

import time

import numpy as np

from kerasnlp_seq import diagnostics
from kerasnlp_seq.errors import ConfigError
from kerasnlp_seq.lazy import keras, tf

CELLS = ("simple_rnn", "lstm", "gru")
GATE_BIASES = ("keras", "chrono")


def recall_task(num_samples, seq_len=100, num_classes=4, noise_vocab=8,
                seed=0):
    """Makes the first-token recall task: the class is the first token.

    Token ids: `0` is never used (free for padding), `1..num_classes` are
    the class tokens that appear only at step 0, and
    `num_classes + 1 .. num_classes + noise_vocab` are noise tokens filling
    steps `1..seq_len - 1`. The vocabulary size is therefore
    `1 + num_classes + noise_vocab`.

    Args:
        num_samples: int. The number of sequences.
        seq_len: int. The sequence length (>= 2).
        num_classes: int. The number of classes (>= 2).
        noise_vocab: int. The number of distinct noise tokens (>= 1).
        seed: int. The seed of the numpy generator.

    Returns:
        tuple `(x, y)`: `x` int32 of shape `(num_samples, seq_len)`, `y`
        int32 of shape `(num_samples,)` with values in `[0, num_classes)`.

    Example:

    >>> from kerasnlp_seq.probes import recall_task
    >>> x, y = recall_task(3, seq_len=5, num_classes=2, seed=1)
    >>> x.shape, bool((x[:, 0] == y + 1).all()), bool((x[:, 1:] > 2).all())
    ((3, 5), True, True)
    """
    _check_int("num_samples", num_samples, 1, "recall_task")
    _check_int("seq_len", seq_len, 2, "recall_task")
    _check_int("num_classes", num_classes, 2, "recall_task")
    _check_int("noise_vocab", noise_vocab, 1, "recall_task")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, size=num_samples).astype("int32")
    x = rng.integers(num_classes + 1, num_classes + 1 + noise_vocab,
                     size=(num_samples, seq_len)).astype("int32")
    x[:, 0] = y + 1
    return x, y


def recall_vocab_size(num_classes=4, noise_vocab=8):
    """Returns the vocabulary size of `recall_task()` (padding id included).

    Args:
        num_classes: int. As passed to `recall_task()`.
        noise_vocab: int. As passed to `recall_task()`.

    Returns:
        int. `1 + num_classes + noise_vocab`.

    Example:

    >>> from kerasnlp_seq.probes import recall_vocab_size
    >>> recall_vocab_size(4, 8)
    13
    """
    return 1 + num_classes + noise_vocab


def adding_problem(num_samples, seq_len=100, seed=0):
    """Makes the adding problem: sum the two marked values of a sequence.

    Step `t` of a sequence is `[value_t, marker_t]`, `value_t` uniform in
    `[0, 1)`; exactly two markers are 1, one in the first half and one in
    the second half of the sequence. The target is the sum of the two
    marked values (a regression target; predicting 1.0 always gives a mean
    squared error of about 0.167).

    Args:
        num_samples: int. The number of sequences.
        seq_len: int. The sequence length (>= 2).
        seed: int. The seed of the numpy generator.

    Returns:
        tuple `(x, y)`: `x` float32 of shape `(num_samples, seq_len, 2)`,
        `y` float32 of shape `(num_samples,)`.

    Example:

    >>> from kerasnlp_seq.probes import adding_problem
    >>> x, y = adding_problem(4, seq_len=10, seed=0)
    >>> x.shape, bool((x[..., 1].sum(axis=1) == 2).all())
    ((4, 10, 2), True)
    """
    _check_int("num_samples", num_samples, 1, "adding_problem")
    _check_int("seq_len", seq_len, 2, "adding_problem")
    rng = np.random.default_rng(seed)
    values = rng.random((num_samples, seq_len)).astype("float32")
    half = seq_len // 2
    first = rng.integers(0, half, size=num_samples)
    second = rng.integers(half, seq_len, size=num_samples)
    markers = np.zeros((num_samples, seq_len), dtype="float32")
    rows = np.arange(num_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).astype("float32")
    return np.stack([values, markers], axis=-1), y


def build_probe_model(cell="lstm", vocab_size=13, num_classes=4, units=32,
                      embed_dim=16, embed_stddev=1.0, seq_len=None,
                      gate_bias="keras", seed=0):
    """Builds the probe classifier: embedding, one recurrent layer, softmax.

    The recurrent layer comes from `kerasnlp_seq.builder.build_recurrent`
    with its defaults. With `gate_bias="keras"` the weights are Keras'
    initialization, as users get it: an LSTM forget gate starts near
    sigmoid(1) = 0.73 and a GRU update gate near 0.5, so at initialization
    their gradient decays geometrically over 100 steps. `"chrono"` sets the
    gate biases as in Tallec & Ollivier (2018), "Can recurrent neural
    networks warp time?": LSTM forget bias `log(u)`, input bias `-log(u)`,
    GRU update bias `log(u)`, `u ~ Uniform(1, seq_len - 1)`, which opens the
    gradient path along the gates; a `simple_rnn` has no gate and is left
    as is. The model is not compiled.

    Args:
        cell: str. One of `"simple_rnn"`, `"lstm"`, `"gru"`.
        vocab_size: int. The embedding's input dimension.
        num_classes: int. The number of output classes.
        units: int. The recurrent layer's units.
        embed_dim: int. The embedding width (the recurrent input width).
        embed_stddev: float. Standard deviation of the normal embedding
            initializer. 1.0 gives unit-scale inputs, which drive a tanh
            RNN into its nonlinear range as real features do; Keras'
            default (uniform in +-0.05) keeps a fresh SimpleRNN almost
            linear, where its orthogonal recurrent kernel preserves the
            gradient.
        seq_len: int or None. A fixed sequence length, or None for any;
            `"chrono"` needs it (the longest dependency to span).
        gate_bias: str. `"keras"` (default initialization) or `"chrono"`.
        seed: int. The seed of the `"chrono"` draw.

    Returns:
        keras.Model mapping int tokens `(batch, seq_len)` to class
        probabilities `(batch, num_classes)`.

    Example:

    >>> from kerasnlp_seq.probes import build_probe_model
    >>> model = build_probe_model("gru", units=8)
    >>> model.output_shape
    (None, 4)
    """
    from kerasnlp_seq.builder import build_recurrent

    if cell not in CELLS:
        raise ConfigError(
            "Unknown `cell` for `build_probe_model()`. Expected one of "
            f"{list(CELLS)}. Received: cell={cell!r}")
    if gate_bias not in GATE_BIASES:
        raise ConfigError(
            "Unknown `gate_bias` for `build_probe_model()`. Expected one of "
            f"{list(GATE_BIASES)}. Received: gate_bias={gate_bias!r}")
    if gate_bias == "chrono" and (seq_len is None or seq_len < 3):
        raise ConfigError(
            "`gate_bias='chrono'` needs the sequence length. Expected "
            f"`seq_len` >= 3. Received: seq_len={seq_len!r}")
    inputs = keras.Input(shape=(seq_len,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(
        vocab_size, embed_dim, name="embedding",
        embeddings_initializer=keras.initializers.RandomNormal(
            stddev=embed_stddev))(inputs)
    x = build_recurrent(cell=cell, units=units)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 name="classifier")(x)
    model = keras.Model(inputs, outputs, name=f"probe_{cell}")
    if gate_bias == "chrono":
        rng = np.random.default_rng(seed)
        for layer in model.layers:
            if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
                _chrono(layer, seq_len, rng)
    return model


def compare_cells(cells=("simple_rnn", "lstm", "gru"), seq_len=100, units=32,
                  embed_dim=16, embed_stddev=1.0, num_classes=4,
                  noise_vocab=8, gate_bias="keras", train_steps=0,
                  batch_size=64, learning_rate=1e-2, num_train=2048,
                  num_eval=256, probe_size=64, seed=0, data=None):
    """Measures gradient flow for the same classifier built with each cell.

    Every cell gets the same data, the same seed and the same architecture
    (`build_probe_model()`: embedding, one recurrent layer, softmax), is
    optionally trained for `train_steps` Adam steps, then measured on the
    same held-out probe batch with
    `kerasnlp_seq.diagnostics.input_gradient_norms()` and
    `layer_gradient_norms()`; loss and accuracy are on held-out data.

    Args:
        cells: sequence of str, or one comma-separated str. Cells to
            compare (`"simple_rnn"`, `"lstm"`, `"gru"`).
        seq_len: int. Sequence length of the built-in recall probe.
        units: int. Recurrent units.
        embed_dim: int. Embedding width.
        embed_stddev: float. Embedding init scale; see `build_probe_model()`.
        num_classes: int. Probe classes (chance is `1 / num_classes`).
        noise_vocab: int. Distinct noise tokens of the probe.
        gate_bias: str. `"keras"` or `"chrono"`; see `build_probe_model()`.
        train_steps: int. Training steps before measuring (0: at init).
        batch_size: int. Training batch size.
        learning_rate: float. Adam learning rate.
        num_train: int. Training sequences generated.
        num_eval: int. Held-out sequences generated (accuracy, probe batch).
        probe_size: int. Rows of the held-out data used for the gradients.
        seed: int. Seeds the data and every model's initialization.
        data: tuple `(x, y)` or None. Integer tokens `(n, timesteps)` and
            integer labels `(n,)` to use instead of the probe; the last
            `num_eval` rows are held out.

    Returns:
        dict with `"config"` (the arguments), `"chance"` and `"cells"`:
        cell name to a dict with `input_grad_norms` (list per step),
        `first_last_ratio` (`||dL/dx_0|| / ||dL/dx_last||`, NaN if the
        last is 0), `layer_grad_norms`, held-out `loss` and `accuracy`,
        and `train_seconds`.

    Example:

    >>> from kerasnlp_seq.probes import compare_cells
    >>> out = compare_cells(cells=("gru",), seq_len=8, units=4, num_train=8,
    ...                     num_eval=8, probe_size=4)
    >>> len(out["cells"]["gru"]["input_grad_norms"])
    8
    """
    if isinstance(cells, str):
        cells = [c.strip() for c in cells.split(",") if c.strip()]
    config = dict(cells=list(cells), seq_len=seq_len, units=units,
                  embed_dim=embed_dim, embed_stddev=embed_stddev,
                  num_classes=num_classes, noise_vocab=noise_vocab,
                  gate_bias=gate_bias,
                  train_steps=train_steps, batch_size=batch_size,
                  learning_rate=learning_rate, num_train=num_train,
                  num_eval=num_eval, probe_size=probe_size, seed=seed,
                  data="user" if data is not None else "recall_task")
    for cell in cells:
        if cell not in CELLS:
            raise ConfigError(
                "Unknown cell in `cells` for `compare_cells()`. Expected "
                f"items of {list(CELLS)}. Received: cells={list(cells)!r}")
    for name in ("train_steps", "probe_size"):
        _check_int(name, config[name], 1 if name == "probe_size" else 0,
                   "compare_cells")
    x_train, y_train, x_eval, y_eval, vocab = _compare_data(config, data)
    x_probe, y_probe = x_eval[:probe_size], y_eval[:probe_size]
    out = {"config": config, "chance": 1.0 / config["num_classes"],
           "cells": {}}
    for cell in cells:
        keras.utils.set_random_seed(seed)
        model = build_probe_model(
            cell, vocab_size=vocab, num_classes=config["num_classes"],
            units=units, embed_dim=embed_dim, embed_stddev=embed_stddev,
            seq_len=x_train.shape[1], gate_bias=gate_bias, seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        start = time.perf_counter()
        if train_steps:
            ds = tf.data.Dataset.from_tensor_slices((x_train, y_train))
            ds = ds.shuffle(len(x_train), seed=seed).repeat().batch(batch_size)
            model.fit(ds, epochs=1, steps_per_epoch=train_steps, verbose=0)
        seconds = time.perf_counter() - start
        norms = diagnostics.input_gradient_norms(model, x_probe, y_probe)
        loss, accuracy = model.evaluate(x_eval, y_eval, verbose=0,
                                        batch_size=256)
        layer_norms = diagnostics.layer_gradient_norms(model, x_probe,
                                                       y_probe)
        out["cells"][cell] = {
            "input_grad_norms": norms.tolist(),
            "first_last_ratio": _ratio(norms[0], norms[-1]),
            "layer_grad_norms": layer_norms,
            "loss": float(loss), "accuracy": float(accuracy),
            "train_seconds": seconds}
    return out


def _compare_data(config, data):
    n_eval = config["num_eval"]
    if data is None:
        x, y = recall_task(
            config["num_train"], config["seq_len"], config["num_classes"],
            config["noise_vocab"], seed=config["seed"])
        xe, ye = recall_task(
            n_eval, config["seq_len"], config["num_classes"],
            config["noise_vocab"], seed=config["seed"] + 1)
        vocab = recall_vocab_size(config["num_classes"],
                                  config["noise_vocab"])
        return x, y, xe, ye, vocab
    x, y = (np.asarray(a) for a in data)
    if x.ndim != 2 or y.shape != (len(x),) or len(x) <= n_eval \
            or x.dtype.kind not in "iu" or y.dtype.kind not in "iu":
        raise ConfigError(
            "Invalid `data` for `compare_cells()`. Expected integer tokens "
            f"(n, timesteps) and integer labels (n,) with n > num_eval="
            f"{n_eval}. Received shapes {x.shape} and {y.shape}")
    config["num_classes"] = int(y.max()) + 1
    config["seq_len"] = int(x.shape[1])
    return x[:-n_eval], y[:-n_eval], x[-n_eval:], y[-n_eval:], \
        int(x.max()) + 1


def _ratio(first, last):
    return float(first / last) if last > 0 else float("nan")


def _chrono(layer, seq_len, rng):
    units = layer.cell.units
    bias = np.array(layer.cell.bias.numpy())
    value = np.log(rng.uniform(1.0, seq_len - 1.0, size=units))
    if isinstance(layer, keras.layers.LSTM):  # gates [i, f, c, o]
        bias[:units] = -value
        bias[units:2 * units] = value
    else:  # GRU gates [z, r, h]; reset_after keeps a (2, 3 * units) bias
        flat = bias.reshape(-1, 3 * units)
        flat[:, :units] = 0.0
        flat[0, :units] = value
        bias = flat.reshape(bias.shape)
    layer.cell.bias.assign(bias)


def _check_int(name, value, minimum, where):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ConfigError(
            f"Invalid `{name}` for `{where}()`. Expected an int >= {minimum}. "
            f"Received: {name}={value!r}")
