"""The shared recurrent builder: a stack of Keras RNN layers from flat options.

Every task builds its encoder (and decoder) through `build_recurrent()`, so
the choice of cell, depth, direction, dropout and residual connections is one
set of keyword arguments. The recurrent layers are the stock Keras classes,
or with `hoist_inputs=True` `kerasnlp_seq.recurrent`'s `FastLSTM`/`FastGRU`/
`FastSimpleRNN` (the Keras classes with the input projection hoisted out of
the time loop; same weights and outputs). A saved `.keras` model reloads with
`keras.saving.load_model(path)` in safe mode, without `custom_objects`, once
`kerasnlp_seq.layers` is imported (the toolkit's layers are registered).
"""

import numbers

from kerasnlp_seq.cudnn import cudnn_report
from kerasnlp_seq.lazy import keras

CELLS = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}
MERGE_MODES = {"ave": "Average", "concat": "Concatenate", "mul": "Multiply",
               "sum": "Add"}


def build_recurrent(cell="lstm", units=64, num_layers=1, bidirectional=False,
                    merge_mode="concat", return_sequences=False,
                    return_state=False, dropout=0.0, recurrent_dropout=0.0,
                    residual=False, activation="tanh",
                    recurrent_activation="sigmoid", use_bias=True,
                    unroll=False, reset_after=True, hoist_inputs=False,
                    name=None):
    """Builds a stack of recurrent layers to call on a sequence tensor.

    The result is a plain callable (not a custom layer): calling it in the
    functional API applies `SimpleRNN`/`LSTM`/`GRU` (or their hoisted
    subclasses), `Bidirectional`, `Dropout`, `Add` and merge layers, nothing
    else. Its layers are created
    here, once; calling the stack twice shares their weights. Masks (e.g.
    from `Embedding(mask_zero=True)`) flow through every layer; pad on the
    right to keep the cuDNN kernel usable on a GPU (see `cudnn_report()`).

    Call signature: `stack(x, initial_state=None, training=None)`, with `x`
    of shape `(batch, timesteps, features)`. It returns `(batch, width)`
    when `return_sequences=False`, `(batch, timesteps, width)` otherwise,
    where `width` is `units`, or `2 * units` for a bidirectional `"concat"`
    stack (`stack.output_dim`). With `return_state=True` it returns a list
    `[outputs, h]` (`simple_rnn`, `gru`) or `[outputs, h, c]` (`lstm`): the
    last layer's final states. A bidirectional stack merges the forward and
    backward state per state with `merge_mode`, so a decoder of `width`
    units can start from them.

    `initial_state` is either one state list (`[h]` or `[h, c]`, each
    `(batch, units)`) for the first layer, or a list of `num_layers` such
    lists (or `None`), one per layer. A bidirectional layer gives the same
    state list to both of its directions.

    Args:
        cell: str. `"simple_rnn"`, `"lstm"` or `"gru"`.
        units: int. The number of units of each layer (per direction).
        num_layers: int. The number of stacked recurrent layers. Inner
            layers always return sequences.
        bidirectional: bool. Whether to wrap each layer in `Bidirectional`.
        merge_mode: str. How `Bidirectional` combines the two directions:
            `"concat"`, `"sum"`, `"mul"` or `"ave"`. States merge the same.
        return_sequences: bool. Whether the last layer returns the full
            sequence rather than its last output.
        return_state: bool. Whether the call also returns the final states.
        dropout: float in [0, 1). Rate of a `Dropout` layer between stacked
            layers (not before the first nor after the last one).
        recurrent_dropout: float in [0, 1). Dropout on the recurrent state,
            passed to every cell. Disables cuDNN.
        residual: bool. From the second layer on, add each layer's sequence
            output to its input (before the inter-layer dropout), with `Add`.
            A last layer that returns no sequences gets no residual: its
            output is a single step, and the matching input step depends on
            the mask, so it is left as is.
        activation: str or callable. The output activation of each cell.
            Prefer names: a `.keras` file reloads in safe mode only with
            Keras's own activations.
        recurrent_activation: str or callable. The gate activation
            (`lstm` and `gru` only; ignored for `simple_rnn`).
        use_bias: bool. Whether the cells use biases.
        unroll: bool. Whether to unroll the time loop (short sequences only).
        reset_after: bool. The GRU convention (`gru` only; True is the
            cuDNN-compatible one).
        hoist_inputs: bool. Whether to use `kerasnlp_seq.recurrent`'s layers,
            which compute every timestep's input projection in one matmul
            before the time loop, rather than Keras' per-step one. Same
            weights, same outputs; on a GPU both take Keras' path. On a CPU
            they are faster for small batches of tokens and slower for large
            ones (measured in `benchmarks/RESULTS.md`), hence off by default.
        name: str or None. Prefix for the layer names (`{name}_{cell}_1`,
            `{name}_dropout_2`, ...); `None` lets Keras pick unique names.

    Returns:
        A `RecurrentStack`.

    Example:

    >>> import keras, numpy as np
    >>> from kerasnlp_seq.builder import build_recurrent
    >>> inputs = keras.Input(shape=(None,), dtype="int32")
    >>> x = keras.layers.Embedding(100, 8, mask_zero=True)(inputs)
    >>> stack = build_recurrent(cell="gru", units=4, num_layers=2,
    ...                         bidirectional=True, return_sequences=False)
    >>> outputs = keras.layers.Dense(1, activation="sigmoid")(stack(x))
    >>> model = keras.Model(inputs, outputs)
    >>> model.predict(np.array([[5, 7, 0]]), verbose=0).shape
    (1, 1)
    """
    config = dict(
        cell=cell, units=units, num_layers=num_layers,
        bidirectional=bidirectional, merge_mode=merge_mode,
        return_sequences=return_sequences, return_state=return_state,
        dropout=dropout, recurrent_dropout=recurrent_dropout,
        residual=residual, activation=activation,
        recurrent_activation=recurrent_activation, use_bias=use_bias,
        unroll=unroll, reset_after=reset_after, hoist_inputs=hoist_inputs,
        name=name)
    _validate(config)
    return RecurrentStack(config)


class RecurrentStack:
    """A configured stack of Keras recurrent layers; see `build_recurrent()`.

    Attributes:
        layers: list. The recurrent layers in order (`Bidirectional`
            wrappers where bidirectional).
        dropout_layers: list. The `Dropout` layers between layers.
        residual_layers: list. The `Add` layers of the residual connections.
        state_merge_layers: list. The layers merging bidirectional states.
        config: dict. The `build_recurrent()` keyword arguments.
        num_states: int. 2 for `lstm`, 1 otherwise.
        output_dim: int. The width of the outputs and returned states.
    """

    def __init__(self, config):
        self._config = dict(config)
        c = self._config
        self.num_states = 2 if c["cell"] == "lstm" else 1
        wide = c["bidirectional"] and c["merge_mode"] == "concat"
        self.output_dim = c["units"] * (2 if wide else 1)
        self.layers = []
        self.dropout_layers = []
        self.residual_layers = []
        self.state_merge_layers = []
        for i in range(c["num_layers"]):
            last = i == c["num_layers"] - 1
            sequences = c["return_sequences"] or not last
            self.layers.append(self._recurrent_layer(
                i, sequences, c["return_state"] and last))
            if i > 0 and c["dropout"] > 0:
                self.dropout_layers.append(keras.layers.Dropout(
                    c["dropout"], name=self._name(f"dropout_{i + 1}")))
            if i > 0 and c["residual"] and sequences:
                self.residual_layers.append(
                    keras.layers.Add(name=self._name(f"residual_{i + 1}")))
        if c["return_state"] and c["bidirectional"]:
            merge = getattr(keras.layers, MERGE_MODES[c["merge_mode"]])
            for state in ("h", "c")[:self.num_states]:
                self.state_merge_layers.append(
                    merge(name=self._name(f"state_{state}")))

    @property
    def config(self):
        return dict(self._config)

    def _name(self, suffix):
        prefix = self._config["name"]
        return None if prefix is None else f"{prefix}_{suffix}"

    def _recurrent_layer(self, i, return_sequences, return_state):
        c = self._config
        kwargs = dict(
            units=c["units"], activation=c["activation"],
            use_bias=c["use_bias"], recurrent_dropout=c["recurrent_dropout"],
            return_sequences=return_sequences, return_state=return_state,
            unroll=c["unroll"], name=self._name(f"{c['cell']}_{i + 1}"))
        if c["cell"] != "simple_rnn":
            kwargs["recurrent_activation"] = c["recurrent_activation"]
        if c["cell"] == "gru":
            kwargs["reset_after"] = c["reset_after"]
        if c["hoist_inputs"]:
            from kerasnlp_seq.recurrent import LAYERS
            layer = LAYERS[c["cell"]](**kwargs)
        else:
            layer = getattr(keras.layers, CELLS[c["cell"]])(**kwargs)
        if c["bidirectional"]:
            layer = keras.layers.Bidirectional(
                layer, merge_mode=c["merge_mode"],
                name=self._name(f"bidirectional_{i + 1}"))
        return layer

    def __call__(self, x, initial_state=None, training=None):
        c = self._config
        states = self._per_layer_states(initial_state)
        dropouts = iter(self.dropout_layers)
        residuals = iter(self.residual_layers)
        result = None
        for i, layer in enumerate(self.layers):
            last = i == c["num_layers"] - 1
            layer_input = x
            if i > 0 and c["dropout"] > 0:
                layer_input = next(dropouts)(x, training=training)
            kwargs = {"training": training}
            if states[i] is not None:
                kwargs["initial_state"] = (
                    states[i] * 2 if c["bidirectional"] else states[i])
            result = layer(layer_input, **kwargs)
            y = result[0] if (last and c["return_state"]) else result
            if i > 0 and c["residual"] and (c["return_sequences"] or not last):
                y = next(residuals)([y, x])
            x = y
        if not c["return_state"]:
            return x
        finals = list(result[1:])
        if c["bidirectional"]:
            n = self.num_states
            finals = [merge([fwd, bwd]) for merge, fwd, bwd in zip(
                self.state_merge_layers, finals[:n], finals[n:])]
        return [x] + finals

    def _per_layer_states(self, initial_state):
        n, num_layers = self.num_states, self._config["num_layers"]
        if initial_state is None:
            return [None] * num_layers
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        initial_state = list(initial_state)
        if initial_state and all(
                s is None or isinstance(s, (list, tuple))
                for s in initial_state):
            per_layer = [None if s is None else list(s)
                         for s in initial_state]
        else:
            per_layer = [initial_state] + [None] * (num_layers - 1)
        if len(per_layer) != num_layers:
            raise ValueError(
                "Invalid `initial_state` for a RecurrentStack. Expected one "
                f"state list or {num_layers} per-layer state lists "
                f"(num_layers={num_layers}). Received: {len(per_layer)} "
                "per-layer lists")
        for i, states in enumerate(per_layer):
            if states is not None and len(states) != n:
                raise ValueError(
                    "Invalid `initial_state` for a RecurrentStack. Expected "
                    f"{n} state tensor(s) per layer for "
                    f"cell={self._config['cell']!r}. Received: "
                    f"{len(states)} for layer {i + 1}")
        return per_layer

    def cudnn_report(self):
        """Returns `kerasnlp_seq.cudnn.cudnn_report()` rows for this stack."""
        return cudnn_report(self.layers)

    def __repr__(self):
        c = self._config
        return (f"<RecurrentStack cell={c['cell']!r} units={c['units']} "
                f"num_layers={c['num_layers']} "
                f"bidirectional={c['bidirectional']}>")


def _validate(c):
    def fail(arg, expected):
        raise ValueError(
            f"Invalid `{arg}` for `build_recurrent()`. Expected {expected}. "
            f"Received: {arg}={c[arg]!r}")

    if c["cell"] not in CELLS:
        raise ValueError(
            "Unknown `cell` for `build_recurrent()`. Expected one of "
            f"{sorted(CELLS)}. Received: cell={c['cell']!r}")
    if c["merge_mode"] not in MERGE_MODES:
        raise ValueError(
            "Unknown `merge_mode` for `build_recurrent()`. Expected one of "
            f"{sorted(MERGE_MODES)}. Received: merge_mode={c['merge_mode']!r}")
    for arg in ("units", "num_layers"):
        value = c[arg]
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                or value < 1):
            fail(arg, "a positive int")
        c[arg] = int(value)
    for arg in ("bidirectional", "return_sequences", "return_state",
                "residual", "use_bias", "unroll", "reset_after",
                "hoist_inputs"):
        if not isinstance(c[arg], bool):
            fail(arg, "True or False")
    for arg in ("dropout", "recurrent_dropout"):
        value = c[arg]
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not 0.0 <= value < 1.0):
            fail(arg, "a float in [0, 1)")
        c[arg] = float(value)
    for arg in ("activation", "recurrent_activation"):
        value = c[arg]
        if callable(value):
            continue
        if not isinstance(value, str):
            fail(arg, "an activation name (e.g. 'tanh') or a callable")
        try:
            keras.activations.get(value)
        except ValueError:
            fail(arg, "the name of a Keras activation (e.g. 'tanh')")
    name = c["name"]
    if name is not None and (not isinstance(name, str) or not name):
        fail("name", "None or a non-empty str")
