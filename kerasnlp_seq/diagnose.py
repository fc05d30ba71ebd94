"""Gradient-flow diagnostics for training runs: the entry points the CLI calls.

`diagnose_run()` measures a trained run on its own data; `probe_batch()`
gives `GradientNormLogger` a representative batch during training. The
measurements themselves live in `kerasnlp_seq.diagnostics`, the built-in
long-range probe and the cell comparison in `kerasnlp_seq.probes`.
"""

import numpy as np

from kerasnlp_seq.errors import ConfigError


def probe_batch(task, examples, num_examples=64):
    """A padding-free `(x, y)` batch of a task's examples, as numpy arrays.

    The longest `num_examples` examples are encoded and cut to the length
    of the shortest of them, so no time step is padding and the per-step
    gradient norms average over real tokens only.

    Args:
        task: a `Task` with fitted preprocessing.
        examples: list of the task's examples.
        num_examples: int. Rows of the batch.
    """
    ds = task.dataset(examples, len(examples), training=False)
    x, y = next(iter(ds))[:2]
    if isinstance(x, dict) or isinstance(y, dict):
        raise ConfigError(
            f"Gradient diagnostics need a single-input, single-output model; "
            f"task {task.name!r} has several inputs or outputs.")
    x, y = np.asarray(x), np.asarray(y)
    lengths = (x != 0).sum(axis=1) if x.ndim == 2 else np.full(
        len(x), x.shape[1])
    rows = np.argsort(-lengths, kind="stable")[:num_examples]
    common = int(lengths[rows].min())
    return x[rows, :max(common, 1)], y[rows]


def diagnose_run(run_dir, data=None, num_examples=64):
    """Input-gradient norms per time step and per-layer norms of a trained run.

    Args:
        run_dir: str. A finished run directory.
        data: str or None. Data spec; None: the run's validation data:
            its `--valid` data, else the part of its training data that
            training held back (the same seeded split).
        num_examples: int. Examples in the measured batch.

    Returns:
        A dict in the format of `kerasnlp_seq.probes.compare_cells()`,
        with one entry named after the run, for `write_results()`.
    """
    from kerasnlp_seq import diagnostics, runs

    task, model, run_config = runs.load_run(run_dir)
    spec = data or run_config.get("valid")
    if spec:
        examples = task.read(spec, "eval")
    else:  # the held-back validation part of the training data
        spec = run_config["data"]
        train = run_config["train_config"]
        examples = task.read(spec, "train")
        if train.get("valid_fraction"):
            examples = task.split_validation(
                examples, train["valid_fraction"], train["seed"])[1]
        spec = f"{spec} (validation part: {train.get('valid_fraction')})"
    x, y = probe_batch(task, examples, num_examples)
    norms = diagnostics.input_gradient_norms(model, x, y)
    layers = diagnostics.layer_gradient_norms(model, x, y)
    last = float(norms[-1])
    name = run_config["task"] + ":" + run_config["task_config"].get(
        "cell", "model")
    return {
        "config": {"run_dir": str(run_dir), "data": spec,
                   "num_examples": int(len(x)), "timesteps": int(x.shape[1])},
        "cells": {name: {
            "input_grad_norms": [float(v) for v in norms],
            "first_last_ratio": float(norms[0]) / last if last else
            float("nan"),
            "layer_grad_norms": {k: float(v) for k, v in layers.items()},
        }},
    }
