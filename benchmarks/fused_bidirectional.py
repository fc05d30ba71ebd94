"""Both directions of a BiLSTM in one time loop, against Keras' `Bidirectional`.

    python benchmarks/fused_bidirectional.py [--threads INTRA:INTER]

A probe for issue 7's FLOP/s fraction. On a CPU, Keras' `Bidirectional(LSTM)`
runs two `while_loop`s of small TensorFlow ops, one per direction; the
reading in `benchmarks/RESULTS.md` was that each step's fixed op cost, not
its matmuls, keeps the recurrence below half the matmul peak. If so, one
loop that steps both directions at once (the batch stacked as
`[forward rows; time-reversed rows]`, one batched matmul per step against
the two directions' kernels, every gate op run once for both) halves the
ops per token and should run faster.

The fused layer below (`FusedBidirectional`, LSTM only, probe code, not part
of the library) reuses the two Keras layers' weights; the script first
prints its largest output and gradient differences from
`keras.layers.Bidirectional` on a padded, masked batch, then trains the
issue's model (embedding 128 -> BiLSTM(64) x2 -> sigmoid) on random ids
with each layer, alternating them, and prints tokens/s, best of `--rounds`.
`--threads` sets TensorFlow's intra-op and inter-op pools first (0:0 is
TensorFlow's default). Nothing is written to RESULTS.md; the table there
was copied from this script's output.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


def fused_bidirectional_class():
    import keras
    from keras import ops
    from keras.src import backend

    class FusedBidirectional(keras.layers.Bidirectional):
        """`Bidirectional(LSTM)` stepping both directions in one loop."""

        def call(self, sequences, initial_state=None, mask=None,
                 training=None):
            fw, bw = self.forward_layer.cell, self.backward_layer.cell
            units = fw.units
            act, gate = fw.activation, fw.recurrent_activation
            batch = ops.shape(sequences)[0]
            # Keras' backward layer reverses the padded rows and their
            # mask (`go_backwards`); stacking both halves the loops.
            rows = ops.concatenate([sequences, ops.flip(sequences, 1)], 0)
            if isinstance(mask, (list, tuple)):
                mask = mask[0]
            if mask is not None:
                mask = ops.concatenate([mask, ops.flip(mask, 1)], 0)
            kernel = ops.stack([fw.kernel.value, bw.kernel.value])
            recurrent = ops.stack([fw.recurrent_kernel.value,
                                   bw.recurrent_kernel.value])
            bias = ops.expand_dims(ops.stack([fw.bias.value,
                                              bw.bias.value]), 1)
            depth = sequences.shape[-1]

            def step(x, states):
                h, c = states
                z = (ops.matmul(ops.reshape(x, (2, -1, depth)), kernel)
                     + ops.matmul(ops.reshape(h, (2, -1, units)), recurrent)
                     + bias)
                i, f, g, o = ops.split(ops.reshape(z, (-1, 4 * units)), 4,
                                       axis=-1)
                c = gate(f) * c + gate(i) * act(g)
                h = gate(o) * act(c)
                return h, [h, c]

            zeros = ops.zeros((2 * batch, units), sequences.dtype)
            last, outputs, _ = backend.rnn(
                step, rows, [zeros, zeros], mask=mask,
                input_length=sequences.shape[1],
                zero_output_for_mask=self.return_sequences,
                return_all_outputs=self.return_sequences)
            if self.return_sequences:
                y, y_rev = outputs[:batch], ops.flip(outputs[batch:], 1)
            else:
                y, y_rev = last[:batch], last[batch:]
            return ops.concatenate([y, y_rev], -1)

    return FusedBidirectional


def build(fused, vocab=20000):
    import keras

    wrapper = (fused_bidirectional_class() if fused
               else keras.layers.Bidirectional)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(vocab, 128, mask_zero=True)(inputs)
    x = wrapper(keras.layers.LSTM(64, return_sequences=True))(x)
    x = wrapper(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    return model


def differences(rng):
    """Largest |output| and |gradient| differences on a padded batch."""
    import numpy as np
    import tensorflow as tf

    x = rng.integers(1, 20000, (8, 30)).astype("int32")
    for row, length in enumerate([30, 25, 12, 1, 30, 7, 19, 3]):
        x[row, length:] = 0
    stock, fused = build(False), build(True)
    fused.set_weights(stock.get_weights())
    grads = []
    for model in (stock, fused):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x))
        grads.append([tf.convert_to_tensor(g).numpy() for g in
                      tape.gradient(loss, model.trainable_variables)])
    out = float(np.abs(stock.predict(x, verbose=0)
                       - fused.predict(x, verbose=0)).max())
    grad = max(float(np.abs(a - b).max()) for a, b in zip(*grads))
    return out, grad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", type=_results.shape,
                        default=[(64, 200), (256, 200)],
                        metavar="BATCHxLENGTH",
                        help="BATCHxLENGTH of the timed batches")
    parser.add_argument("--rounds", type=_results.positive_int, default=3)
    parser.add_argument("--batches", type=_results.positive_int, default=6,
                        help="batches per timing")
    parser.add_argument("--threads", default=(0, 0), metavar="INTRA:INTER",
                        type=_results.thread_spec)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    intra, inter = args.threads
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    rng = np.random.default_rng(0)
    out, grad = differences(rng)
    print(f"fused - keras: outputs {out:.2g}, gradients {grad:.2g}")
    print(f"threads {intra}:{inter}")
    print("| batch x length | keras tokens/s | fused tokens/s | fused / keras |")
    print("|---|---|---|---|")
    for batch, length in args.shapes:
        shape = f"{batch}x{length}"
        n = batch * args.batches
        x = rng.integers(1, 20000, (n, length)).astype("int32")
        y = rng.integers(0, 2, (n, 1)).astype("float32")
        models = {"keras": build(False), "fused": build(True)}
        for model in models.values():  # trace outside the timings
            model.fit(x[:batch], y[:batch], batch_size=batch, verbose=0)
        rates = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, model in models.items():
                start = time.perf_counter()
                model.fit(x, y, batch_size=batch, verbose=0)
                rates[name].append(n * length / (time.perf_counter() - start))
        best = {name: max(r) for name, r in rates.items()}
        print(f"| {shape} | {best['keras']:.3g} | {best['fused']:.3g} | "
              f"{best['fused'] / best['keras']:.2f} |", flush=True)


if __name__ == "__main__":
    _results.guard(main)
