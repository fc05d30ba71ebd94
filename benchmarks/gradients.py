"""Benchmark: gradient flow of SimpleRNN, LSTM and GRU on the 100-step probe.

Runs, on the built-in first-token recall probe (`kerasnlp_seq.probes`):

1. the input-gradient ratio `||dL/dx_0|| / ||dL/dx_{T-1}||` (T:
   `--seq-len`, 100 by default) of each cell at
   initialization, with Keras' gate biases and with chrono gate biases;
2. a fixed training budget per cell (chrono gate biases, plus an LSTM with
   Keras' gate biases), then held-out accuracy and the ratio again;
3. the clipping experiment (`clipping_experiment()`): a tanh SimpleRNN with
   recurrent gain 3 trained by SGD with and without `clipnorm=1`.

It prints a markdown table (metric, value, time, throughput, peak memory)
and the command that produced it, and writes the comparison's CSV, JSON and
PNG under `--out`. Usage:

    python benchmarks/gradients.py --steps 300 --out /tmp/gradients

It replaces its section of benchmarks/RESULTS.md unless `--no-write`.
"""

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kerasnlp_seq.diagnostics import write_results  # noqa: E402
from kerasnlp_seq.gradient_callback import clipping_experiment  # noqa: E402
from kerasnlp_seq.probes import compare_cells  # noqa: E402


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=_results.positive_int, default=300,
                        help="training steps per cell (batch 64)")
    parser.add_argument("--seq-len", type=_results.positive_int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/kerasnlp_seq_gradients")
    parser.add_argument("--no-write", action="store_true",
                        help="print the results only; leave RESULTS.md "
                        "alone")
    args = parser.parse_args()
    common = dict(seq_len=args.seq_len, units=32, embed_dim=16, seed=args.seed,
                  batch_size=64, learning_rate=1e-2)
    rows = []
    last = f"t{args.seq_len - 1}"

    def row(metric, value, seconds=None, throughput="-"):
        time_s = "-" if seconds is None else f"{seconds:.1f}"
        rows.append((metric, value, time_s, throughput, f"{peak_mib():.0f}"))

    for gate_bias in ("keras", "chrono"):
        start = time.perf_counter()
        init = compare_cells(gate_bias=gate_bias, train_steps=0, **common)
        seconds = time.perf_counter() - start
        write_results(init, os.path.join(args.out, f"init_{gate_bias}"))
        for i, (cell, r) in enumerate(init["cells"].items()):
            row(f"at init, gate_bias={gate_bias}: {cell} "
                f"grad ratio t0/{last}", f"{r['first_last_ratio']:.2e}",
                None if i else seconds)

    runs = [("chrono", ("simple_rnn", "lstm", "gru")), ("keras", ("lstm",))]
    for gate_bias, cells in runs:
        trained = compare_cells(cells=cells, gate_bias=gate_bias,
                                train_steps=args.steps, **common)
        write_results(trained, os.path.join(args.out,
                                            f"trained_{gate_bias}"))
        for cell, r in trained["cells"].items():
            rate = args.steps * common["batch_size"] / r["train_seconds"]
            label = f"{args.steps} steps, gate_bias={gate_bias}: {cell}"
            row(f"{label} held-out accuracy (chance "
                f"{trained['chance']:.2f})", f"{r['accuracy']:.3f}",
                r["train_seconds"], f"{rate:.0f} train seq/s")
            row(f"{label} grad ratio t0/{last}",
                f"{r['first_last_ratio']:.2e}")

    start = time.perf_counter()
    epochs, samples = 3, 512
    clip = clipping_experiment(clipnorm=1.0, seq_len=args.seq_len,
                               seed=args.seed, epochs=epochs,
                               num_samples=samples)
    seconds = time.perf_counter() - start
    for i, (run, r) in enumerate(clip.items()):
        losses = ", ".join(f"{v:.3g}" for v in r["history"]["loss"])
        row(f"clipping (simple_rnn, recurrent gain 3, SGD 0.1), {run}: "
            "loss per epoch", losses, None if i else seconds,
            "-" if i else f"{2 * epochs * samples / seconds:.0f} train seq/s")
        fractions = ", ".join(f"{v:.2f}"
                              for v in r["history"]["clip_fraction"])
        row(f"clipping, {run}: clip_fraction at clipnorm=1 per epoch",
            fractions)

    lines = ["| metric | value | time (s) | throughput | "
             "peak RSS MiB (process so far) |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    body = (f"## Gradient flow (issue 8)\n\n`{_results.command_line()}` on "
            f"{_results.machine()}\n\n" + "\n".join(lines) + "\n\n"
            + footnote(args.seq_len) + " `chrono` gate biases open the "
            "LSTM/GRU gates over the sequence length (Tallec & Ollivier "
            "2018); with Keras's default gate init a fresh LSTM/GRU loses "
            "its gradient too.\n")
    print(body)
    print(f"Plots and numbers: {args.out}/{{init,trained}}_*.{{png,csv,json}}")
    if not args.no_write:
        _results.write_section("gradients", body)


def footnote(seq_len):
    """What the table's ratio is, for sequences of `seq_len` tokens."""
    return (f"ratio = ||dL/dx_0|| / ||dL/dx_{seq_len - 1}|| on the recall "
            f"probe (the label is the first token of {seq_len}); peak RSS "
            "is the process's high-water mark so far, so each row shows the "
            "largest value up to it.")


if __name__ == "__main__":
    _results.guard(main)
