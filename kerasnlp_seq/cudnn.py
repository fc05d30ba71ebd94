"""Which recurrent layers of a model can run on the cuDNN kernel, and why not.

On the TensorFlow backend, Keras 3 `LSTM` and `GRU` layers (and the fused
`Bidirectional` path over them) dispatch to cuDNN when a GPU is visible and the
layer's configuration allows it, and silently fall back to a much slower
generic loop otherwise. `cudnn_report()` makes the silent choice visible, so a
training command can print it once at start.

The conditions mirror the installed Keras source:
`keras/src/backend/tensorflow/rnn.py` (`_do_lstm_arguments_support_cudnn`,
`_do_gru_arguments_support_cudnn`) and the `inner_loop` methods of
`keras/src/layers/rnn/lstm.py` and `gru.py` (which skip cuDNN when
`recurrent_dropout` is set or `use_cudnn=False`). `SimpleRNN` has no cuDNN
kernel at all.
"""

from kerasnlp_seq.lazy import keras

_TANH_NAMES = ("tanh",)
_SIGMOID_NAMES = ("sigmoid",)


def cudnn_report(model_or_layers):
    """Lists every `LSTM`/`GRU`/`SimpleRNN` layer with its cuDNN eligibility.

    A row is `{"layer": name, "cell": "lstm"|"gru"|"simple_rnn",
    "cudnn": bool, "reasons": [str, ...]}`; `cudnn` is True when the layer's
    configuration lets Keras 3 (TensorFlow backend) use the cuDNN kernel on a
    GPU, and `reasons` says, one condition per entry, why it cannot. Nested
    models and layers are searched, and a `Bidirectional` wrapper contributes
    one row for its forward and one for its backward layer. A generic
    `keras.layers.RNN(cell)` is not listed.

    Caveats that are not per-layer reasons: cuDNN also needs a visible GPU,
    and at run time a mask (e.g. from `Embedding(mask_zero=True)`) must be
    strictly right-padded (`[1, 1, 1, 0, 0]`, never `[0, 0, 1, 1, 1]` or
    `[1, 0, 1, 0, 0]`), or the TensorFlow kernel asserts; pad on the right.

    Args:
        model_or_layers: a `keras.Model`, a `keras.layers.Layer`, or an
            iterable of layers.

    Returns:
        list of dict, one per recurrent layer, in the order found.

    Example:

    >>> import keras
    >>> from kerasnlp_seq.cudnn import cudnn_report
    >>> rows = cudnn_report([keras.layers.GRU(4, reset_after=False)])
    >>> rows[0]["cudnn"], rows[0]["reasons"]
    (False, ['reset_after=False (needs True)'])
    """
    rows = []
    seen = set()
    for layer in _roots(model_or_layers):
        _visit(layer, rows, seen)
    return rows


def format_cudnn_report(rows):
    """Formats `cudnn_report()` rows as a small aligned table.

    Args:
        rows: list of dict. The output of `cudnn_report()`.

    Returns:
        str. A header line and one line per row (no trailing newline), or
        `"(no recurrent layers)"` when `rows` is empty.

    Example:

    >>> from kerasnlp_seq.cudnn import format_cudnn_report
    >>> print(format_cudnn_report([{"layer": "gru", "cell": "gru",
    ...                             "cudnn": True, "reasons": []}]))
    layer  cell  cudnn  reasons
    gru    gru   yes    -
    """
    if not rows:
        return "(no recurrent layers)"
    table = [("layer", "cell", "cudnn", "reasons")]
    for row in rows:
        table.append((
            str(row["layer"]),
            str(row["cell"]),
            "yes" if row["cudnn"] else "no",
            "; ".join(row["reasons"]) or "-",
        ))
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    lines = []
    for line in table:
        cells = [line[i].ljust(widths[i]) for i in range(3)] + [line[3]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _roots(model_or_layers):
    if isinstance(model_or_layers, keras.layers.Layer):
        return [model_or_layers]
    try:
        layers = list(model_or_layers)
    except TypeError:
        raise ValueError(
            "Invalid `model_or_layers` for `cudnn_report()`. Expected a "
            "keras.Model, a keras.layers.Layer or a list of layers. "
            f"Received: model_or_layers={model_or_layers!r}") from None
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                "Invalid `model_or_layers` for `cudnn_report()`. Expected "
                "only keras.layers.Layer items. Received an item: "
                f"{layer!r}")
    return layers


def _visit(layer, rows, seen):
    if id(layer) in seen:
        return
    seen.add(id(layer))
    if isinstance(layer, keras.layers.Bidirectional):
        _visit(layer.forward_layer, rows, seen)
        _visit(layer.backward_layer, rows, seen)
        return
    cell = _cell_name(layer)
    if cell is not None:
        reasons = _reasons(layer, cell)
        rows.append({"layer": layer.name, "cell": cell,
                     "cudnn": not reasons, "reasons": reasons})
        return
    for sublayer in layer._flatten_layers(include_self=False,
                                          recursive=False):
        _visit(sublayer, rows, seen)


def _cell_name(layer):
    if isinstance(layer, keras.layers.LSTM):
        return "lstm"
    if isinstance(layer, keras.layers.GRU):
        return "gru"
    if isinstance(layer, keras.layers.SimpleRNN):
        return "simple_rnn"
    return None


def _reasons(layer, cell):
    if cell == "simple_rnn":
        return ["SimpleRNN has no cuDNN kernel"]
    rnn_cell = layer.cell
    reasons = []
    if not _is(rnn_cell.activation, "tanh"):
        reasons.append(f"activation={_fn_name(rnn_cell.activation)!r} "
                       "(needs 'tanh')")
    if not _is(rnn_cell.recurrent_activation, "sigmoid"):
        reasons.append("recurrent_activation="
                       f"{_fn_name(rnn_cell.recurrent_activation)!r} "
                       "(needs 'sigmoid')")
    if rnn_cell.recurrent_dropout:
        reasons.append(f"recurrent_dropout={rnn_cell.recurrent_dropout} "
                       "(needs 0)")
    if layer.unroll:
        reasons.append("unroll=True (needs False)")
    if not rnn_cell.use_bias:
        reasons.append("use_bias=False (needs True)")
    if cell == "gru" and not rnn_cell.reset_after:
        reasons.append("reset_after=False (needs True)")
    if getattr(layer, "use_cudnn", "auto") is False:
        reasons.append("use_cudnn=False")
    return reasons


def _is(fn, which):
    """True if `fn` is one of the functions Keras accepts for cuDNN."""
    candidates = [getattr(keras.activations, which),
                  getattr(keras.ops, which)]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        candidates.append(getattr(tf, which))
    return any(fn is c for c in candidates)


def _fn_name(fn):
    return getattr(fn, "__name__", repr(fn))
