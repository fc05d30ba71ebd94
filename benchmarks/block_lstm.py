"""TensorFlow's fused CPU LSTM kernel (`BlockLSTMV2`) against Keras' LSTM.

    python benchmarks/block_lstm.py

A probe for issue 7's FLOP/s fraction: `tf.raw_ops.BlockLSTMV2` runs a whole
sequence in one op, gates fused in C++, where Keras' CPU LSTM runs a
`while_loop` of small TensorFlow ops. It takes the Keras layout (gates
i, f, c, o; `w` = kernel stacked on recurrent kernel), so the same weights
serve both. Prints the largest output and gradient differences (full-length
sequences, no mask) and forward + backward tokens/s of one layer and
direction, alternating the two, best of `--rounds`. The forward pass agrees;
the gradients TensorFlow registers for `BlockLSTMV2` (TF 2.21) do not match
Keras' (nor, on a 3-unit case, central differences: the gate blocks look
permuted, but swapping f and c alone does not reconcile them). Not
diagnosed further: the op is slower anyway. Nothing is written to
RESULTS.md; the table there was copied from this script's output.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    positive = _results.positive_int
    parser.add_argument("--units", type=positive, default=64)
    parser.add_argument("--input-dim", type=positive, default=128)
    parser.add_argument("--length", type=positive, default=200)
    parser.add_argument("--batches", type=positive, nargs="+",
                        default=[32, 64, 256])
    parser.add_argument("--rounds", type=positive, default=2)
    parser.add_argument("--steps", type=positive, default=5)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    h, d, t = args.units, args.input_dim, args.length
    tf.random.set_seed(0)
    layer = keras.layers.LSTM(h, return_sequences=True)
    layer.build((None, t, d))
    weights = [layer.cell.kernel, layer.cell.recurrent_kernel,
               layer.cell.bias]

    def block_lstm(x):
        kernel, recurrent, bias = weights
        zeros = tf.zeros([tf.shape(x)[0], h])
        no_peephole = tf.zeros([h])
        outputs = tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.constant(t, tf.int64),
            x=tf.transpose(x, [1, 0, 2]), cs_prev=zeros, h_prev=zeros,
            w=tf.concat([kernel, recurrent], 0), wci=no_peephole,
            wcf=no_peephole, wco=no_peephole, b=bias, cell_clip=0.0,
            use_peephole=False)
        return tf.transpose(outputs[-1], [1, 0, 2])

    def keras_lstm(x):
        return layer(x)

    def step(forward):
        @tf.function
        def fn(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(forward(x) * 1.3)
            return tape.gradient(loss, weights)
        return fn

    steps = {"keras": step(keras_lstm), "block": step(block_lstm)}
    def relative(a, b):
        return float(tf.reduce_max(tf.abs(a - b)) / tf.reduce_max(tf.abs(a)))

    x = tf.random.normal([8, t, d])
    out_diff = float(tf.reduce_max(tf.abs(keras_lstm(x) - block_lstm(x))))
    grad_diff = [relative(a, b)
                 for a, b in zip(steps["keras"](x), steps["block"](x))]
    print(f"max |output difference|: {out_diff:.2e}; max gradient difference "
          "relative to the largest Keras gradient (kernel, recurrent, bias): "
          + ", ".join(f"{g:.2e}" for g in grad_diff))

    flop = 8 * h * (d + h) * 3  # per token, forward + backward
    print("| batch x length | keras tokens/s | block tokens/s | block / keras "
          "| keras GFLOP/s |")
    print("|---|---|---|---|---|")
    for batch in args.batches:
        x = tf.random.normal([batch, t, d])
        best = {}
        for _ in range(args.rounds):
            for name, fn in steps.items():
                fn(x)
                start = time.perf_counter()
                for _ in range(args.steps):
                    [g.numpy() for g in fn(x)]
                rate = batch * t * args.steps / (time.perf_counter() - start)
                best[name] = max(best.get(name, 0.0), rate)
        print(f"| {batch}x{t} | {best['keras']:.3e} | {best['block']:.3e} | "
              f"{best['block'] / best['keras']:.2f} | "
              f"{best['keras'] * flop / 1e9:.0f} |")


if __name__ == "__main__":
    _results.guard(main)
