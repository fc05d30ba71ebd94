"""Recurrent layers whose input projection runs before the time loop.

`keras.layers.LSTM`, `GRU` and `SimpleRNN` run a cell per timestep when no
cuDNN kernel applies (always, on a CPU), and each step multiplies its input
slice by the input kernel: a `(batch, features) x (features, gates)` matmul
too small to use the machine well. The layers here compute `x @ kernel +
bias` for every timestep in one large matmul first, then loop over time with
only the recurrent matmul, as cuDNN and PyTorch's CPU kernels do. Weights,
configs, masking, `go_backwards`, `return_state` and `Bidirectional` are
those of the Keras classes they extend, and so are the outputs (to float
rounding); checkpoints move between the two freely.

`benchmarks/throughput.py --parts kernels` measures them side by side with
the Keras layers. On the 2-core CPU of `benchmarks/RESULTS.md`, training a
masked BiLSTM(64) stack on batches of 32x200 and 64x200 tokens ran 1.15x
and 1.27x faster than Keras' layers, but on batches of 256x200 about half as
fast: the projected inputs, `(batch, time, 4 * units)` floats, then no longer
fit in cache, and each step reads its slice from memory. Which wins depends on
the tokens per batch, so the builder uses them only when asked
(`build_recurrent(..., hoist_inputs=True)`).

The loop is Keras' own (`keras.src.backend.rnn`, the function Keras' `RNN`
layer calls; Keras 3 has no public alias for it); only the step function
changes. The layers take the stock path, unchanged, wherever hoisting would
change results or lose a faster kernel:

- a GPU is visible (Keras' cuDNN kernel, or its own fallback);
- `dropout` or `recurrent_dropout` on the cell (left to Keras, so their
  masks stay exactly Keras'), `implementation=1`, or a GRU with
  `reset_after=False`.
"""

from kerasnlp_seq.lazy import keras


def _gpu_visible():
    import tensorflow as tf
    return bool(tf.config.list_logical_devices("GPU"))


def _can_hoist(layer):
    cell = layer.cell
    # use_cudnn=True must reach Keras, which raises where cuDNN cannot run.
    return (getattr(layer, "use_cudnn", "auto") is not True
            and not cell.dropout and not cell.recurrent_dropout
            and getattr(cell, "implementation", 2) == 2
            and getattr(cell, "reset_after", True)
            and not _gpu_visible())


class _HoistedLoop:
    """Mixin: `inner_loop` over `x @ kernel + bias` with the class's `_step`."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not _can_hoist(self):
            return super().inner_loop(sequences, initial_state, mask,
                                      training=training)
        from keras import ops
        from keras.src import backend

        cell = self.cell
        projected = ops.matmul(sequences, cell.kernel)
        if cell.use_bias:
            bias = cell.bias
            if len(bias.shape) == 2:  # GRU reset_after: [input, recurrent]
                bias = bias[0]
            projected = ops.add(projected, bias)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        return backend.rnn(
            self._step, projected, list(initial_state),
            go_backwards=self.go_backwards, mask=mask, unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences)


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class FastLSTM(_HoistedLoop, keras.layers.LSTM):
    """`keras.layers.LSTM` with the input projection hoisted out of the time loop.

    Takes the arguments of `keras.layers.LSTM`; see the module docstring.

    Example:

    >>> import keras, numpy as np
    >>> from kerasnlp_seq.recurrent import FastLSTM
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    >>> fast = FastLSTM(4)
    >>> stock = keras.layers.LSTM(4)
    >>> _ = fast(x), stock(x)
    >>> stock.set_weights(fast.get_weights())
    >>> bool(np.allclose(fast(x), stock(x), atol=1e-6))
    True
    """

    def _step(self, projected, states):
        from keras import ops

        cell = self.cell
        act, gate = cell.activation, cell.recurrent_activation
        h, c = states
        z = ops.add(projected, ops.matmul(h, cell.recurrent_kernel))
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = gate(f) * c + gate(i) * act(g)
        h = gate(o) * act(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class FastGRU(_HoistedLoop, keras.layers.GRU):
    """`keras.layers.GRU` with the input projection hoisted out of the time loop.

    Takes the arguments of `keras.layers.GRU`; see the module docstring.
    """

    def _step(self, projected, states):
        from keras import ops

        cell = self.cell
        act, gate = cell.activation, cell.recurrent_activation
        h = states[0]
        inner = ops.matmul(h, cell.recurrent_kernel)
        if cell.use_bias:
            inner = ops.add(inner, cell.bias[1])
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        z = gate(x_z + r_z)
        r = gate(x_r + r_r)
        h = z * h + (1 - z) * act(x_h + r * r_h)
        return h, [h]


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class FastSimpleRNN(_HoistedLoop, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` with the input projection hoisted out of the loop.

    Takes the arguments of `keras.layers.SimpleRNN`; see the module docstring.
    """

    def _step(self, projected, states):
        from keras import ops

        cell = self.cell
        h = ops.add(projected, ops.matmul(states[0], cell.recurrent_kernel))
        if cell.activation is not None:
            h = cell.activation(h)
        return h, [h]


LAYERS = {"gru": FastGRU, "lstm": FastLSTM, "simple_rnn": FastSimpleRNN}
