"""Gradient-flow diagnostics: how far back in time does the gradient reach?

`input_gradient_norms()` gives `||dL/dx_t||` for every time step `t`, where
`x_t` is the input of the model's first recurrent layer (for a token model,
the embedding output). Once its state is in tanh's nonlinear range, a
SimpleRNN's curve falls by orders of magnitude from the last step to the
first (the vanishing gradient); LSTM and GRU keep it flatter where their
forget/update gates are open (near 1). Keras' default gate biases are not
open at initialization (LSTM forget gate about 0.73 per step, GRU update
gate about 0.5), so a fresh LSTM or GRU vanishes too until training, or a
gate-bias initialization, opens them; see `kerasnlp_seq.probes`.

`layer_gradient_norms()` gives the gradient norm of each layer's trainable
weights, the quantity that explodes and that `clipnorm` bounds.
`kerasnlp_seq.probes.compare_cells()` runs both on the same data for
several cells and `write_results()` saves its numbers (CSV, JSON) and a
log-scale plot (PNG).

Both measurements use `tf.GradientTape` on one batch, in inference mode
(`training=False`), with the model's compiled loss or the `loss` given. The
input gradient is found by intercepting the first `RNN`/`Bidirectional`
layer's call, so it works for any model built with the shared builder,
integer-token or not, without rebuilding it. Output masks are not applied to
the loss.
"""

import csv
import json
from pathlib import Path

import numpy as np

from kerasnlp_seq.errors import ConfigError
from kerasnlp_seq.lazy import keras, tf


def input_gradient_norms(model, x, y, loss=None):
    """Returns `||dL/dx_t||` per time step, averaged over the batch.

    `x_t` is step `t` of the input of the first recurrent layer (an `RNN`
    subclass such as `LSTM`, or a `Bidirectional` wrapper), found in
    topological order, nested models included. The loss is summed over the
    batch before differentiating, so each example's gradient is its own
    (`dL_i/dx_{i,t}`) and the result does not shrink with the batch size;
    the norm is taken over the feature axis, then averaged over examples.

    Args:
        model: keras.Model. A model containing a recurrent layer.
        x: array or tensor. One batch of model inputs.
        y: array or tensor. The matching targets.
        loss: str, `keras.losses.Loss`, callable or None. None uses the
            model's compiled loss.

    Returns:
        np.ndarray of float64, shape `(timesteps,)`.

    Example:

    >>> import keras, numpy as np
    >>> from kerasnlp_seq.diagnostics import input_gradient_norms
    >>> inputs = keras.Input(shape=(6, 3))
    >>> h = keras.layers.SimpleRNN(4)(inputs)
    >>> model = keras.Model(inputs, keras.layers.Dense(1)(h))
    >>> norms = input_gradient_norms(model, np.ones((2, 6, 3)),
    ...                              np.zeros((2, 1)), loss="mse")
    >>> norms.shape
    (6,)
    """
    loss_fn = resolve_loss(model, loss, "input_gradient_norms")
    layer = first_recurrent_layer(model)
    captured = []
    with tf.GradientTape() as tape:
        original = layer.call

        def watching_call(*args, **kwargs):
            args = list(args)
            tape.watch(args[0])
            captured.append(args[0])
            return original(*args, **kwargs)

        layer.__dict__["call"] = watching_call
        try:
            per_sample = loss_fn(y, model(x, training=False))
        finally:
            layer.__dict__.pop("call", None)
        total = tf.reduce_sum(per_sample)
    if not captured:
        raise ConfigError(
            f"The recurrent layer {layer.name!r} was not called by the "
            "model. Expected a model whose forward pass runs it.")
    grad = tape.gradient(total, captured[0])
    grad = tf.zeros_like(captured[0]) if grad is None else grad
    grad = np.asarray(grad, dtype="float64")
    if grad.ndim != 3:
        raise ConfigError(
            f"The recurrent layer {layer.name!r} received inputs of rank "
            f"{grad.ndim}. Expected (batch, timesteps, features).")
    return np.linalg.norm(grad, axis=-1).mean(axis=0)


def layer_gradient_norms(model, x, y, loss=None, per_weight=False):
    """Returns the loss gradient norm of each layer's trainable weights.

    The loss is the batch mean (as in training, plus the model's
    regularization losses), so the norms are the ones an optimizer sees and
    that `clipnorm` / `global_clipnorm` compare with.

    Args:
        model: keras.Model.
        x: array or tensor. One batch of model inputs.
        y: array or tensor. The matching targets.
        loss: str, `keras.losses.Loss`, callable or None. None uses the
            model's compiled loss.
        per_weight: bool. False: one entry per top-level layer with
            trainable weights (the global norm over its weights). True: one
            entry per trainable weight, keyed by its path
            (e.g. `"lstm/lstm_cell/kernel"`).

    Returns:
        dict of str to float, in layer order.

    Example:

    >>> import keras, numpy as np
    >>> from kerasnlp_seq.diagnostics import layer_gradient_norms
    >>> inputs = keras.Input(shape=(6, 3))
    >>> h = keras.layers.GRU(4, name="gru")(inputs)
    >>> model = keras.Model(inputs, keras.layers.Dense(1, name="out")(h))
    >>> sorted(layer_gradient_norms(model, np.ones((2, 6, 3)),
    ...                             np.zeros((2, 1)), loss="mse"))
    ['gru', 'out']
    """
    loss_fn = resolve_loss(model, loss, "layer_gradient_norms")
    groups = weight_groups(model, per_weight)
    variables = [v for _, vs in groups for v in vs]
    norms = variable_gradient_norms(model, loss_fn, variables, x, y)
    return group_norms(groups, np.asarray(norms))


def first_recurrent_layer(model):
    """Returns the first `RNN` or `Bidirectional` layer of `model`.

    Args:
        model: keras.Model. Nested models are searched in order.

    Returns:
        keras.layers.Layer.

    Example:

    >>> import keras
    >>> from kerasnlp_seq.diagnostics import first_recurrent_layer
    >>> model = keras.Sequential([keras.Input((None, 2)),
    ...                           keras.layers.LSTM(3, name="enc")])
    >>> first_recurrent_layer(model).name
    'enc'
    """
    found = _find_recurrent(model)
    if found is None:
        raise ConfigError(
            "No recurrent layer in the model. Expected a keras.Model with an "
            "RNN layer (SimpleRNN, LSTM, GRU or Bidirectional). Received: "
            f"{getattr(model, 'name', model)!r}")
    return found


def variable_gradient_norms(model, loss_fn, variables, x, y):
    """The norm of the mean-loss gradient of each variable (0 if unused).

    Plain TensorFlow, so it can be wrapped in `tf.function` (as
    `GradientNormLogger` does). Regularization losses are included.
    """
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(loss_fn(y, model(x, training=False)))
        if model.losses:
            value = value + tf.add_n(model.losses)
    grads = tape.gradient(value, [v.value for v in variables])
    return tf.stack([tf.constant(0.0) if g is None
                     else tf.norm(tf.cast(tf.convert_to_tensor(g), "float32"))
                     for g in grads])


def resolve_loss(model, loss, where):
    """A per-sample (unreduced) loss function from `loss` or `model.loss`."""
    if loss is None:
        loss = getattr(model, "loss", None)
    if loss is None:
        raise ConfigError(
            f"No loss for `{where}()`. Expected `loss=` (e.g. "
            "'sparse_categorical_crossentropy') or a compiled model. "
            "Received: loss=None and an uncompiled model")
    if isinstance(loss, (list, tuple, dict)):
        raise ConfigError(
            f"Invalid `loss` for `{where}()`. Expected one loss for a "
            f"single-output model. Received: loss={loss!r}")
    try:
        fn = keras.losses.get(loss)
    except ValueError:
        fn = None
    if fn is None:
        raise ConfigError(
            f"Unknown `loss` for `{where}()`. Expected a Keras loss name, "
            f"a keras.losses.Loss or a callable. Received: loss={loss!r}")
    return fn.call if isinstance(fn, keras.losses.Loss) else fn


def weight_groups(model, per_weight=False):
    """`(name, trainable variables)` per top-level layer, or per weight."""
    if per_weight:
        return [(v.path, [v]) for v in model.trainable_weights]
    return [(layer.name, list(layer.trainable_weights))
            for layer in model.layers if layer.trainable_weights]


def group_norms(groups, norms):
    """Folds per-variable norms into one global norm per group."""
    out, i = {}, 0
    for name, variables in groups:
        part = np.asarray(norms[i:i + len(variables)], dtype="float64")
        out[name] = float(np.sqrt(np.sum(np.square(part))))
        i += len(variables)
    return out


def _find_recurrent(layer):
    if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
        return layer
    for sub in getattr(layer, "layers", None) or []:
        found = _find_recurrent(sub)
        if found is not None:
            return found
    return None


def write_results(results, out_prefix):
    """Writes `compare_cells()` results as `.csv`, `.json` and a `.png` plot.

    `compare_cells()` is `kerasnlp_seq.probes.compare_cells()`. The CSV has
    one row per time step and one column per cell (the input gradient
    norms); the JSON holds everything (non-finite numbers as null); the PNG
    plots the norms on a log-scale y axis against the time step, one line
    per cell (zeros, a float32 underflow, are not drawn).

    Args:
        results: dict. The output of `compare_cells()` (or a dict with
            `"cells": {name: {"input_grad_norms": [...]}}`).
        out_prefix: str or path. `out/grads` writes `out/grads.csv`,
            `out/grads.json` and `out/grads.png`; folders are created.

    Returns:
        dict with the `"csv"`, `"json"` and `"png"` paths (str).

    Example:

    >>> import tempfile, os
    >>> from kerasnlp_seq.diagnostics import write_results
    >>> res = {"cells": {"lstm": {"input_grad_norms": [0.1, 1.0]}}}
    >>> paths = write_results(res, os.path.join(tempfile.mkdtemp(), "g"))
    >>> open(paths["csv"]).read().splitlines()
    ['timestep,lstm', '0,0.1', '1,1.0']
    """
    cells = results.get("cells") if isinstance(results, dict) else None
    if not cells or not all("input_grad_norms" in r for r in cells.values()):
        raise ConfigError(
            "Invalid `results` for `write_results()`. Expected the dict "
            "returned by `compare_cells()`. Received keys: "
            f"{sorted(results) if isinstance(results, dict) else results!r}")
    prefix = Path(out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = {ext: str(prefix) + "." + ext for ext in ("csv", "json", "png")}
    columns = {name: r["input_grad_norms"] for name, r in cells.items()}
    steps = max(len(v) for v in columns.values())
    with open(paths["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestep"] + list(columns))
        for t in range(steps):
            writer.writerow([t] + [repr(v[t]) if t < len(v) else ""
                                   for v in columns.values()])
    with open(paths["json"], "w") as f:
        json.dump(_finite(results), f, indent=2)
    _plot(columns, results.get("config", {}), paths["png"])
    return paths


def _plot(columns, config, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, values in columns.items():
        values = np.asarray(values, dtype="float64")
        ax.plot(np.arange(len(values)),
                np.where(values > 0, values, np.nan), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("mean ||dL/dx_t||")
    title = "Loss gradient w.r.t. the recurrent input"
    if "train_steps" in config:
        steps = config["train_steps"]
        when = f"after {steps} steps" if steps else "at initialization"
        title += f" ({when}, gate_bias={config.get('gate_bias')})"
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
